"""SMS from IVR flows: the outbox an ``sms`` node queues its message in.

Theory of operation: the IVR engine (:mod:`helpline.ivr.engine`) builds an
:class:`~helpline.ivr.engine.SmsRequest` from the node and the call's variables and
hands it to :class:`FlowSmsOutbox`, which, in one short unit of work, renders the
tenant's template in the call's language (else English, else any) or takes the text
the node rendered, finds the customer the number belongs to and queues the message
(:func:`helpline.sms.service.send_sms`, purpose ``flow``). Nothing is sent here: the
SMS sender delivers it after the commit, so the call never waits for a gateway.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.core.errors import ApiError, NotFound
from helpline.customers.lookup import lookup_by_number, tenant_region
from helpline.ivr.engine import SmsNotQueued, SmsRequest
from helpline.sms import admin
from helpline.sms.models import SmsMessage, SmsTemplate
from helpline.sms.service import send_sms

PURPOSE = "flow"


async def template_names(session: AsyncSession, *, tenant_id: int) -> set[str]:
    """The names of ``tenant_id``'s SMS templates, for checking flows' ``sms`` nodes
    (:func:`helpline.ivr.flow.check`'s ``sms_templates``)."""
    rows = await session.execute(select(SmsTemplate.name).where(SmsTemplate.tenant_id == tenant_id))
    return set(rows.scalars())


async def queue_flow_sms(
    session: AsyncSession, *, tenant_id: int, request: SmsRequest
) -> SmsMessage:
    """Queue the message ``request`` asks for; 404 ``not_found`` for an unknown template,
    and the errors of :func:`~helpline.sms.service.send_sms`."""
    template_id = None
    if request.template is not None:
        template = await admin.template_by_name(session, tenant_id=tenant_id, name=request.template)
        if template is None:
            raise NotFound(f"no SMS template {request.template!r}")
        text, _used = admin.render_template(
            template, language=request.language.value, variables=request.variables
        )
        template_id = template.id
    else:
        text = request.text or ""
    region = await tenant_region(session, tenant_id)
    customer = await lookup_by_number(session, tenant_id, request.to, region=region)
    return await send_sms(
        session,
        tenant_id=tenant_id,
        to=request.to,
        text=text,
        created_by=f"flow ({request.call_id})",
        purpose=PURPOSE,
        customer_id=customer.id if customer else None,
        template_id=template_id,
    )


class FlowSmsOutbox:
    """The :class:`~helpline.ivr.engine.SmsOutbox` of one tenant's calls."""

    def __init__(
        self,
        unit_of_work: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        *,
        tenant_id: int,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.tenant_id = tenant_id

    async def queue(self, request: SmsRequest) -> None:
        """Queue the message in its own unit of work (committed before returning);
        :class:`~helpline.ivr.engine.SmsNotQueued` with the reason when it cannot be."""
        try:
            async with self.unit_of_work() as session:
                await queue_flow_sms(session, tenant_id=self.tenant_id, request=request)
        except ApiError as exc:
            raise SmsNotQueued(f"{exc.error_id}: {exc.message}") from exc
