"""Token requests (RFC 6749 sections 4.1.3, 4.4.2 and 6), parsed into one type per grant."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.protocols.oauth2.errors import InvalidRequest, UnsupportedGrantType
from keystead.protocols.oauth2.params import required, single, space_list
from keystead.types import Params

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
CLIENT_CREDENTIALS = "client_credentials"
GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS)


@dataclass(frozen=True, slots=True)
class AuthorizationCodeGrant:
    code: str
    redirect_uri: str | None
    code_verifier: str | None
    grant_type: str = AUTHORIZATION_CODE


@dataclass(frozen=True, slots=True)
class RefreshTokenGrant:
    refresh_token: str
    scopes: tuple[str, ...]
    grant_type: str = REFRESH_TOKEN


@dataclass(frozen=True, slots=True)
class ClientCredentialsGrant:
    scopes: tuple[str, ...]
    grant_type: str = CLIENT_CREDENTIALS


TokenRequest = AuthorizationCodeGrant | RefreshTokenGrant | ClientCredentialsGrant


def parse(form: Params) -> TokenRequest:
    grant_type = required(form, "grant_type", max_length=128)
    if grant_type == AUTHORIZATION_CODE:
        return AuthorizationCodeGrant(
            code=required(form, "code", max_length=512),
            redirect_uri=single(form, "redirect_uri", max_length=2048),
            code_verifier=single(form, "code_verifier", max_length=256),
        )
    if grant_type == REFRESH_TOKEN:
        return RefreshTokenGrant(
            refresh_token=required(form, "refresh_token", max_length=512),
            scopes=space_list(single(form, "scope", max_length=1024)),
        )
    if grant_type == CLIENT_CREDENTIALS:
        return ClientCredentialsGrant(scopes=space_list(single(form, "scope", max_length=1024)))
    if any(ch.isspace() for ch in grant_type):
        raise InvalidRequest("grant_type is malformed")
    raise UnsupportedGrantType(f"grant_type {grant_type!r} is not supported")
