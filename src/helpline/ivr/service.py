"""IVR flows of a tenant: drafts, publication, versions, and callers' paths.

The API functions take the tenant from the principal. A draft is stored as sent (an
editor saves work in progress) and checked on every read; :func:`publish_flow`
refuses an invalid draft with ``invalid_flow`` (422, ``details`` listing node, field
and message) and otherwise stores the normalized document as the next version, which
nothing changes afterwards. A flow that has been published cannot be deleted
(``flow_published``, 409): its versions are the record of what callers heard and its
path statistics refer to them; rename it or stop routing calls to it instead.

For call control, :func:`load_published` returns a version's parsed document (the
interpreter runs a document, so a call keeps its version whatever is published
meanwhile) and :class:`DbPathRecorder` stores each call's path in batches.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, extract, func, literal_column, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, Conflict, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.ivr.engine import FlowOutcome, PathStep
from helpline.ivr.flow import FlowDocument, Report, check
from helpline.ivr.models import Flow, FlowVersion, IvrPathStep
from helpline.ivr.schemas import (
    CheckOut,
    DigitsCount,
    FlowCreate,
    FlowOut,
    FlowUpdate,
    NodeStats,
    PathStats,
    ProblemOut,
)
from helpline.sms.flows import template_names

log = logging.getLogger(__name__)

AUDITED = ("name", "description", "latest_version")
TOP_DIGITS: Final = 20
DEFAULT_DOCUMENT: Final = {
    "start": "goodbye",
    "nodes": {"goodbye": {"type": "hangup", "prompt": {"names": ["ivr/goodbye"]}}},
}


class FlowInvalid(ApiError):
    """A document that cannot be published or run; ``details`` lists the problems."""

    status_code = 422
    error_id = "invalid_flow"


def check_out(report: Report) -> CheckOut:
    """The API view of a document check."""
    return CheckOut(
        valid=report.valid,
        errors=[ProblemOut.model_validate(p) for p in report.errors],
        warnings=[ProblemOut.model_validate(p) for p in report.warnings],
    )


def flow_out(flow: Flow, *, sms_templates: Collection[str] | None = None) -> FlowOut:
    """The API view of a flow, with its draft checked (``sms`` nodes against
    ``sms_templates``, the tenant's SMS template names, when given)."""
    return FlowOut(
        id=flow.id,
        name=flow.name,
        description=flow.description,
        document=flow.draft,
        latest_version=flow.latest_version,
        problems=check_out(check(flow.draft, sms_templates=sms_templates)),
        created_at=flow.created_at,
        updated_at=flow.updated_at,
    )


def validate_document(
    document: dict[str, Any], *, sms_templates: Collection[str] | None = None
) -> CheckOut:
    """Check a document without storing anything."""
    return check_out(check(document, sms_templates=sms_templates))


async def _name_free(
    session: AsyncSession, tenant_id: int, name: str, *, own_id: int | None = None
) -> None:
    stmt = select(Flow.id).where(Flow.tenant_id == tenant_id, Flow.name == name)
    if own_id is not None:
        stmt = stmt.where(Flow.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"flow {name!r} exists", error_id="flow_name_taken")


async def list_flows(
    session: AsyncSession, *, principal: Principal, params: PageParams, name: str | None
) -> tuple[list[Flow], int]:
    """The flows of the principal's tenant, by name."""
    return await paginate(
        session,
        select(Flow).where(Flow.tenant_id == principal.tenant_id),
        params,
        sortable={
            "id": Flow.id,
            "name": Flow.name,
            "created_at": Flow.created_at,
            "updated_at": Flow.updated_at,
        },
        filters={"name": (Flow.name, name)},
        default_sort=(Flow.name,),
    )


async def get_flow(session: AsyncSession, *, principal: Principal, flow_id: int) -> Flow:
    """A flow of the principal's tenant."""
    return await get_owned(session, Flow, flow_id, tenant_id=principal.tenant_id, what="flow")


async def create_flow(session: AsyncSession, *, principal: Principal, data: FlowCreate) -> Flow:
    """A new flow of the principal's tenant with ``data.document`` as its draft."""
    await _name_free(session, principal.tenant_id, data.name)
    flow = Flow(
        tenant_id=principal.tenant_id,
        name=data.name,
        description=data.description,
        draft=data.document if data.document is not None else dict(DEFAULT_DOCUMENT),
        latest_version=0,
    )
    session.add(flow)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="ivr_flow",
        obj=flow,
        fields=AUDITED,
    )
    return flow


