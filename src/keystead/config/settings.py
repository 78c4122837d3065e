"""The settings tree, read from ``KEYSTEAD_*`` environment variables and an optional TOML file.

Nested groups use a double underscore: ``KEYSTEAD_TOKENS__CODE_TTL=30``. The file named by
``KEYSTEAD_CONFIG`` (TOML, same structure) is read first; the environment wins over it.
``production`` mode refuses unsafe values (see :meth:`Settings.check_production`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from keystead.errors import ConfigurationError

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-0000000000000000"


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    #: The public URL Keystead is reached at; tenant issuers are ``{base_url}/t/{tenant}``.
    base_url: str = "http://localhost:8000"  # a host name: WebAuthn refuses IP addresses
    #: Honour ``X-Forwarded-For`` from these proxy addresses (exact IPs) for client IP.
    trusted_proxies: list[str] = Field(default_factory=list)
    #: Threads that run service calls (database, tokens) for one server process.
    threads: int = Field(16, ge=1, le=1000)
    #: Largest request body accepted by protocol endpoints and pages, in bytes.
    max_body_bytes: int = Field(64 * 1024, ge=1024)


class DatabaseSettings(BaseModel):
    url: str = "sqlite:///./keystead.db"
    pool_size: int = Field(10, ge=1)
    echo: bool = False


class PasswordSettings(BaseModel):
    """argon2id parameters; OWASP's recommendation is m=19 MiB, t=2, p=1."""

    memory_kib: int = Field(19 * 1024, ge=8 * 1024)
    time_cost: int = Field(2, ge=1)
    parallelism: int = Field(1, ge=1)
    #: Threads that hash; defaults to the number of cores.
    workers: int | None = Field(None, ge=1)
    #: HIBP-compatible k-anonymity range endpoint (``{url}{5 hex digits of SHA-1}``), asked
    #: when a password is set in a tenant with ``password_policy.hibp_range_check`` on.
    hibp_range_url: str = Field("https://api.pwnedpasswords.com/range/", pattern=r"^https?://\S+$")
    #: Seconds to wait for it; past that the password is accepted (the offline list applied).
    hibp_timeout_seconds: float = Field(2.0, gt=0, le=30)


class TokenSettings(BaseModel):
    code_ttl: int = Field(60, ge=5, le=600)
    interaction_ttl: int = Field(900, ge=60)
    session_ttl: int = Field(14 * 86400, ge=300)
    clock_skew: int = Field(60, ge=0, le=600)
    #: Upper bound of any client's access/ID token lifetime; a retired signing key stays
    #: published this long (plus the skew) after a rotation.
    max_token_ttl: int = Field(86400, ge=60)


class ThrottleSettings(BaseModel):
    """Basic attempt throttling on the login form (per account and per client IP)."""

    window_seconds: int = Field(900, ge=60)
    account_failures_before_delay: int = Field(5, ge=1)
    account_failures_before_lockout: int = Field(10, ge=2)
    lockout_seconds: int = Field(900, ge=10)
    ip_failures_per_window: int = Field(100, ge=5)


class BotCheckSettings(BaseModel):
    """The bot check on the login page (docs/bot-check.md): where Turnstile and hCaptcha answers
    are verified (server settings, not tenant settings: a tenant must not point the server at
    an address of its choosing), how long that may take, and how long a proof-of-work
    challenge lives."""

    turnstile_verify_url: str = Field(
        "https://challenges.cloudflare.com/turnstile/v0/siteverify", pattern=r"^https?://\S+$"
    )
    hcaptcha_verify_url: str = Field("https://api.hcaptcha.com/siteverify", pattern=r"^https?://\S+$")
    timeout_seconds: float = Field(3.0, gt=0, le=30)
    pow_ttl_seconds: int = Field(300, ge=30, le=3600)


class AdminSettings(BaseModel):
    """The admin REST API (``/admin/api/v1``)."""

    #: Tokens with scope ``keystead:platform`` issued by this tenant administer every tenant.
    platform_tenant: str = "platform"
    #: Per-client rate limit (token bucket per authenticated caller, in process): requests per
    #: second refilled, and the burst allowed at once. Past it: 429 with Retry-After.
    rate_limit_per_second: float = Field(20.0, gt=0)
    rate_limit_burst: int = Field(100, ge=1)
    #: Largest JSON Lines body of a bulk user import (``POST .../users/import``), in bytes.
    max_import_bytes: int = Field(128 * 1024 * 1024, ge=1024)


class MailSettings(BaseModel):
    """Outgoing mail (docs/email-and-sms.md). The SMTP server is the top-level ``smtp_url``;
    without it messages go to the in-memory dev outbox (shown at ``/t/{tenant}/dev/outbox`` in
    dev mode only)."""

    #: The ``From:`` of every message (RFC 5322 mailbox, e.g. ``Acme <no-reply@acme.example>``).
    from_address: str = Field("Keystead <no-reply@keystead.localhost>", min_length=3, max_length=320)
    #: Messages waiting for the SMTP server; past it a message is dropped with an ERROR log.
    queue_size: int = Field(1000, ge=1, le=100_000)
    #: Attempts after the first, and the delay before the first retry (doubled each time).
    retries: int = Field(3, ge=0, le=10)
    retry_delay_seconds: float = Field(2.0, ge=0, le=300)
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    #: Messages the dev outbox keeps (newest first).
    outbox_size: int = Field(200, ge=1, le=10_000)


