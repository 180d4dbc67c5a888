"""INVITEs out the tenant's trunks, one trunk after the other: what an outbound call
and an ACD callback to a number share. The routes are the trunks that take the number,
best first (:meth:`~helpline.telephony.trunking.TrunkDirectory.outbound`); a trunk whose
host does not resolve is skipped, and when the trunk tried fails with one of
:data:`~helpline.telephony.trunking.FAILOVER` the caller sends the next."""

from __future__ import annotations

import logging

from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import ClientAuth, UserAgent
from helpline.telephony.trunking import plan_call, resolve
from helpline.trunks.rules import TrunkConfig

log = logging.getLogger(__name__)


async def invite_next(
    ua: UserAgent,
    routes: list[TrunkConfig],
    number: str,
    *,
    caller_name: str | None,
    body: bytes,
    now: float,
    call_id: str | None = None,
) -> TransactionKey | None:
    """INVITE ``number`` through the first of ``routes`` that resolves, removing the
    trunks it used or skipped from ``routes``; None when none is left."""
    while routes:
        trunk = routes.pop(0)
        try:
            destination = await resolve(trunk)
        except OSError as exc:
            log.warning("trunk %s unreachable: %s", trunk.name, exc)
            continue
        plan = plan_call(trunk, number, caller_name=caller_name)
        auth = None
        if trunk.username and trunk.password:
            auth = ClientAuth(trunk.username, trunk.password)
        return ua.invite(
            request_uri=plan.request_uri,
            from_=plan.from_,
            to=plan.to,
            destination=destination,
            transport=trunk.transport.value,
            now=now,
            body=body,
            extra=plan.extra,
            call_id=call_id,
            auth=auth,
        )
    return None