async def update_flow(
    session: AsyncSession, *, principal: Principal, flow_id: int, data: FlowUpdate
) -> Flow:
    """Rename a flow, change its description or replace its draft."""
    flow = await get_flow(session, principal=principal, flow_id=flow_id)
    before = audit.snapshot(flow, AUDITED)
    if data.name is not None and data.name != flow.name:
        await _name_free(session, flow.tenant_id, data.name, own_id=flow.id)
        flow.name = data.name
    if data.description is not None:
        flow.description = data.description
    if data.document is not None:
        flow.draft = data.document
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=flow.tenant_id,
        action="update",
        entity="ivr_flow",
        obj=flow,
        fields=AUDITED,
        before=before,
    )
    return flow


async def delete_flow(session: AsyncSession, *, principal: Principal, flow_id: int) -> None:
    """Remove a flow that was never published."""
    flow = await get_flow(session, principal=principal, flow_id=flow_id)
    if flow.latest_version:
        raise Conflict(
            "a published flow cannot be deleted",
            error_id="flow_published",
            details={"latest_version": flow.latest_version},
        )
    before = audit.snapshot(flow, AUDITED)
    await session.delete(flow)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=flow.tenant_id,
        action="delete",
        entity="ivr_flow",
        obj=flow,
        fields=AUDITED,
        before=before,
    )


async def publish_flow(session: AsyncSession, *, principal: Principal, flow_id: int) -> FlowVersion:
    """Check the draft and store it as the flow's next version."""
    flow = await get_flow(session, principal=principal, flow_id=flow_id)
    report = check(
        flow.draft, sms_templates=await template_names(session, tenant_id=flow.tenant_id)
    )
    if report.document is None or not report.valid:
        raise FlowInvalid(
            "the draft is not a valid flow", details=[asdict(p) for p in report.errors]
        )
    before = audit.snapshot(flow, AUDITED)
    flow.latest_version += 1
    version = FlowVersion(
        tenant_id=flow.tenant_id,
        flow_id=flow.id,
        version=flow.latest_version,
        document=report.document.to_json(),
        published_by=principal.display,
    )
    session.add(version)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=flow.tenant_id,
        action="publish",
        entity="ivr_flow",
        obj=flow,
        fields=AUDITED,
        before=before,
    )
    return version


async def list_versions(
    session: AsyncSession, *, principal: Principal, flow_id: int, params: PageParams
) -> tuple[list[FlowVersion], int]:
    """The published versions of a flow, newest first."""
    flow = await get_flow(session, principal=principal, flow_id=flow_id)
    return await paginate(
        session,
        select(FlowVersion).where(FlowVersion.flow_id == flow.id),
        params,
        sortable={"version": FlowVersion.version, "published_at": FlowVersion.published_at},
        default_sort=(FlowVersion.version.desc(),),
    )


async def _version_row(
    session: AsyncSession, *, tenant_id: int, flow_id: int, version: int | None
) -> FlowVersion | None:
    stmt = select(FlowVersion).where(
        FlowVersion.tenant_id == tenant_id, FlowVersion.flow_id == flow_id
    )
    if version is None:
        stmt = stmt.order_by(FlowVersion.version.desc()).limit(1)
    else:
        stmt = stmt.where(FlowVersion.version == version)
    return (await session.execute(stmt)).scalars().first()


async def get_version(
    session: AsyncSession, *, principal: Principal, flow_id: int, version: int
) -> FlowVersion:
    """One published version of a flow of the principal's tenant."""
    row = await _version_row(
        session, tenant_id=principal.tenant_id, flow_id=flow_id, version=version
    )
    if row is None:
        raise NotFound("no such flow version")
    return row


@dataclass(frozen=True, slots=True)
class PublishedFlow:
    """A published version ready to run."""

    flow_id: int
    version: int
    document: FlowDocument


async def load_published(
    session: AsyncSession, *, tenant_id: int, flow_id: int, version: int | None = None
) -> PublishedFlow | None:
    """Version ``version`` (the latest when None) of a flow of ``tenant_id``, parsed;
    None when the flow has no such version."""
    row = await _version_row(session, tenant_id=tenant_id, flow_id=flow_id, version=version)
    if row is None:
        return None
    return PublishedFlow(row.flow_id, row.version, FlowDocument.model_validate(row.document))


