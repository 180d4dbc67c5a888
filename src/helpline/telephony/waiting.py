"""What a queued caller hears and may do while waiting, one task per call.

Theory of operation: call control answers the caller, attaches the queue's music on
hold and hands the call here (:meth:`WaitingRoom.start`) with a fresh
:class:`~helpline.telephony.channel.Channel`, so that the keys the caller presses
arrive here.  The task first lets the IVR script that handed the call over finish (its
last steps are written then, and the screen pop shows them), then joins the queue
(:meth:`helpline.telephony.acd.Distributor.join`).  A queue that refuses the caller
(full; nobody logged in to a queue that refuses callers then) answers with its
fallback, which is carried out at once; a queue run by another node sends the caller
on to that node (:mod:`helpline.telephony.forwarding`), its fallback only if that
fails.  While the caller waits:

* the announcements of :class:`~helpline.acd.waiting.AnnouncementSchedule` play over
  the music (position and expected wait, the callback offer, the periodic message),
  each one interruptible by a key;
* the queue's callback key turns the caller into a callback request that keeps their
  place: they hear the confirmation and the call ends, its record's outcome
  ``callback``;
* when the queue sends the caller away (maximum wait, or no agent left), its fallback
  is carried out: a callback (as if they had asked), another queue, a voicemail box,
  an announcement, or "all agents are busy"; each ends the call but the other queue.

When an agent answers, call control stops the task (:meth:`WaitingRoom.stop`) before
the caller hears the agent: a prompt under way is stopped, and keys go to the agent
again.  The caller hanging up ends the channel; the task then ends quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from helpline.acd.schemas import CallbackTarget
from helpline.acd.waiting import (
    CALLBACK_CONFIRMED,
    AnnouncementSchedule,
    WaitingPolicy,
    announcement,
)
from helpline.calls.models import CallOutcome, SegmentKind
from helpline.ivr.port import CallGone
from helpline.media.backend import MediaBackendError, PlaybackId
from helpline.routing.schedule import AnnouncementTarget, QueueTarget, VoicemailTarget
from helpline.telephony.acd import Leave, LeaveReason
from helpline.telephony.calllog import Entry
from helpline.telephony.channel import Channel
from helpline.telephony.selfservice import BUSY_PROMPT
from helpline.voicemail import service as voicemail

if TYPE_CHECKING:
    from helpline.telephony.calls import CallControl

__all__ = ["MAX_HOPS", "Waiting", "WaitingRoom"]

log = logging.getLogger(__name__)

#: How many times one caller may be sent on to another queue.
MAX_HOPS = 3
#: How long the IVR script that handed a call over may take to finish.
IVR_GRACE = 3.0
#: Why a queue turns a caller away without their having waited in it.
REFUSED = frozenset(
    {LeaveReason.NO_QUEUE, LeaveReason.NOT_LEADER, LeaveReason.FULL, LeaveReason.EMPTY}
)
#: Seconds into the wait of the first announcement (a caller taken at once hears none).
FIRST_ANNOUNCEMENT = 2.0


@dataclass(slots=True)
class Waiting:
    """One queued call as the waiting room serves it."""

    tenant_id: int
    call_id: str
    queue: str
    channel: Channel
    log: Entry
    requeue: Callable[[str, int], Awaitable[bool]]
    """Join another queue (a fallback), with the number of hops so far."""
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    caller: str = ""
    called: str = ""
    ivr: asyncio.Task[None] | None = None
    """The IVR script that handed the call over, if it may still run."""
    hops: int = 0
    playing: PlaybackId | None = None


class WaitingRoom:
    """Runs the waiting of every queued call of one node's call control."""

    def __init__(self, control: CallControl) -> None:
        self.control = control
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._waiting: dict[str, Waiting] = {}

    def start(self, waiting: Waiting) -> None:
        """Join the queue and serve the caller until an agent answers or they leave."""
        self.stop(waiting.call_id)
        task = asyncio.get_running_loop().create_task(self._serve(waiting))
        self._tasks[waiting.call_id] = task
        self._waiting[waiting.call_id] = waiting
        task.add_done_callback(lambda done: self._forget(waiting.call_id, done))

    def _forget(self, call_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(call_id) is task:
            del self._tasks[call_id]
            self._waiting.pop(call_id, None)

    def stop(self, call_id: str) -> None:
        """An agent answered: stop announcing (a prompt under way too)."""
        task = self._tasks.pop(call_id, None)
        waiting = self._waiting.pop(call_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if waiting is not None and waiting.playing is not None:
            playing, waiting.playing = waiting.playing, None
            asyncio.get_running_loop().create_task(self._stop_playback(playing))

    async def _stop_playback(self, playback: PlaybackId) -> None:
        with contextlib.suppress(MediaBackendError):
            await self.control.media.stop_playback(playback)

    async def close(self) -> None:
        """Stop every waiting task."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, waiting: Waiting) -> None:
        try:
            await self._wait(waiting)
        except CallGone:
            return
        except (MediaBackendError, LookupError) as exc:
            log.warning("call %s: waiting failed: %s", waiting.call_id, exc)
            waiting.channel.hang_up()
        except Exception:
            log.exception("call %s: waiting failed", waiting.call_id)
            waiting.channel.hang_up()

    async def _wait(self, waiting: Waiting) -> None:
        control, channel = self.control, waiting.channel
        acd = control.acd
        if waiting.ivr is not None and not waiting.ivr.done():
            await asyncio.wait({waiting.ivr}, timeout=IVR_GRACE)
        ticket = await acd.join(
            waiting.tenant_id,
            waiting.call_id,
            waiting.queue,
            priority=waiting.priority,
            skills=waiting.skills,
            data=waiting.data,
            caller=waiting.caller,
            called=waiting.called,
        )
        if channel.gone.is_set():
            acd.leave(waiting.tenant_id, waiting.call_id)
            raise CallGone
        if ticket.refused is not None or ticket.departure is None or ticket.queue is None:
            await self._fallback(waiting, ticket.refused)
            return
        queue = ticket.queue
        key = queue.callback_key if queue.callback_enabled and waiting.caller else None
        policy = WaitingPolicy(
            float(queue.announce_interval),
            float(queue.periodic_interval),
            queue.periodic_prompt,
            key,
        )
        loop = asyncio.get_running_loop()
        schedule = AnnouncementSchedule.start(policy, loop.time(), first_after=FIRST_ANNOUNCEMENT)
        departure = ticket.departure
        while True:
            due_at = schedule.next_at()
            timeout = None if due_at is None else max(0.0, due_at - loop.time())
            digit = asyncio.ensure_future(channel.digits.get())
            gone = asyncio.ensure_future(channel.gone.wait())
            watched: set[asyncio.Future[Any]] = {digit, gone, departure}
            try:
                done, _ = await asyncio.wait(
                    watched, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for future in (digit, gone):
                    if not future.done():
                        future.cancel()
            if channel.gone.is_set():
                raise CallGone
            if departure in done:
                if departure.cancelled():
                    return
                await self._fallback(waiting, departure.result())
                return
            if digit in done:
                pressed = digit.result()
                log.info("call %s: key %s pressed while waiting", waiting.call_id, pressed)
                if key is not None and pressed == key and await self._callback(waiting):
                    return
                continue
            schedule, due = schedule.take(loop.time())
            position = acd.position(waiting.tenant_id, waiting.call_id)
            names = announcement(
                due,
                policy=policy,
                position=position,
                wait_seconds=acd.expected_wait(waiting.tenant_id, waiting.call_id),
                language=channel.language,
            )
            if names and position is not None:
                await self._play(waiting, names, departure)

    async def _play(
        self, waiting: Waiting, names: Sequence[str], departure: asyncio.Future[Leave] | None
    ) -> None:
        """Play prompts over the music, until their end, a key, or the queue sending
        the caller away; a missing prompt is logged and skipped."""
        control, channel = self.control, waiting.channel
        try:
            sources = channel.prompts(names)
        except LookupError as exc:
            log.warning("call %s: %s", waiting.call_id, exc)
            return
        if channel.gone.is_set():
            raise CallGone
        playback = await control.media.play(channel.endpoint, sources, interruptible=True)
        waiting.playing = playback
        ended = control.playbacks.expect(playback)
        watch: set[asyncio.Future[Any]] = {ended, asyncio.ensure_future(channel.gone.wait())}
        if departure is not None:
            watch.add(departure)
        try:
            await asyncio.wait(watch, return_when=asyncio.FIRST_COMPLETED)
        finally:
            control.playbacks.forget(playback)
            waiting.playing = None
            if not ended.done():
                await self._stop_playback(playback)
            for future in watch:
                if future is not ended and future is not departure and not future.done():
                    future.cancel()
        if channel.gone.is_set():
            raise CallGone

    async def _say(self, waiting: Waiting, prompt: str) -> None:
        """Play one prompt to its end (not interruptible)."""
        channel = waiting.channel
        try:
            sources = channel.prompts([prompt])
        except LookupError as exc:
            log.warning("call %s: %s", waiting.call_id, exc)
            return
        await channel.play(sources)

    async def _callback(self, waiting: Waiting, *, fallback: bool = False) -> bool:
        """Ask for a callback that keeps the caller's place; confirm and hang up."""
        acd = self.control.acd
        if not waiting.caller or not await acd.request_callback(
            waiting.tenant_id, waiting.call_id, number=waiting.caller, fallback=fallback
        ):
            log.info("call %s: no callback possible now", waiting.call_id)
            return False
        log.info("call %s: will be called back at %s", waiting.call_id, waiting.caller)
        waiting.log.outcome = CallOutcome.CALLBACK
        await self._quiet(waiting)
        await self._say(waiting, CALLBACK_CONFIRMED)
        waiting.channel.hang_up()
        return True

    async def _quiet(self, waiting: Waiting) -> None:
        with contextlib.suppress(MediaBackendError):
            await self.control.media.detach_moh(waiting.channel.endpoint)

    async def _fallback(self, waiting: Waiting, leave: Leave | None) -> None:
        """Carry out where the queue sends a caller it does not keep."""
        target = leave.fallback if leave is not None else None
        log.info(
            "call %s: leaves queue %s (%s) for %s",
            waiting.call_id,
            waiting.queue,
            leave.reason.value if leave is not None else "refused",
            target.kind if target is not None else "busy",
        )
        control, channel = self.control, waiting.channel
        if leave is not None and leave.reason is LeaveReason.NOT_LEADER:
            call = control.calls.get(waiting.call_id)
            if call is not None and await control.forwarding.forward(
                call,
                waiting.queue,
                priority=waiting.priority,
                skills=waiting.skills,
                data=waiting.data,
            ):
                return  # the node leading the tenant took the caller
        hop = waiting.hops + 1
        if (
            isinstance(target, QueueTarget)
            and hop <= MAX_HOPS
            and await waiting.requeue(target.queue, hop)
        ):
            return
        if isinstance(target, CallbackTarget) and await self._callback(waiting, fallback=True):
            return
        await self._quiet(waiting)
        if leave is None or leave.reason in REFUSED:
            waiting.log.outcome = CallOutcome.REJECTED  # turned away, not abandoned
        if isinstance(target, VoicemailTarget):
            waiting.log.outcome = None
            await control.calllog.segment(waiting.log, SegmentKind.VOICEMAIL)
            box_id = target.box_id
            await control.selfservice.voicemail(
                channel,
                lambda db: voicemail.box_by_id(db, tenant_id=waiting.tenant_id, box_id=box_id),
            )
        elif isinstance(target, AnnouncementTarget):
            await self._say(waiting, target.prompt)
        else:
            await self._say(waiting, BUSY_PROMPT)
        channel.hang_up()
