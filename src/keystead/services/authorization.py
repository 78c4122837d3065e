"""The authorization endpoint's use case and its hand-off to the hosted pages.

``start`` validates the request and either answers the client at once (a live SSO session and
consent on record) or records an *interaction* and sends the browser to the pages. The pages
call ``login`` and ``consent``; ``resume`` decides what is still needed and, when nothing is,
issues the authorization code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from keystead.flows.stages import ACR_PASSWORD, FlowState
from keystead.ports.records import (
    AuthorizationCode,
    Client,
    Consent,
    Interaction,
    Session,
    User,
)
from keystead.ports.stores import AuthorizationCodeStore, ConsentStore, InteractionStore
from keystead.protocols import jose
from keystead.protocols.oauth2 import authorization as authz
from keystead.protocols.oauth2 import response as authz_response
from keystead.protocols.oauth2.errors import (
    AccessDenied,
    InteractionRequired,
    InvalidRequest,
    OAuth2Error,
)
from keystead.protocols.oidc import prompt
from keystead.services.clients import Clients, metadata
from keystead.services.keys import KeyManager
from keystead.services.login_flow import LoginFlow, with_client
from keystead.services.outcomes import ErrorPage, Outcome, ToClient, ToInteraction
from keystead.services.secrets import KeyRing, new_token
from keystead.services.signin_events import SignInEvents
from keystead.services.tokens import Issuer
from keystead.types import Clock, Params

INTERACTION_PURPOSE = "interaction"
CODE_PURPOSE = "authorization-code"
FLOW_KEY = "flow"  # the flow state, in the interaction's request JSON


@dataclass(frozen=True, slots=True)
class PendingInteraction:
    """What the pages need to render the next step."""

    handle: str
    record: Interaction
    request: authz.AuthorizationRequest
    client: Client
    step: str  # prompt.LOGIN, prompt.CONSENT, or a flow stage (keystead.flows.stages)
    user: User | None = None
    flow: FlowState | None = None  # for a flow stage: who, and what was done so far


class Authorization:
    def __init__(
        self,
        *,
        clients: Clients,
        keys: KeyManager,
        codes: AuthorizationCodeStore,
        interactions: InteractionStore,
        consents: ConsentStore,
        ring: KeyRing,
        clock: Clock,
        code_ttl: int,
        interaction_ttl: int,
        skew: int,
        code_ttl_for: Callable[[str], int] | None = None,
        flow: LoginFlow | None = None,
        events: SignInEvents | None = None,
    ) -> None:
        self._flow = flow
        self._events = events  # consent given/denied audit events (services/signin_events.py)
        self._clients = clients
        self._keys = keys
        self._codes = codes
        self._interactions = interactions
        self._consents = consents
        self._ring = ring
        self._clock = clock
        self._code_ttl = code_ttl
        self._code_ttl_for = code_ttl_for  # a tenant's own code lifetime (tenant settings)
        self._interaction_ttl = interaction_ttl
        self._skew = skew

    def start(self, iss: Issuer, params: Params, session: Session | None) -> Outcome:
        try:
            target = authz.identify_client(params, lambda cid: self._client_metadata(iss.tenant_id, cid))
        except OAuth2Error as exc:
            return ErrorPage(exc)
        try:
            request = authz.validate_request(params, target)
            hinted = self._hinted_subject(iss, request)
            return self._decide(iss, request, target.client.client_id, session, hinted, None)
        except OAuth2Error as exc:
            return ToClient(
                authz_response.failure(
                    target.redirect_uri,
                    target.response_mode,
                    error=exc.to_dict(),
                    state=target.state,
                    issuer=iss.url,
                )
            )

    def pending(self, iss: Issuer, handle: str, session: Session | None) -> PendingInteraction | Outcome:
        record = self._live_interaction(iss, handle)
        if record is None:
            return ErrorPage(InvalidRequest("this sign-in request has expired; start again"))
        request = authz.AuthorizationRequest.from_dict(record.request["request"])
        client = self._clients.find(iss.tenant_id, record.client_id)
        if client is None:
            return ErrorPage(InvalidRequest("the application is no longer available"))
        state = flow_state(record) if record.user_id is None else None
        if state is not None and self._flow is not None:
            stage = self._flow.next_stage(iss.tenant_id, request.acr_values, state)
            if stage is not None:
                return PendingInteraction(handle, record, request, client, stage.name, flow=state)
        steps = self._steps(iss, record, request, client, session)
        if isinstance(steps, ToClient):
            return steps
        if prompt.LOGIN not in steps and record.user_id is None and session is not None:
            step_up = self._step_up(iss, request, session, client)
            if step_up is not None:
                return PendingInteraction(handle, record, request, client, step_up[0], flow=step_up[1])
        if not steps:
            return self._finish(iss, handle, record, request, session)
        return PendingInteraction(handle, record, request, client, steps[0])

    def authenticated(self, iss: Issuer, handle: str, state: FlowState) -> None:
        """Record the flow's progress (the first factor passed, a stage answered)."""
        record = self._live_interaction(iss, handle)
        if record is None:
            raise InvalidRequest("this sign-in request has expired; start again")
        state = self._client_strength(iss, _with_client(state, record), record)
        stored = dict(record.request, **{FLOW_KEY: state.to_dict()})
        self._interactions.update_interaction(iss.tenant_id, self._mac(handle), request=stored)

    def next_stage(self, iss: Issuer, handle: str, state: FlowState) -> str | None:
        """The flow stage ``state`` still needs in this interaction, if any."""
        record = self._live_interaction(iss, handle)
        if record is None or self._flow is None:
            return None
        request = authz.AuthorizationRequest.from_dict(record.request["request"])
        state = self._client_strength(iss, _with_client(state, record), record)
        stage = self._flow.next_stage(iss.tenant_id, request.acr_values, state)
        return stage.name if stage is not None else None

    def _client_strength(self, iss: Issuer, state: FlowState, record: Interaction) -> FlowState:
        """The client's ``mfa``/``minimum_acr`` on a flow state that does not carry them yet
        (a first factor decided outside the password page: a passkey, an emailed code)."""
        if state.client_mfa is not None or state.minimum_acr is not None:
            return state
        client = self._clients.find(iss.tenant_id, record.client_id)
        return with_client(state, client) if client is not None else state

    def logged_in(self, iss: Issuer, handle: str, session: Session) -> None:
        """Record on the interaction that ``session`` was just authenticated."""
        self._interactions.update_interaction(
            iss.tenant_id,
            self._mac(handle),
            user_id=session.user_id,
            auth_time=session.auth_time,
            session_id=session.id,
        )

    def consent(
        self,
        iss: Issuer,
        pending: PendingInteraction,
        allow: bool,
        session: Session | None,
        *,
        ip: str | None = None,
    ) -> PendingInteraction | Outcome:
        request = pending.request
        user_id = pending.record.user_id or (session.user_id if session else None)
        if self._events is not None and user_id is not None:
            self._events.consent(
                iss.tenant_id, user_id, ip, client_id=request.client_id, scopes=request.scopes, given=allow
            )
        if not allow:
            self._interactions.complete_interaction(
                iss.tenant_id, self._mac(pending.handle), now=self._clock()
            )
            return self._to_client_error(iss, request, AccessDenied("the end-user denied the request"))
        if user_id is None:
            return ErrorPage(InvalidRequest("sign in first"))
        self._save_consent(iss, user_id, request)
        stored = dict(pending.record.request, consented=True)
        self._interactions.update_interaction(iss.tenant_id, self._mac(pending.handle), request=stored)
        return self.pending(iss, pending.handle, session)

    # decisions
    def _decide(
        self,
        iss: Issuer,
        request: authz.AuthorizationRequest,
        client_id: str,
        session: Session | None,
        hinted: str | None,
        handle: str | None,
    ) -> Outcome:
        client = self._clients.get(iss.tenant_id, client_id)
        authn = _authn_from_session(session)
        steps = prompt.steps_needed(
            request,
            authn,
            now=self._clock(),
            hinted_subject=hinted,
            consent_on_record=self._consent_on_record(iss, authn, request),
            first_party=client.first_party,
        )
        if not steps and session is not None and self._step_up(iss, request, session, client) is not None:
            if "none" in request.prompt:
                raise InteractionRequired("a second factor is needed")
            steps = ("step-up",)
        if steps:
            return ToInteraction(self._new_interaction(iss, request, client, hinted))
        assert session is not None
        return ToClient(self._issue_code(iss, request, session_user=session))

    def _steps(
        self,
        iss: Issuer,
        record: Interaction,
        request: authz.AuthorizationRequest,
        client: Client,
        session: Session | None,
    ) -> tuple[str, ...] | ToClient:
        if record.user_id is not None:
            authn: prompt.Authentication | None = prompt.Authentication(
                record.user_id, record.auth_time or 0.0, fresh=True
            )
        else:
            authn = _authn_from_session(session)
        consented = bool(record.request.get("consented"))
        try:
            return prompt.steps_needed(
                request,
                authn,
                now=self._clock(),
                hinted_subject=record.request.get("hinted_subject"),
                consent_on_record=consented or self._consent_on_record(iss, authn, request),
                first_party=client.first_party or consented,
            )
        except OAuth2Error as exc:
            return self._to_client_error(iss, request, exc)

    def _finish(
        self,
        iss: Issuer,
        handle: str,
        record: Interaction,
        request: authz.AuthorizationRequest,
        session: Session | None,
    ) -> Outcome:
        if not self._interactions.complete_interaction(iss.tenant_id, self._mac(handle), now=self._clock()):
            return ErrorPage(InvalidRequest("this sign-in request was already used; start again"))
        if record.user_id is not None:
            done = flow_state(record)
            acr_amr = (done.acr, done.amr) if done is not None else (ACR_PASSWORD, ("pwd",))
            login = _Login(record.user_id, record.auth_time or 0.0, record.session_id, acr_amr)
        elif session is not None:
            login = _Login(session.user_id, session.auth_time, session.id, (session.acr, session.amr))
        else:
            return ErrorPage(InvalidRequest("sign in first"))
        return ToClient(self._issue_code(iss, request, login=login))

    def _step_up(
        self, iss: Issuer, request: authz.AuthorizationRequest, session: Session, client: Client | None = None
    ) -> tuple[str, FlowState] | None:
        """The stage an SSO session still needs for this request (a second factor it did not
        do, or the client's ``mfa``/``minimum_acr`` asks for), with the session's
        authentication as the flow state."""
        if self._flow is None:
            return None
        state = replace(LoginFlow.from_session(session), client_id=request.client_id)
        if client is not None:
            state = with_client(state, client)
        stage = self._flow.next_stage(iss.tenant_id, request.acr_values, state)
        return (stage.name, state) if stage is not None else None

    # helpers
    def _issue_code(
        self,
        iss: Issuer,
        request: authz.AuthorizationRequest,
        *,
        session_user: Session | None = None,
        login: _Login | None = None,
    ) -> authz_response.AuthorizationResponse:
        if login is None:
            assert session_user is not None
            login = _Login(
                session_user.user_id,
                session_user.auth_time,
                session_user.id,
                (session_user.acr, session_user.amr),
            )
        code = new_token()
        now = self._clock()
        acr, amr = login.acr_amr
        self._codes.add_code(
            AuthorizationCode(
                code_hmac=self._ring.mac(CODE_PURPOSE, code),
                tenant_id=iss.tenant_id,
                client_id=request.client_id,
                user_id=login.user_id,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                session_id=login.session_id,
                auth_time=login.auth_time,
                acr=acr,
                amr=tuple(amr),
                claims=request.claims,
                expires_at=now
                + (self._code_ttl_for(iss.tenant_id) if self._code_ttl_for else self._code_ttl),
            )
        )
        return authz_response.success(
            request.redirect_uri,
            request.response_mode,
            code=code,
            state=request.state,
            issuer=iss.url,
        )

    def _new_interaction(
        self, iss: Issuer, request: authz.AuthorizationRequest, client: Client, hinted: str | None
    ) -> str:
        handle = new_token()
        now = self._clock()
        self._interactions.add_interaction(
            Interaction(
                id_hmac=self._mac(handle),
                tenant_id=iss.tenant_id,
                client_id=client.client_id,
                request={"request": request.to_dict(), "hinted_subject": hinted},
                created_at=now,
                expires_at=now + self._interaction_ttl,
            )
        )
        return handle

    def _live_interaction(self, iss: Issuer, handle: str) -> Interaction | None:
        if not handle or len(handle) > 128:
            return None
        record = self._interactions.interaction_by_hmac(iss.tenant_id, self._mac(handle))
        if record is None or record.completed_at is not None or record.expires_at <= self._clock():
            return None
        return record

    def _hinted_subject(self, iss: Issuer, request: authz.AuthorizationRequest) -> str | None:
        """The ``sub`` of a valid ``id_token_hint`` we issued (expiry is not checked)."""
        if request.id_token_hint is None:
            return None
        try:
            verified = jose.verify(
                request.id_token_hint,
                self._keys.verify_set(iss.tenant_id),
                now=self._clock(),
                issuer=iss.url,
                audience=request.client_id,
                typ="jwt",  # an ID token, not an access token (at+jwt)
                check_expiry=False,
            )
        except jose.JoseError as exc:
            raise InvalidRequest("id_token_hint is not valid", detail=str(exc)) from exc
        return str(verified.claims.get("sub"))

    def _consent_on_record(
        self, iss: Issuer, authn: prompt.Authentication | None, request: authz.AuthorizationRequest
    ) -> bool:
        if authn is None:
            return False
        consent = self._consents.consent_for(iss.tenant_id, authn.subject, request.client_id)
        return consent is not None and set(request.scopes) <= set(consent.scopes)

    def _save_consent(self, iss: Issuer, user_id: str, request: authz.AuthorizationRequest) -> None:
        existing = self._consents.consent_for(iss.tenant_id, user_id, request.client_id)
        scopes = tuple(dict.fromkeys((*(existing.scopes if existing else ()), *request.scopes)))
        self._consents.save_consent(Consent(iss.tenant_id, user_id, request.client_id, scopes, self._clock()))

    def _to_client_error(
        self, iss: Issuer, request: authz.AuthorizationRequest, exc: OAuth2Error
    ) -> ToClient:
        return ToClient(
            authz_response.failure(
                request.redirect_uri,
                request.response_mode,
                error=exc.to_dict(),
                state=request.state,
                issuer=iss.url,
            )
        )

    def _client_metadata(self, tenant_id: str, client_id: str) -> Any:
        client = self._clients.find(tenant_id, client_id)
        return metadata(client) if client is not None else None

    def _mac(self, handle: str) -> str:
        return self._ring.mac(INTERACTION_PURPOSE, handle)


@dataclass(frozen=True, slots=True)
class _Login:
    user_id: str
    auth_time: float
    session_id: str | None
    acr_amr: tuple[str | None, tuple[str, ...]]


def flow_state(record: Interaction) -> FlowState | None:
    data = record.request.get(FLOW_KEY)
    if not isinstance(data, dict):
        return None
    return _with_client(FlowState.from_dict(data), record)


def _with_client(state: FlowState, record: Interaction) -> FlowState:
    """The interaction's client decides the flow (a client may have its own)."""
    return replace(state, client_id=record.client_id) if state.client_id is None else state


def _authn_from_session(session: Session | None) -> prompt.Authentication | None:
    if session is None:
        return None
    return prompt.Authentication(session.user_id, session.auth_time)


__all__ = ["ACR_PASSWORD", "Authorization", "PendingInteraction", "flow_state"]
