"""The flow engine's decisions, sans-IO: which stage comes next from plain facts, the order
(second factor, enrolment, breached password), and the acr/amr after each answer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from keystead.flows.stages import (
    ACR_MFA,
    ACR_PASSWORD,
    CHANGE_PASSWORD,
    ENROL_TOTP,
    SECOND_FACTOR,
    VERIFY_EMAIL,
    Facts,
    FlowState,
    default_flow,
    with_factor,
)

FLOW = default_flow()
START = FlowState("u1", 1000.0)


def _facts(mode="when_enrolled", acr=(), enrolled=False, state=START) -> Facts:
    return Facts(mfa_mode=mode, acr_values=acr, has_second_factor=enrolled, state=state)


def _next(**kwargs) -> str | None:
    stage = FLOW.next(_facts(**kwargs))
    return stage.name if stage else None


@pytest.mark.parametrize(
    ("mode", "acr", "enrolled", "expected"),
    [
        ("when_enrolled", (), False, None),
        ("when_enrolled", (), True, SECOND_FACTOR),
        ("when_enrolled", (ACR_MFA,), False, ENROL_TOTP),
        ("when_enrolled", (ACR_PASSWORD,), False, None),
        ("always", (), False, ENROL_TOTP),
        ("always", (), True, SECOND_FACTOR),
        ("never", (), True, None),
        ("never", (ACR_MFA,), True, None),
    ],
)
def test_the_next_stage_follows_the_mode_the_request_and_the_factors(mode, acr, enrolled, expected):
    assert _next(mode=mode, acr=acr, enrolled=enrolled) == expected


def test_a_second_factor_already_done_is_not_asked_again():
    done = replace(START, amr=("pwd", "otp", "mfa"))
    assert _next(mode="always", enrolled=True, state=done) is None
    assert _next(mode="always", enrolled=False, state=done) is None


def test_a_breached_password_is_changed_after_the_second_factor():
    breached = replace(START, breached=True)
    assert _next(enrolled=True, state=breached) == SECOND_FACTOR
    stage = FLOW.stage(SECOND_FACTOR)
    assert stage is not None
    after = stage.answered(breached, ("otp",))
    assert _next(enrolled=True, state=after) == CHANGE_PASSWORD
    change = FLOW.stage(CHANGE_PASSWORD)
    assert change is not None
    final = change.answered(after, ())
    assert _next(enrolled=True, state=final) is None
    assert final.done == (SECOND_FACTOR, CHANGE_PASSWORD)


def test_acr_and_amr_after_a_second_factor():
    assert START.acr == ACR_PASSWORD
    stage = FLOW.stage(SECOND_FACTOR)
    assert stage is not None
    after = stage.answered(START, ("otp",))
    assert after.amr == ("pwd", "otp", "mfa")
    assert after.acr == ACR_MFA
    assert with_factor((), ("otp",)) == ("otp",)  # one factor alone is not mfa
    assert with_factor(("pwd", "otp", "mfa"), ("otp",)) == ("pwd", "otp", "mfa")


def test_the_state_round_trips_through_json_and_ignores_junk():
    state = FlowState("u1", 1000.5, amr=("pwd", "otp", "mfa"), breached=True, enrolment="f1", done=("x",))
    assert FlowState.from_dict(state.to_dict()) == state
    assert FlowState.from_dict({"user_id": "u1", "auth_time": 5, "enrolment": 7}).enrolment is None


def test_the_challenges_carry_no_secret():
    enrolling = replace(START, enrolment="f1")
    for name in (SECOND_FACTOR, ENROL_TOTP, CHANGE_PASSWORD, VERIFY_EMAIL):
        stage = FLOW.stage(name)
        assert stage is not None
        challenge = stage.challenge(_facts(state=enrolling))
        assert challenge.stage == name
        assert set(challenge.data) <= {"recovery_codes", "factor_id", "email", "sms", "app", "challenge"}


def test_recovery_codes_come_right_after_an_enrolment_and_once():
    from keystead.flows.stages import SHOW_RECOVERY_CODES

    enrolled = FLOW.stage(ENROL_TOTP).answered(START, ("otp",))  # type: ignore[union-attr]
    assert _next(mode="always", enrolled=True, state=enrolled) == SHOW_RECOVERY_CODES
    shown = replace(enrolled, codes_shown=True)
    assert FlowState.from_dict(shown.to_dict()) == shown
    saved = FLOW.stage(SHOW_RECOVERY_CODES).answered(shown, ())  # type: ignore[union-attr]
    assert _next(mode="always", enrolled=True, state=saved) is None
    # a second factor answered (no enrolment in this sign-in): no codes page
    answered = FLOW.stage(SECOND_FACTOR).answered(START, ("otp",))  # type: ignore[union-attr]
    assert _next(mode="always", enrolled=True, state=answered) is None
