"""The flow's email decisions, sans-IO: an emailed code as the second factor, the verify-email
required action, and the acr/amr of an emailed code as the first factor."""

from __future__ import annotations

from dataclasses import replace

from keystead.flows.stages import (
    ACR_MFA,
    ACR_PASSWORD,
    ENROL_TOTP,
    SECOND_FACTOR,
    VERIFY_EMAIL,
    Facts,
    FlowState,
    default_flow,
    has_second_factor_amr,
    with_factor,
)

FLOW = default_flow()
PASSWORD = FlowState("u1", 1000.0)
EMAILED = FlowState("u1", 1000.0, amr=("otp",))


def _next(mode="when_enrolled", acr=(), enrolled=False, email=False, verify=False, state=PASSWORD):
    facts = Facts(mode, acr, enrolled, state, email_factor=email, verify_email=verify)
    stage = FLOW.next(facts)
    return stage.name if stage else None


def test_an_emailed_code_alone_is_one_factor():
    assert not has_second_factor_amr(("otp",))
    assert EMAILED.acr == ACR_PASSWORD
    assert has_second_factor_amr(("pwd", "otp", "mfa"))
    assert has_second_factor_amr(("pwd", "otp"))  # sessions from before (always had mfa too)


def test_a_second_factor_after_an_emailed_code_adds_mfa():
    assert with_factor(("otp",), ("otp",)) == ("otp", "mfa")
    assert with_factor(("pwd",), ("otp",)) == ("pwd", "otp", "mfa")
    assert FlowState("u1", 1.0, amr=with_factor(("otp",), ("otp",))).acr == ACR_MFA


def test_an_emailed_first_factor_still_asks_for_the_enrolled_second_factor():
    assert _next(enrolled=True, state=EMAILED) == SECOND_FACTOR
    assert _next(mode="always", state=EMAILED) == ENROL_TOTP


def test_email_as_second_factor_replaces_enrolment_when_mfa_is_required():
    assert _next(mode="always", email=True) == SECOND_FACTOR
    assert _next(acr=(ACR_MFA,), email=True) == SECOND_FACTOR


def test_email_alone_does_not_make_when_enrolled_require_a_second_factor():
    assert _next(email=True) is None
    assert _next(mode="never", email=True, acr=(ACR_MFA,)) is None


def test_the_second_factor_challenge_names_the_methods_and_no_secret():
    stage = FLOW.stage(SECOND_FACTOR)
    assert stage is not None
    data = stage.challenge(Facts("always", (), False, PASSWORD, email_factor=True)).data
    assert data == {"recovery_codes": True, "email": True, "sms": False, "app": False}


def test_verify_email_comes_last_and_once():
    assert _next(verify=True) == VERIFY_EMAIL
    assert _next(enrolled=True, verify=True) == SECOND_FACTOR  # the second factor first
    stage = FLOW.stage(VERIFY_EMAIL)
    assert stage is not None
    done = stage.answered(replace(PASSWORD, challenge="verify_email:abc"), ())
    assert done.challenge is None and VERIFY_EMAIL in done.done
    assert done.amr == ("pwd",)  # confirming an address is not a factor


def test_the_challenge_travels_in_the_state():
    state = replace(PASSWORD, challenge="email_otp:0123")
    assert FlowState.from_dict(state.to_dict()) == state
    assert FlowState.from_dict({**state.to_dict(), "challenge": 5}).challenge is None
    assert FlowState.from_dict({"user_id": "u1", "auth_time": 1.0}).challenge is None


def test_a_texted_code_is_a_second_factor_method_like_email():
    assert _facts_next(sms=True, mode="always") == SECOND_FACTOR
    assert _facts_next(sms=True) is None  # not enrolled: when_enrolled asks nothing
    done = FLOW.stage(SECOND_FACTOR)
    assert done is not None
    after = done.answered(PASSWORD, ("sms",))
    assert after.amr == ("pwd", "sms", "mfa") and after.acr == ACR_MFA


def _facts_next(mode="when_enrolled", sms=False):
    stage = FLOW.next(Facts(mode, (), False, PASSWORD, sms_factor=sms))
    return stage.name if stage else None
