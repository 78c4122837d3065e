"""``/tenants/{tenant}/settings``: a tenant's token lifetimes, password hashing and policy,
login methods and branding. Read with an ``ETag``; change with a JSON merge patch under
``If-Match`` (``null`` returns a value to its default). A tenant admin of the tenant or a
platform admin."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header
from pydantic import Field, Strict
from starlette.responses import Response

from keystead.http.admin.auth import Admin, AdminContext
from keystead.http.admin.problems import Problem, ProblemRoute
from keystead.http.admin.representation import ETAG_PURPOSE, json_response
from keystead.http.admin.risk_schemas import RiskSettingsPatch
from keystead.http.admin.schemas import Strict as StrictModel
from keystead.http.admin.schemas import problems
from keystead.services.tenant_settings import LoginMethod, TenantSettings

IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=1024)]
AUTH = (401, 403)
Seconds = Annotated[int, Field(ge=1, le=400 * 86400)]
Color = Annotated[str, Field(max_length=7, description="`#rrggbb`")]

router = APIRouter(route_class=ProblemRoute, tags=["settings"], prefix="/tenants/{tenant}/settings")


class TokenLifetimesPatch(StrictModel):
    access_token_ttl: Seconds | None = Field(None, description="Default of new clients (s)")
    id_token_ttl: Seconds | None = None
    refresh_token_ttl: Seconds | None = None
    max_access_token_ttl: Seconds | None = Field(None, description="Ceiling for clients (s)")
    max_id_token_ttl: Seconds | None = None
    max_refresh_token_ttl: Seconds | None = None
    session_ttl: Seconds | None = Field(None, description="SSO session lifetime (s)")
    code_ttl: Seconds | None = Field(None, description="Authorization code lifetime (s)")


class PasswordHashingPatch(StrictModel):
    memory_kib: Annotated[int, Field(ge=1, le=256 * 1024)] | None = None
    time_cost: Annotated[int, Field(ge=1, le=10)] | None = None
    parallelism: Annotated[int, Field(ge=1, le=8)] | None = None


class PasswordPolicyPatch(StrictModel):
    min_length: Annotated[int, Field(ge=1, le=1024)] | None = None
    max_length: Annotated[int, Field(ge=1, le=1024, description="at least 64 (NIST)")] | None = None
    blocklist: (
        Annotated[
            list[Annotated[str, Field(max_length=64)]],
            Field(max_length=100, description="words refused inside passwords (3-64 characters)"),
        ]
        | None
    ) = None
    check_breached: bool | None = Field(None, description="refuse passwords on the shipped breached list")
    hibp_range_check: bool | None = Field(None, description="also ask the server's HIBP range endpoint")


class BrandingPatch(StrictModel):
    display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    logo_url: Annotated[str, Field(max_length=2048, description="https only")] | None = None
    primary_color: Color | None = None
    background_color: Color | None = None


class FlowStageIn(StrictModel):
    stage: Annotated[str, Field(min_length=1, max_length=64, description="a registered stage")]
    options: dict[str, Any] = Field(default_factory=dict, description="the stage's options")


FlowIn = Annotated[list[FlowStageIn], Field(min_length=1, max_length=16)]


class BotCheckPatch(StrictModel):
    mode: Literal["off", "always", "when_risky"] | None = Field(None, description="when the login page asks")
    provider: Literal["pow", "turnstile", "hcaptcha"] | None = Field(
        None, description="built-in proof of work, Cloudflare Turnstile or hCaptcha"
    )
    difficulty: Annotated[int, Field(ge=8, le=24)] | None = Field(
        None, description="proof of work: zero bits"
    )
    site_key: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    secret: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(
        None, description="the provider's secret key: write-only, stored encrypted, never returned"
    )
    risky_ip_failures: Annotated[int, Field(ge=1, le=100_000)] | None = None
    risky_distinct_accounts: Annotated[int, Field(ge=2, le=100_000)] | None = None


class EmailOptionsPatch(StrictModel):
    second_factor: bool | None = Field(
        None, description="a code mailed to a verified address may be the second factor"
    )
    verify_at_sign_in: bool | None = Field(
        None, description="confirm an unverified email with a mailed code at sign-in"
    )


class SmsOptionsPatch(StrictModel):
    second_factor: bool | None = Field(
        None, description="a code texted to a verified phone number may be the second factor"
    )


class SettingsPatch(StrictModel):
    """A JSON merge patch (RFC 7396) of the settings: fields present are set, `null` returns a
    value (or a whole group) to its default."""

    tokens: TokenLifetimesPatch | None = None
    password_hashing: PasswordHashingPatch | None = Field(
        None, description="argon2id costs, at least OWASP's; `null`: the server's"
    )
    password_policy: PasswordPolicyPatch | None = None
    login_methods: (
        Annotated[list[Annotated[LoginMethod, Strict(False)]], Field(min_length=1, max_length=8)] | None
    ) = None
    branding: BrandingPatch | None = None
    mfa: Literal["never", "when_enrolled", "always"] | None = Field(
        None, description="a second factor at sign-in: never, when the user has one, always"
    )
    login_flow: FlowIn | None = Field(
        None, description="the stages after the password, in order (docs/login-flows.md); `null`: the default"
    )
    bot_check: BotCheckPatch | None = Field(
        None, description="the bot check on the login page (docs/bot-check.md)"
    )
    client_login_flows: dict[Annotated[str, Field(max_length=255)], FlowIn | None] | None = Field(
        None,
        description="per client_id, a flow replacing `login_flow`; a client set to `null` uses the tenant's",
    )
    email: EmailOptionsPatch | None = Field(None, description="emailed codes in the sign-in flow")
    sms: SmsOptionsPatch | None = Field(None, description="texted codes in the sign-in flow")
    risk: RiskSettingsPatch | None = Field(None, description="the risk engine's policy (docs/risk.md)")


@router.get("", response_model=TenantSettings, responses=problems(*AUTH, 404, 422))
def get_settings(ctx: Admin) -> Response:
    """The tenant's effective settings (defaults where nothing was set) and their `ETag`."""
    settings = ctx.app.tenant_settings.read(ctx.tenant.id)
    return json_response(settings.to_json(), headers={"ETag": settings_etag(ctx, settings)})


