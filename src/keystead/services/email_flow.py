"""Emailed and texted codes as stages of the sign-in flow (flows/stages.py): the second factor
by email or SMS and the ``verify_email`` required action, on top of
:class:`~keystead.services.login_flow.LoginFlow`.

:class:`EmailFacts` tells the flow which apply (tenant settings ``email.*`` and ``sms.*``, the
user's verified address and phone number); :class:`EmailFlow` sends a code for the current stage (once: a reload shows the
same challenge, ``resend`` makes a new one, within the send limit) and checks the answer. The
challenge id rides in the flow state; the code is bound to the sign-in (the interaction handle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from keystead.flows.stages import SECOND_FACTOR, VERIFY_EMAIL, FlowState, Stage
from keystead.ports.records import User
from keystead.services.email_codes import EmailCodes
from keystead.services.email_sender import mask
from keystead.services.login_flow import LoginFlow, WrongStage
from keystead.services.one_time_codes import SECOND_FACTOR as SECOND_FACTOR_PURPOSE
from keystead.services.one_time_codes import SMS_OTP, CodeRefused
from keystead.services.one_time_codes import VERIFY_EMAIL as VERIFY_EMAIL_PURPOSE
from keystead.services.sms_codes import E164, SmsCodes
from keystead.services.tenant_settings import TenantSettings

#: RFC 8176: a code mailed to the user is a one-time password.
EMAIL_CODE_AMR = ("otp",)
#: RFC 8176 §2: "confirmation using SMS text message to the user at a registered number".
SMS_CODE_AMR = ("sms",)


class UserDirectory(Protocol):
    def user_by_id(self, tenant_id: str, user_id: str) -> User | None: ...


class EmailFacts:
    """``(email as second factor, verify_email needed, SMS as second factor)`` for a flow state
    (LoginFlow's hook)."""

    def __init__(self, settings_for: Callable[[str], TenantSettings], directory: UserDirectory) -> None:
        self._settings_for = settings_for
        self._directory = directory

    def __call__(self, tenant_id: str, state: FlowState) -> tuple[bool, bool, bool]:
        settings = self._settings_for(tenant_id)
        options, sms = settings.email, settings.sms
        if not options.second_factor and not options.verify_at_sign_in and not sms.second_factor:
            return False, False, False  # no user read for tenants that use none
        user = self._directory.user_by_id(tenant_id, state.user_id)
        if user is None:
            return False, False, False
        after_password = "pwd" in state.amr
        email_factor = options.second_factor and bool(user.email) and user.email_verified and after_password
        verify = options.verify_at_sign_in and bool(user.email) and not user.email_verified
        sms_factor = sms.second_factor and verified_phone(user) is not None and after_password
        return email_factor, verify, sms_factor


def verified_phone(user: User) -> str | None:
    """The user's verified phone number in E.164 (spaces, dots, dashes, brackets dropped)."""
    if not user.phone_number or not user.phone_number_verified:
        return None
    number = "".join(c for c in user.phone_number if c not in " .-()")
    return number if E164.match(number) else None


class EmailFlow:
    def __init__(
        self,
        flow: LoginFlow,
        codes: EmailCodes,
        sms: SmsCodes | None = None,
        directory: UserDirectory | None = None,
    ) -> None:
        self._flow = flow
        self._codes = codes
        self._sms = sms
        self._directory = directory

    def offered(
        self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState
    ) -> tuple[bool, bool, bool]:
        """Which second-factor methods the page offers: (authenticator app or recovery code,
        email, SMS)."""
        facts = self._flow.facts(tenant_id, acr_values, state)
        return facts.has_second_factor, facts.email_factor, facts.sms_factor

    def sms_code(
        self,
        tenant_id: str,
        acr_values: tuple[str, ...],
        state: FlowState,
        handle: str,
        *,
        resend: bool = False,
    ) -> tuple[FlowState, str]:
        """Text a second-factor code unless one is pending; the new state and the number's end."""
        self._expect(tenant_id, acr_values, state, SECOND_FACTOR, sms=True)
        phone = self._phone(tenant_id, state)
        if resend or _challenge(state, SMS_OTP) is None:
            assert self._sms is not None
            code_id = self._sms.send(tenant_id, state.user_id, phone, handle)
            state = replace(state, challenge=f"{SMS_OTP}:{code_id}")
        return state, f"•••{phone[-2:]}"

    def answer_sms(
        self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState, handle: str, code: str
    ) -> FlowState:
        stage = self._expect(tenant_id, acr_values, state, SECOND_FACTOR, sms=True)
        code_id = _challenge(state, SMS_OTP)
        if code_id is None or self._sms is None:
            raise CodeRefused()
        self._sms.check(tenant_id, state.user_id, code_id, code, handle)
        return replace(stage.answered(state, SMS_CODE_AMR), challenge=None)

    def _phone(self, tenant_id: str, state: FlowState) -> str:
        user = self._directory.user_by_id(tenant_id, state.user_id) if self._directory else None
        phone = verified_phone(user) if user is not None else None
        if phone is None:
            raise WrongStage(SECOND_FACTOR)
        return phone

    def second_factor_code(
        self,
        tenant_id: str,
        acr_values: tuple[str, ...],
        state: FlowState,
        handle: str,
        *,
        resend: bool = False,
    ) -> tuple[FlowState, str]:
        """Mail a second-factor code unless one is pending; the new state and the masked address."""
        self._expect(tenant_id, acr_values, state, SECOND_FACTOR, email=True)
        address = self._codes.verified_email(tenant_id, state.user_id) or ""
        if resend or _challenge(state, SECOND_FACTOR_PURPOSE) is None:
            code_id = self._codes.send_second_factor(tenant_id, state.user_id, handle)
            state = replace(state, challenge=f"{SECOND_FACTOR_PURPOSE}:{code_id}")
        return state, mask(address)

    def answer_second_factor(
        self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState, handle: str, code: str
    ) -> FlowState:
        stage = self._expect(tenant_id, acr_values, state, SECOND_FACTOR, email=True)
        code_id = _challenge(state, SECOND_FACTOR_PURPOSE)
        if code_id is None:
            raise CodeRefused()
        self._codes.check_second_factor(tenant_id, state.user_id, code_id, code, handle)
        return replace(stage.answered(state, EMAIL_CODE_AMR), challenge=None)

    def verification(
        self,
        tenant_id: str,
        acr_values: tuple[str, ...],
        state: FlowState,
        handle: str,
        *,
        resend: bool = False,
    ) -> tuple[FlowState, str]:
        """Mail the verification code unless one is pending; the new state and the masked address."""
        self._expect(tenant_id, acr_values, state, VERIFY_EMAIL)
        address = self._codes.unverified_email(tenant_id, state.user_id) or ""
        if resend or _challenge(state, VERIFY_EMAIL_PURPOSE) is None:
            code_id = self._codes.send_verification(tenant_id, state.user_id, handle)
            state = replace(state, challenge=f"{VERIFY_EMAIL_PURPOSE}:{code_id}")
        return state, mask(address)

    def answer_verification(
        self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState, handle: str, code: str
    ) -> FlowState:
        stage = self._expect(tenant_id, acr_values, state, VERIFY_EMAIL)
        code_id = _challenge(state, VERIFY_EMAIL_PURPOSE)
        if code_id is None:
            raise CodeRefused()
        self._codes.confirm_verification(tenant_id, state.user_id, code_id, code, handle)
        return stage.answered(state, ())

    def _expect(
        self,
        tenant_id: str,
        acr_values: tuple[str, ...],
        state: FlowState,
        name: str,
        *,
        email: bool = False,
        sms: bool = False,
    ) -> Stage:
        facts = self._flow.facts(tenant_id, acr_values, state)
        stage = self._flow.next_stage(tenant_id, acr_values, state)
        if stage is None or stage.name != name:
            raise WrongStage(name)
        if (email and not facts.email_factor) or (sms and not facts.sms_factor):
            raise WrongStage(name)
        return stage


def _challenge(state: FlowState, purpose: str) -> str | None:
    """The id of the flow's challenge for ``purpose`` (stored as ``purpose:id``): a page reload
    shows the code already sent; a spent or expired one waits for "Send a new code"."""
    kind, _, code_id = (state.challenge or "").partition(":")
    return code_id if kind == purpose and code_id else None
