"""What a sign-in costs per core, by factor, against the raw argon2id rate of the same run.

    .venv/bin/python bench/login_factors.py                  # 5 s of CPU per row, about 25 s in all
    .venv/bin/python bench/login_factors.py --duration 0.2   # smoke test

Rows, each measured for about ``--duration`` seconds of process CPU, in process and one after
the other (side by side in one run, on whatever core the process gets):

1. ``argon2id verify``: ``argon2.PasswordHasher.verify`` at the configured parameters
   (``PasswordSettings`` defaults: the OWASP m=19456 KiB, t=2, p=1).
2. ``ES256 sign``: ``keystead.protocols.jose.sign`` (joserfc ``jwt.encode``) of an ID-token
   sized claim set with a P-256 key.
3. ``password sign-in``: the real hosted flow through the ASGI app (Starlette TestClient, no
   socket): ``GET /authorize`` (PKCE) → login page → ``POST`` the form with its CSRF token →
   redirect to the client with a code → ``POST /token`` code exchange (ID token and access
   token signed). A new cookie jar per sign-in, so no SSO session is reused.
4. ``password + TOTP sign-in``: the same for a user with an active TOTP authenticator (enrolled
   through ``Factors.enrol_totp``/``activate_totp``); the second-factor page is answered with a
   code from pyotp. The injected ``FrozenClock`` moves 30 s before each sign-in, so each code is
   in a new step (a code is accepted once).
5. ``passkey sign-in (passwordless)``: the login page's passkey path for a user with a passkey
   (registered through ``Passkeys.registration_options``/``register``): ``POST`` the page's
   options endpoint (a challenge stored) → an ES256 assertion by a software authenticator in
   this process (its signature counts in the CPU: about one ES256 sign) → ``POST`` it with the
   form (challenge taken, signature verified, counter updated) → code exchange. No argon2id.

Each row is printed as operations per CPU second of this process (all its threads: the
TestClient's event loop thread and the argon2 pool thread count too, so other processes on a
shared core do not lower it), as a ratio to the argon2id verify rate, and, for the sign-ins, the
CPU each one spends outside its one argon2id verify. The wall-clock rate is shown too. SQLite
file in a temporary directory. Results: docs/benchmarks.md, "Sign-in cost by factor".
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import secrets
import struct
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import cbor2
import httpx
import pyotp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from keystead.clock import FrozenClock
from keystead.config import load_settings
from keystead.config.settings import PasswordSettings
from keystead.services.passkey_challenges import RelyingParty
from keystead.wiring import Keystead, build

PASSWORD = "correct horse battery staple"
REDIRECT_URI = "https://rp.example.com/cb"
T0 = 1_900_000_020.0  # the start of a 30-second TOTP step

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
_STAGE = re.compile(r'name="stage" value="([a-z_]+)"')
_OPTIONS = re.compile(r'data-options="([^"]+)"')


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SoftKey:
    """A software WebAuthn authenticator (ES256, ``none`` attestation, UV), as the tests' one in
    tests/support/authenticator.py: answers the options JSON with a credential's JSON."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.id = secrets.token_bytes(32)
        self.user_handle = b""
        self.count = 0

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin}).encode()

    def create(self, options_json: str) -> dict[str, Any]:
        options = json.loads(options_json)
        self.user_handle = base64.urlsafe_b64decode(options["user"]["id"] + "==")
        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        auth = (
            rp_hash
            + bytes([0x45])
            + struct.pack(">I", 0)
            + bytes(16)
            + struct.pack(">H", 32)
            + self.id
            + cose
        )
        response = {
            "clientDataJSON": _b64(self._client_data("webauthn.create", options["challenge"])),
            "attestationObject": _b64(cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth})),
        }
        return {"id": _b64(self.id), "rawId": _b64(self.id), "type": "public-key", "response": response}

    def get(self, options_json: str) -> dict[str, Any]:
        options = json.loads(options_json)
        self.count += 1
        auth = (
            hashlib.sha256(options["rpId"].encode()).digest() + bytes([0x05]) + struct.pack(">I", self.count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = self.key.sign(auth + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        response = {
            "clientDataJSON": _b64(client_data),
            "authenticatorData": _b64(auth),
            "signature": _b64(signature),
            "userHandle": _b64(self.user_handle),
        }
        return {"id": _b64(self.id), "rawId": _b64(self.id), "type": "public-key", "response": response}


@dataclass
class Row:
    name: str
    calls: int
    cpu_s: float
    wall_s: float

    @property
    def per_cpu_s(self) -> float:
        return self.calls / self.cpu_s

    @property
    def per_wall_s(self) -> float:
        return self.calls / self.wall_s


def measure(name: str, fn: Callable[[], Any], seconds: float, *, min_calls: int = 3) -> Row:
    """Call ``fn`` (after one warm-up call) until ``seconds`` of process CPU have passed and at
    least ``min_calls`` calls were made."""
    fn()
    calls = 0
    cpu, wall = time.process_time(), time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.process_time() - cpu
        if elapsed >= seconds and calls >= min_calls:
            return Row(name, calls, elapsed, time.perf_counter() - wall)


def argon2_verify() -> Callable[[], Any]:
    from argon2 import PasswordHasher, Type

    cfg = PasswordSettings()
    hasher = PasswordHasher(
        time_cost=cfg.time_cost, memory_cost=cfg.memory_kib, parallelism=cfg.parallelism, type=Type.ID
    )
    stored = hasher.hash(PASSWORD)
    return lambda: hasher.verify(stored, PASSWORD)


def es256_sign() -> Callable[[], Any]:
    from keystead.protocols.jose import generate, sign

    key = generate("ES256")
    now = int(time.time())
    claims = {
        "iss": "http://bench/t/bench",
        "sub": "0b6f7a2e-3d1c-4f7e-9a51-2f5b8c1d9e00",
        "aud": "Jx3kq9u2VZKc0pQ8sL1w4A",
        "iat": now,
        "exp": now + 600,
        "auth_time": now,
        "nonce": "n-2aVt5y7QeB0",
        "acr": "urn:keystead:acr:pwd",
        "amr": ["pwd"],
    }
    return lambda: sign(key, claims)


class SignIn:
    """One complete sign-in through the hosted pages, by form, the way a browser posts them."""

    def __init__(
        self, http: httpx.Client, tenant: str, client_id: str, secret: str, keep: tuple[str, ...] = ()
    ) -> None:
        self.http = http
        self.base = f"/t/{tenant}"
        self.client_id = client_id
        self.secret = secret
        self.keep = keep  # cookies that survive between sign-ins (a returning browser's device)

    def __call__(
        self,
        username: str,
        totp: pyotp.TOTP | None = None,
        clock: FrozenClock | None = None,
        passkey: SoftKey | None = None,
    ) -> None:
        kept = [c for c in self.http.cookies.jar if c.name in self.keep]
        self.http.cookies.clear()
        for cookie in kept:
            self.http.cookies.set(cookie.name, cookie.value or "", domain=cookie.domain, path=cookie.path)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        params = {
            "client_id": self.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code",
            "scope": "openid profile email", "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8), "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }  # fmt: skip
        page = self._land(self.http.get(f"{self.base}/authorize?{urlencode(params)}"))
        self._expect(page, "login-form")
        if passkey is not None:  # passwordless: the login page's options endpoint, then the form
            options_url, csrf = _OPTIONS.search(page.text), _CSRF.search(page.text)
            assert options_url is not None and csrf is not None
            options = self.http.post(options_url.group(1), data={"csrf_token": csrf.group(1)})
            credential = json.dumps(passkey.get(options.text))
            page = self._submit(page, method="passkey", credential=credential)
        else:
            page = self._submit(page, username=username, password=PASSWORD)
        if totp is not None:
            assert clock is not None
            self._expect(page, "second-factor-form")
            page = self._submit(page, method="totp", code=totp.at(clock()))
        location = page.headers.get("location", "")
        if page.status_code != 303 or not location.startswith(REDIRECT_URI):
            raise AssertionError(f"did not reach the client: {page.status_code} {page.text[:300]}")
        code = parse_qs(urlsplit(location).query)["code"][0]
        exchange = {
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
        }  # fmt: skip
        tokens = self.http.post(
            f"{self.base}/token",
            data=exchange,
            auth=(self.client_id, self.secret),
        )
        if tokens.status_code != 200 or "id_token" not in tokens.json():
            raise AssertionError(f"code exchange failed: {tokens.status_code} {tokens.text[:300]}")

    def _land(self, response: httpx.Response) -> httpx.Response:
        for _ in range(6):
            location = response.headers.get("location", "")
            if response.status_code in (302, 303) and location.startswith("/"):
                response = self.http.get(location)
            else:
                return response
        raise AssertionError("too many redirects")

    def _submit(self, page: httpx.Response, **fields: str) -> httpx.Response:
        action, csrf = _ACTION.search(page.text), _CSRF.search(page.text)
        assert action is not None and csrf is not None, page.text[:300]
        stage = _STAGE.search(page.text)
        data = {"csrf_token": csrf.group(1), **({"stage": stage.group(1)} if stage else {}), **fields}
        return self._land(self.http.post(action.group(1).replace("&amp;", "&"), data=data))

    @staticmethod
    def _expect(page: httpx.Response, form_id: str) -> None:
        if f'id="{form_id}"' not in page.text:
            raise AssertionError(f"expected {form_id}: {page.status_code} {page.text[:300]}")


def seed(k: Keystead, clock: FrozenClock) -> tuple[str, str, str, pyotp.TOTP, SoftKey]:
    """Tenant ``bench``, users ``alice`` (password), ``bob`` (password + active TOTP) and
    ``carol`` (a passkey), a first-party confidential client. Returns tenant name, client id,
    secret, bob's TOTP and carol's authenticator."""
    tenant = k.tenants.create("bench", "Bench")
    k.users.create(tenant.id, "alice", password=PASSWORD, email="alice@example.com")
    bob = k.users.create(tenant.id, "bob", password=PASSWORD, email="bob@example.com")
    created = k.clients.create(
        tenant.id,
        "Bench App",
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "profile", "email"],
        grant_types=["authorization_code", "refresh_token"],
        first_party=True,
    )
    assert created.secret is not None
    enrolment = k.factors.enrol_totp(tenant.id, bob.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    k.factors.activate_totp(tenant.id, bob.id, enrolment.factor.id, totp.at(clock()))
    clock.advance(30)  # the activation code is spent
    carol = k.users.create(tenant.id, "carol", password=PASSWORD, email="carol@example.com")
    rp = RelyingParty.for_issuer(k.tenants.issuer(tenant), tenant.display_name)
    passkey = SoftKey(rp.origin)
    options = k.passkeys.registration_options(tenant.id, carol.id, rp, "bench")
    k.passkeys.register(tenant.id, carol.id, rp, "bench", passkey.create(options))
    return tenant.name, created.client.client_id, created.secret, totp, passkey


def run(seconds: float) -> list[Row]:
    with warnings.catch_warnings():  # starlette: "use httpx2", not a benchmark concern
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from keystead.http.app import create_app

    rows = [
        measure("argon2id verify (raw)", argon2_verify(), seconds),
        measure("ES256 sign (joserfc, as jose.sign)", es256_sign(), seconds),
    ]
    clock = FrozenClock(T0)
    with tempfile.TemporaryDirectory(prefix="keystead-login-factors.") as tmp:
        settings = load_settings(
            database={"url": f"sqlite:///{tmp}/bench.db"}, server={"base_url": "http://bench"}
        )
        k = build(settings, clock=clock, migrate=True)
        try:
            tenant, client_id, secret, totp, passkey = seed(k, clock)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with TestClient(create_app(k), base_url="http://bench", follow_redirects=False) as http:
                    sign_in = SignIn(http, tenant, client_id, secret)

                    def password() -> None:
                        clock.advance(30)  # both rows move the clock alike
                        sign_in("alice")

                    def with_totp() -> None:
                        clock.advance(30)  # a new step: the previous code is spent
                        sign_in("bob", totp, clock)

                    rows.append(measure("password sign-in (hosted flow + code exchange)", password, seconds))

                    def with_passkey() -> None:
                        clock.advance(30)
                        sign_in("carol", passkey=passkey)

                    rows.append(measure("password + TOTP sign-in", with_totp, seconds))
                    rows.append(measure("passkey sign-in (passwordless)", with_passkey, seconds))
        finally:
            k.close()
    return rows


def ratio(r: float) -> str:
    return f"{r:.2f}x" if r < 10 else f"{r:,.0f}x"


def report(rows: list[Row]) -> str:
    argon = rows[0].per_cpu_s
    lines = [
        "| row | calls | /s per core (CPU) | /s wall | ratio to argon2id verify | CPU per op | outside argon2id |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for i, row in enumerate(rows):
        per_op_ms = 1e3 * row.cpu_s / row.calls
        outside = f"{per_op_ms - 1e3 / argon:.1f} ms" if 2 <= i <= 3 else ""  # passkeys: no argon2id
        lines.append(
            f"| {row.name} | {row.calls} | {row.per_cpu_s:,.1f} | {row.per_wall_s:,.1f} "
            f"| {ratio(row.per_cpu_s / argon)} | {per_op_ms:.2f} ms | {outside} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="CPU seconds per row (default 5)")
    args = parser.parse_args()
    cfg = PasswordSettings()
    print(
        f"argon2id m={cfg.memory_kib} KiB t={cfg.time_cost} p={cfg.parallelism}; "
        f"{args.duration:g} s of CPU per row; SQLite in a temp dir; in process (TestClient)",
        flush=True,
    )
    print(report(run(args.duration)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
