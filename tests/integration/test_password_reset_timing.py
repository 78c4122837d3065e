"""No account enumeration by timing on "Forgot your password?": requests for existing accounts
(a link mailed) and for unknown logins (the same mail composed, not sent) take statistically
indistinguishable times. The method of test_login_timing.py: a two-sided Mann-Whitney U test
over interleaved samples in random order, p >= 1e-4, one fresh re-measure before failing."""

from __future__ import annotations

import random
import re
import time

import pytest

from keystead.config import load_settings
from tests.conftest import FAST_PASSWORDS
from tests.integration.test_login_timing import SAMPLES, _indistinguishable, mann_whitney_p

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(db_url):
    """Send limits far above the samples (each login is asked for once per run)."""
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver"},
        codes={"reset_sends_per_ip": 100_000, "sends_per_window": 1000},
    )


class Probe:
    def __init__(self, client, factory) -> None:  # type: ignore[no-untyped-def]
        tenant = factory.tenant()
        self.known = [
            factory.user(tenant, f"member{n}", email=f"member{n}@example.com", email_verified=True).username
            for n in range(SAMPLES)
        ]
        self.unknown = [f"stranger{n}" for n in range(SAMPLES)]
        self.url = f"/t/{tenant.name}/forgot-password"
        self.csrf = _CSRF.search(client.get(self.url).text).group(1)  # type: ignore[union-attr]
        self.client = client

    def post(self, login: str):  # type: ignore[no-untyped-def]
        return self.client.post(self.url, data={"login": login, "csrf_token": self.csrf, "interaction": ""})

    def measure(self) -> tuple[list[float], list[float]]:
        for name in self.known[:3] + self.unknown[:3]:  # warm caches
            self.post(name)
        order = [(True, n) for n in self.known] + [(False, n) for n in self.unknown]
        random.shuffle(order)
        times: dict[bool, list[float]] = {True: [], False: []}
        for known, name in order:
            started = time.perf_counter()
            response = self.post(name)
            times[known].append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
        return times[True], times[False]


def test_existing_and_unknown_accounts_take_the_same_time(client, factory, keystead):
    probe = Probe(client, factory)
    ok, ps = _indistinguishable(lambda: mann_whitney_p(*probe.measure()))
    assert ok, f"reset request times tell existing accounts from unknown ones (p-values {ps})"
    sent = [m.to for m in keystead.messaging.outbox.messages()]
    assert len(sent) >= SAMPLES and all(to.startswith("member") for to in sent)  # known ones only
