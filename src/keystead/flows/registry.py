"""Login flows as data: a registry of stages (name -> stage class and its typed options) and
the checks that turn a configured list into a :class:`~keystead.flows.stages.Flow`.

A flow is configured as an ordered list of ``{"stage": name, "options": {...}}`` (the tenant
setting ``login_flow``, and per client ``client_login_flows[client_id]``, docs/login-flows.md).
Before it is stored it is checked; the first problem names its field (``login_flow.2.stage``):

* an unknown stage, or options the stage does not take (each stage's options are a strict
  model: unknown keys and wrong types are refused);
* a stage listed twice;
* a missing stage that another needs (``recovery_codes`` shows the codes of ``enrol_totp``), and
  the mandatory ``second_factor`` (without it an enrolled user's factor would not be asked);
* an impossible order: a stage listed before one it must follow (the codes before the
  enrolment; the breached-password change before the second factor, so that a stolen password
  alone cannot change it).

A new stage (a passkey, an email code) registers a :class:`StageSpec` with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Strict, ValidationError

from keystead.flows.stages import (
    CHANGE_PASSWORD,
    ENROL_TOTP,
    SECOND_FACTOR,
    SHOW_RECOVERY_CODES,
    VERIFY_EMAIL,
    ChangePasswordStage,
    EnrolTotpStage,
    Flow,
    SecondFactorStage,
    ShowRecoveryCodesStage,
    Stage,
    VerifyEmailStage,
)

#: The most stages one flow may list.
MAX_STAGES = 16


class StageOptions(BaseModel):
    """The options of a stage that takes none; subclasses add typed fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SecondFactorOptions(StageOptions):
    #: whether a recovery code is accepted in place of the app's code
    recovery_codes: Annotated[bool, Strict()] = True


@dataclass(frozen=True, slots=True)
class StageSpec:
    name: str
    build: Callable[[Any], Stage]  # called with the validated options model
    options: type[StageOptions] = StageOptions
    #: stages that, when both are in a flow, must come before this one
    after: tuple[str, ...] = ()
    #: stages that must be in the flow for this one to make sense
    requires: tuple[str, ...] = ()
    #: whether every flow must contain it
    mandatory: bool = False


_REGISTRY: dict[str, StageSpec] = {}


def register(spec: StageSpec) -> None:
    """Add (or replace) a stage kind; called at import time by the module that defines it."""
    _REGISTRY[spec.name] = spec


def registered() -> Mapping[str, StageSpec]:
    return dict(_REGISTRY)


register(
    StageSpec(
        SECOND_FACTOR,
        lambda o: SecondFactorStage(allow_recovery_codes=o.recovery_codes),
        SecondFactorOptions,
        mandatory=True,
    )
)
register(StageSpec(ENROL_TOTP, lambda o: EnrolTotpStage()))
register(
    StageSpec(
        SHOW_RECOVERY_CODES, lambda o: ShowRecoveryCodesStage(), after=(ENROL_TOTP,), requires=(ENROL_TOTP,)
    )
)
register(StageSpec(CHANGE_PASSWORD, lambda o: ChangePasswordStage(), after=(SECOND_FACTOR, ENROL_TOTP)))
# asked only when the tenant's email.verify_at_sign_in is on (docs/email-and-sms.md)
register(StageSpec(VERIFY_EMAIL, lambda o: VerifyEmailStage(), after=(SECOND_FACTOR, ENROL_TOTP)))

#: Today's flow: the second factor (or enrolling one and seeing its recovery codes), then a
#: breached password, then (when the tenant asks for it) verifying the email address. The
#: tenant setting's default.
DEFAULT_FLOW: tuple[dict[str, Any], ...] = (
    {"stage": SECOND_FACTOR, "options": {"recovery_codes": True}},
    {"stage": ENROL_TOTP, "options": {}},
    {"stage": SHOW_RECOVERY_CODES, "options": {}},
    {"stage": CHANGE_PASSWORD, "options": {}},
    {"stage": VERIFY_EMAIL, "options": {}},
)


@dataclass(frozen=True, slots=True)
class FlowProblem(Exception):
    """A configured flow that cannot run: ``field`` is relative to the list (``2.stage``)."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def stage_options(name: str, options: Mapping[str, Any]) -> StageOptions:
    """The typed options of one stage (``FlowProblem`` for an unknown stage or bad options)."""
    spec = _REGISTRY.get(name)
    if spec is None:
        known = ", ".join(sorted(_REGISTRY))
        raise FlowProblem("stage", f"unknown stage {name!r} (known: {known})")
    try:
        return spec.options.model_validate(dict(options))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise FlowProblem(f"options.{where}" if where else "options", str(error["msg"])) from exc


def check_flow(entries: Sequence[Mapping[str, Any]]) -> None:
    """Every rule of the module docstring; ``FlowProblem`` names the first entry at fault."""
    if not entries:
        raise FlowProblem("", "a flow lists at least the second_factor stage")
    if len(entries) > MAX_STAGES:
        raise FlowProblem("", f"at most {MAX_STAGES} stages")
    positions = _positions(entries)
    for name, index in positions.items():
        spec = _REGISTRY[name]
        for needed in spec.requires:
            if needed not in positions:
                raise FlowProblem(f"{index}.stage", f"{name!r} needs the {needed!r} stage in the flow")
        for earlier in spec.after:
            if positions.get(earlier, -1) > index:
                raise FlowProblem(f"{index}.stage", f"{name!r} must come after {earlier!r}")
    for name, spec in _REGISTRY.items():
        if spec.mandatory and name not in positions:
            raise FlowProblem("", f"every flow has the {name!r} stage")


def _positions(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Each stage's index, once its options are valid and it is not listed twice."""
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        name = str(entry.get("stage", ""))
        try:
            stage_options(name, entry.get("options") or {})
        except FlowProblem as problem:
            raise FlowProblem(f"{index}.{problem.field}", problem.message) from None
        if name in seen:
            raise FlowProblem(f"{index}.stage", f"{name!r} is already stage {seen[name]}")
        seen[name] = index
    return seen


def build_flow(entries: Sequence[Mapping[str, Any]]) -> Flow:
    """The flow of a checked list (:func:`check_flow` first)."""
    check_flow(entries)
    stages = []
    for entry in entries:
        name = str(entry["stage"])
        stages.append(_REGISTRY[name].build(stage_options(name, entry.get("options") or {})))
    return Flow(tuple(stages))
