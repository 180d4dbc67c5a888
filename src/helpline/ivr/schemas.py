"""API shapes for IVR flows, their versions, document checks and path statistics.

Documents travel as JSON objects; their own rules live in :mod:`helpline.ivr.flow`.
A draft may be incomplete (an editor saves work in progress), so it is only bounded
in size here and reported on with ``problems``; publishing refuses it until valid.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_DOCUMENT_BYTES = 256 * 1024


def _bounded(document: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(document, separators=(",", ":"))) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    return document


Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")]
Description = Annotated[str, Field(max_length=500)]
Document = Annotated[dict[str, Any], AfterValidator(_bounded)]


class FlowCreate(BaseModel):
    """A new flow; without ``document`` the draft is a one-node flow that hangs up."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    document: Document | None = None


class FlowUpdate(BaseModel):
    """Changes to a flow's name, description or draft; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    document: Document | None = None


class ProblemOut(BaseModel):
    """One problem in a document; ``node`` is null for the document's own fields."""

    model_config = ConfigDict(from_attributes=True)

    node: str | None
    field: str
    message: str


class CheckOut(BaseModel):
    """The check of a document: errors prevent publishing, warnings do not."""

    valid: bool
    errors: list[ProblemOut]
    warnings: list[ProblemOut]


class FlowOut(BaseModel):
    """A flow with its draft and the draft's check."""

    id: int
    name: str
    description: str
    document: dict[str, Any]
    latest_version: int
    problems: CheckOut
    created_at: datetime
    updated_at: datetime


class FlowSummary(BaseModel):
    """A flow in a list (without its document)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    latest_version: int
    created_at: datetime
    updated_at: datetime


class VersionSummary(BaseModel):
    """A published version in a list."""

    model_config = ConfigDict(from_attributes=True)

    flow_id: int
    version: int
    published_at: datetime
    published_by: str


class VersionOut(VersionSummary):
    """A published version with its document."""

    document: dict[str, Any]


class DigitsCount(BaseModel):
    """How often callers pressed ``digits`` at a node."""

    digits: str
    count: int


class NodeStats(BaseModel):
    """Visits of one node in the period: in total, by result, by digits, by UTC hour."""

    node: str
    node_type: str
    visits: int
    results: dict[str, int]
    digits: list[DigitsCount]
    hours: dict[int, int]


class PathStats(BaseModel):
    """Where callers went in a flow between ``from`` and ``to``."""

    model_config = ConfigDict(populate_by_name=True)

    flow_id: int
    version: int | None
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None
    calls: int
    nodes: list[NodeStats]
