"""Sign-in stages after the password, and the flow that orders them (sans-IO, no storage).

A :class:`Stage` is a plain class configured by data: ``needed(facts)`` says whether it must run,
``challenge(facts)`` what the page asks for (a :class:`Challenge`: a name and data, no HTML), and
``answered(state, amr)`` the :class:`FlowState` once the service checked the response (the code,
the new password). A :class:`Flow` is an ordered list of stages; ``next(facts)`` the first still
needed. The state travels in the interaction record as JSON (``to_dict``/``from_dict``).

ACR and AMR: ``urn:keystead:acr:pwd`` (password only) and ``urn:keystead:acr:mfa`` (a password
and a second factor); ``amr`` values per RFC 8176: ``pwd``, ``otp`` (TOTP or a recovery code,
docs/mfa.md; an emailed code or sign-in link, docs/email-and-sms.md) and ``mfa`` (more than one
factor). An emailed code or link as the *first* factor is ``otp`` alone: one factor, so a second
factor is still asked for when one is required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

ACR_PASSWORD = "urn:keystead:acr:pwd"
ACR_MFA = "urn:keystead:acr:mfa"
SECOND_FACTOR = "second_factor"
ENROL_TOTP = "enrol_totp"
CHANGE_PASSWORD = "change_password"
SHOW_RECOVERY_CODES = "recovery_codes"
VERIFY_EMAIL = "verify_email"
STAGES = (SECOND_FACTOR, ENROL_TOTP, CHANGE_PASSWORD, SHOW_RECOVERY_CODES, VERIFY_EMAIL)
SECOND_FACTOR_AMR = frozenset({"otp", "hwk", "swk"})

MfaMode = Literal["never", "when_enrolled", "always"]


@dataclass(frozen=True, slots=True)
class Facts:
    """What deciding the remaining stages needs, gathered by the service."""

    mfa_mode: MfaMode
    acr_values: tuple[str, ...]  # the request's, in order of preference
    has_second_factor: bool
    state: FlowState
    #: an emailed code can be the second factor (the tenant allows it, the user has a verified
    #: email, and the first factor was a password)
    email_factor: bool = False
    #: the ``verify_email`` required action applies (the tenant requires it, the email is unverified)
    verify_email: bool = False
    #: a texted code can be the second factor (the tenant allows it, a verified phone number, and
    #: the first factor was a password)
    sms_factor: bool = False


@dataclass(frozen=True, slots=True)
class FlowState:
    """Who passed the first factor, when, and what was done since."""

    user_id: str
    auth_time: float
    amr: tuple[str, ...] = ("pwd",)
    breached: bool = False  # the password is on the breached list and has not been changed
    enrolment: str | None = None  # the pending TOTP factor being enrolled
    done: tuple[str, ...] = field(default=())
    codes_shown: bool = False  # the recovery codes of this sign-in's enrolment were shown
    client_id: str | None = None  # whose flow (a client may have its own, docs/login-flows.md)
    challenge: str | None = None  # the emailed code being waited for (services/one_time_codes.py)
    #: the risk engine asked for a second factor (``step_up_enrol``: enrolment too, when the user
    #: has none); the client's ``mfa`` override and ``minimum_acr`` (docs/risk.md)
    step_up: bool = False
    step_up_enrol: bool = False
    client_mfa: MfaMode | None = None
    minimum_acr: str | None = None
    #: the password is older than the tenant's ``password_policy.max_age_days``
    password_expired: bool = False

    @property
    def acr(self) -> str:
        return ACR_MFA if has_second_factor_amr(self.amr) else ACR_PASSWORD

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "auth_time": self.auth_time,
            "amr": list(self.amr),
            "breached": self.breached,
            "enrolment": self.enrolment,
            "done": list(self.done),
            "codes_shown": self.codes_shown,
            "client_id": self.client_id,
            "challenge": self.challenge,
            "step_up": self.step_up,
            "step_up_enrol": self.step_up_enrol,
            "client_mfa": self.client_mfa,
            "minimum_acr": self.minimum_acr,
            "password_expired": self.password_expired,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlowState:
        return cls(
            user_id=str(data["user_id"]),
            auth_time=float(data["auth_time"]),
            amr=tuple(str(v) for v in data.get("amr", ("pwd",))),
            breached=bool(data.get("breached", False)),
            enrolment=data.get("enrolment") if isinstance(data.get("enrolment"), str) else None,
            done=tuple(str(v) for v in data.get("done", ())),
            codes_shown=bool(data.get("codes_shown", False)),
            client_id=data.get("client_id") if isinstance(data.get("client_id"), str) else None,
            challenge=data.get("challenge") if isinstance(data.get("challenge"), str) else None,
            step_up=bool(data.get("step_up", False)),
            step_up_enrol=bool(data.get("step_up_enrol", False)),
            client_mfa=_mfa_mode(data.get("client_mfa")),
            minimum_acr=data.get("minimum_acr") if isinstance(data.get("minimum_acr"), str) else None,
            password_expired=bool(data.get("password_expired", False)),
        )


def _mfa_mode(value: Any) -> MfaMode | None:
    return value if value in ("never", "when_enrolled", "always") else None


def has_second_factor_amr(amr: tuple[str, ...]) -> bool:
    """Whether a second factor was done. ``otp`` alone is one factor (an emailed code or link
    as the first factor, docs/email-and-sms.md); after another factor the flow adds ``mfa``."""
    if "mfa" in amr:
        return True
    return any(value in SECOND_FACTOR_AMR for value in amr if value != "otp") or (
        "otp" in amr and len(amr) > 1
    )


def with_factor(amr: tuple[str, ...], factor_amr: tuple[str, ...]) -> tuple[str, ...]:
    """The ``amr`` after a second factor: its values, and ``mfa`` when a first factor preceded
    (even of the same kind: an emailed code, then an authenticator's code)."""
    merged = tuple(dict.fromkeys((*amr, *factor_amr)))
    return (*merged, "mfa") if "mfa" not in merged and (len(merged) > 1 or amr) else merged


def mfa_required(facts: Facts) -> bool:
    """Whether this sign-in must end with a second factor: a risk step-up the user can do (a
    factor, or enrolment by policy), the client's ``minimum_acr``, then the client's ``mfa``
    override or the tenant's ``mfa`` with the request's ``acr_values``."""
    state = facts.state
    if state.step_up and (facts.has_second_factor or state.step_up_enrol):
        return True
    if state.minimum_acr == ACR_MFA:
        return True
    mode = state.client_mfa or facts.mfa_mode
    if mode == "never":
        return False
    if mode == "always" or ACR_MFA in facts.acr_values:
        return True
    return facts.has_second_factor


@dataclass(frozen=True, slots=True)
class Challenge:
    """What a page asks: the stage's name and what it shows (never a secret)."""

    stage: str
    data: Mapping[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    @property
    def name(self) -> str: ...

    def needed(self, facts: Facts) -> bool: ...

    def challenge(self, facts: Facts) -> Challenge: ...

    def answered(self, state: FlowState, amr: tuple[str, ...]) -> FlowState: ...


@dataclass(frozen=True, slots=True)
class SecondFactorStage:
    """A code from an authenticator app, or a recovery code."""

    name: str = SECOND_FACTOR
    allow_recovery_codes: bool = True

    def needed(self, facts: Facts) -> bool:
        return (
            (facts.has_second_factor or facts.email_factor or facts.sms_factor)
            and mfa_required(facts)
            and not has_second_factor_amr(facts.state.amr)
        )

    def challenge(self, facts: Facts) -> Challenge:
        return Challenge(
            self.name,
            {
                "recovery_codes": self.allow_recovery_codes,
                "email": facts.email_factor,
                "sms": facts.sms_factor,
                "app": facts.has_second_factor,
            },
        )

    def answered(self, state: FlowState, amr: tuple[str, ...]) -> FlowState:
        return replace(state, amr=with_factor(state.amr, amr), done=(*state.done, self.name))


@dataclass(frozen=True, slots=True)
class EnrolTotpStage:
    """A required action: set up an authenticator app when MFA is required and there is none."""

    name: str = ENROL_TOTP

    def needed(self, facts: Facts) -> bool:
        return (
            not facts.has_second_factor
            and not facts.email_factor
            and not facts.sms_factor
            and mfa_required(facts)
            and not has_second_factor_amr(facts.state.amr)
        )

    def challenge(self, facts: Facts) -> Challenge:
        return Challenge(self.name, {"factor_id": facts.state.enrolment})

    def answered(self, state: FlowState, amr: tuple[str, ...]) -> FlowState:
        return replace(state, amr=with_factor(state.amr, amr), enrolment=None, done=(*state.done, self.name))


@dataclass(frozen=True, slots=True)
class ShowRecoveryCodesStage:
    """Right after an authenticator app was set up in this sign-in: ten recovery codes, shown
    once (generated when the page is first shown; a reload says they were shown), then "I have
    saved them". Regenerating them later is the account page's or an administrator's job."""

    name: str = SHOW_RECOVERY_CODES

    def needed(self, facts: Facts) -> bool:
        # an authenticator app was set up ("otp"; a passkey registered at that stage is not)
        state = facts.state
        return ENROL_TOTP in state.done and "otp" in state.amr and self.name not in state.done

    def challenge(self, facts: Facts) -> Challenge:
        return Challenge(self.name, {"shown": facts.state.codes_shown})

    def answered(self, state: FlowState, amr: tuple[str, ...]) -> FlowState:
        return replace(state, done=(*state.done, self.name))


@dataclass(frozen=True, slots=True)
class ChangePasswordStage:
    """A required action: replace a password found on the breached list, or older than the
    tenant's ``password_policy.max_age_days`` (after the second factor, so a stolen password alone
    cannot change it)."""

    name: str = CHANGE_PASSWORD

    def needed(self, facts: Facts) -> bool:
        return facts.state.breached or facts.state.password_expired

    def challenge(self, facts: Facts) -> Challenge:
        return Challenge(self.name)

    def answered(self, state: FlowState, amr: tuple[str, ...]) -> FlowState:
        return replace(state, breached=False, password_expired=False, done=(*state.done, self.name))


@dataclass(frozen=True, slots=True)
class VerifyEmailStage:
    """A required action (tenant setting ``email.verify_at_sign_in``): confirm the account's
    email address with a mailed code. Last, so only a fully authenticated user is asked."""

    name: str = VERIFY_EMAIL

    def needed(self, facts: Facts) -> bool:
        return facts.verify_email

    def challenge(self, facts: Facts) -> Challenge:
        return Challenge(self.name, {"challenge": facts.state.challenge})

    def answered(self, state: FlowState, amr: tuple[str, ...]) -> FlowState:
        return replace(state, challenge=None, done=(*state.done, self.name))


@dataclass(frozen=True, slots=True)
class Flow:
    """Stages in order; the first one needed is the next."""

    stages: tuple[Stage, ...]

    def next(self, facts: Facts) -> Stage | None:
        return next((stage for stage in self.stages if stage.needed(facts)), None)

    def stage(self, name: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.name == name), None)


def default_flow(*, recovery_codes: bool = True) -> Flow:
    """After the password: the second factor (or enrolling one and seeing its recovery codes),
    then a breached password."""
    return Flow(
        (
            SecondFactorStage(allow_recovery_codes=recovery_codes),
            EnrolTotpStage(),
            ShowRecoveryCodesStage(),
            ChangePasswordStage(),
            VerifyEmailStage(),
        )
    )