class OneTimeCodeSettings(BaseModel):
    """Emailed and texted one-time codes and links (docs/email-and-sms.md)."""

    #: Lifetime of a code (second factor, passwordless, email verification) and of a sign-in link.
    code_ttl: int = Field(600, ge=60, le=3600)
    #: Lifetime of an account unlock link.
    unlock_ttl: int = Field(900, ge=60, le=86400)
    #: Wrong codes one challenge accepts before it is spent.
    max_attempts: int = Field(5, ge=1, le=20)
    #: Codes or links sent to one address (or login as typed) per window.
    sends_per_window: int = Field(5, ge=1, le=1000)
    send_window_seconds: int = Field(900, ge=60, le=86400)
    #: Lifetime of a password reset link ("Forgot your password?").
    reset_ttl: int = Field(900, ge=60, le=86400)
    #: Password reset mails requested from one client address per window (any logins).
    reset_sends_per_ip: int = Field(30, ge=1, le=100000)


class SmsSettings(BaseModel):
    """Text messages: ``dev`` keeps them in memory (and logs that one was sent, never its
    text at INFO); ``twilio`` posts to Twilio's Messages API at ``base_url``."""

    provider: Literal["dev", "twilio"] = "dev"
    base_url: str = Field("https://api.twilio.com", pattern=r"^https?://\S+$")
    account_sid: str = Field("", max_length=64)
    auth_token: SecretStr | None = None
    from_number: str = Field("", max_length=32)
    #: Messages to one phone number per window (counted in the attack-protection counters).
    per_number_per_window: int = Field(3, ge=1, le=1000)
    window_seconds: int = Field(3600, ge=60, le=86400)
    timeout_seconds: float = Field(10.0, gt=0, le=120)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEYSTEAD_", env_nested_delimiter="__", extra="forbid")

    mode: Literal["dev", "production"] = "dev"
    #: Master secret; HMAC keys for tokens, CSRF and the key that encrypts signing keys at rest
    #: are derived from it. At least 32 characters.
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    #: Allow SQLite in production mode (single node only).
    allow_sqlite: bool = False
    #: Redis for attack-protection counters shared by every node (``redis://[:password@]host:port/db``
    #: or ``rediss://``); unset: counters in each process (one node). See docs/attack-protection.md.
    redis_url: SecretStr | None = None
    #: SMTP server for outgoing mail: ``smtp://user:pass@host:587`` (STARTTLS, required unless
    #: the host is a loopback address) or ``smtps://user:pass@host:465`` (TLS from the start);
    #: unset: the dev outbox. See docs/email-and-sms.md.
    smtp_url: SecretStr | None = None
    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    passwords: PasswordSettings = Field(default_factory=PasswordSettings)
    tokens: TokenSettings = Field(default_factory=TokenSettings)
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    bot_check: BotCheckSettings = Field(default_factory=BotCheckSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    codes: OneTimeCodeSettings = Field(default_factory=OneTimeCodeSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    #: A MaxMind DB file (GeoLite2/GeoIP2 City or compatible) for the risk engine's impossible
    #: travel signal; unset: places are unknown and that signal contributes nothing (docs/risk.md).
    geoip_database: str | None = None

    @property
    def is_dev(self) -> bool:
        return self.mode == "dev"

    def check_production(self) -> None:
        """Refuse to run in production mode with an unsafe configuration."""
        if self.is_dev:
            return
        problems = list(self._production_problems())
        if problems:
            raise ConfigurationError("unsafe production configuration: " + "; ".join(problems))

    def _production_problems(self) -> list[str]:
        problems = []
        if not self.server.base_url.startswith("https://"):
            problems.append("server.base_url must be https://")
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET_KEY or len(secret) < 32:
            problems.append("secret_key must be set to a random value of 32+ characters")
        if self.sms.provider == "twilio" and (
            not self.sms.account_sid or self.sms.auth_token is None or not self.sms.from_number
        ):
            problems.append("sms.provider twilio needs sms.account_sid, sms.auth_token and sms.from_number")
        if self.database.url.startswith("sqlite") and not self.allow_sqlite:
            problems.append("SQLite needs allow_sqlite=true (single node only)")
        return problems


def load_settings(**overrides: Any) -> Settings:
    """Settings from the optional TOML file, then the environment, then ``overrides``."""
    file_values: dict[str, Any] = {}
    path = os.environ.get("KEYSTEAD_CONFIG")
    if path:
        try:
            file_values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read KEYSTEAD_CONFIG {path}: {exc}") from exc
    env_settings = Settings()
    merged = _deep_merge(file_values, env_settings.model_dump(exclude_unset=True))
    merged = _deep_merge(merged, overrides)
    if isinstance(merged.get("secret_key"), SecretStr):
        merged["secret_key"] = merged["secret_key"].get_secret_value()
    return Settings.model_validate(merged)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
