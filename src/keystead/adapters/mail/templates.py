"""The mail templates (``web/templates/mail/{kind}.txt`` and ``.html``, packaged with the
pages' templates), filled with Jinja2: HTML autoescaped, every value required (a missing one is
a bug, not an empty line)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from keystead.ports.mail import MailMessage
from keystead.types import Clock

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates" / "mail"
SUBJECTS = {
    "email_code": "Your {tenant} verification code",
    "sign_in": "Sign in to {tenant}",
    "unlock": "Unlock your {tenant} account",
    "password_reset": "Reset your {tenant} password",
    "password_changed": "Your {tenant} password was changed",
    "verify_email": "Confirm your email address for {tenant}",
}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class JinjaMailTemplates:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            auto_reload=False,
            keep_trailing_newline=True,
        )

    def compose(
        self, kind: str, to: str, *, tenant_name: str, values: Mapping[str, Any], tenant_id: str | None = None
    ) -> MailMessage:
        if kind not in SUBJECTS:
            raise ValueError(f"no mail template {kind!r}")
        color = str(values.get("brand_color") or "")
        context = {
            **values,
            "tenant_name": tenant_name,
            "brand_color": color if _COLOR.match(color) else "#4f46e5",
        }
        return MailMessage(
            to=to,
            subject=SUBJECTS[kind].format(tenant=tenant_name),
            text=self._env.get_template(f"{kind}.txt").render(**context),
            html=self._env.get_template(f"{kind}.html").render(**context),
            kind=kind,
            tenant_id=tenant_id,
            sent_at=self._clock(),
        )
