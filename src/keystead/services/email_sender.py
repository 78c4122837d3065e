"""Composing and sending the one-time-code mails, with a send limit per address.

``allow(key)`` counts a send in the attack-protection counters (ports/counters.py): at most
``codes.sends_per_window`` per key and window, past it :class:`TooManyCodes` with the seconds
left. Callers key on what the person typed (a login as typed counts the same whether or not an
account has it) or on the user. ``send`` fills the tenant-branded templates and hands the message
to the mailer, which returns at once (delivery is off the request path); ``compose`` does the
same work and sends nothing (an unknown account).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

from keystead.config import OneTimeCodeSettings
from keystead.errors import KeysteadError
from keystead.ports.counters import Counters
from keystead.ports.mail import Mailer, MailMessage, MailTemplates
from keystead.ports.records import Tenant


class TooManyCodes(KeysteadError):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many codes were sent; try again later")
        self.retry_after = max(1, retry_after)


class TenantDirectory(Protocol):
    def tenant_by_id(self, tenant_id: str) -> Tenant | None: ...


class EmailSender:
    def __init__(
        self,
        mailer: Mailer,
        templates: MailTemplates,
        counters: Counters,
        tenants: TenantDirectory,
        settings: OneTimeCodeSettings,
    ) -> None:
        self._mailer = mailer
        self._templates = templates
        self._counters = counters
        self._tenants = tenants
        self._settings = settings

    @property
    def minutes(self) -> int:
        return max(1, self._settings.code_ttl // 60)

    def allow(self, key: str, *, limit: int | None = None) -> None:
        """Count a send on ``key``; past ``limit`` (default ``sends_per_window``) refuse it."""
        count = self._counters.hit(f"mailsend:{key}", self._settings.send_window_seconds)
        if count.value > (limit if limit is not None else self._settings.sends_per_window):
            raise TooManyCodes(math.ceil(count.ttl))

    def compose(self, tenant_id: str, kind: str, to: str, values: Mapping[str, Any]) -> MailMessage:
        tenant = self._tenants.tenant_by_id(tenant_id)
        name = (tenant.display_name or tenant.name) if tenant else "Keystead"
        brand = {"brand_color": tenant.brand_color if tenant else None}
        return self._templates.compose(
            kind, to, tenant_name=name, values={**values, **brand}, tenant_id=tenant_id
        )

    def send(self, tenant_id: str, kind: str, to: str, values: Mapping[str, Any]) -> bool:
        return self._mailer.send(self.compose(tenant_id, kind, to, values))


def mask(address: str) -> str:
    """An address as a page may show it: ``a•••@example.com``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"
