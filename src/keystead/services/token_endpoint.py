"""The token, introspection, revocation and UserInfo use cases."""

from __future__ import annotations

import uuid
from typing import Any

from keystead.ports.records import Client
from keystead.ports.stores import AuthorizationCodeStore
from keystead.protocols.oauth2 import pkce
from keystead.protocols.oauth2 import token_request as tr
from keystead.protocols.oauth2.client import CONFIDENTIAL
from keystead.protocols.oauth2.client_auth import ClientCredentials
from keystead.protocols.oauth2.errors import (
    InsufficientScope,
    InvalidGrant,
    InvalidScope,
    InvalidToken,
    UnauthorizedClient,
)
from keystead.protocols.oidc import claims as oidc_claims
from keystead.services.authorization import CODE_PURPOSE
from keystead.services.clients import Clients
from keystead.services.secrets import KeyRing
from keystead.services.tokens import Issuer, TokenResponse, Tokens
from keystead.types import Clock


class TokenEndpoint:
    def __init__(
        self,
        *,
        clients: Clients,
        tokens: Tokens,
        codes: AuthorizationCodeStore,
        ring: KeyRing,
        clock: Clock,
    ) -> None:
        self._clients = clients
        self._tokens = tokens
        self._codes = codes
        self._ring = ring
        self._clock = clock

    def token(self, iss: Issuer, creds: ClientCredentials, request: tr.TokenRequest) -> TokenResponse:
        client = self._clients.authenticate(iss.tenant_id, creds)
        if request.grant_type not in client.grant_types:
            raise UnauthorizedClient(f"this client may not use the {request.grant_type} grant")
        if isinstance(request, tr.AuthorizationCodeGrant):
            return self._authorization_code(iss, client, request)
        if isinstance(request, tr.RefreshTokenGrant):
            return self._tokens.refresh(iss, client, request.refresh_token, request.scopes)
        return self._client_credentials(iss, client, request)

    def _authorization_code(
        self, iss: Issuer, client: Client, request: tr.AuthorizationCodeGrant
    ) -> TokenResponse:
        now = self._clock()
        code_hmac = self._ring.mac(CODE_PURPOSE, request.code)
        grant_id = _new_id()
        code = self._codes.consume_code(code_hmac, now=now, grant_id=grant_id, tenant_id=iss.tenant_id)
        if code is None:
            self._revoke_replayed(iss, code_hmac)
            raise InvalidGrant("the authorization code is invalid or was already used")
        if code.client_id != client.client_id:  # (consume_code is already scoped to the tenant)
            raise InvalidGrant("the authorization code was issued to another client")
        if code.expires_at <= now:
            raise InvalidGrant("the authorization code has expired")
        if request.redirect_uri != code.redirect_uri:
            raise InvalidGrant("redirect_uri does not match the authorization request")
        pkce.check_verifier(code.code_challenge, request.code_verifier)
        if self._tokens.user_for(iss.tenant_id, code.user_id) is None:
            raise InvalidGrant("the user is no longer active")
        grant = self._tokens.new_grant(
            iss,
            client,
            code.scopes,
            id=grant_id,
            user_id=code.user_id,
            session_id=code.session_id,
            auth_time=code.auth_time,
            acr=code.acr,
            amr=code.amr,
            claims=code.claims,
        )
        return self._tokens.issue(
            iss,
            client,
            grant,
            nonce=code.nonce,
            with_refresh="refresh_token" in client.grant_types,
            with_id_token="openid" in code.scopes,
        )

    def _revoke_replayed(self, iss: Issuer, code_hmac: str) -> None:
        """RFC 6749 section 4.1.2: a reused code SHOULD revoke the tokens issued from it."""
        used = self._codes.code_by_hmac(code_hmac)
        if used is not None and used.tenant_id == iss.tenant_id and used.grant_id:
            self._tokens.revoke_grant(iss.tenant_id, used.grant_id)

    def _client_credentials(
        self, iss: Issuer, client: Client, request: tr.ClientCredentialsGrant
    ) -> TokenResponse:
        if client.client_type != CONFIDENTIAL:
            raise UnauthorizedClient("public clients cannot use client_credentials")
        allowed = tuple(s for s in client.scopes if s not in ("openid", "offline_access"))
        refused = [s for s in request.scopes if s not in allowed]
        if refused:
            raise InvalidScope(f"scope not allowed for this client: {' '.join(refused)}")
        grant = self._tokens.new_grant(iss, client, request.scopes or allowed, stored=False, user_id=None)
        return self._tokens.issue(iss, client, grant, with_refresh=False, with_id_token=False)

    # RFC 7662
    def introspect(
        self, iss: Issuer, creds: ClientCredentials, token: str, hint: str | None
    ) -> dict[str, Any]:
        caller = self._clients.authenticate(iss.tenant_id, creds)
        if caller.client_type != CONFIDENTIAL:
            raise UnauthorizedClient("only confidential clients may introspect")
        order = (
            ("refresh_token", "access_token")
            if hint == "refresh_token"
            else ("access_token", "refresh_token")
        )
        for kind in order:
            found = self._introspect_as(iss, caller, token, kind)
            if found is not None:
                return found
        return {"active": False}

    def _introspect_as(self, iss: Issuer, caller: Client, token: str, kind: str) -> dict[str, Any] | None:
        if kind == "access_token":
            if token.count(".") != 2:
                return None
            try:
                info = self._tokens.check_access_token(iss, token)
            except InvalidToken:
                return None
            if info.user_gone:
                return None
            return {"active": True, "token_type": "Bearer", **info.claims}
        record = self._tokens.refresh_token_record(iss, token)
        if record is None or record.client_id != caller.client_id:
            return None
        if not self._tokens.grant_user_active(iss.tenant_id, record.grant_id):
            return None  # the user was disabled
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": record.client_id,
            "scope": " ".join(record.scopes),
            "exp": int(record.expires_at),
            "iss": iss.url,
        }

    # RFC 7009
    def revoke(self, iss: Issuer, creds: ClientCredentials, token: str) -> None:
        client = self._clients.authenticate(iss.tenant_id, creds)
        record = self._tokens.refresh_token_record(iss, token)
        if record is not None:
            if record.client_id != client.client_id:
                raise UnauthorizedClient("the token was issued to another client")
            self._tokens.revoke_grant(iss.tenant_id, record.grant_id)
            return
        if token.count(".") != 2:
            return
        try:
            info = self._tokens.check_access_token(iss, token)
        except InvalidToken:
            return  # section 2.2: invalid tokens do not cause an error
        if info.claims.get("client_id") != client.client_id:
            raise UnauthorizedClient("the token was issued to another client")
        self._tokens.revoke_access_token(iss, str(info.claims["jti"]))

    # OIDC Core section 5.3
    def userinfo(self, iss: Issuer, access_token: str) -> dict[str, Any]:
        info = self._tokens.check_access_token(iss, access_token)
        scopes = str(info.claims.get("scope", "")).split()
        if "openid" not in scopes or info.grant is None or info.grant.user_id is None:
            raise InsufficientScope("the access token does not grant openid")
        user = info.user
        if user is None or info.user_gone:
            raise InvalidToken("the access token is invalid", detail="user gone or disabled")
        requested = (info.grant.claims or {}).get("userinfo") or {}
        return oidc_claims.release(user.claims(), oidc_claims.names_for(scopes, requested))


def _new_id() -> str:
    return str(uuid.uuid4())
