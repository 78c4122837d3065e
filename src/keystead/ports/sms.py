"""Text messages: the narrow port an SMS code is sent through.

Like :class:`keystead.ports.mail.Mailer`, a sender returns at once and delivers off the request
path; it never logs the text (it holds a code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SmsMessage:
    to: str  # E.164, e.g. +15551234567
    text: str
    tenant_id: str | None = None
    sent_at: float = 0.0


class SmsSender(Protocol):
    def send(self, message: SmsMessage) -> bool:
        """Queue ``message``; ``False`` when it was dropped (logged at ERROR)."""
        ...

    def close(self) -> None: ...
