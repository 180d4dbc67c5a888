"""Requests about live calls held by another node: relayed to that node over HTTP.

Theory of operation: a live call exists in the memory of the node whose SIP service
handles it; its call record names that node. When a REST command names a call this node
does not hold, the router asks :func:`locate_call` for the holder (the open record's
node, if that node is registered and alive) and :func:`relay` sends the same request -
method, path, body and the user's own credentials (session cookie and CSRF token, or
API token) - to the holder's internal URL, returning its answer as is. The holder
authenticates and authorizes the user exactly as if they had come to it directly
(sessions and tokens live in the shared database), so no node-to-node secret can widen
anyone's rights: a node can only do what the user could. Relayed requests carry
:data:`FORWARDED_BY`; a node never relays such a request again, so a stale record
cannot make two nodes bounce a request between them (a client sending the header only
gets this node's own answer).

HTTP rather than request/reply over the NOTIFY channel: the REST route, its validation,
its authorization and its error answers are reused unchanged on the holder, and
timeouts and connection errors are plain. Errors: ``node_unreachable`` (504) when the
holder does not answer in ``cluster_forward_timeout`` seconds or refuses the connection;
a holder whose heartbeat stopped is dead, and its calls with it (``call_not_found``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.cluster import registry
from helpline.cluster.node import Cluster
from helpline.core.errors import ApiError
from helpline.db.base import utcnow

log = logging.getLogger(__name__)

FORWARDED_BY = "x-helpline-forwarded-by"
"""Header naming the node that relayed a request."""
PASSED_HEADERS = ("authorization", "cookie", "x-csrf-token", "content-type", "accept-language")
"""The request headers the holder needs to act for the same user."""


@dataclass(frozen=True, slots=True)
class Holder:
    """The node holding a live call, where to reach it."""

    node: str
    url: str


class CallElsewhere(Exception):
    """The request's call lives on another node (raised by the router's dependency,
    turned into a relayed answer by its route class)."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(f"the call is on node {holder.node}")
        self.holder = holder


def forwarded(request: Request) -> bool:
    """Whether another node relayed ``request`` (it must not travel again)."""
    return FORWARDED_BY in request.headers


def node_unreachable(node: str, exc: Exception) -> ApiError:
    """The 504 for a node that did not answer."""
    return ApiError(
        f"node {node} holding the call did not answer",
        error_id="node_unreachable",
        status_code=504,
        details={"node": node, "reason": type(exc).__name__},
    )


async def locate_call(
    cluster: Cluster, session: AsyncSession, *, tenant_id: int, call_id: str
) -> Holder | None:
    """The other, living node that holds the tenant's call ``call_id``; None when no
    open record names one (or it names this node, or a dead one)."""
    name = await registry.call_node(session, tenant_id=tenant_id, call_id=call_id)
    if name is None or name == cluster.name:
        return None
    node = await registry.find(session, name=name)
    if node is None or not registry.alive(node, now=utcnow(), timeout=cluster.timeout):
        return None
    return Holder(node.name, node.http_url)


def _headers(request: Request, node: str) -> dict[str, str]:
    headers = {k: v for k in PASSED_HEADERS if (v := request.headers.get(k)) is not None}
    headers[FORWARDED_BY] = node
    return headers


async def relay(cluster: Cluster, request: Request, holder: Holder) -> Response:
    """``request`` answered by ``holder``."""
    try:
        answer = await cluster.client.request(
            request.method,
            holder.url + request.url.path,
            params=list(request.query_params.multi_items()),
            content=await request.body(),
            headers=_headers(request, cluster.name),
        )
    except httpx.TransportError as exc:
        log.warning("cluster: relaying %s to %s failed: %r", request.url.path, holder.node, exc)
        raise node_unreachable(holder.node, exc) from exc
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type"),
    )


async def gather(cluster: Cluster, request: Request) -> list[Any]:
    """The JSON lists every other living node answers to ``request`` (a GET), joined;
    nodes that fail to answer are left out (and logged)."""
    peers = await cluster.peers()
    answers = await asyncio.gather(
        *(_fetch(cluster, request, peer.name, peer.http_url) for peer in peers)
    )
    return [item for answer in answers for item in answer]


async def _fetch(cluster: Cluster, request: Request, node: str, url: str) -> list[Any]:
    try:
        answer = await cluster.client.get(
            url + request.url.path,
            params=list(request.query_params.multi_items()),
            headers=_headers(request, cluster.name),
        )
        answer.raise_for_status()
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("cluster: %s of node %s left out: %r", request.url.path, node, exc)
        return []
    return body if isinstance(body, list) else []