@router.patch("", response_model=TenantSettings, responses=problems(400, *AUTH, 404, 412, 413, 422, 428))
def update_settings(ctx: Admin, body: SettingsPatch, if_match: IfMatch = None) -> Response:
    """Change the settings; `If-Match` with their `ETag` is required, and a stale one changes
    nothing (412)."""
    if if_match is None:
        raise Problem("precondition-required", "send If-Match with the settings' ETag")
    before = ctx.app.tenant_settings.read(ctx.tenant.id)
    offered = [tag.strip() for tag in if_match.split(",")]
    if "*" not in offered and settings_etag(ctx, before) not in offered:
        raise Problem("precondition-failed", "the settings were changed since this ETag was read")
    changes = body.model_dump(mode="json", exclude_unset=True)
    after = ctx.app.tenant_settings.update(ctx.tenant.id, changes, expected_version=before.version)
    ctx.app.audit.record(
        ctx.tenant.id,
        ctx.actor,
        "tenant.settings.update",
        ctx.tenant.id,
        before=before.to_json(),
        after=after.to_json(),
    )
    return json_response(after.to_json(), headers={"ETag": settings_etag(ctx, after)})


def settings_etag(ctx: AdminContext, settings: TenantSettings) -> str:
    state = orjson.dumps(settings.to_json(), option=orjson.OPT_SORT_KEYS).decode()
    return f'"{ctx.app.ring.mac(ETAG_PURPOSE, "settings|" + ctx.tenant.id + "|" + state)[:32]}"'
