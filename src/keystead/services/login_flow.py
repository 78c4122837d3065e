"""The sign-in flow after the password: runs the stages of :mod:`keystead.flows.stages` against
the real services (second factors, password changes) and the tenant's settings.

The pages call ``next_stage`` to know what to show and one ``answer_*`` method per stage; each
returns the new :class:`FlowState` (the caller stores it in the interaction) or raises:
``InvalidCode``/``FactorLocked`` (services.factor_checks) for a refused code, ``InvalidInput``
for a refused new password. Nothing is issued here: the authorization service issues the code
once no stage is left.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace

from keystead.errors import InvalidInput, NotFound
from keystead.flows.registry import build_flow
from keystead.flows.stages import (
    CHANGE_PASSWORD,
    ENROL_TOTP,
    SECOND_FACTOR,
    SHOW_RECOVERY_CODES,
    Facts,
    Flow,
    FlowState,
    Stage,
)
from keystead.ports.records import Client, Session
from keystead.services.factor_checks import FactorLocked, InvalidCode
from keystead.services.factors import Factors
from keystead.services.passkey_challenges import PasskeyRejected, RelyingParty
from keystead.services.passkeys import Passkeys
from keystead.services.signin_events import SignInEvents
from keystead.services.tenant_settings import TenantSettings
from keystead.services.totp import TotpEnrolment
from keystead.services.users import Users


def recovery_codes_allowed(stage: Stage) -> bool:
    """Whether a second-factor stage takes a recovery code (its ``recovery_codes`` option)."""
    return bool(getattr(stage, "allow_recovery_codes", True))


def with_client(state: FlowState, client: Client) -> FlowState:
    """``state`` under the client's sign-in strength: its ``mfa`` override and ``minimum_acr``."""
    mfa = client.mfa if client.mfa in ("never", "when_enrolled", "always") else None
    return replace(state, client_mfa=mfa, minimum_acr=client.minimum_acr)  # type: ignore[arg-type]


class WrongStage(Exception):
    """The form answers a stage that is not the next one (an old tab, a replayed post)."""


