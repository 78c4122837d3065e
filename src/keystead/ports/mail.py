"""Outgoing mail: the narrow port services send a message through, and the one that writes it.

A :class:`Mailer` takes a finished :class:`MailMessage` and returns at once: delivery happens off
the request path (adapters/mail: SMTP through a bounded background queue, or the dev outbox).
:class:`MailTemplates` turns a message kind and its values into subject, text and HTML, branded
with the tenant's name. Neither logs a message's body: it may hold a code or a sign-in link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class MailMessage:
    to: str
    subject: str
    text: str
    html: str
    #: What the message is (``email_code``, ``sign_in``, ``unlock``, ``verify_email``): for logs.
    kind: str = "notice"
    tenant_id: str | None = None
    sent_at: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)


class Mailer(Protocol):
    def send(self, message: MailMessage) -> bool:
        """Queue ``message`` for delivery without waiting for the network; ``False`` when it was
        dropped (the queue is full: logged at ERROR)."""
        ...

    def close(self) -> None:
        """Deliver what is queued (briefly) and stop."""
        ...


class MailTemplates(Protocol):
    def compose(
        self, kind: str, to: str, *, tenant_name: str, values: Mapping[str, Any], tenant_id: str | None = None
    ) -> MailMessage:
        """The message of ``kind`` to ``to``, its templates filled with ``values``."""
        ...
