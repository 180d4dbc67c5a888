"""Leaving a message over a CallPort, on SQLite and PostgreSQL."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from sqlalchemy import select

from helpline.ivr.port import CallGone, RecordEnd
from helpline.media.errors import MediaError
from helpline.prompts.language import Language
from helpline.runtime import Runtime
from helpline.voicemail import service
from helpline.voicemail.deposit import leave_message
from helpline.voicemail.models import MessageStatus, VoicemailMessage
from helpline.voicemail.notify import Notifier
from tests.recordings.factory import tenant_id
from tests.voicemail.factory import make_box
from tests.voicemail.fakes import FakePort

NO_MAIL = Notifier(None)


async def _messages(runtime: Runtime) -> list[VoicemailMessage]:
    async with runtime.unit_of_work() as session:
        return list((await session.execute(select(VoicemailMessage))).scalars())


async def test_caller_hears_greeting_and_beep_then_message_is_stored(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo, max_seconds=60, silence_seconds=4.0)
    port = FakePort(tenant_id=demo)

    message = await leave_message(port, box, runtime=runtime, notifier=NO_MAIL)

    assert message is not None
    assert port.played == [["ivr/leave-message-after-tone", "beep"]]
    (asked,) = port.recorded
    assert (asked.max_seconds, asked.silence_seconds, asked.terminators) == (60, 4.0, "#")
    (stored,) = await _messages(runtime)
    assert stored.id == message.id and stored.status is MessageStatus.COMPLETE
    assert (stored.caller, stored.called, stored.call_id) == ("+4930123456", "1000", "vm-1@test")
    assert stored.duration_seconds == 3.0 and stored.size_bytes == 44 + 3 * 16000
    assert stored.path.startswith(f"voicemail/{demo}/{box.id}/") and stored.path.endswith(".wav")
    assert stored.node == runtime.settings.node_name and not stored.heard
    path = runtime.settings.data_dir / stored.path
    assert path == asked.path
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (1, 8000, 24000)


async def test_row_is_committed_before_recording_starts(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo)
    seen: list[tuple[MessageStatus, bool]] = []

    async def look(path: Path) -> None:
        async with runtime.sessions() as other:
            row = (await other.execute(select(VoicemailMessage))).scalar_one()
            seen.append((row.status, runtime.settings.data_dir / row.path == path))

    await leave_message(
        FakePort(tenant_id=demo, on_record=look), box, runtime=runtime, notifier=NO_MAIL
    )
    assert seen == [(MessageStatus.RECORDING, True)]


async def test_hanging_up_while_speaking_keeps_the_message(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo)
    port = FakePort(tenant_id=demo, speech_seconds=2.0, ends_by=RecordEnd.HANGUP)

    message = await leave_message(port, box, runtime=runtime, notifier=NO_MAIL)

    assert message is not None and message.status is MessageStatus.COMPLETE
    assert message.duration_seconds == 2.0


async def test_recording_stops_at_the_box_maximum(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo, max_seconds=5)
    port = FakePort(tenant_id=demo, speech_seconds=30.0)

    message = await leave_message(port, box, runtime=runtime, notifier=NO_MAIL)

    assert message is not None and message.duration_seconds == 5.0


async def test_message_shorter_than_a_second_is_discarded(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo)
    port = FakePort(tenant_id=demo, speech_seconds=0.5, ends_by=RecordEnd.HANGUP)

    assert await leave_message(port, box, runtime=runtime, notifier=NO_MAIL) is None

    assert await _messages(runtime) == []
    assert not port.recorded[0].path.exists()


async def test_caller_gone_before_the_recording_leaves_nothing(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo)

    gone_at_beep = FakePort(tenant_id=demo, gone_before="record")
    assert await leave_message(gone_at_beep, box, runtime=runtime, notifier=NO_MAIL) is None
    with pytest.raises(CallGone):
        await leave_message(
            FakePort(tenant_id=demo, gone_before="greeting"), box, runtime=runtime, notifier=NO_MAIL
        )

    assert await _messages(runtime) == []


async def test_recording_error_marks_the_message_failed(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo)
    port = FakePort(tenant_id=demo, record_error=MediaError("disk full"))

    with pytest.raises(MediaError):
        await leave_message(port, box, runtime=runtime, notifier=NO_MAIL)

    (stored,) = await _messages(runtime)
    assert stored.status is MessageStatus.FAILED


async def test_box_greeting_is_played_and_a_missing_one_falls_back(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    custom = await make_box(runtime, tenant=demo, name="support", greeting="vm/support")
    port = FakePort(tenant_id=demo, prompts_known=frozenset({"vm/support", "beep"}))
    await leave_message(port, custom, runtime=runtime, notifier=NO_MAIL)
    assert port.played == [["vm/support", "beep"]]

    missing = FakePort(tenant_id=demo)
    await leave_message(missing, custom, runtime=runtime, notifier=NO_MAIL)
    assert missing.played == [["ivr/leave-message-after-tone", "beep"]]


async def test_call_control_finds_enabled_boxes_with_tenant_defaults(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo, notify_emails=["a@example.com"])
    assert (box.timezone, box.language) == ("UTC", Language.EN)
    assert box.notify_emails == ("a@example.com",)
    await make_box(runtime, tenant=demo, name="seoul", language=Language.KO, timezone="Asia/Seoul")
    await make_box(runtime, tenant=demo, name="off", enabled=False)
    async with runtime.unit_of_work() as session:
        own = await service.box_for_call(session, tenant_id=demo, name="seoul")
    assert own is not None and (own.timezone, own.language) == ("Asia/Seoul", Language.KO)
    async with runtime.unit_of_work() as session:
        assert await service.box_for_call(session, tenant_id=demo, name="off") is None
        assert await service.box_for_call(session, tenant_id=demo + 1000, name="sales") is None
