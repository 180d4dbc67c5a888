"""Running a service's target on an answered call: IVR flow, VoiceXML, voicemail, ...

Theory of operation: when routing sends a call to a service, call control answers it
and runs the target the schedule chose over the call's
:class:`~helpline.telephony.channel.Channel`:

* ``flow``: the latest published version of the IVR flow (a call keeps that version to
  its end), its path stored step by step (:class:`~helpline.ivr.service.DbPathRecorder`);
* ``vxml``: the stored VoiceXML document; further documents only from this node's
  HTTP server (``/api/demo/`` and ``/ivr/``) — fetching from anywhere else needs an
  allowlist, which is not configurable yet;
* ``voicemail``: the box's greeting, beep and the caller's message;
* ``announcement``: the prompt, then the call ends;
* ``queue``: call control hands the caller to the ACD; this only runs when the queue
  does not exist or is full: "all agents are busy", and the call ends.

Whatever ends the script, the call is hung up unless the script handed it on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

import httpx

from helpline.ivr import service as flows
from helpline.ivr.engine import OutcomeKind as FlowOutcome
from helpline.ivr.engine import run_flow
from helpline.ivr.port import CallGone, CallPort
from helpline.routing.schedule import (
    AnnouncementTarget,
    FlowTarget,
    QueueTarget,
    Target,
    VoicemailTarget,
    VxmlTarget,
)
from helpline.runtime import Runtime
from helpline.sms.flows import FlowSmsOutbox
from helpline.voicemail import service as voicemail
from helpline.voicemail.deposit import leave_message
from helpline.voicemail.notify import Notifier
from helpline.vxml import service as vxml
from helpline.vxml.fetch import HttpFetcher
from helpline.vxml.interpreter import run_vxml

log = logging.getLogger(__name__)

BUSY_PROMPT = "queue/all-agents-busy"
GOODBYE_PROMPT = "ivr/goodbye"


class SelfService:
    """Runs targets for one node (shares one HTTP client and the e-mail notifier)."""

    def __init__(self, runtime: Runtime, notifier: Notifier) -> None:
        self.runtime = runtime
        self.notifier = notifier
        self.http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        settings = runtime.settings
        base = f"http://{settings.http_host}:{settings.http_port}"
        self.fetcher = HttpFetcher(allowed=[f"{base}/api/demo/", f"{base}/ivr/"])

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    async def run(self, port: CallPort, target: Target, hang_up: Callable[[], None]) -> None:
        """Run ``target`` on ``port``; hang up afterwards unless it handed the call on."""
        handed_on = False
        with contextlib.suppress(CallGone):
            handed_on = await self._run(port, target)
        if not handed_on:
            hang_up()

    async def _run(self, port: CallPort, target: Target) -> bool:
        if isinstance(target, FlowTarget):
            return await self._flow(port, target.flow_id)
        if isinstance(target, VxmlTarget):
            return await self._vxml(port, target.document_id)
        if isinstance(target, VoicemailTarget):
            await self.voicemail(
                port,
                lambda db: voicemail.box_by_id(db, tenant_id=port.tenant_id, box_id=target.box_id),
            )
            return False
        if isinstance(target, AnnouncementTarget):
            await self.announce(port, target.prompt)
            return False
        assert isinstance(target, QueueTarget)
        await self.announce(port, BUSY_PROMPT)
        return False

    async def _flow(self, port: CallPort, flow_id: int) -> bool:
        async with self.runtime.unit_of_work() as db:
            published = await flows.load_published(db, tenant_id=port.tenant_id, flow_id=flow_id)
        if published is None:
            log.warning("call %s: flow %d has no published version", port.call_id, flow_id)
            await self.announce(port, GOODBYE_PROMPT)
            return False
        recorder = flows.DbPathRecorder(
            self.runtime.unit_of_work,
            tenant_id=port.tenant_id,
            call_id=port.call_id,
            flow_id=published.flow_id,
            version=published.version,
        )
        sms = FlowSmsOutbox(self.runtime.unit_of_work, tenant_id=port.tenant_id)
        outcome = await run_flow(
            published.document, port, recorder=recorder, http_client=self.http, sms=sms
        )
        if outcome.kind is FlowOutcome.FAILED:
            log.warning("call %s: flow %d failed: %s", port.call_id, flow_id, outcome.reason)
            await self.announce(port, GOODBYE_PROMPT)
        return outcome.kind is FlowOutcome.TRANSFERRED

    async def _vxml(self, port: CallPort, document_id: int) -> bool:
        async with self.runtime.unit_of_work() as db:
            source = await vxml.source_by_id(db, tenant_id=port.tenant_id, document_id=document_id)
        if source is None:
            log.warning("call %s: no VoiceXML document %d", port.call_id, document_id)
            await self.announce(port, GOODBYE_PROMPT)
            return False
        record_dir = self.runtime.settings.data_dir / "vxml-recordings"
        outcome = await run_vxml(port, fetcher=self.fetcher, source=source, record_dir=record_dir)
        return outcome.transfer is not None

    async def voicemail(
        self,
        port: CallPort,
        find: Callable[..., Awaitable[voicemail.BoxConfig | None]],
    ) -> None:
        """Take a message for the box ``find(session)`` returns, then say goodbye."""
        async with self.runtime.unit_of_work() as db:
            box = await find(db)
        if box is None:
            log.warning("call %s: the voicemail box is gone or disabled", port.call_id)
        else:
            await leave_message(port, box, runtime=self.runtime, notifier=self.notifier)
        await self.announce(port, GOODBYE_PROMPT)

    async def announce(self, port: CallPort, prompt: str) -> None:
        """Play one prompt to the end (a missing prompt is logged and skipped)."""
        try:
            sources = port.prompts([prompt])
        except LookupError as exc:
            log.warning("call %s: %s", port.call_id, exc)
            return
        await port.play(sources)
