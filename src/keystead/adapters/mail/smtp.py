"""SMTP delivery with aiosmtplib, off the request path (adapters/background.py).

``smtp_url``: ``smtps://user:pass@host:465`` speaks TLS from the first byte;
``smtp://user:pass@host:587`` must upgrade with STARTTLS, except to a loopback host (a local
relay), where STARTTLS is used if offered. Certificates are verified. The URL is a secret (it
holds the password) and is never logged.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from keystead.adapters.background import BackgroundSender
from keystead.config import MailSettings
from keystead.errors import ConfigurationError
from keystead.ports.mail import MailMessage


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # TLS from the start (smtps)
    start_tls: bool | None  # True: required; None: if offered (loopback only)

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigurationError("smtp_url must look like smtp[s]://user:pass@host:port")
        implicit = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if implicit else 587)
        except ValueError as exc:
            raise ConfigurationError("smtp_url has an invalid port") from exc
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit,
            start_tls=None if implicit or _loopback(parts.hostname) else True,
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def to_email(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or None)
    email["Auto-Submitted"] = "auto-generated"
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email


class SmtpMailer:
    def __init__(self, url: str, settings: MailSettings) -> None:
        self._server = SmtpServer.from_url(url)
        self._settings = settings
        self._queue: BackgroundSender[MailMessage] = BackgroundSender(
            "keystead-smtp",
            self._deliver,
            describe,
            queue_size=settings.queue_size,
            retries=settings.retries,
            retry_delay=settings.retry_delay_seconds,
        )

    def send(self, message: MailMessage) -> bool:
        return self._queue.submit(message)

    def flush(self, timeout: float = 10.0) -> bool:
        return self._queue.flush(timeout)

    @property
    def failures(self) -> int:
        return self._queue.failures

    def close(self) -> None:
        self._queue.close()

    def _deliver(self, message: MailMessage) -> None:
        asyncio.run(self._send(to_email(message, self._settings.from_address)))

    async def _send(self, email: EmailMessage) -> None:
        s = self._server
        await aiosmtplib.send(
            email,
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password,
            use_tls=s.use_tls,
            start_tls=s.start_tls,
            timeout=self._settings.timeout_seconds,
        )


def describe(message: MailMessage) -> str:
    """A message in a log line: its kind and the recipient's domain, never the body."""
    return f"{message.kind} mail to *@{message.to.rsplit('@', 1)[-1]}"
