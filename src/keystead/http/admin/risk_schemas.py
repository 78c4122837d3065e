"""Admin API bodies of the risk policy: a client's override and a tenant's settings patch
(docs/risk.md). Validated again by the services (services/risk_settings.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

RiskMode = Literal["never", "always", "adaptive", "simulate"]
Threshold = Annotated[int, Field(ge=1, le=10_000)]
Weight = Annotated[int, Field(ge=0, le=1000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ClientRiskIn(_Strict):
    """A client's override of the tenant's risk policy; what is absent is the tenant's."""

    mode: RiskMode | None = Field(None, description="never, always, adaptive or simulate")
    step_up_at: Threshold | None = Field(None, description="score that asks for a second factor")
    deny_at: Threshold | None = Field(None, description="score that refuses the sign-in")
    sensitive: bool | None = Field(None, description="adds the `sensitive_client` weight")


class RiskWeightsPatch(_Strict):
    new_device: Weight | None = None
    new_network: Weight | None = None
    account_failures: Weight | None = None
    ip_failures: Weight | None = None
    ip_accounts: Weight | None = None
    breached_password: Weight | None = None
    stale_mfa: Weight | None = None
    impossible_travel: Weight | None = None
    sensitive_client: Weight | None = None


class RiskSettingsPatch(_Strict):
    """The tenant's risk policy (merge patch; `null` returns a value to its default)."""

    mode: RiskMode | None = Field(
        None,
        description="default `never` (nothing collected); `simulate`: decide and record, enforce nothing",
    )
    step_up_at: Threshold | None = None
    deny_at: Threshold | None = None
    weights: RiskWeightsPatch | None = None
    account_failures_at: Annotated[int, Field(ge=1, le=1000)] | None = None
    ip_failures_at: Annotated[int, Field(ge=1, le=100_000)] | None = None
    ip_accounts_at: Annotated[int, Field(ge=1, le=100_000)] | None = None
    mfa_stale_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    travel_kmh: Annotated[int, Field(ge=100, le=100_000)] | None = None
    enrol_on_step_up: bool | None = Field(
        None, description="a step-up makes a user without a factor enrol one"
    )
    retention_days: Annotated[int, Field(ge=1, le=730)] | None = None
    max_known: Annotated[int, Field(ge=1, le=100)] | None = None