def _aware(moment: datetime | None) -> datetime | None:
    """``moment`` with UTC assumed when it names no time zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _hour(session: AsyncSession) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return extract("hour", func.timezone(literal_column("'UTC'"), IvrPathStep.entered_at))
    return extract("hour", IvrPathStep.entered_at)


async def path_stats(
    session: AsyncSession,
    *,
    principal: Principal,
    flow_id: int,
    since: datetime | None,
    until: datetime | None,
    version: int | None,
) -> PathStats:
    """Visits per node of a flow in [``since``, ``until``): by result, by digits
    pressed (the most frequent first) and by hour of the day (UTC)."""
    flow = await get_flow(session, principal=principal, flow_id=flow_id)
    since, until = _aware(since), _aware(until)
    where: list[ColumnElement[bool]] = [
        IvrPathStep.tenant_id == flow.tenant_id,
        IvrPathStep.flow_id == flow.id,
    ]
    if since is not None:
        where.append(IvrPathStep.entered_at >= since)
    if until is not None:
        where.append(IvrPathStep.entered_at < until)
    if version is not None:
        where.append(IvrPathStep.version == version)
    count = func.count()
    node, node_type = IvrPathStep.node, IvrPathStep.node_type
    calls = await session.scalar(select(func.count(IvrPathStep.call_id.distinct())).where(*where))
    visits = await session.execute(
        select(node, node_type, count).where(*where).group_by(node, node_type)
    )
    results: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for name, outcome, n in await session.execute(
        select(node, IvrPathStep.outcome, count).where(*where).group_by(node, IvrPathStep.outcome)
    ):
        results[name][outcome] = n
    digits: defaultdict[str, list[DigitsCount]] = defaultdict(list)
    pressed = IvrPathStep.digits
    for name, keys, n in await session.execute(
        select(node, pressed, count)
        .where(*where, pressed.is_not(None))
        .group_by(node, pressed)
        .order_by(count.desc(), pressed)
    ):
        if len(digits[name]) < TOP_DIGITS:
            digits[name].append(DigitsCount(digits=keys, count=n))
    hours: defaultdict[str, dict[int, int]] = defaultdict(dict)
    hour = _hour(session).label("hour")
    for name, at, n in await session.execute(
        select(node, hour, count).where(*where).group_by(node, hour)
    ):
        hours[name][int(at)] = n
    nodes = [
        NodeStats(
            node=name,
            node_type=kind,
            visits=n,
            results=results[name],
            digits=digits[name],
            hours=hours[name],
        )
        for name, kind, n in sorted(visits, key=lambda row: (-row[2], row[0]))
    ]
    return PathStats(
        flow_id=flow.id, version=version, from_=since, to=until, calls=calls or 0, nodes=nodes
    )


class DbPathRecorder:
    """A :class:`~helpline.ivr.engine.PathRecorder` writing ``ivr_path_steps`` rows in
    batches of ``batch_size`` and at the end of the call, each batch in its own unit of
    work. A database failure loses that batch (logged), never the call."""

    def __init__(
        self,
        unit_of_work: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        *,
        tenant_id: int,
        call_id: str,
        flow_id: int,
        version: int,
        batch_size: int = 20,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._row = {
            "tenant_id": tenant_id,
            "call_id": call_id[:255],
            "flow_id": flow_id,
            "version": version,
        }
        self._batch_size = batch_size
        self._pending: list[PathStep] = []

    async def record(self, step: PathStep) -> None:
        """Buffer one step; write the buffer once it holds ``batch_size`` steps."""
        self._pending.append(step)
        if len(self._pending) >= self._batch_size:
            await self._flush()

    async def finish(self, outcome: FlowOutcome) -> None:
        """Write what is left."""
        await self._flush()

    async def _flush(self) -> None:
        steps, self._pending = self._pending, []
        if not steps:
            return
        rows = [
            IvrPathStep(
                **self._row,
                node=step.node,
                node_type=step.node_type,
                entered_at=step.entered_at,
                digits=step.digits[:64] if step.digits else None,
                outcome=step.result[:32],
            )
            for step in steps
        ]
        try:
            async with self._unit_of_work() as session:
                session.add_all(rows)
        except (SQLAlchemyError, OSError):
            log.exception("call %s: %d IVR path steps lost", self._row["call_id"], len(rows))
