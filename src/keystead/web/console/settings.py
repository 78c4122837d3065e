"""Tenant settings through ``app.tenant_settings`` (the service the admin API uses): branding,
token lifetimes and the password policy, each section a form that names the version it showed
(a compare-and-set: a change made meanwhile is reported, not overwritten). Login methods and
password hashing costs are shown read-only (the admin API changes them)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from keystead.errors import InvalidInput, Stale
from keystead.services.tenant_settings import TenantSettings
from keystead.web.console import render
from keystead.web.console.context import Console

TOKEN_FIELDS = ("access_token_ttl", "id_token_ttl", "refresh_token_ttl", "session_ttl")
_STALE = "The settings were changed after you opened this page. Reload it and make your changes again."


def show_settings(c: Console) -> Response:
    return _show(c, c.app.tenant_settings.read(c.target.id), {}, {})


def _show(
    c: Console,
    settings: TenantSettings,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    failed: str = "",
) -> Response:
    return render.page(
        c,
        "console/settings.html",
        section="settings",
        title="Settings",
        status=status,
        settings=settings,
        values=values,
        errors=errors,
        issuer=c.app.tenants.issuer(c.target),
        token_fields=TOKEN_FIELDS,
        failed=failed,
    )


def update_settings(c: Console) -> Response:
    before = c.app.tenant_settings.read(c.target.id)
    section = c.value("section", max_length=16)
    values = {
        name: values for name, values in c.form.items() if name not in ("csrf_token", "version", "section")
    }
    if c.value("version", max_length=16) != str(before.version):
        return _show(c, before, {}, {"form": _STALE}, status=409)
    try:
        changes = _changes(c, section)
        after = c.app.tenant_settings.update(c.target.id, changes, expected_version=before.version)
    except InvalidInput as exc:
        field = exc.field.rsplit(".", 1)[-1]
        shown = {k: v[0] for k, v in values.items() if v}
        return _show(c, before, shown, {field: exc.description}, status=400, failed=section)
    except Stale:
        return _show(c, before, {}, {"form": _STALE}, status=409)
    if {**after.to_json(), "version": 0} == {**before.to_json(), "version": 0}:
        c.say("Nothing changed.", kind="info")
    else:
        c.app.audit.record(
            c.target.id,
            c.actor,
            "tenant.settings.update",
            c.target.id,
            before=before.to_json(),
            after=after.to_json(),
        )
        c.say("Settings saved.")
    return c.redirect(f"{c.tbase}/settings#{section}")


def _changes(c: Console, section: str) -> dict[str, Any]:
    if section == "branding":
        return {
            "branding": {
                "display_name": c.value("display_name", max_length=200) or None,
                "logo_url": c.value("logo_url", max_length=2048) or None,
                "primary_color": c.value("primary_color", max_length=16).lower() or None,
                "background_color": c.value("background_color", max_length=16).lower() or None,
            }
        }
    if section == "tokens":
        return {"tokens": {name: _number(c, name) for name in TOKEN_FIELDS}}
    if section == "policy":
        return {"password_policy": {"min_length": _number(c, "min_length")}}
    raise InvalidInput("form", "unknown settings section")


def _number(c: Console, name: str) -> int | None:
    """An integer field; empty returns the setting to its default."""
    raw = c.value(name, max_length=12)
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(name, "a whole number of seconds" if name.endswith("_ttl") else "a whole number")
    return int(raw)
