"""Fixtures for the OpenID Connect conformance-lite suite.

One live Keystead (uvicorn in a subprocess) serves the whole session. The relying parties are
third-party and strict: authlib (+ joserfc for ID tokens) in process, openid-client and
oauth4webapi through ``node`` subprocesses (``node/*.mjs``). The end-user is a cookie-keeping
form driver that follows Keystead's redirects and fills in the hosted login and consent forms.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import authlib.deprecate  # installs its own "always" filter, so import it before silencing
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.live_server import LiveServer, live_server

with warnings.catch_warnings():
    # authlib warns that its httpx integration prefers "httpx2"; httpx is what the project pins.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

NODE_DIR = Path(__file__).parent / "node"
NODE_PACKAGES = ("openid-client", "oauth4webapi", "jose")
_FORM = re.compile(r'<form[^>]*\bid="(?P<id>[\w-]+)"[^>]*\baction="(?P<action>[^"]*)"', re.S)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# the provider
@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("conformance")) as server:
        yield server


@dataclass(frozen=True)
class Provider:
    """Discovered metadata and keys, as an RP sees them."""

    metadata: dict[str, Any]
    jwks: dict[str, Any]

    @property
    def issuer(self) -> str:
        return str(self.metadata["issuer"])

    def __getattr__(self, name: str) -> Any:  # op.token_endpoint, op.userinfo_endpoint, ...
        try:
            return self.metadata[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def validate_id_token(
        self,
        token: str,
        *,
        client_id: str,
        nonce: str | None,
        access_token: str | None = None,
        alg: str = "RS256",
    ) -> dict[str, Any]:
        """OIDC Core section 3.1.3.7: signature (by ``kid`` from the JWKS), alg, iss, aud, azp,
        exp, iat, sub, nonce and section 3.1.3.8 ``at_hash``. Returns the claims."""
        header = json.loads(_b64url(token.split(".", maxsplit=1)[0]))
        assert header["alg"] == alg, header
        kid = header.get("kid")
        assert kid and kid in {k.get("kid") for k in self.jwks["keys"]}, header
        key = KeySet.import_key_set(self.jwks).get_by_kid(kid)
        decoded = jwt.decode(token, key, algorithms=[alg])
        claims = dict(decoded.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=5,
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            iat={"essential": True},
        )
        registry.validate(claims)
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1:
            assert claims.get("azp") == client_id
        assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
        assert claims["exp"] > claims["iat"]
        assert claims.get("nonce") == nonce
        if access_token is not None:
            assert claims["at_hash"] == at_hash(access_token)
        if "auth_time" in claims:
            assert isinstance(claims["auth_time"], int) and claims["auth_time"] <= claims["iat"]
        return claims


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.fixture(scope="session")
def op(live: LiveServer) -> Provider:
    metadata = httpx.get(f"{live.issuer}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == live.issuer
    jwks = httpx.get(metadata["jwks_uri"], timeout=10).json()
    return Provider(metadata, jwks)


# the end-user's browser
@dataclass
class Landing:
    """Where the user agent stopped: the client's redirect URI, or a page Keystead rendered."""

    url: str
    status: int
    pages: list[str] = field(default_factory=list)
    html: str = ""

    @property
    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}


