"""Tables of the cluster: the registry of nodes and the store of large bus events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, UtcDateTime

MAX_NODE_NAME = 100
MAX_URL = 500


class ClusterNode(Base):
    """A node of the deployment, alive while ``heartbeat_at`` is recent."""

    __tablename__ = "cluster_nodes"

    name: Mapped[str] = mapped_column(String(MAX_NODE_NAME), primary_key=True)
    sip_host: Mapped[str] = mapped_column(String(255))
    sip_port: Mapped[int] = mapped_column(Integer)
    http_url: Mapped[str] = mapped_column(String(MAX_URL))
    """Where the other nodes reach this node's HTTP (the internal network)."""
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ClusterEvent(Base):
    """A bus event too large for a NOTIFY payload; the notification names its id.
    Rows are pruned once every listener has had time to read them."""

    __tablename__ = "cluster_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(MAX_NODE_NAME))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
