"""The dev outbox: messages kept in memory, newest first, for the dev-only outbox page
(``/t/{tenant}/dev/outbox``) and for tests. Used when no ``smtp_url`` is set."""

from __future__ import annotations

import logging
import threading
from collections import deque

from keystead.ports.mail import MailMessage

log = logging.getLogger("keystead.mail")


class DevOutbox:
    def __init__(self, size: int = 200) -> None:
        self._messages: deque[MailMessage] = deque(maxlen=size)
        self._lock = threading.Lock()

    def send(self, message: MailMessage) -> bool:
        with self._lock:
            self._messages.appendleft(message)
        domain = message.to.rsplit("@", 1)[-1]
        log.info("dev outbox: %s mail to *@%s kept (no smtp_url set)", message.kind, domain)
        return True

    def messages(self, tenant_id: str | None = None) -> list[MailMessage]:
        with self._lock:
            return [m for m in self._messages if tenant_id is None or m.tenant_id == tenant_id]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def close(self) -> None:
        return None