class Browser:
    """Keeps cookies, follows Keystead's redirects, fills in the login and consent forms, and
    stops as soon as a redirect leaves Keystead's origin (the RP's redirect URI)."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.http = httpx.Client(follow_redirects=False, timeout=10)
        self.origin = urlsplit(live.base_url).netloc

    def go(
        self,
        url: str,
        *,
        data: dict[str, str] | None = None,
        login: bool = True,
        consent: str = "allow",
    ) -> Landing:
        response = self.http.post(url, data=data) if data is not None else self.http.get(url)
        return self.follow(response, login=login, consent=consent)

    def follow(self, response: httpx.Response, *, login: bool = True, consent: str = "allow") -> Landing:
        pages: list[str] = []
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if urlsplit(location).netloc != self.origin:
                    return Landing(location, response.status_code, pages)
                response = self.http.get(location)
                continue
            form = _FORM.search(response.text)
            if form is None or form["id"] not in ("login-form", "consent-form"):
                return Landing(str(response.url), response.status_code, pages, response.text)
            csrf = _CSRF.search(response.text)
            assert csrf is not None, "form without a CSRF token"
            if form["id"] == "login-form":
                pages.append("login")
                if not login:
                    return Landing(str(response.url), response.status_code, pages, response.text)
                body = {"username": self.live.username, "password": self.live.password}
                login = False  # once; a second login page means the password was refused
            else:
                pages.append("consent")
                body = {"decision": consent}
            action = urljoin(str(response.url), html.unescape(form["action"]))
            response = self.http.post(action, data={**body, "csrf_token": csrf.group(1)})
        raise AssertionError("too many steps")

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def browser(live: LiveServer) -> Iterator[Browser]:
    b = Browser(live)
    yield b
    b.close()


# an authlib relying party
@dataclass(frozen=True)
class AuthRequest:
    url: str
    state: str
    nonce: str | None
    verifier: str | None


class Rp:
    """authlib's OAuth 2.0 client (PKCE S256), with the OIDC checks it leaves to the caller:
    RFC 9207 ``iss`` in the authorization response and the ID token (joserfc)."""

    def __init__(
        self,
        live: LiveServer,
        op: Provider,
        *,
        auth_method: str = "client_secret_basic",
        public: bool = False,
        scope: str = "openid profile email",
    ) -> None:
        self.op = op
        self._seen: list[httpx.Response] = []
        self.client_id = live.public_client_id if public else live.client_id
        self.id_token_alg = "ES256" if public else "RS256"  # as registered by live_server
        self.session = OAuth2Client(
            client_id=self.client_id,
            client_secret=None if public else live.client_secret,
            token_endpoint_auth_method="none" if public else auth_method,
            redirect_uri=live.redirect_uri,
            scope=scope,
            code_challenge_method="S256",
            timeout=10,
            event_hooks={"response": [self._seen.append]},
        )

    @property
    def last_response(self) -> httpx.Response:
        """The last token endpoint response authlib received (for its headers)."""
        return self._seen[-1]

    def begin(self, *, pkce: bool = True, nonce: bool = True, **params: str) -> AuthRequest:
        nonce_value = secrets.token_urlsafe(16) if nonce else None
        if nonce_value:
            params["nonce"] = nonce_value
        verifier = secrets.token_urlsafe(48) if pkce else None
        url, state = self.session.create_authorization_url(
            self.op.authorization_endpoint, state=secrets.token_urlsafe(12), code_verifier=verifier, **params
        )
        return AuthRequest(url, state, nonce_value, verifier)

    def callback(self, landing: Landing, request: AuthRequest) -> str:
        """Checks the authorization response as an RFC 9207 client and returns the code."""
        params = landing.params
        assert landing.url.startswith(self.session.redirect_uri), landing
        assert params.get("iss") == self.op.issuer, params
        assert params.get("state") == request.state, params
        assert "error" not in params, params
        return params["code"]

    def exchange(self, landing: Landing, request: AuthRequest, **extra: str) -> dict[str, Any]:
        self.callback(landing, request)
        kwargs: dict[str, Any] = dict(extra)
        if request.verifier and "code_verifier" not in kwargs:
            kwargs["code_verifier"] = request.verifier
        token = self.session.fetch_token(
            self.op.token_endpoint, authorization_response=landing.url, state=request.state, **kwargs
        )
        return dict(token)

    def login(self, browser: Browser, **params: Any) -> tuple[dict[str, Any], dict[str, Any], Landing]:
        """A complete code flow: tokens, validated ID token claims, and where the browser landed."""
        pkce = params.pop("pkce", True)
        nonce = params.pop("nonce", True)
        request = self.begin(pkce=pkce, nonce=nonce, **params)
        landing = browser.go(request.url)
        tokens = self.exchange(landing, request)
        assert tokens["token_type"].lower() == "bearer"
        assert isinstance(tokens["expires_in"], int) and tokens["expires_in"] > 0
        claims = self.op.validate_id_token(
            tokens["id_token"],
            client_id=self.client_id,
            nonce=request.nonce,
            access_token=tokens["access_token"],
            alg=self.id_token_alg,
        )
        return tokens, claims, landing

    def userinfo(self, access_token: str) -> httpx.Response:
        return httpx.get(
            self.op.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
        )

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def rp(live: LiveServer, op: Provider) -> Iterator[Rp]:
    client = Rp(live, op)
    yield client
    client.close()


@pytest.fixture
def make_rp(live: LiveServer, op: Provider) -> Iterator[Any]:
    made: list[Rp] = []

    def make(**kwargs: Any) -> Rp:
        made.append(Rp(live, op, **kwargs))
        return made[-1]

    yield make
    for client in made:
        client.close()


# Node peers
def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    absent = [p for p in NODE_PACKAGES if not (NODE_DIR / "node_modules" / p / "package.json").is_file()]
    if absent:
        return f"{', '.join(absent)} not installed in {NODE_DIR}/node_modules: run scripts/node-peers.sh"
    return None


@pytest.fixture(scope="session")
def node_ready() -> None:
    """With CI=true a missing peer fails the run instead of skipping it."""
    missing = _node_missing()
    if missing is None:
        return
    if _in_ci():
        pytest.fail(f"node peers required in CI: {missing}")
    pytest.skip(missing)


def run_node(script: str, live: LiveServer, *scenarios: str, timeout: float = 90) -> dict[str, Any]:
    """Runs ``node/<script>`` with the live server's JSON; the last stdout line is a JSON object
    of scenario results."""
    proc = subprocess.run(
        ["node", script, *scenarios],
        cwd=NODE_DIR,
        env=dict(os.environ, KEYSTEAD_LIVE=live.as_json()),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, (
        f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return dict(json.loads(lines[-1]))
