"""The e-mail notification of a new message, received by a real SMTP server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from helpline.config import Settings
from helpline.media.tones import tone
from helpline.media.wav import WavWriter
from helpline.prompts.language import Language
from helpline.runtime import Runtime
from helpline.voicemail.deposit import leave_message
from helpline.voicemail.notify import MessageNotice, Notifier, SmtpConfig, build_email
from tests.recordings.factory import tenant_id
from tests.voicemail.factory import make_box
from tests.voicemail.fakes import FakePort
from tests.voicemail.smtp import Inbox, free_port, smtp_server

RECEIVED = datetime.fromisoformat("2026-11-02T09:00:00+00:00")


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpConfig]]:
    """A local SMTP server and the configuration that reaches it."""
    with smtp_server() as (inbox, port):
        yield (
            inbox,
            SmtpConfig(
                host="127.0.0.1", port=port, sender="voicemail@helpline.test", starttls=False
            ),
        )


def _notice(audio: Path, **changes: object) -> MessageNotice:
    fields: dict[str, object] = {
        "recipients": ("a@example.com",),
        "box": "sales",
        "caller": "+4930123456",
        "called": "1000",
        "received_at": RECEIVED,
        "duration": 75.4,
        "audio": audio,
        "language": Language.EN,
        "timezone": "Europe/Berlin",
    }
    return MessageNotice(**(fields | changes))  # type: ignore[arg-type]


def _wav(path: Path) -> Path:
    with WavWriter(path) as writer:
        writer.write(tone([440], 0.1))
    return path


async def test_new_message_is_mailed_with_the_audio_attached(
    runtime: Runtime, smtp: tuple[Inbox, SmtpConfig]
) -> None:
    inbox, config = smtp
    demo = await tenant_id(runtime, "demo")
    box = await make_box(
        runtime,
        tenant=demo,
        notify_emails=["sales@example.com", "boss@example.com"],
        timezone="Asia/Seoul",
    )
    notifier = Notifier(config)

    message = await leave_message(
        FakePort(tenant_id=demo), box, runtime=runtime, notifier=notifier, now=lambda: RECEIVED
    )
    await notifier.drain()

    assert message is not None
    (mail,) = inbox.mails
    assert inbox.recipients == [["sales@example.com", "boss@example.com"]]
    assert mail["From"] == "voicemail@helpline.test"
    assert mail["Subject"] == "New voicemail in sales from +4930123456"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Received: 2026-11-02 18:00:00 KST" in text
    assert "Length: 0:03" in text and "To: 1000" in text
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "audio/wav"
    audio = (runtime.settings.data_dir / message.path).read_bytes()
    assert attachment.get_content() == audio


async def test_slow_smtp_server_does_not_hold_up_the_call(
    runtime: Runtime, smtp: tuple[Inbox, SmtpConfig]
) -> None:
    inbox, config = smtp
    inbox.gate.clear()
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo, notify_emails=["sales@example.com"])
    notifier = Notifier(config)

    message = await leave_message(FakePort(tenant_id=demo), box, runtime=runtime, notifier=notifier)

    assert message is not None and inbox.mails == []
    assert await asyncio.to_thread(inbox.arrived.wait, 30)
    inbox.gate.set()
    await notifier.drain()
    assert len(inbox.mails) == 1


async def test_unreachable_smtp_server_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(
        SmtpConfig(host="127.0.0.1", port=free_port(), sender="v@x", starttls=False)
    )
    notifier.submit(_notice(_wav(tmp_path / "m.wav")))
    with caplog.at_level(logging.WARNING, logger="helpline.voicemail.notify"):
        await notifier.drain()
    assert "voicemail e-mail for box sales to a@example.com failed" in caplog.text


async def test_smtp_login_is_used_when_configured(
    tmp_path: Path, smtp: tuple[Inbox, SmtpConfig]
) -> None:
    inbox, config = smtp
    settings = Settings(
        smtp_host=config.host,
        smtp_port=config.port,
        smtp_username="mailer",
        smtp_password="mail-secret",
        smtp_from="vm@helpline.test",
        smtp_starttls=False,
    )
    login_config = SmtpConfig.from_settings(settings)
    assert login_config is not None
    notifier = Notifier(login_config)
    notifier.submit(_notice(_wav(tmp_path / "m.wav")))
    await notifier.drain()
    assert inbox.logins == [("mailer", "mail-secret")]
    assert [m["From"] for m in inbox.mails] == ["vm@helpline.test"]


def test_no_smtp_host_means_no_email() -> None:
    assert SmtpConfig.from_settings(Settings(smtp_host="")) is None


async def test_box_without_recipients_sends_nothing(
    tmp_path: Path, smtp: tuple[Inbox, SmtpConfig]
) -> None:
    inbox, config = smtp
    notifier = Notifier(config)
    notifier.submit(_notice(_wav(tmp_path / "m.wav"), recipients=()))
    await notifier.drain()
    assert inbox.mails == []


@pytest.mark.parametrize(
    ("language", "subject", "anonymous"),
    [
        (Language.EN, "New voicemail in sales from an anonymous caller", "an anonymous caller"),
        (Language.ZH, "sales 有来自 匿名来电 的新语音留言", "匿名来电"),
        (Language.KO, "sales에 발신자 번호 없음의 새 음성 메시지", "발신자 번호 없음"),
    ],
)
def test_email_speaks_the_box_language_and_names_anonymous_callers(
    tmp_path: Path, language: Language, subject: str, anonymous: str
) -> None:
    mail = build_email(
        _notice(_wav(tmp_path / "m.wav"), caller="", language=language), sender="v@helpline.test"
    )
    assert mail["Subject"] == subject
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert anonymous in text and "2026-11-02 10:00:00 CET" in text and "1:15" in text
