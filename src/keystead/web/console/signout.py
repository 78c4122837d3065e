"""Signing out of the console: the SSO session behind it ends too."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keystead.http.requests import tenant_context
from keystead.web.console import render
from keystead.web.console.context import Console
from keystead.web.console.session import SESSION_COOKIE
from keystead.web.pages import not_found
from keystead.web.render import SESSION_COOKIE as SSO_COOKIE
from keystead.web.sealed import clear_cookie as clear_console_cookie


def sign_out(c: Console) -> Response:
    """End the SSO session behind the console session (that signs the administrator out of the
    tenant, as RP-initiated logout does) and drop the console cookie."""
    sso = c.app.sessions.find(c.home.tenant.id, c.session.sso_session_id)
    if sso is not None:
        c.app.sessions.end(sso)
    c.app.audit.record(c.home.tenant.id, c.actor, "console.signout", c.admin.id)
    c.ended = True
    response = RedirectResponse(f"{c.base}/signed-out", status_code=303)
    clear_console_cookie(c.request, response, SESSION_COOKIE, path=c.base)
    clear_console_cookie(c.request, response, SSO_COOKIE, path=c.home.base_path or "/")
    return response


async def signed_out(request: Request) -> Response:
    home = tenant_context(request)
    if home is None:
        return not_found(request)
    return render.bare(home.tenant, home.base_path, "console/signed_out.html", title="Signed out")
