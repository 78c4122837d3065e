"""Templates, cookies and CSRF for the hosted pages."""

from __future__ import annotations

import hmac
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from keystead.http.requests import TenantContext, app_of
from keystead.protocols.oauth2.errors import OAuth2Error
from keystead.services.secrets import new_token

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "ks_session"
CSRF_COOKIE = "ks_csrf"
INTERACTION_COOKIE = "ks_interaction"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)

ERROR_TITLES = {
    "invalid_request": "This sign-in link is not valid",
    "not_found": "Page not found",
    "server_error": "Something went wrong",
}


def page(
    request: Request, ctx: TenantContext, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    base = {
        "tenant": ctx.tenant,
        "static_url": "/static",
        "branding_css_url": f"{ctx.base_path}/branding.css",
        "ui_locale": "en",
    }
    html = _env.get_template(template).render(**base, **context)
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    return response


_PRODUCT = SimpleNamespace(name="keystead", display_name="Keystead", logo_url=None)


def render_unbranded(template: str, status: int, **context: Any) -> HTMLResponse:
    """A page outside any tenant, in Keystead's own colours."""
    html = _env.get_template(template).render(
        tenant=_PRODUCT,
        static_url="/static",
        branding_css_url="/static/keystead.css",
        ui_locale="en",
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def error_page(request: Request, ctx: TenantContext, exc: OAuth2Error, status: int = 400) -> HTMLResponse:
    return page(
        request,
        ctx,
        "error.html",
        status,
        title=ERROR_TITLES.get(exc.error, "We could not complete this request"),
        error=exc.error,
        description=exc.description or "The request could not be processed.",
        status_code=status,
    )


def secure_cookies(request: Request) -> bool:
    return not app_of(request).settings.is_dev or request.url.scheme == "https"


def set_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    *,
    path: str,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path or "/",
        httponly=True,
        secure=secure_cookies(request),
        samesite="lax",
    )


def csrf_token(request: Request, ctx: TenantContext, response_cookies: dict[str, str]) -> str:
    """A form token bound to this browser's CSRF cookie (signed double submit)."""
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or len(seed) > 64:
        seed = new_token()
        response_cookies[CSRF_COOKIE] = seed
    return app_of(request).ring.mac("csrf", f"{ctx.tenant.id}:{seed}")


def csrf_ok(request: Request, ctx: TenantContext, submitted: str | None) -> bool:
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not submitted or len(seed) > 64:
        return False
    expected = app_of(request).ring.mac("csrf", f"{ctx.tenant.id}:{seed}")
    return hmac.compare_digest(expected, submitted)


def apply_cookies(
    request: Request, ctx: TenantContext, response: Response, cookies: dict[str, str]
) -> Response:
    for name, value in cookies.items():
        set_cookie(request, response, name, value, path=ctx.base_path or "/")
    return response
