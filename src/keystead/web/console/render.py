"""Rendering console pages: one layout, the signed-in tenant's branding, flash messages, and
partial responses for htmx."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from keystead.http.middleware import CSP
from keystead.ports.records import Tenant
from keystead.web.render import TEMPLATES

if TYPE_CHECKING:
    from keystead.web.console.context import Console

STATIC = "/static"
#: The app's policy plus what htmx needs: requests to this origin (``connect-src``), and forms
#: that post only here.
CONSOLE_CSP = f"{CSP}; connect-src 'self'; form-action 'self'"
NO_STORE = {"Cache-Control": "no-store", "Vary": "HX-Request", "Content-Security-Policy": CONSOLE_CSP}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


def when(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


AMR_NAMES = {
    "pwd": "Password",
    "otp": "One-time code",
    "mfa": "Multi-factor",
    "hwk": "Security key",
    "swk": "Passkey",
}


def methods(amr: tuple[str, ...]) -> str:
    return ", ".join(AMR_NAMES.get(m, m) for m in amr) or "—"


_env.filters["when"] = when
_env.filters["duration"] = duration
_env.filters["methods"] = methods


def is_htmx(c: Console) -> bool:
    headers = c.request.headers
    return headers.get("hx-request") == "true" and headers.get("hx-history-restore-request") != "true"


def page(
    c: Console, template: str, *, section: str, title: str, status: int = 200, **context: Any
) -> HTMLResponse:
    html = _env.get_template(template).render(
        c=c,
        home=c.home.tenant,
        tenant=c.target,
        static_url=STATIC,
        branding_css_url=f"{c.home.base_path}/branding.css",
        section=section,
        title=title,
        flash=c.flash,
        tenants=c.switchable_tenants(),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=dict(NO_STORE))


def fragment(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(template).render(static_url=STATIC, **context)
    return HTMLResponse(html, status_code=status, headers=dict(NO_STORE))


def bare(
    home: Tenant, base_path: str, template: str, *, title: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page outside a console session (signed out, refused, sign-in failed)."""
    html = _env.get_template(template).render(
        home=home,
        tenant=home,
        static_url=STATIC,
        branding_css_url=f"{base_path}/branding.css",
        console_url=f"{base_path}/console/",
        ui_locale="en",
        title=title,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=dict(NO_STORE))
