"""The bot check on the hosted login page (services/bot_check.py): the challenge the page shows
(and, for Turnstile or hCaptcha, the Content-Security-Policy that lets only that provider's
widget in, on this page only), and the check of the form's answer before the password."""

from __future__ import annotations

from starlette.requests import Request

from keystead.http.middleware import csp_with
from keystead.http.requests import TenantContext, app_of, client_ip
from keystead.protocols.oauth2.params import single
from keystead.services.bot_check import BotChallenge, BotCheckFailed, form_fields
from keystead.types import Params

#: The origins each provider's widget loads from (script, frames, styles, its API).
PROVIDER_ORIGINS: dict[str, dict[str, tuple[str, ...]]] = {
    "turnstile": {
        "script-src": ("https://challenges.cloudflare.com",),
        "frame-src": ("https://challenges.cloudflare.com",),
    },
    "hcaptcha": {
        "script-src": ("https://hcaptcha.com", "https://*.hcaptcha.com"),
        "frame-src": ("https://hcaptcha.com", "https://*.hcaptcha.com"),
        "style-src": ("https://hcaptcha.com", "https://*.hcaptcha.com"),
        "connect-src": ("https://hcaptcha.com", "https://*.hcaptcha.com"),
    },
}
MAX_FIELD = 4096


def challenge(request: Request, ctx: TenantContext) -> BotChallenge | None:
    """The challenge the login page must show now, if any (runs off the event loop)."""
    app = app_of(request)
    config = app.tenant_settings.get(ctx.tenant).bot_check
    if not app.bot_check.required(ctx.tenant.id, config, client_ip(request)):
        return None
    return app.bot_check.challenge(ctx.tenant.id, config)


def page_csp(bot: BotChallenge | None) -> str | None:
    """The login page's own CSP when a third-party widget is on it (else the default)."""
    if bot is None or bot.provider not in PROVIDER_ORIGINS:
        return None
    origins = PROVIDER_ORIGINS[bot.provider]
    # the login page also fetches passkey options from its own origin (web/passkey_pages.py)
    return csp_with({**origins, "connect-src": ("'self'", *origins.get("connect-src", ()))})


def refusal(request: Request, ctx: TenantContext, form: Params) -> str | None:
    """``None`` if the login may check the password; else the message to show (nothing was
    counted against the login or the address)."""
    app = app_of(request)
    config = app.tenant_settings.get(ctx.tenant).bot_check
    ip = client_ip(request)
    if not app.bot_check.required(ctx.tenant.id, config, ip):
        return None
    answer = {name: single(form, name, max_length=MAX_FIELD) or "" for name in form_fields(config.provider)}
    try:
        app.bot_check.verify(ctx.tenant.id, config, answer, ip)
    except BotCheckFailed as failed:
        return failed.message
    return None
