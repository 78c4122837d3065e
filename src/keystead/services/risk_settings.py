"""The risk policy as settings: a tenant's (``settings.risk``) and a client's override
(``client.risk``), validated, and turned into the engine's :class:`keystead.risk.RiskPolicy`.

The weights and thresholds default to the engine's. ``mode`` defaults to ``never``: nothing about
a tenant's users (devices, networks, places) is collected until a tenant admin opts in, usually
with ``simulate`` first (decisions computed and recorded as ``risk.decision`` audit events,
nothing enforced), then ``adaptive`` (docs/risk.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from keystead.errors import InvalidInput
from keystead.risk import RiskPolicy, Weights

Int = Annotated[int, Strict()]
Weight = Annotated[Int, Field(ge=0, le=1000)]
Threshold = Annotated[Int, Field(ge=1, le=10_000)]
_DEFAULT = RiskPolicy()
_W = _DEFAULT.weights


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RiskWeights(_Model):
    """Points each signal adds when it fires; 0 turns it off."""

    new_device: Weight = _W.new_device
    new_network: Weight = _W.new_network
    account_failures: Weight = _W.account_failures
    ip_failures: Weight = _W.ip_failures
    ip_accounts: Weight = _W.ip_accounts
    breached_password: Weight = _W.breached_password
    stale_mfa: Weight = _W.stale_mfa
    impossible_travel: Weight = _W.impossible_travel
    sensitive_client: Weight = _W.sensitive_client


class RiskSettings(_Model):
    """A tenant's risk policy (docs/risk.md)."""

    mode: Literal["never", "always", "adaptive", "simulate"] = "never"
    step_up_at: Threshold = _DEFAULT.step_up_at
    deny_at: Threshold = _DEFAULT.deny_at
    weights: RiskWeights = RiskWeights()
    account_failures_at: Annotated[Int, Field(ge=1, le=1000)] = _DEFAULT.account_failures_at
    ip_failures_at: Annotated[Int, Field(ge=1, le=100_000)] = _DEFAULT.ip_failures_at
    ip_accounts_at: Annotated[Int, Field(ge=1, le=100_000)] = _DEFAULT.ip_accounts_at
    mfa_stale_days: Annotated[Int, Field(ge=1, le=3650)] = int(_DEFAULT.mfa_stale_days)
    travel_kmh: Annotated[Int, Field(ge=100, le=100_000)] = int(_DEFAULT.travel_kmh)
    enrol_on_step_up: Annotated[bool, Strict()] = _DEFAULT.enrol_on_step_up
    #: known devices and networks are forgotten this many days after they were last seen
    retention_days: Annotated[Int, Field(ge=1, le=730)] = 180
    #: at most this many known devices (and as many networks) per user, the most recent
    max_known: Annotated[Int, Field(ge=1, le=100)] = 20

    @model_validator(mode="after")
    def _ordered(self) -> RiskSettings:
        if self.deny_at <= self.step_up_at:
            raise ValueError("deny_at is above step_up_at")
        return self

    def policy(self) -> RiskPolicy:
        return RiskPolicy(
            mode=self.mode,
            step_up_at=self.step_up_at,
            deny_at=self.deny_at,
            weights=Weights(**self.weights.model_dump()),
            account_failures_at=self.account_failures_at,
            ip_failures_at=self.ip_failures_at,
            ip_accounts_at=self.ip_accounts_at,
            mfa_stale_days=float(self.mfa_stale_days),
            travel_kmh=float(self.travel_kmh),
            enrol_on_step_up=self.enrol_on_step_up,
        )


class ClientRisk(_Model):
    """A client's override of its tenant's risk policy: what is set replaces the tenant's."""

    mode: Literal["never", "always", "adaptive", "simulate"] | None = None
    step_up_at: Threshold | None = None
    deny_at: Threshold | None = None
    #: the application is sensitive (payments, administration): the ``sensitive_client`` weight
    sensitive: Annotated[bool, Strict()] = False

    def apply(self, policy: RiskPolicy) -> RiskPolicy:
        merged = policy.with_overrides(mode=self.mode, step_up_at=self.step_up_at, deny_at=self.deny_at)
        if merged.deny_at <= merged.step_up_at:
            return policy.with_overrides(mode=self.mode)  # an inconsistent pair: thresholds kept
        return merged


def client_risk(value: Any, field: str = "risk") -> ClientRisk:
    """A client's stored or submitted override, validated (``InvalidInput`` names the field)."""
    if value is None:
        return ClientRisk()
    try:
        parsed = ClientRisk.model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join([field, *(str(p) for p in error["loc"])])
        raise InvalidInput(where, str(error["msg"]).removeprefix("Value error, ")) from exc
    if parsed.step_up_at is not None and parsed.deny_at is not None and parsed.deny_at <= parsed.step_up_at:
        raise InvalidInput(f"{field}.deny_at", "deny_at is above step_up_at")
    return parsed
