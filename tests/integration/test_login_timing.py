"""No account enumeration by timing: through the hosted login page, a wrong password for an
existing account and any password for an unknown one take statistically indistinguishable
times (an unknown account pays a dummy hash with the tenant's parameters).

The check is a two-sided Mann-Whitney U test over 60 interleaved samples of each kind, in
random order, with a generous bound (p >= 1e-4): no absolute timing is asserted anywhere, so a
slow or loaded machine slows both kinds alike. On a loaded 2-core CI box a burst of load can
still skew one run, so **a failing run is measured once more, with fresh samples, and the test
fails only if both runs fail** (the chance of a false alarm is then about 1e-8 per run). The
control test proves the check has teeth: with the dummy hash switched off it must fail.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from keystead.config import load_settings
from keystead.services.passwords import Verification
from tests.conftest import FAST_PASSWORDS
from tests.support.factories import REDIRECT_URI

SAMPLES = 60
BOUND = 1e-4
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(db_url):
    """Limits far above the samples: throttling must not answer for the password check."""
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver"},
        throttle={
            "account_failures_before_delay": 1000,
            "account_failures_before_lockout": 2000,
            "ip_failures_per_window": 100_000,
        },
    )


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation with the tie
    correction; fine for samples of 20 and more)."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    r1 = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    if sigma == 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2) - 0.5) / sigma
    return math.erfc(max(z, 0.0) / math.sqrt(2))


def test_the_statistic_tells_apart_only_what_differs():
    rng = random.Random(7)
    same_a = [rng.gauss(10, 1) for _ in range(SAMPLES)]
    same_b = [rng.gauss(10, 1) for _ in range(SAMPLES)]
    assert mann_whitney_p(same_a, same_b) > 0.01
    shifted = [x + 1.5 for x in same_b]
    assert mann_whitney_p(same_a, shifted) < 1e-6
    assert mann_whitney_p([1.0] * 30, [1.0] * 30) == 1.0


class Probe:
    """Posts wrong passwords to one interaction's login form and times the answers."""

    def __init__(self, client, factory) -> None:
        tenant = factory.tenant()
        rp = factory.client(tenant)
        self.known = [factory.user(tenant, f"member{n}").username for n in range(SAMPLES)]
        self.unknown = [f"stranger{n}" for n in range(SAMPLES)]
        params = {
            "client_id": rp.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
            "state": "s",
        }
        start = client.get(f"/t/{tenant.name}/authorize?{urlencode(params)}")
        self.location = start.headers["location"]
        self.csrf = _CSRF.search(client.get(self.location).text).group(1)  # type: ignore[union-attr]
        self.client = client

    def post(self, username: str):  # type: ignore[no-untyped-def]
        data = {"username": username, "password": "not the password", "csrf_token": self.csrf}
        return self.client.post(self.location, data=data)

    def measure(self) -> tuple[list[float], list[float]]:
        for name in self.known[:3] + self.unknown[:3]:  # warm caches and the hashing pool
            self.post(name)
        order = [(True, n) for n in self.known] + [(False, n) for n in self.unknown]
        random.shuffle(order)
        times: dict[bool, list[float]] = {True: [], False: []}
        for known, name in order:
            started = time.perf_counter()
            response = self.post(name)
            times[known].append(time.perf_counter() - started)
            assert response.status_code == 400, response.text[:300]
        return times[True], times[False]


def _p_value(probe: Probe) -> float:
    return mann_whitney_p(*probe.measure())


def _indistinguishable(measure: Callable[[], float]) -> tuple[bool, list[float]]:
    """One run, and one more only if the first fails (see the module docstring)."""
    ps = [measure()]
    if ps[0] < BOUND:
        ps.append(measure())
    return ps[-1] >= BOUND, ps


def test_existing_and_unknown_accounts_take_the_same_time(client, factory):
    probe = Probe(client, factory)
    ok, ps = _indistinguishable(lambda: _p_value(probe))
    assert ok, f"login times tell existing accounts from unknown ones (p-values {ps})"


def test_the_answers_are_the_same_in_status_and_body(client, factory):
    probe = Probe(client, factory)
    known, unknown = probe.post(probe.known[0]), probe.post(probe.unknown[0])
    assert known.status_code == unknown.status_code == 400
    strip = lambda r, name: r.text.replace(f'value="{name}"', "")  # noqa: E731
    assert strip(known, probe.known[0]) == strip(unknown, probe.unknown[0])
    assert set(known.headers) == set(unknown.headers)


def test_control_without_the_dummy_hash_the_check_fails(client, factory, keystead, monkeypatch):
    """Skipping the dummy hash for unknown accounts is exactly the leak the check must see."""
    real_verify = keystead.passwords.verify

    def leaky(stored_hash, password, params=None):  # type: ignore[no-untyped-def]
        return Verification(ok=False) if stored_hash is None else real_verify(stored_hash, password, params)

    monkeypatch.setattr(keystead.passwords, "verify", leaky)
    probe = Probe(client, factory)
    assert _p_value(probe) < BOUND
