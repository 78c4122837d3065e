"""Tenant settings: the tenant's identity and branding (read-only here: branding is changed by a
platform administrator through the tenants API)."""

from __future__ import annotations

from starlette.responses import Response

from keystead.web.console import render
from keystead.web.console.context import Console


def show_settings(c: Console) -> Response:
    return render.page(
        c,
        "console/settings.html",
        section="settings",
        title="Settings",
        issuer=c.app.tenants.issuer(c.target),
    )
