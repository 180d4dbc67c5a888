"""Leaving a voicemail message over a :class:`~helpline.ivr.port.CallPort`.

Theory of operation: the caller hears the box's greeting (or the system's
``ivr/leave-message-after-tone``) and the beep; the message row is then committed with
status ``recording`` and only then is the caller recorded, until ``#``, silence, the
box's maximum length or the hang-up (the usual way to end a message, and it keeps it).
Messages shorter than :data:`MIN_SECONDS` and callers gone before the beep leave
nothing. A kept message is stored ``complete`` with its length and size, and its e-mail
goes out through the :class:`~helpline.voicemail.notify.Notifier` in the background. A
crash while recording leaves the row for :func:`helpline.voicemail.service.repair_unfinished`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Final

from helpline.db.base import utcnow
from helpline.ivr.port import CallGone, CallPort, RecordResult
from helpline.mailsettings import service as mail
from helpline.runtime import Runtime
from helpline.voicemail import service
from helpline.voicemail.models import VoicemailMessage
from helpline.voicemail.notify import MessageNotice, Notifier

log = logging.getLogger(__name__)

SYSTEM_GREETING: Final = "ivr/leave-message-after-tone"
BEEP: Final = "beep"
MIN_SECONDS: Final = 1.0
"""Shorter messages are discarded (a caller hanging up at the beep)."""
TERMINATORS: Final = "#"


async def _greet(port: CallPort, box: service.BoxConfig) -> None:
    names = [box.greeting or SYSTEM_GREETING, BEEP]
    try:
        sources = port.prompts(names)
    except LookupError:
        log.warning("voicemail box %s: greeting %r missing; system greeting", box.id, names[0])
        sources = port.prompts([SYSTEM_GREETING, BEEP])
    await port.play(sources)


async def leave_message(
    port: CallPort,
    box: service.BoxConfig,
    *,
    runtime: Runtime,
    notifier: Notifier,
    now: Callable[[], datetime] = utcnow,
) -> VoicemailMessage | None:
    """Let the caller on ``port`` leave a message in ``box``; the stored message, or
    None when nothing was kept (gone before the beep, shorter than :data:`MIN_SECONDS`).

    Files go under ``runtime.settings.data_dir``, rows carry ``runtime.settings.node_name``.
    Returns normally after the caller hung up while speaking (the port's next operation
    raises :class:`CallGone`); raises :class:`CallGone` if they hung up during the
    greeting. Any other error marks the message ``failed`` and propagates.
    """
    settings = runtime.settings
    await _greet(port, box)
    received_at = now()
    where = service.message_path(settings.data_dir, tenant_id=box.tenant_id, box_id=box.id)
    async with runtime.unit_of_work() as session:
        row = await service.begin_message(
            session,
            box=box,
            call_id=port.call_id,
            caller=port.caller,
            called=port.called,
            path=where.relative,
            received_at=received_at,
            node=settings.node_name,
        )
    try:
        result: RecordResult | None = await port.record(
            where.absolute,
            max_seconds=box.max_seconds,
            silence_seconds=box.silence_seconds,
            terminators=TERMINATORS,
        )
    except CallGone:
        result = None
    except BaseException:
        async with runtime.unit_of_work() as session:
            await service.fail_message(session, message_id=row.id)
        raise
    if result is None or result.duration < MIN_SECONDS:
        async with runtime.unit_of_work() as session:
            await service.discard_message(session, message_id=row.id, data_dir=settings.data_dir)
        log.info("voicemail box %s: nothing kept from call %s", box.id, port.call_id)
        return None
    size = (await asyncio.to_thread(where.absolute.stat)).st_size
    async with runtime.unit_of_work() as session:
        message = await service.finish_message(
            session, message_id=row.id, duration=result.duration, size=size
        )
        smtp = await mail.smtp_for(session, tenant_id=box.tenant_id, fallback=notifier.config)
    if message is None:
        await asyncio.to_thread(where.absolute.unlink, missing_ok=True)
        return None
    log.info(
        "voicemail box %s: message %s from %r, %.1f s (%s)",
        box.id,
        message.id,
        message.caller,
        message.duration_seconds,
        result.ended_by.value,
    )
    notifier.submit(
        MessageNotice(
            recipients=box.notify_emails,
            box=box.name,
            caller=message.caller,
            called=message.called,
            received_at=received_at,
            duration=result.duration,
            audio=where.absolute,
            language=box.language,
            timezone=box.timezone,
        ),
        config=smtp,
    )
    return message