class LoginFlow:
    def __init__(
        self,
        factors: Factors,
        users: Users,
        settings_for: Callable[[str], TenantSettings],
        flow: Flow | None = None,
        passkeys: Passkeys | None = None,
        events: SignInEvents | None = None,
        email_facts: Callable[[str, FlowState], tuple[bool, bool, bool]] | None = None,
    ) -> None:
        self._passkeys = passkeys
        self._events = events  # stage outcome audit events (services/signin_events.py)
        # (email as second factor, verify_email, SMS as second factor): services/email_flow.py
        self._email_facts = email_facts
        self._factors = factors
        self._users = users
        self._settings_for = settings_for
        self._flow = flow  # fixed; else each tenant's (or client's) configured flow
        self._built: dict[str, Flow] = {}

    @staticmethod
    def from_session(session: Session) -> FlowState:
        """An SSO session's authentication as a flow state (for a step-up)."""
        return FlowState(session.user_id, session.auth_time, amr=tuple(session.amr) or ("pwd",))

    def flow_for(self, tenant_id: str, client_id: str | None) -> Flow:
        """The flow of a sign-in: the client's override if the tenant has one, else the
        tenant's ``login_flow`` (both checked when they were stored)."""
        if self._flow is not None:
            return self._flow
        settings = self._settings_for(tenant_id)
        configured = settings.client_login_flows.get(client_id) if client_id else None
        entries = [entry.model_dump(mode="json") for entry in (configured or settings.login_flow)]
        key = json.dumps(entries, sort_keys=True)
        flow = self._built.get(key)
        if flow is None:
            flow = build_flow(entries)
            if len(self._built) > 1000:
                self._built.clear()
            self._built[key] = flow
        return flow

    def facts(self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState) -> Facts:
        email_factor, verify_email, sms_factor = (
            self._email_facts(tenant_id, state) if self._email_facts is not None else (False, False, False)
        )
        return Facts(
            mfa_mode=self._settings_for(tenant_id).mfa,
            acr_values=acr_values,
            has_second_factor=self._factors.has_second_factor(tenant_id, state.user_id),
            state=state,
            email_factor=email_factor,
            verify_email=verify_email,
            sms_factor=sms_factor,
        )

    def next_stage(self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState) -> Stage | None:
        return self.flow_for(tenant_id, state.client_id).next(self.facts(tenant_id, acr_values, state))

    # stage answers
    def answer_code(
        self,
        tenant_id: str,
        acr_values: tuple[str, ...],
        state: FlowState,
        code: str,
        *,
        recovery: bool,
        ip: str | None = None,
    ) -> FlowState:
        """A TOTP code, or a recovery code when ``recovery``; every refusal is ``InvalidCode``
        (or ``FactorLocked``), whatever the reason."""
        stage = self._expect(tenant_id, acr_values, state, SECOND_FACTOR)
        method = "recovery_code" if recovery else "totp"
        try:
            if recovery and not recovery_codes_allowed(stage):
                raise InvalidCode()  # this flow takes no recovery code: nothing is spent
            if recovery:
                use = self._factors.use_recovery_code(tenant_id, state.user_id, code)
            else:
                use = self._factors.verify_totp(tenant_id, state.user_id, code)
        except (NotFound, InvalidCode, FactorLocked) as exc:
            locked = isinstance(exc, FactorLocked)
            if self._events is not None:
                self._events.second_factor(
                    tenant_id, state.user_id, ip, method=method, accepted=False, locked=locked
                )
            if locked:
                raise
            raise InvalidCode() from exc  # no such factor: the same answer as a wrong code
        if self._events is not None:
            self._events.second_factor(tenant_id, state.user_id, ip, method=method, accepted=True)
        return stage.answered(state, use.amr)

    def enrolment(
        self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState
    ) -> tuple[FlowState, TotpEnrolment]:
        """The pending TOTP enrolment of this flow, started on first call (the same seed after)."""
        self._expect(tenant_id, acr_values, state, ENROL_TOTP)
        if state.enrolment is not None:
            try:
                return state, self._factors.totp.pending_enrolment(tenant_id, state.user_id, state.enrolment)
            except NotFound:
                pass  # replaced or removed meanwhile: start again
        enrolment = self._factors.enrol_totp(tenant_id, state.user_id)
        return replace(state, enrolment=enrolment.factor.id), enrolment

    def answer_enrolment(
        self,
        tenant_id: str,
        acr_values: tuple[str, ...],
        state: FlowState,
        code: str,
        *,
        ip: str | None = None,
    ) -> FlowState:
        stage = self._expect(tenant_id, acr_values, state, ENROL_TOTP)
        if state.enrolment is None:
            raise WrongStage(ENROL_TOTP)
        try:
            use = self._factors.activate_totp(tenant_id, state.user_id, state.enrolment, code)
        except (NotFound, InvalidInput) as exc:
            raise InvalidCode() from exc
        if self._events is not None:
            self._events.factor_enrolled(tenant_id, state.user_id, ip, kind="totp", factor_id=state.enrolment)
        return stage.answered(state, use.amr)

    def recovery_codes(
        self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState
    ) -> tuple[FlowState, tuple[str, ...] | None]:
        """The recovery codes of the authenticator just set up: a new set the first time (the
        caller stores the returned state at once), ``None`` after (they are shown only once)."""
        self._expect(tenant_id, acr_values, state, SHOW_RECOVERY_CODES)
        if state.codes_shown:
            return state, None
        codes = self._factors.generate_recovery_codes(tenant_id, state.user_id)
        return replace(state, codes_shown=True), codes.codes

    def answer_recovery_codes(
        self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState
    ) -> FlowState:
        """ "I have saved them": only once they were shown."""
        stage = self._expect(tenant_id, acr_values, state, SHOW_RECOVERY_CODES)
        if not state.codes_shown:
            raise WrongStage(SHOW_RECOVERY_CODES)
        return stage.answered(state, ())

    def answer_password(
        self,
        tenant_id: str,
        acr_values: tuple[str, ...],
        state: FlowState,
        password: str,
        confirm: str,
        *,
        ip: str | None = None,
    ) -> FlowState:
        """A new password, after the tenant's policy (``InvalidInput`` naming ``password``)."""
        stage = self._expect(tenant_id, acr_values, state, CHANGE_PASSWORD)
        if password != confirm:
            raise InvalidInput("confirm", "the two passwords are not the same")
        self._users.set_password(tenant_id, state.user_id, password)
        if self._events is not None and state.breached:
            self._events.breached_password_changed(tenant_id, state.user_id, ip)
        elif self._events is not None:
            self._events.expired_password_changed(tenant_id, state.user_id, ip)
        return stage.answered(state, ())

    def answer_passkey(
        self,
        tenant_id: str,
        acr_values: tuple[str, ...],
        state: FlowState,
        rp: RelyingParty,
        binding: str,
        credential: str,
        *,
        ip: str | None = None,
    ) -> FlowState:
        """An assertion by one of the user's passkeys (services.passkeys; ``PasskeyRejected``)."""
        stage = self._expect(tenant_id, acr_values, state, SECOND_FACTOR)
        try:
            use = self._passkeys_or_refuse().verify_second_factor(
                tenant_id, state.user_id, rp, binding, credential
            )
        except PasskeyRejected:
            if self._events is not None:
                self._events.second_factor(tenant_id, state.user_id, ip, method="passkey", accepted=False)
            raise
        if self._events is not None:
            self._events.second_factor(tenant_id, state.user_id, ip, method="passkey", accepted=True)
        return stage.answered(state, use.amr)

    def answer_enrolment_passkey(
        self,
        tenant_id: str,
        acr_values: tuple[str, ...],
        state: FlowState,
        rp: RelyingParty,
        binding: str,
        credential: str,
        *,
        ip: str | None = None,
    ) -> FlowState:
        """A passkey registered instead of an authenticator app (the unfinished TOTP enrolment,
        if any, is dropped)."""
        stage = self._expect(tenant_id, acr_values, state, ENROL_TOTP)
        use = self._passkeys_or_refuse().register(tenant_id, state.user_id, rp, binding, credential)
        if self._events is not None:
            self._events.factor_enrolled(
                tenant_id, state.user_id, ip, kind="passkey", factor_id=use.factor.id
            )
        if state.enrolment is not None:
            with suppress(NotFound):
                self._factors.remove_factor(tenant_id, state.user_id, state.enrolment)
        return stage.answered(state, use.amr)

    def _passkeys_or_refuse(self) -> Passkeys:
        if self._passkeys is None:
            raise PasskeyRejected("passkeys are not wired in this flow")
        return self._passkeys

    def _expect(self, tenant_id: str, acr_values: tuple[str, ...], state: FlowState, name: str) -> Stage:
        stage = self.next_stage(tenant_id, acr_values, state)
        if stage is None or stage.name != name:
            raise WrongStage(name)
        return stage
