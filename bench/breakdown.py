"""In-process CPU cost of each hot-path service call, without HTTP, on the seeded database.

Run by bench/run.py on the server's core before the server starts, single-threaded: what the
services cost per call; the server's CPU per request minus these is the HTTP layer's share
(uvicorn, Starlette, middleware, thread-pool hops, templates). Figures are process CPU time,
so other processes sharing the core do not inflate them (argon2 runs in its own pool thread
and is counted too).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit


def cpu_us(
    fn: Callable[[], Any], seconds: float, *, min_calls: int = 3, max_calls: int | None = None
) -> float:
    fn()
    calls = 0
    start = time.process_time()
    while True:
        fn()
        calls += 1
        elapsed = time.process_time() - start
        if (elapsed >= seconds and calls >= min_calls) or (max_calls is not None and calls >= max_calls):
            return 1e6 * elapsed / calls


def measure(
    db_url: str,
    base_url: str,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    access_token: str,
    refresh_tokens: deque[str],
    tenant: str,
    username: str,
    password: str,
    seconds: float,
    cpu: int | None,
) -> dict[str, float]:
    """µs of CPU per call. Consumes up to a few hundred refresh tokens from ``refresh_tokens``."""
    from keystead.config import load_settings
    from keystead.protocols.oauth2 import token_request as tr
    from keystead.protocols.oauth2.client_auth import ClientCredentials
    from keystead.services.authorization import ACR_PASSWORD
    from keystead.services.outcomes import ToClient, ToInteraction
    from keystead.services.tokens import Issuer
    from keystead.wiring import build

    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    k = build(load_settings(database={"url": db_url}, server={"base_url": base_url}))
    try:
        ten = k.tenants.find_active(tenant)
        assert ten is not None
        iss = Issuer(ten.id, k.tenants.issuer(ten))
        creds = ClientCredentials(client_id, client_secret, "client_secret_basic")
        cc = tr.parse({"grant_type": ["client_credentials"]})
        out: dict[str, float] = {}
        out["tenant lookup (Tenants.find_active, 1 SELECT)"] = cpu_us(
            lambda: k.tenants.find_active(tenant), seconds
        )
        out["client auth (Clients.authenticate, cached)"] = cpu_us(
            lambda: k.clients.authenticate(ten.id, creds), seconds
        )
        out["token: client_credentials"] = cpu_us(lambda: k.token_endpoint.token(iss, creds, cc), seconds)

        def refresh() -> None:
            if not refresh_tokens:
                return
            grant = tr.parse({"grant_type": ["refresh_token"], "refresh_token": [refresh_tokens.popleft()]})
            k.token_endpoint.token(iss, creds, grant)

        out["token: refresh with rotation"] = cpu_us(
            refresh, seconds, max_calls=min(300, len(refresh_tokens) - 2)
        )
        out["introspect (access token)"] = cpu_us(
            lambda: k.token_endpoint.introspect(iss, creds, access_token, "access_token"), seconds
        )
        out["userinfo"] = cpu_us(lambda: k.token_endpoint.userinfo(iss, access_token), seconds)
        out["key reload (KeyManager._load: decrypt + import ES256 + RS256)"] = cpu_us(
            lambda: k.keys._load(ten.id, time.time()), seconds, min_calls=2, max_calls=10
        )

        def login() -> None:
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            params = {
                "response_type": ["code"], "client_id": [client_id], "redirect_uri": [redirect_uri],
                "scope": ["openid profile email"], "state": ["s"], "nonce": ["n"],
                "code_challenge": [challenge.decode()], "code_challenge_method": ["S256"],
            }  # fmt: skip
            started = k.authorization.start(iss, params, None)
            assert isinstance(started, ToInteraction), started
            k.authorization.pending(iss, started.handle, None)
            user = k.login.authenticate(ten.id, username, password, "127.0.0.1")
            new = k.sessions.start(ten.id, user.id, acr=ACR_PASSWORD, amr=("pwd",))
            k.authorization.logged_in(iss, started.handle, new.session)
            done = k.authorization.pending(iss, started.handle, new.session)
            assert isinstance(done, ToClient), done
            code = parse_qs(urlsplit(done.response.location()).query)["code"][0]
            exchange = tr.parse({
                "grant_type": ["authorization_code"], "code": [code],
                "redirect_uri": [redirect_uri], "code_verifier": [verifier],
            })  # fmt: skip
            k.token_endpoint.token(iss, creds, exchange)

        def password_only() -> None:
            k.passwords.verify(user_hash, password)

        user_row = k.storage.user_by_login(ten.id, username)
        assert user_row is not None
        user_hash = user_row.password_hash
        out["login: argon2id verify only (Passwords.verify)"] = cpu_us(password_only, seconds, min_calls=5)
        out["login: all services, no HTTP (authorize..code exchange)"] = cpu_us(login, seconds, min_calls=5)
        return out
    finally:
        k.close()
        os.sched_setaffinity(0, before)
