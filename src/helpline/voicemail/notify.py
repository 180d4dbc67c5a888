"""E-mail notification of a new voicemail message, with the audio attached.

Theory of operation: call control hands a :class:`MessageNotice` to the process's
:class:`Notifier` and goes on at once; the notifier builds the e-mail and talks SMTP
(stdlib :mod:`smtplib`, STARTTLS with certificate checks when configured) in a worker
thread, in a background task it keeps until it ends, so a slow or dead SMTP server never
delays a call. Failures are logged, never raised. :meth:`Notifier.drain` waits for what
is under way (at shutdown, and in tests).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpline.config import Settings
from helpline.prompts.language import Language

log = logging.getLogger(__name__)

SMTP_TIMEOUT: Final = 30.0

_TEXT: Final[dict[Language, dict[str, str]]] = {
    Language.EN: {
        "subject": "New voicemail in {box} from {caller}",
        "body": (
            "A new voicemail message was left in the box {box}.\n\n"
            "From: {caller}\nTo: {called}\nReceived: {when}\nLength: {length}\n\n"
            "The recording is attached.\n"
        ),
        "anonymous": "an anonymous caller",
    },
    Language.ZH: {
        "subject": "{box} 有来自 {caller} 的新语音留言",
        "body": (
            "语音信箱 {box} 收到一条新留言。\n\n"
            "来电号码：{caller}\n被叫号码：{called}\n时间：{when}\n时长：{length}\n\n"
            "录音见附件。\n"
        ),
        "anonymous": "匿名来电",
    },
    Language.KO: {
        "subject": "{box}에 {caller}의 새 음성 메시지",
        "body": (
            "음성 사서함 {box}에 새 메시지가 있습니다.\n\n"
            "발신 번호: {caller}\n수신 번호: {called}\n수신 시각: {when}\n길이: {length}\n\n"
            "녹음 파일이 첨부되어 있습니다.\n"
        ),
        "anonymous": "발신자 번호 없음",
    },
}


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """How to reach the SMTP server."""

    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = True
    timeout: float = SMTP_TIMEOUT

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """The configured server; None when ``smtp_host`` is empty (no e-mail)."""
        if not settings.smtp_host:
            return None
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=password,
            starttls=settings.smtp_starttls,
        )


@dataclass(frozen=True, slots=True)
class MessageNotice:
    """What the notification e-mail of one message says; ``audio`` is attached."""

    recipients: tuple[str, ...]
    box: str
    caller: str
    called: str
    received_at: datetime
    duration: float
    audio: Path
    language: Language
    timezone: str


def _local(moment: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; e-mail times in UTC", timezone)
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _length(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def build_email(notice: MessageNotice, *, sender: str) -> EmailMessage:
    """The notification e-mail of ``notice`` with its WAV file attached (reads the file)."""
    text = _TEXT[notice.language]
    fields = {
        "box": notice.box,
        "caller": notice.caller or text["anonymous"],
        "called": notice.called,
        "when": _local(notice.received_at, notice.timezone),
        "length": _length(notice.duration),
    }
    email = EmailMessage()
    email["Subject"] = text["subject"].format(**fields)
    email["From"] = sender
    email["To"] = ", ".join(notice.recipients)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    email.set_content(text["body"].format(**fields))
    email.add_attachment(
        notice.audio.read_bytes(),
        maintype="audio",
        subtype="wav",
        filename=f"voicemail-{notice.received_at:%Y%m%d-%H%M%S}.wav",
    )
    return email


def send_email(config: SmtpConfig, email: EmailMessage) -> None:
    """Deliver ``email`` (blocking); raises ``OSError`` or ``smtplib.SMTPException``."""
    with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password)
        smtp.send_message(email)


class Notifier:
    """Sends notification e-mails in the background; one per process."""

    def __init__(self, config: SmtpConfig | None) -> None:
        self.config = config
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, notice: MessageNotice, *, config: SmtpConfig | None = None) -> None:
        """Send the e-mail of ``notice`` in the background through ``config`` (the box's
        tenant's own server) or the node's; nothing without recipients or a server."""
        server = config or self.config
        if server is None or not notice.recipients:
            return
        task = asyncio.get_running_loop().create_task(self._send(server, notice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, config: SmtpConfig, notice: MessageNotice) -> None:
        def deliver() -> None:
            send_email(config, build_email(notice, sender=config.sender))

        try:
            await asyncio.to_thread(deliver)
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            log.warning(
                "voicemail e-mail for box %s to %s failed: %s",
                notice.box,
                ", ".join(notice.recipients),
                exc,
            )
        else:
            log.info("voicemail e-mail for box %s sent to %d", notice.box, len(notice.recipients))

    async def drain(self) -> None:
        """Wait for every e-mail under way."""
        while self._tasks:
            await asyncio.gather(*self._tasks)
