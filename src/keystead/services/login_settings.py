"""The parts of a tenant's settings that shape sign-in beyond the password: the login flow as
data (``login_flow``, per client ``client_login_flows``; keystead.flows.registry) and the bot
check (``bot_check``; services/bot_check.py). Models and the cross-field checks that
``TenantSettingsService`` runs before anything is stored."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from keystead.errors import InvalidInput
from keystead.flows.registry import FlowProblem, check_flow, stage_options

Int = Annotated[int, Strict()]
Text = Annotated[str, Strict()]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlowStageSetting(_Model):
    """One stage of a configured login flow (keystead.flows.registry): its name and options."""

    stage: Annotated[Text, Field(min_length=1, max_length=64)]
    options: dict[str, Any] = Field(default_factory=dict, validate_default=True)

    @field_validator("stage")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            stage_options(value, {})
        except FlowProblem as problem:
            if problem.field == "stage":
                raise ValueError(problem.message) from None
        return value

    @field_validator("options")
    @classmethod
    def _typed(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        name = info.data.get("stage")
        if name is None:
            return value
        try:
            return stage_options(name, value).model_dump(mode="json")  # defaults filled in
        except FlowProblem as problem:
            raise ValueError(f"{problem.field}: {problem.message}") from None


class BotCheck(_Model):
    """The bot check on the login page (docs/bot-check.md). ``when_risky``: only for an address
    whose failures or distinct logins (the throttle's counters) pass the thresholds. The
    provider's secret is write-only: set as ``secret`` through the API, stored sealed with the
    key ring (``secret_sealed``), never shown or exported."""

    mode: Literal["off", "always", "when_risky"] = "off"
    provider: Literal["pow", "turnstile", "hcaptcha"] = "pow"
    #: proof of work: leading zero bits of SHA-256 (18: ~260,000 hashes, well under a second)
    difficulty: Annotated[Int, Field(ge=8, le=24)] = 18
    site_key: Annotated[Text, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")] | None = None
    secret_sealed: Annotated[Text, Field(max_length=4096)] | None = Field(None, exclude=True)
    risky_ip_failures: Annotated[Int, Field(ge=1, le=100_000)] = 5
    risky_distinct_accounts: Annotated[Int, Field(ge=2, le=100_000)] = 3


FlowSetting = Annotated[tuple[FlowStageSetting, ...], Field(min_length=1, max_length=16)]
ClientId = Annotated[Text, Field(min_length=1, max_length=255)]


def check_flow_setting(field: str, flow: tuple[FlowStageSetting, ...], mfa: str) -> None:
    """Duplicates, missing and misordered stages (keystead.flows.registry.check_flow), and an
    ``mfa`` of ``always`` that a flow without ``enrol_totp`` could not keep."""
    entries = [entry.model_dump(mode="json") for entry in flow]
    try:
        check_flow(entries)
    except FlowProblem as problem:
        raise InvalidInput(f"{field}.{problem.field}".rstrip("."), problem.message) from None
    if mfa == "always" and not any(entry.stage == "enrol_totp" for entry in flow):
        raise InvalidInput(
            field, "mfa 'always' needs the 'enrol_totp' stage (users without a factor set one up)"
        )


def check_bot_check(bot: BotCheck) -> None:
    """A third-party provider that is on needs its site key and secret."""
    if bot.mode != "off" and bot.provider != "pow":
        if bot.site_key is None:
            raise InvalidInput("bot_check.site_key", f"{bot.provider} needs the site key")
        if bot.secret_sealed is None:
            raise InvalidInput("bot_check.secret", f"{bot.provider} needs the secret key")
