"""Drive the authorization code flow through the real hosted pages, without a browser.

A form driver: follows Keystead's redirects, reads the CSRF token from the page's HTML form,
posts the login and consent forms, and stops at the client's redirect URI.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.factories import PASSWORD, REDIRECT_URI, RegisteredClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class AuthResult:
    """Where the browser landed: the client's redirect URI with its parameters."""

    location: str
    params: dict[str, str]
    verifier: str | None = None
    pages: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.params["code"]


class Flow:
    def __init__(self, http: httpx.Client, tenant_name: str) -> None:
        self.http = http
        self.base = f"/t/{tenant_name}"

    def authorize_params(self, rp: RegisteredClient, **extra: Any) -> dict[str, str]:
        params = {
            "client_id": rp.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
        }
        params.update({k: v for k, v in extra.items() if v is not None})
        return {k: v for k, v in params.items() if v != ""}

    def start(self, params: dict[str, str], method: str = "GET") -> httpx.Response:
        if method == "POST":
            return self.http.post(f"{self.base}/authorize", data=params)
        return self.http.get(f"{self.base}/authorize?{urlencode(params)}")

    def login(
        self,
        rp: RegisteredClient,
        username: str,
        password: str = PASSWORD,
        *,
        consent: str | None = "allow",
        pkce: bool = True,
        method: str = "GET",
        **extra: Any,
    ) -> AuthResult:
        verifier = None
        if pkce:
            verifier, challenge = pkce_pair()
            extra.setdefault("code_challenge", challenge)
            extra.setdefault("code_challenge_method", "S256")
        response = self.start(self.authorize_params(rp, **extra), method)
        result = self.follow(response, username=username, password=password, consent=consent)
        result.verifier = verifier
        return result

    def follow(
        self,
        response: httpx.Response,
        *,
        username: str | None = None,
        password: str = PASSWORD,
        consent: str | None = "allow",
    ) -> AuthResult:
        pages: list[str] = []
        for _ in range(8):
            if response.status_code in (302, 303):
                location = response.headers["location"]
                if not location.startswith("/"):
                    return AuthResult(location, _params(location), pages=pages)
                response = self.http.get(location)
                continue
            if response.status_code not in (200, 400) or "csrf_token" not in response.text:
                raise AssertionError(f"unexpected page {response.status_code}: {response.text[:300]}")
            action = re.search(r'action="([^"]+)"', response.text)
            assert action is not None
            csrf = _CSRF.search(response.text)
            assert csrf is not None
            if 'id="login-form"' in response.text:
                pages.append("login")
                if username is None:
                    raise AssertionError("login page shown but no credentials given")
                data = {"username": username, "password": password, "csrf_token": csrf.group(1)}
                username = None  # log in once
            elif 'id="consent-form"' in response.text:
                pages.append("consent")
                if consent is None:
                    raise AssertionError("consent page shown unexpectedly")
                data = {"decision": consent, "csrf_token": csrf.group(1)}
            else:
                raise AssertionError("unknown page")
            response = self.http.post(action.group(1).replace("&amp;", "&"), data=data)
        raise AssertionError("too many steps")

    def exchange(self, rp: RegisteredClient, result: AuthResult, **overrides: Any) -> httpx.Response:
        data = {"grant_type": "authorization_code", "code": result.code, "redirect_uri": REDIRECT_URI}
        if result.verifier:
            data["code_verifier"] = result.verifier
        data.update(overrides)
        data = {k: v for k, v in data.items() if v is not None}
        return self.token(rp, data)

    def token(self, rp: RegisteredClient, data: dict[str, str], *, basic: bool = True) -> httpx.Response:
        if rp.secret and basic:
            return self.http.post(f"{self.base}/token", data=data, auth=(rp.client_id, rp.secret))
        body = dict(data, client_id=rp.client_id)
        if rp.secret:
            body["client_secret"] = rp.secret
        return self.http.post(f"{self.base}/token", data=body)


def _params(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
