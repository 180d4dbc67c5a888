"""``GET /api/v1/cluster/nodes``: the registry of nodes, read-only, for platform admins.

Node addresses are internal, so they are not in the public ``/api/health`` (which
reports this node's name and its cluster bus only).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from helpline.api.deps import Db, PlatformAdmin, get_runtime
from helpline.cluster import registry
from helpline.db.base import utcnow

router = APIRouter(prefix="/cluster", tags=["cluster"])


class NodeOut(BaseModel):
    """One registered node."""

    name: str
    sip_host: str
    sip_port: int
    http_url: str = Field(description="where the other nodes reach its HTTP")
    started_at: datetime
    heartbeat_at: datetime
    alive: bool = Field(description="a heartbeat came within the node timeout")
    this_node: bool = Field(description="the node answering this request")


@router.get("/nodes", response_model=list[NodeOut])
async def list_nodes(request: Request, db: Db, _admin: PlatformAdmin) -> object:
    """Every registered node, dead ones included, by name."""
    settings = get_runtime(request).settings
    now = utcnow()
    return [
        NodeOut(
            name=node.name,
            sip_host=node.sip_host,
            sip_port=node.sip_port,
            http_url=node.http_url,
            started_at=node.started_at,
            heartbeat_at=node.heartbeat_at,
            alive=registry.alive(node, now=now, timeout=settings.cluster_node_timeout),
            this_node=node.name == settings.node_name,
        )
        for node in await registry.nodes(db)
    ]
