"""Who may call the admin API: bearer access tokens issued by Keystead itself.

The token's unverified ``iss`` only picks the tenant whose keys verify it; the token is then
checked fully (signature, issuer, ``typ``, expiry, revocation). Scope ``keystead:admin`` makes
the caller a *tenant admin* of the issuing tenant; scope ``keystead:platform`` on a token of the
platform tenant (setting ``admin.platform_tenant``) makes it a *platform admin* of every tenant.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

import orjson
from fastapi import Depends, Path, Request

from keystead.http.admin.problems import Problem, unauthorized
from keystead.http.admin.ratelimit import RateLimiter, retry_after
from keystead.http.requests import client_ip
from keystead.ports.records import Tenant
from keystead.protocols.oauth2.errors import InvalidToken
from keystead.services.audit import Actor
from keystead.services.tokens import Issuer
from keystead.wiring import Keystead

TENANT_SCOPE = "keystead:admin"
PLATFORM_SCOPE = "keystead:platform"
MAX_TOKEN = 8192


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller: the tenant that issued its token and what it may administer."""

    issuer_tenant: Tenant
    actor: Actor
    platform: bool
    tenant_admin: bool


@dataclass(frozen=True, slots=True)
class AdminContext:
    """A request allowed on ``tenant``'s resources."""

    app: Keystead
    tenant: Tenant
    principal: Principal

    @property
    def actor(self) -> Actor:
        return self.principal.actor


def keystead_of(request: Request) -> Keystead:
    app: Keystead = request.app.state.keystead
    return app


def principal(request: Request) -> Principal:
    """The verified caller, once per request (the route gate authenticates before the body is
    read; the dependency then reuses its answer)."""
    cached: Principal | None = getattr(request.state, "admin_principal", None)
    if cached is None:
        cached = request.state.admin_principal = _authenticate(request)
    return cached


def gate(request: Request) -> None:
    """Run before any route's parameters or body are parsed: authenticate the caller (a
    malformed body from a caller without a valid token is a 401, not a 400), then spend one
    request of the caller's rate limit (429 with ``Retry-After`` when it is used up)."""
    caller = principal(request)
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        return
    wait = limiter.take(f"{caller.issuer_tenant.id}|{caller.actor.client_id or caller.actor.subject}")
    if wait > 0:
        raise Problem(
            "rate-limited",
            "too many requests from this client; retry later",
            headers={"Retry-After": retry_after(wait)},
        )


def _authenticate(request: Request) -> Principal:
    app = keystead_of(request)
    token = _bearer(request)
    tenant = _issuer_tenant(app, _unverified_issuer(token))
    if tenant is None:
        raise unauthorized("the access token is invalid", log_detail="unknown issuer")
    try:
        info = app.tokens.check_access_token(Issuer(tenant.id, app.tenants.issuer(tenant)), token)
    except InvalidToken as exc:
        raise unauthorized("the access token is invalid", log_detail=exc.detail) from exc
    if info.user_gone:
        raise unauthorized("the access token is invalid", log_detail="user gone")
    scopes = str(info.claims.get("scope", "")).split()
    client_id = info.claims.get("client_id")
    actor = Actor(str(info.claims.get("sub")), str(client_id) if client_id else None, client_ip(request))
    platform = tenant.name == app.settings.admin.platform_tenant and PLATFORM_SCOPE in scopes
    return Principal(tenant, actor, platform, TENANT_SCOPE in scopes)


def admin_context(
    request: Request,
    caller: Annotated[Principal, Depends(principal)],
    tenant: Annotated[str, Path(max_length=63, description="The tenant's name")],
) -> AdminContext:
    """The caller may administer ``tenant``; a tenant admin of another tenant gets 403 whether
    or not ``tenant`` exists, so nothing leaks."""
    app = keystead_of(request)
    if caller.platform:
        target = app.tenants.find_active(tenant)
        if target is None:
            raise Problem("not-found", "no such tenant")
        return AdminContext(app, target, caller)
    if caller.tenant_admin and caller.issuer_tenant.name == tenant:
        return AdminContext(app, caller.issuer_tenant, caller)
    raise Problem("forbidden", "this token may not administer this tenant")


Admin = Annotated[AdminContext, Depends(admin_context)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("a bearer access token is required")
    if len(token) > MAX_TOKEN or token.count(".") != 2:
        raise unauthorized("the access token is invalid", log_detail="not a JWS")
    return token


def _unverified_issuer(token: str) -> str:
    """The ``iss`` claim, read without verification: only to choose which keys verify it."""
    payload = token.split(".")[1]
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise unauthorized("the access token is invalid", log_detail="malformed payload") from exc
    iss = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(iss, str):
        raise unauthorized("the access token is invalid", log_detail="no iss")
    return iss


def _issuer_tenant(app: Keystead, iss: str) -> Tenant | None:
    prefix = app.settings.server.base_url.rstrip("/") + "/t/"
    if iss.startswith(prefix):
        name = iss[len(prefix) :]
        if not name or "/" in name or len(name) > 63:
            return None
        tenant = app.tenants.find_active(name)
        return tenant if tenant is not None and not tenant.custom_domain else None
    host = urlsplit(iss).hostname
    return app.tenants.find_by_domain(host) if host else None
