"""Rendering console pages: one layout, the signed-in tenant's branding, flash messages, and
partial responses for htmx."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from keystead.ports.records import Tenant
from keystead.web.render import TEMPLATES

if TYPE_CHECKING:
    from keystead.web.console.context import Console

STATIC = "/static"
NO_STORE = {"Cache-Control": "no-store", "Vary": "HX-Request"}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


def when(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


_env.filters["when"] = when


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
