"""A tenant's settings: token lifetimes, password hashing and policy, login methods, branding.

Stored in ``tenants.settings`` (JSON) as the values an administrator set, over defaults taken
from the server's configuration; a value set back to ``null`` returns to its default. Branding's
display name, logo and primary colour are the tenant's own columns (the hosted pages read them);
the background colour lives in the JSON. Every change bumps ``version``: an update names the
version it read and writes nothing if another change came first (compare-and-set).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator

from keystead.config import TokenSettings
from keystead.errors import InvalidInput, NotFound, Stale
from keystead.flows.registry import DEFAULT_FLOW
from keystead.ports.records import Tenant
from keystead.ports.stores import TenantStore
from keystead.services.breached_passwords import normalise
from keystead.services.login_settings import (
    BotCheck,
    ClientId,
    FlowSetting,
    FlowStageSetting,
    check_bot_check,
    check_flow_setting,
)
from keystead.services.passwords import MAX_PASSWORD_LENGTH, HashParams
from keystead.services.risk_settings import RiskSettings
from keystead.types import Clock

#: How long a tenant's settings read by id are cached; other nodes see a change after it.
CACHE_SECONDS = 5.0
MAX_REFRESH_TTL = 400 * 86400
#: OWASP's argon2id configurations (m=47104/t=1, 19456/2, 12288/3, 9216/4, 7168/5 KiB) all
#: spend at least this much memory x passes; lower parameters are refused.
OWASP_MIN_MEMORY_KIB = 7168
OWASP_MIN_MEMORY_X_PASSES = 35840
MAX_MEMORY_KIB = 256 * 1024
MAX_MEMORY_X_PASSES = 1024 * 1024
#: Words a tenant may block inside passwords (its name, products): each 3-64 characters.
MAX_BLOCKLIST_WORDS = 100
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: Branding kept in the tenant's columns (which the hosted pages read): setting -> column.
BRANDING_COLUMNS = {"display_name": "display_name", "logo_url": "logo_url", "primary_color": "brand_color"}

Int = Annotated[int, Strict()]
Text = Annotated[str, Strict()]


class LoginMethod(StrEnum):
    """How a user of the tenant may sign in. A new factor (``passkey``, ``email_otp``) is a new
    member here and a stage of the login flow."""

    PASSWORD = "password"
    #: passwordless: a 6-digit code mailed to the account's verified address (docs/email-and-sms.md)
    EMAIL_CODE = "email_code"
    #: passwordless: a sign-in link mailed to the account's verified address
    EMAIL_LINK = "email_link"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenLifetimes(_Model):
    """Seconds. ``*_ttl`` are the defaults of new clients; ``max_*`` their ceilings (access
    and ID tokens at most the server's ``tokens.max_token_ttl``)."""

    access_token_ttl: Annotated[Int, Field(ge=30)] = 600
    id_token_ttl: Annotated[Int, Field(ge=30)] = 600
    refresh_token_ttl: Annotated[Int, Field(ge=60, le=MAX_REFRESH_TTL)] = 30 * 86400
    max_access_token_ttl: Annotated[Int, Field(ge=30)] = 86400
    max_id_token_ttl: Annotated[Int, Field(ge=30)] = 86400
    max_refresh_token_ttl: Annotated[Int, Field(ge=60, le=MAX_REFRESH_TTL)] = MAX_REFRESH_TTL
    session_ttl: Annotated[Int, Field(ge=300, le=MAX_REFRESH_TTL)] = 14 * 86400
    code_ttl: Annotated[Int, Field(ge=5, le=600)] = 60


class PasswordPolicy(_Model):
    """NIST SP 800-63B 5.1.1.2, applied by :mod:`keystead.services.password_policy`: lengths in
    characters (code points), no composition rules, words of the tenant's ``blocklist`` refused
    inside passwords, breached/common passwords refused (the shipped list: ``check_breached``;
    an HIBP-compatible range endpoint too: ``hibp_range_check``). See docs/password-policy.md."""

    min_length: Annotated[Int, Field(ge=8, le=128)] = 8
    max_length: Annotated[Int, Field(ge=64, le=MAX_PASSWORD_LENGTH)] = MAX_PASSWORD_LENGTH
    blocklist: Annotated[
        tuple[Annotated[Text, Field(min_length=3, max_length=64)], ...], Field(max_length=MAX_BLOCKLIST_WORDS)
    ] = ()
    check_breached: Annotated[bool, Strict()] = True
    #: Days after which a password must be changed at the next password sign-in (0: never, the
    #: default; NIST SP 800-63B 5.1.1.2 advises against periodic changes, docs/password-policy.md).
    max_age_days: Annotated[Int, Field(ge=0, le=3650)] = 0
    hibp_range_check: Annotated[bool, Strict()] = False

    @field_validator("blocklist")
    @classmethod
    def _words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        words = tuple(dict.fromkeys(normalise(w) for w in value))
        if any(len(w) < 3 for w in words):
            raise ValueError("blocklist words are at least 3 characters")
        return words

    @field_validator("max_length")
    @classmethod
    def _longer(cls, value: int, info: Any) -> int:
        shortest = info.data.get("min_length")
        if shortest is not None and value < shortest:
            raise ValueError("max_length is at least min_length")
        return value


class Branding(_Model):
    display_name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    logo_url: Annotated[Text, Field(max_length=2048)] | None = None
    primary_color: Text | None = None
    background_color: Text | None = None

    @field_validator("logo_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("https://") or len(value) <= 8 or " " in value):
            raise ValueError("logo URLs are https://")
        return value

    @field_validator("primary_color", "background_color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        if value is not None and not _COLOR.match(value):
            raise ValueError("colours are #rrggbb")
        return value.lower() if value else value


class PasswordHashing(_Model):
    """argon2id costs: at least one of OWASP's recommended configurations, and at most
    ``MAX_MEMORY_X_PASSES`` (a tenant admin cannot make every sign-in a denial of service)."""

    memory_kib: Annotated[Int, Field(ge=OWASP_MIN_MEMORY_KIB, le=MAX_MEMORY_KIB)]
    time_cost: Annotated[Int, Field(ge=1, le=10)]
    parallelism: Annotated[Int, Field(ge=1, le=8)] = 1

    @field_validator("time_cost")
    @classmethod
    def _owasp(cls, value: int, info: Any) -> int:
        memory = info.data.get("memory_kib")
        if memory is not None and memory * value < OWASP_MIN_MEMORY_X_PASSES:
            raise ValueError(
                "below OWASP's argon2id minimums (e.g. memory_kib 19456 with time_cost 2, or 47104 with 1)"
            )
        if memory is not None and memory * value > MAX_MEMORY_X_PASSES:
            raise ValueError(f"memory_kib x time_cost above {MAX_MEMORY_X_PASSES}")
        return value

    def params(self) -> HashParams:
        return HashParams(time_cost=self.time_cost, memory_kib=self.memory_kib, parallelism=self.parallelism)


class EmailOptions(_Model):
    """Emailed codes in the sign-in flow (docs/email-and-sms.md)."""

    #: A code mailed to a verified address may be the second factor (NIST SP 800-63B 5.1.3.1
    #: does not count email as an out-of-band authenticator: off by default).
    second_factor: Annotated[bool, Strict()] = False
    #: Required action after sign-in: confirm an unverified email address with a mailed code.
    verify_at_sign_in: Annotated[bool, Strict()] = False


class SmsOptions(_Model):
    """Texted codes in the sign-in flow (docs/email-and-sms.md)."""

    #: A code texted to a verified phone number may be the second factor (NIST SP 800-63B
    #: 5.1.3.3: a restricted authenticator; off by default).
    second_factor: Annotated[bool, Strict()] = False


class TenantSettings(_Model):
    version: Int = 0
    tokens: TokenLifetimes = TokenLifetimes()
    #: ``None``: the server's ``passwords`` settings.
    password_hashing: PasswordHashing | None = None
    password_policy: PasswordPolicy = PasswordPolicy()
    login_methods: Annotated[tuple[LoginMethod, ...], Field(min_length=1, max_length=8)] = (
        LoginMethod.PASSWORD,
    )
    branding: Branding = Branding()
    #: second factor at sign-in (docs/login-flows.md): never, when the user has one, always.
    mfa: Literal["never", "when_enrolled", "always"] = "when_enrolled"
    #: the stages after the password, in order, with their options (docs/login-flows.md)
    login_flow: FlowSetting = tuple(FlowStageSetting.model_validate(entry) for entry in DEFAULT_FLOW)
    bot_check: BotCheck = BotCheck()
    #: per client: a flow replacing ``login_flow`` for that client_id's sign-ins
    client_login_flows: Annotated[dict[ClientId, FlowSetting], Field(max_length=1000)] = Field(
        default_factory=dict
    )
    email: EmailOptions = EmailOptions()
    sms: SmsOptions = SmsOptions()
    #: the risk engine's policy (docs/risk.md): mode, thresholds, weights
    risk: RiskSettings = RiskSettings()

    @field_validator("login_methods")
    @classmethod
    def _unique(cls, value: tuple[LoginMethod, ...]) -> tuple[LoginMethod, ...]:
        return tuple(dict.fromkeys(value))

    @property
    def hash_params(self) -> HashParams | None:
        return self.password_hashing.params() if self.password_hashing else None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class _Cached:
    at: float
    settings: TenantSettings


class TenantSettingsService:
    """``app.tenant_settings``: read a tenant's effective settings, update them."""

    def __init__(
        self,
        store: TenantStore,
        tokens: TokenSettings,
        clock: Clock,
        seal: Callable[[str, str], str] | None = None,
    ) -> None:
        """``seal(tenant_id, secret)``: how a write-only secret (``bot_check.secret``) is
        stored (encrypted with the key ring); without it such a secret is refused."""
        self._seal = seal
        self._store = store
        self._clock = clock
        self._max_token_ttl = tokens.max_token_ttl
        ceiling = tokens.max_token_ttl
        self._defaults: dict[str, Any] = {
            "tokens": {
                "access_token_ttl": min(600, ceiling),
                "id_token_ttl": min(600, ceiling),
                "max_access_token_ttl": ceiling,
                "max_id_token_ttl": ceiling,
                "session_ttl": min(max(tokens.session_ttl, 300), MAX_REFRESH_TTL),
                "code_ttl": min(tokens.code_ttl, 600),
            }
        }
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def get(self, tenant: Tenant) -> TenantSettings:
        """The tenant's effective settings (defaults where nothing was set)."""
        try:
            return self._effective(tenant.settings or {}, tenant)
        except InvalidInput:
            # set before these rules (e.g. an http logo): the defaults, never a broken login
            settings = self._effective({"version": (tenant.settings or {}).get("version", 0)}, None)
            return settings.model_copy(
                update={"branding": Branding(display_name=tenant.display_name[:200] or None)}
            )

    def read(self, tenant_id: str) -> TenantSettings:
        """The tenant's settings as stored now (no cache): what an update compares against."""
        tenant = self._store.tenant_by_id(tenant_id)
        if tenant is None:
            raise NotFound("no such tenant")
        return self.get(tenant)

    def for_tenant_id(self, tenant_id: str) -> TenantSettings:
        """By tenant id, from a short cache (services that only know the id)."""
        now = self._clock()
        hit = self._cache.get(tenant_id)
        if hit is not None and 0 <= now - hit.at < CACHE_SECONDS:
            return hit.settings
        tenant = self._store.tenant_by_id(tenant_id)
        settings = self.get(tenant) if tenant is not None else self._effective({}, None)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[tenant_id] = _Cached(now, settings)
        return settings

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every update (e.g. to drop a cache of tenants)."""
        self._listeners.append(listener)

    def update(self, tenant_id: str, changes: dict[str, Any], *, expected_version: int) -> TenantSettings:
        """Apply a JSON merge patch (RFC 7396: ``null`` returns a value to its default) if the
        stored version is still ``expected_version``; else :class:`Stale`, nothing written.
        :class:`InvalidInput` names the first invalid field (dotted), nothing written."""
        tenant = self._store.tenant_by_id(tenant_id)
        if tenant is None:
            raise NotFound("no such tenant")
        stored = dict(tenant.settings or {})
        if int(stored.get("version", 0)) != expected_version:
            raise Stale("the settings were changed since they were read")
        merged, columns, settings = self._apply(tenant, changes, expected_version + 1)
        b = settings.branding  # the validated (normalised) values
        written = {"display_name": b.display_name, "logo_url": b.logo_url, "brand_color": b.primary_color}
        columns = {name: written[name] for name in columns}
        if not self._store.update_tenant_settings(
            tenant_id, merged, expected_version=expected_version, columns=columns
        ):
            raise Stale("the settings were changed since they were read")
        with self._lock:
            self._cache.pop(tenant_id, None)
        for listener in self._listeners:
            listener()
        return settings

    def preview(self, tenant_id: str, changes: dict[str, Any]) -> TenantSettings:
        """The settings ``changes`` (a merge patch, as for :meth:`update`) would make, checked,
        with nothing written (config import validates everything before it applies)."""
        tenant = self._store.tenant_by_id(tenant_id)
        if tenant is None:
            raise NotFound("no such tenant")
        version = int((tenant.settings or {}).get("version", 0))
        return self._apply(tenant, changes, version)[2]

    def _apply(
        self, tenant: Tenant, changes: dict[str, Any], version: int
    ) -> tuple[dict[str, Any], dict[str, Any], TenantSettings]:
        """The stored document, the tenant columns and the effective settings after ``changes``."""
        if "version" in changes:
            raise InvalidInput("version", "the version is not set by hand")
        changes = self._sealed(tenant.id, changes)
        branding, columns = _branding_patch(tenant, changes)
        merged = _merge(dict(tenant.settings or {}), {k: v for k, v in changes.items() if k != "branding"})
        if "background_color" in branding:
            merged = _merge(merged, {"branding": {"background_color": branding["background_color"]}})
        merged["version"] = version
        preview = Tenant(**{**_tenant_fields(tenant), **columns, "settings": merged})
        return merged, columns, self._effective(merged, preview)

    def _sealed(self, tenant_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """``bot_check.secret`` replaced by its sealed form (``null`` removes it)."""
        bot = changes.get("bot_check")
        if not isinstance(bot, dict):
            return changes
        if "secret_sealed" in bot:
            raise InvalidInput("bot_check.secret_sealed", "unknown field")
        if "secret" not in bot:
            return changes
        bot = dict(bot)
        secret = bot.pop("secret")
        if secret is not None and (not isinstance(secret, str) or not 1 <= len(secret) <= 1024):
            raise InvalidInput("bot_check.secret", "a string of 1-1024 characters")
        if secret is not None and self._seal is None:
            raise InvalidInput("bot_check.secret", "this server cannot store secrets")
        bot["secret_sealed"] = self._seal(tenant_id, secret) if secret is not None and self._seal else None
        return {**changes, "bot_check": bot}

    def _effective(self, stored: dict[str, Any], tenant: Tenant | None) -> TenantSettings:
        document = _merge(self._defaults, stored)
        if tenant is not None:
            document["branding"] = {
                **(document.get("branding") or {}),
                "display_name": tenant.display_name,
                "logo_url": tenant.logo_url,
                "primary_color": tenant.brand_color,
            }
        try:
            settings = TenantSettings.model_validate(document)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"]) or "settings"
            raise InvalidInput(field, str(error["msg"]).removeprefix("Value error, ")) from exc
        self._check(settings)
        return settings

    def _check(self, settings: TenantSettings) -> None:
        check_bot_check(settings.bot_check)
        check_flow_setting("login_flow", settings.login_flow, settings.mfa)
        for client_id, flow in settings.client_login_flows.items():
            check_flow_setting(f"client_login_flows.{client_id}", flow, settings.mfa)
        t = settings.tokens
        for name in ("access_token_ttl", "id_token_ttl"):
            if getattr(t, f"max_{name}") > self._max_token_ttl:
                raise InvalidInput(
                    f"tokens.max_{name}", f"at most the server's tokens.max_token_ttl ({self._max_token_ttl})"
                )
        for name in ("access_token_ttl", "id_token_ttl", "refresh_token_ttl"):
            if getattr(t, name) > getattr(t, f"max_{name}"):
                raise InvalidInput(f"tokens.{name}", f"above tokens.max_{name}")


def _branding_patch(tenant: Tenant, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The patch's branding (``null`` = every branding value back to its default) and the
    tenant columns it sets."""
    branding = changes.get("branding", {})
    if branding is None:
        branding = dict.fromkeys(BRANDING_COLUMNS, None) | {"background_color": None}
    if not isinstance(branding, dict):
        raise InvalidInput("branding", "an object")
    unknown = set(branding) - {*BRANDING_COLUMNS, "background_color"}
    if unknown:
        raise InvalidInput(f"branding.{sorted(unknown)[0]}", "unknown field")
    columns = {BRANDING_COLUMNS[k]: v for k, v in branding.items() if k in BRANDING_COLUMNS}
    if "display_name" in columns and columns["display_name"] is None:
        columns["display_name"] = tenant.name
    return branding, columns


def _tenant_fields(tenant: Tenant) -> dict[str, Any]:
    return {name: getattr(tenant, name) for name in Tenant.__dataclass_fields__}


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396 JSON merge patch: objects merge, ``null`` removes, anything else replaces."""
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif isinstance(value, dict):
            out[key] = _merge({}, value)
        else:
            out[key] = value
    return out
