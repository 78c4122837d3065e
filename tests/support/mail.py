"""A real SMTP server for tests: aiosmtpd's Controller on 127.0.0.1 and a free port, keeping
every message it receives (parsed), optionally asking for a login or holding deliveries until
released."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)
LINK = re.compile(r"^\s+(https?://\S+)\s*$", re.MULTILINE)


@dataclass
class Sink:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    received: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until ``count`` messages arrived (a test fails rather than hangs)."""
        for _ in range(int(timeout * 20)):
            if len(self.messages) >= count:
                return self.messages
            self.received.wait(0.05)
            self.received.clear()
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def code_in(message: EmailMessage) -> str:
    match = CODE.search(text_of(message))
    assert match is not None, text_of(message)
    return match.group(1)


def link_in(message: EmailMessage) -> str:
    match = LINK.search(text_of(message))
    assert match is not None, text_of(message)
    return match.group(1)


class _Handler:
    def __init__(self, sink: Sink, hold: bool) -> None:
        self.sink = sink
        self.hold = hold

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold:
            import asyncio

            while not self.sink.release.is_set():
                await asyncio.sleep(0.01)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.sink.messages.append(parsed)
        self.sink.received.set()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_sink(*, login: tuple[str, str] | None = None, hold: bool = False) -> Iterator[Sink]:
    sink = Sink("127.0.0.1", free_port())
    kwargs: dict[str, Any] = {}
    if login is not None:

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            if isinstance(data, LoginPassword):
                pair = (data.login.decode(), data.password.decode())
                sink.logins.append(pair)
                return AuthResult(success=pair == login)
            return AuthResult(success=False)

        kwargs = {"authenticator": authenticate, "auth_require_tls": False, "auth_required": True}
    controller = Controller(_Handler(sink, hold), hostname=sink.host, port=sink.port, **kwargs)
    controller.start()
    try:
        yield sink
    finally:
        sink.release.set()
        controller.stop()
