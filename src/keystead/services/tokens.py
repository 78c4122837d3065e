"""Issuing and checking tokens: JWT access tokens (RFC 9068), ID tokens (OIDC Core section 2),
rotating refresh tokens, introspection (RFC 7662) and revocation (RFC 7009).

Refresh tokens are opaque random values stored as HMACs. Each authorization is a *grant*: the
tokens issued from one code share it, and revoking the grant (code replay, refresh token reuse,
logout) revokes them all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from keystead.ports.records import AccessTokenRecord, Client, Grant, RefreshToken, User
from keystead.ports.stores import AccessTokenStore, GrantStore, RefreshTokenStore, UserStore
from keystead.protocols import jose
from keystead.protocols.oauth2.errors import InvalidGrant, InvalidScope, InvalidToken
from keystead.protocols.oidc import claims as oidc_claims
from keystead.services.keys import KeyManager
from keystead.services.secrets import KeyRing, new_token
from keystead.types import Clock

REFRESH_PURPOSE = "refresh-token"
ACCESS_TOKEN_TYP = "at+jwt"


@dataclass(frozen=True, slots=True)
class Issuer:
    """The tenant a token belongs to and its issuer identifier."""

    tenant_id: str
    url: str


@dataclass(frozen=True, slots=True)
class TokenResponse:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        if self.id_token:
            body["id_token"] = self.id_token
        return body


@dataclass(frozen=True, slots=True)
class AccessTokenInfo:
    claims: dict[str, Any]
    grant: Grant | None
    user: User | None = None  # the grant's user, when the token was issued to one

    @property
    def user_gone(self) -> bool:
        """Issued to a user who has since been disabled or deleted."""
        issued_to_user = self.grant is not None and self.grant.user_id is not None
        return issued_to_user and (self.user is None or not self.user.active)


class Tokens:
    def __init__(
        self,
        *,
        grants: GrantStore,
        refresh_tokens: RefreshTokenStore,
        access_tokens: AccessTokenStore,
        users: UserStore,
        keys: KeyManager,
        ring: KeyRing,
        clock: Clock,
        skew: int,
    ) -> None:
        self._grants = grants
        self._refresh = refresh_tokens
        self._access = access_tokens
        self._users = users
        self._keys = keys
        self._ring = ring
        self._clock = clock
        self._skew = skew

    # issuing
    def issue(
        self,
        iss: Issuer,
        client: Client,
        grant: Grant,
        *,
        nonce: str | None = None,
        with_refresh: bool,
        with_id_token: bool,
    ) -> TokenResponse:
        now = self._clock()
        access_token, record = self._mint_access_token(iss, client, grant, now)
        self._access.add_access_token(record)
        refresh = self._new_refresh(grant, client, now) if with_refresh else None
        id_token = None
        if with_id_token and grant.user_id is not None:
            id_token = self._id_token(iss, client, grant, access_token, nonce, now)
        return TokenResponse(
            access_token=access_token,
            expires_in=client.access_token_ttl,
            scope=" ".join(grant.scopes),
            refresh_token=refresh,
            id_token=id_token,
        )

    def new_grant(
        self, iss: Issuer, client: Client, scopes: tuple[str, ...], *, stored: bool = True, **authn: Any
    ) -> Grant:
        """A new token family. ``stored=False`` makes a one-token grant that is never written
        (``client_credentials``: nothing to rotate, its one token is revoked by ``jti``)."""
        grant_id = authn.pop("id", None) or str(uuid.uuid4())
        grant = Grant(
            id=grant_id if stored else "",
            tenant_id=iss.tenant_id,
            client_id=client.client_id,
            scopes=scopes,
            created_at=self._clock(),
            **authn,
        )
        if stored:
            self._grants.add_grant(grant)
        return grant

    def refresh(self, iss: Issuer, client: Client, token: str, scopes: tuple[str, ...]) -> TokenResponse:
        """Rotate a refresh token (OAuth 2.0 Security BCP section 4.14.2)."""
        now = self._clock()
        old_hmac = self._ring.mac(REFRESH_PURPOSE, token)
        record = self._refresh.refresh_token_by_hmac(iss.tenant_id, old_hmac)
        if record is None or record.client_id != client.client_id:
            raise InvalidGrant("refresh token is invalid", detail="unknown or other client")
        if record.used_at is not None:
            self._grants.revoke_grant(iss.tenant_id, record.grant_id, now=now)
            raise InvalidGrant("refresh token is invalid", detail="reuse: family revoked")
        grant = self._live_grant(iss.tenant_id, record.grant_id, now)
        if record.expires_at <= now:
            raise InvalidGrant("refresh token expired")
        if any(s not in record.scopes for s in scopes):
            raise InvalidScope("scope exceeds the original grant")
        narrowed = scopes or record.scopes
        new_value = new_token()
        new_record = RefreshToken(
            token_hmac=self._ring.mac(REFRESH_PURPOSE, new_value),
            grant_id=grant.id,
            tenant_id=iss.tenant_id,
            client_id=client.client_id,
            scopes=record.scopes,
            expires_at=record.expires_at,
            created_at=now,
        )
        view = Grant(**{**_grant_fields(grant), "scopes": narrowed})
        access_token, at_record = self._mint_access_token(iss, client, view, now)
        # One transaction: the old token is spent, the new one and the access token recorded.
        if not self._refresh.rotate_refresh_token(old_hmac, new_record, now=now, access_token=at_record):
            self._grants.revoke_grant(iss.tenant_id, grant.id, now=now)
            raise InvalidGrant("refresh token is invalid", detail="concurrent reuse")
        id_token = None
        if "openid" in narrowed and view.user_id is not None:
            id_token = self._id_token(iss, client, view, access_token, None, now)
        return TokenResponse(access_token, client.access_token_ttl, " ".join(narrowed), new_value, id_token)

    def revoke_grant(self, tenant_id: str, grant_id: str) -> None:
        self._grants.revoke_grant(tenant_id, grant_id, now=self._clock())

    # checking
    def check_access_token(self, iss: Issuer, token: str) -> AccessTokenInfo:
        """Signature, issuer, type, expiry and revocation state; :class:`InvalidToken` if not."""
        now = self._clock()
        try:
            verified = jose.verify(
                token,
                self._keys.verify_set(iss.tenant_id),
                now=now,
                issuer=iss.url,
                typ=ACCESS_TOKEN_TYP,
                skew=0,
            )
        except jose.JoseError as exc:
            raise InvalidToken("the access token is invalid", detail=str(exc)) from exc
        state = self._access.access_token_state(iss.tenant_id, str(verified.claims.get("jti")))
        if state is None:
            raise InvalidToken("the access token is invalid", detail="unknown jti")
        record, grant = state.record, state.grant
        if record.revoked_at is not None or (grant is not None and grant.revoked_at is not None):
            raise InvalidToken("the access token is invalid", detail="revoked")
        if record.grant_id is not None and grant is None:
            raise InvalidToken("the access token is invalid", detail="grant deleted")
        return AccessTokenInfo(verified.claims, grant, state.user)

    def refresh_token_record(self, iss: Issuer, token: str) -> RefreshToken | None:
        """A live refresh token (for introspection and revocation), else ``None``."""
        record = self._refresh.refresh_token_by_hmac(iss.tenant_id, self._ring.mac(REFRESH_PURPOSE, token))
        now = self._clock()
        if record is None or record.used_at is not None or record.expires_at <= now:
            return None
        grant = self._grants.grant_by_id(iss.tenant_id, record.grant_id)
        if grant is None or grant.revoked_at is not None:
            return None
        return record

    def revoke_access_token(self, iss: Issuer, jti: str) -> None:
        self._access.revoke_access_token(iss.tenant_id, jti, now=self._clock())

    def grant_user_active(self, tenant_id: str, grant_id: str) -> bool:
        """Whether the grant's user (if it has one) may still use its tokens."""
        grant = self._grants.grant_by_id(tenant_id, grant_id)
        if grant is None:
            return False
        return grant.user_id is None or self.user_for(tenant_id, grant.user_id) is not None

    def user_for(self, tenant_id: str, user_id: str) -> User | None:
        user = self._users.user_by_id(tenant_id, user_id)
        return user if user is not None and user.active else None

    # internals
    def _live_grant(self, tenant_id: str, grant_id: str, now: float) -> Grant:
        grant = self._grants.grant_by_id(tenant_id, grant_id)
        if grant is None or grant.revoked_at is not None:
            raise InvalidGrant("the grant was revoked")
        if grant.user_id is not None and self.user_for(tenant_id, grant.user_id) is None:
            raise InvalidGrant("the user is no longer active")
        return grant

    def _mint_access_token(
        self, iss: Issuer, client: Client, grant: Grant, now: float
    ) -> tuple[str, AccessTokenRecord]:
        """A signed access token and the record to store for it (the caller stores it)."""
        jti = new_token(16)
        exp = int(now) + client.access_token_ttl
        claims: dict[str, Any] = {
            "iss": iss.url,
            "sub": grant.user_id or client.client_id,
            "aud": client.client_id,
            "client_id": client.client_id,
            "iat": int(now),
            "exp": exp,
            "jti": jti,
            "scope": " ".join(grant.scopes),
        }
        if grant.user_id is not None:
            claims.update(_authn_claims(grant))
        record = AccessTokenRecord(jti, iss.tenant_id, client.client_id, grant.id or None, float(exp))
        key = self._keys.signing_key(iss.tenant_id, "ES256")
        return jose.sign(key, claims, typ=ACCESS_TOKEN_TYP), record

    def _id_token(
        self,
        iss: Issuer,
        client: Client,
        grant: Grant,
        access_token: str,
        nonce: str | None,
        now: float,
    ) -> str:
        key = self._keys.signing_key(iss.tenant_id, client.id_token_alg)
        claims: dict[str, Any] = {
            "iss": iss.url,
            "sub": grant.user_id,
            "aud": client.client_id,
            "azp": client.client_id,
            "iat": int(now),
            "exp": int(now) + client.id_token_ttl,
            "at_hash": oidc_claims.at_hash(access_token, key.alg),
            **_authn_claims(grant),
        }
        if grant.session_id:
            claims["sid"] = grant.session_id
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(self._requested_id_token_claims(iss, grant))
        return jose.sign(key, claims)

    def _requested_id_token_claims(self, iss: Issuer, grant: Grant) -> dict[str, Any]:
        requested = (grant.claims or {}).get("id_token") or {}
        if not requested or grant.user_id is None:
            return {}
        user = self.user_for(iss.tenant_id, grant.user_id)
        if user is None:
            return {}
        names = oidc_claims.names_for((), requested) - {"sub"}
        return oidc_claims.release(user.claims(), names)

    def _new_refresh(self, grant: Grant, client: Client, now: float) -> str:
        value = new_token()
        self._refresh.add_refresh_token(
            RefreshToken(
                token_hmac=self._ring.mac(REFRESH_PURPOSE, value),
                grant_id=grant.id,
                tenant_id=grant.tenant_id,
                client_id=client.client_id,
                scopes=grant.scopes,
                expires_at=now + client.refresh_token_ttl,
                created_at=now,
            )
        )
        return value


def _authn_claims(grant: Grant) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if grant.auth_time is not None:
        claims["auth_time"] = int(grant.auth_time)
    if grant.acr:
        claims["acr"] = grant.acr
    if grant.amr:
        claims["amr"] = list(grant.amr)
    return claims


def _grant_fields(grant: Grant) -> dict[str, Any]:
    return {name: getattr(grant, name) for name in grant.__dataclass_fields__}
