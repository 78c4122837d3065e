"""A bounded credential-stuffing simulation against a real server (uvicorn in a subprocess),
on Redis counters when a test Redis is available (always in CI), else on in-process counters
(the throttle tests cover both stores; this one is long enough to run once).

The server trusts ``X-Forwarded-For`` from loopback, so the attack comes from many addresses:
30 addresses replay a "leaked" list of logins (half of them real accounts, half unknown), 20
attempts each, 600 in all, through the hosted login page. Then each real user signs in with
the right password from an address of their own.

Shown: each address gets at most ``ip_failures_per_window`` passwords checked and every further
attempt is refused (429 with ``Retry-After``) without a check; legitimate users still sign in;
and no answer tells a real account from an unknown one (same status, same body once the form's
own echo of the login is removed, same throttling pattern).
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from keystead.config import load_settings
from keystead.wiring import build
from tests.support.live_server import LiveServer, live_server
from tests.support.redis_counters import CI_TRUE, redis_url

ADDRESSES = 30
ATTEMPTS_PER_ADDRESS = 20
IP_LIMIT = 5
ACCOUNTS = 30  # real; as many unknown
PASSWORD = "a long and correct password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, list[str]]]:
    with pytest.MonkeyPatch.context() as env:
        if os.environ.get("KEYSTEAD_TEST_REDIS_URL") or os.environ.get("CI", "").lower() in CI_TRUE:
            env.setenv("KEYSTEAD_REDIS_URL", redis_url())  # with CI=true and no Redis: a failure
        env.setenv("KEYSTEAD_SECRET_KEY", f"stuffing-{uuid.uuid4().hex}-{uuid.uuid4().hex}")
        env.setenv("KEYSTEAD_SERVER__TRUSTED_PROXIES", '["127.0.0.1"]')
        env.setenv("KEYSTEAD_THROTTLE__IP_FAILURES_PER_WINDOW", str(IP_LIMIT))
        # the attack's failures spread over the accounts stay under the per-account limits
        env.setenv("KEYSTEAD_THROTTLE__ACCOUNT_FAILURES_BEFORE_DELAY", "12")
        env.setenv("KEYSTEAD_THROTTLE__ACCOUNT_FAILURES_BEFORE_LOCKOUT", "20")
        with live_server(tmp_path) as live:
            k = build(
                load_settings(
                    database={"url": live.env["KEYSTEAD_DATABASE__URL"]},
                    passwords={"memory_kib": 8192, "time_cost": 1},
                )
            )
            try:
                tenant = k.tenants.find_active(live.tenant)
                assert tenant is not None
                names = [f"member{n}" for n in range(ACCOUNTS)]
                for name in names:
                    k.users.create(tenant.id, name, email=f"{name}@example.com", password=PASSWORD)
            finally:
                k.close()
            yield live, names


class LoginForm:
    def __init__(self, live: LiveServer) -> None:
        self.http = httpx.Client(base_url=live.base_url, timeout=30)
        params = {
            "client_id": live.client_id,
            "redirect_uri": live.redirect_uri,
            "response_type": "code",
            "scope": "openid",
            "state": "s",
        }
        start = self.http.get(f"/t/{live.tenant}/authorize?{urlencode(params)}")
        assert start.status_code == 303, start.text
        self.location = start.headers["location"]
        self.csrf = _CSRF.search(self.http.get(self.location).text).group(1)  # type: ignore[union-attr]

    def post(self, username: str, password: str, ip: str) -> httpx.Response:
        data = {"username": username, "password": password, "csrf_token": self.csrf}
        return self.http.post(self.location, data=data, headers={"X-Forwarded-For": ip})

    def close(self) -> None:
        self.http.close()


_WAIT = re.compile(r"Try again in \d+ seconds")


def _shape(response: httpx.Response, username: str) -> tuple[int, bool, str]:
    """What an attacker sees, minus the form's echo of the login it typed and the number of
    seconds to wait (which counts down as the attack runs)."""
    body = _WAIT.sub("Try again in N seconds", _CSRF.sub("", response.text))
    body = body.replace(f'value="{username}"', "")
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        assert 0 < int(retry_after) <= 900
        assert f"Try again in {retry_after} seconds" in response.text
    return response.status_code, retry_after is not None, body


def test_a_credential_stuffing_attack_is_throttled_and_reveals_nothing(server):
    live, names = server
    leaked = [(name, f"leaked-{i}") for i, name in enumerate(names)]
    leaked += [(f"stranger{i}", f"leaked-{i}") for i in range(ACCOUNTS)]
    real = set(names)
    attack = LoginForm(live)
    per_address: dict[str, list[int]] = {}
    seen: dict[bool, Counter[tuple[int, bool, str]]] = {True: Counter(), False: Counter()}
    try:
        for a in range(ADDRESSES):
            ip = f"10.{a // 250}.{a % 250}.7"
            statuses = per_address.setdefault(ip, [])
            for j in range(ATTEMPTS_PER_ADDRESS):
                username, password = leaked[(a * 7 + j * 3) % len(leaked)]
                response = attack.post(username, password, ip)
                statuses.append(response.status_code)
                seen[username in real][_shape(response, username)] += 1
    finally:
        attack.close()

    # throttled: every address got exactly IP_LIMIT passwords checked, then refusals only
    for ip, statuses in per_address.items():
        assert statuses == [400] * IP_LIMIT + [429] * (ATTEMPTS_PER_ADDRESS - IP_LIMIT), ip
    total = sum(len(s) for s in per_address.values())
    assert total == ADDRESSES * ATTEMPTS_PER_ADDRESS <= 2000

    # indistinguishable: real and unknown accounts got answers of the same few shapes
    assert set(seen[True]) == set(seen[False])
    assert {status for status, _, _ in seen[True]} == {400, 429}
    assert len({body for _, _, body in seen[True] | seen[False]}) == 2  # wrong password; too many

    # legitimate users, each from an address of their own, still sign in
    for n, name in enumerate(names):
        form = LoginForm(live)
        try:
            response = form.post(name, PASSWORD, f"192.0.2.{n + 1}")
            assert response.status_code == 200, (name, response.status_code, response.text[:300])
            assert 'id="consent-form"' in response.text
            assert "ks_session=" in response.headers.get("set-cookie", "")
        finally:
            form.close()
