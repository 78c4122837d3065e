"""The dev SMS sender: messages kept in memory (newest first) for tests and the dev outbox;
the log says that one was sent and to which number's last digits, never its text."""

from __future__ import annotations

import logging
import threading
from collections import deque

from keystead.ports.sms import SmsMessage

log = logging.getLogger("keystead.sms")


class DevSms:
    def __init__(self, size: int = 200) -> None:
        self._messages: deque[SmsMessage] = deque(maxlen=size)
        self._lock = threading.Lock()

    def send(self, message: SmsMessage) -> bool:
        with self._lock:
            self._messages.appendleft(message)
        log.info("dev sms: a message to %s kept (%d characters)", masked(message.to), len(message.text))
        return True

    def messages(self, tenant_id: str | None = None) -> list[SmsMessage]:
        with self._lock:
            return [m for m in self._messages if tenant_id is None or m.tenant_id == tenant_id]

    def close(self) -> None:
        return None


def masked(number: str) -> str:
    return f"…{number[-2:]}" if len(number) > 4 else "…"
