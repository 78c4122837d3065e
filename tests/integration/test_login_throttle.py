"""Login attempt throttling per account and per client IP (services/throttle.py), through the
hosted login page: 429 with ``Retry-After``, even for the right password, until the wait is over.
``X-Forwarded-For`` is honoured only from ``server.trusted_proxies``. Every test runs on
in-process counters and on Redis (tests/support/redis_counters.py)."""

from __future__ import annotations

import re
import warnings
from urllib.parse import urlencode

import pytest

from keystead.config import load_settings
from tests.conftest import FAST_PASSWORDS
from tests.support.factories import PASSWORD, REDIRECT_URI
from tests.support.redis_counters import BACKENDS, settings_for

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TRUSTED_PEER = "testclient"  # the peer address Starlette's TestClient reports by default
WINDOW = 60
LOCKOUT = 120
DELAY_AFTER = 3
LOCK_AFTER = 5
IP_LIMIT = 5


@pytest.fixture(params=BACKENDS)
def settings(db_url, request):
    """Small limits so tests reach them quickly; the TestClient's peer is a trusted proxy."""
    return load_settings(
        **settings_for(request.param),
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver", "trusted_proxies": [TRUSTED_PEER]},
        throttle={
            "window_seconds": WINDOW,
            "account_failures_before_delay": DELAY_AFTER,
            "account_failures_before_lockout": LOCK_AFTER,
            "lockout_seconds": LOCKOUT,
            "ip_failures_per_window": IP_LIMIT,
        },
    )


class LoginPage:
    """One interaction's login form, posted to repeatedly."""

    def __init__(self, http, tenant, rp) -> None:
        params = {
            "client_id": rp.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
            "state": "s",
        }
        start = http.get(f"/t/{tenant.name}/authorize?{urlencode(params)}")
        assert start.status_code == 303
        self.http = http
        self.location = start.headers["location"]
        page = http.get(self.location)
        self.csrf = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    def attempt(self, username: str, password: str, *, ip: str | None = None):
        headers = {"X-Forwarded-For": ip} if ip else {}
        return self.http.post(
            self.location,
            data={"username": username, "password": password, "csrf_token": self.csrf},
            headers=headers,
        )


def _refused(response) -> int:
    assert response.status_code == 429, response.text[:300]
    assert "Too many attempts" in response.text
    assert 'id="login-form"' in response.text
    assert "ks_session" not in response.headers.get("set-cookie", "")
    retry_after = int(response.headers["retry-after"])
    assert retry_after > 0
    return retry_after


def _signed_in(response) -> None:
    assert response.status_code == 200, response.text[:300]
    assert 'id="consent-form"' in response.text
    assert "ks_session=" in response.headers.get("set-cookie", "")


def _failed(response) -> None:
    assert response.status_code == 400, response.text[:300]
    assert "The username or password is incorrect." in response.text


@pytest.fixture
def env(client, factory):
    tenant = factory.tenant()
    factory.user(tenant, "alice")
    rp = factory.client(tenant)
    return tenant, rp


def _ip(n: int) -> str:
    return f"203.0.113.{n}"


# per account
def test_account_is_delayed_after_failures_even_with_right_password(client, env, clock):
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for n in range(DELAY_AFTER):
        _failed(login.attempt("alice", "wrong password", ip=_ip(n)))  # a new IP each time

    retry_after = _refused(login.attempt("alice", PASSWORD, ip=_ip(50)))
    assert retry_after <= 2

    clock.advance(retry_after)
    _signed_in(login.attempt("alice", PASSWORD, ip=_ip(51)))


def test_account_is_locked_out_after_more_failures(client, env, clock):
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for n in range(LOCK_AFTER):
        response = login.attempt("alice", "wrong password", ip=_ip(n))
        if response.status_code == 429:  # the growing delay: wait it out, then fail again
            clock.advance(int(response.headers["retry-after"]))
            response = login.attempt("alice", "wrong password", ip=_ip(n))
        _failed(response)

    retry_after = _refused(login.attempt("alice", PASSWORD, ip=_ip(60)))
    assert LOCKOUT - 5 <= retry_after <= LOCKOUT + 1

    clock.advance(LOCKOUT / 2)
    _refused(login.attempt("alice", PASSWORD, ip=_ip(61)))
    clock.advance(LOCKOUT / 2 + 2)
    _signed_in(login.attempt("alice", PASSWORD, ip=_ip(62)))


def test_account_key_is_case_insensitive(client, env):
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for n, name in enumerate(["alice", "ALICE", " Alice "]):
        _failed(login.attempt(name, "wrong password", ip=_ip(n)))
    _refused(login.attempt("alice", PASSWORD, ip=_ip(9)))


def test_unknown_account_is_throttled_like_a_real_one(client, env):
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for n in range(DELAY_AFTER):
        _failed(login.attempt("ghost", "wrong password", ip=_ip(n)))
    _refused(login.attempt("ghost", "wrong password", ip=_ip(9)))
    # another account is unaffected
    _signed_in(login.attempt("alice", PASSWORD, ip=_ip(10)))


def test_success_clears_the_account_counter(client, env, app):
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for n in range(DELAY_AFTER - 1):
        _failed(login.attempt("alice", "wrong password", ip=_ip(n)))
    _signed_in(login.attempt("alice", PASSWORD, ip=_ip(20)))

    again = LoginPage(_fresh(app), tenant, rp)
    for n in range(DELAY_AFTER - 1):
        _failed(again.attempt("alice", "wrong password", ip=_ip(30 + n)))
    _signed_in(again.attempt("alice", PASSWORD, ip=_ip(40)))


def test_account_throttle_is_per_tenant(client, env, factory):
    tenant, rp = env
    other = factory.tenant()
    factory.user(other, "alice")
    other_rp = factory.client(other)
    login = LoginPage(client, tenant, rp)
    for n in range(DELAY_AFTER):
        _failed(login.attempt("alice", "wrong password", ip=_ip(n)))
    _refused(login.attempt("alice", PASSWORD, ip=_ip(9)))

    _signed_in(LoginPage(client, other, other_rp).attempt("alice", PASSWORD, ip=_ip(10)))


# per IP
def _fresh(app, peer: str = TRUSTED_PEER):
    from starlette.testclient import TestClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TestClient(app, base_url="http://testserver", follow_redirects=False, client=(peer, 50000))


def test_ip_is_refused_after_failures_on_many_accounts(client, env, clock):
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for n in range(IP_LIMIT):
        _failed(login.attempt(f"user{n}", "wrong password"))

    retry_after = _refused(login.attempt("alice", PASSWORD))
    assert WINDOW - 5 <= retry_after <= WINDOW + 1

    clock.advance(retry_after - 2)
    _refused(login.attempt("alice", PASSWORD))
    clock.advance(2)  # Retry-After is the truth: the right password works now
    _signed_in(login.attempt("alice", PASSWORD))


def test_forwarded_for_is_honoured_from_a_trusted_proxy(client, env):
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for n in range(IP_LIMIT):
        _failed(login.attempt(f"user{n}", "wrong password", ip=_ip(1)))

    _refused(login.attempt("alice", PASSWORD, ip=_ip(1)))
    # a client spoofing an address to the left of the proxy's entry is still the same client
    _refused(login.attempt("alice", PASSWORD, ip=f"{_ip(77)}, {_ip(1)}"))
    # another client behind the same proxy is not blocked
    _signed_in(login.attempt("alice", PASSWORD, ip=_ip(2)))


def test_forwarded_for_is_ignored_from_an_untrusted_peer(app, env):
    tenant, rp = env
    http = _fresh(app, peer="198.51.100.7")
    try:
        login = LoginPage(http, tenant, rp)
        for n in range(IP_LIMIT):
            _failed(login.attempt(f"user{n}", "wrong password", ip=_ip(100 + n)))
        # a fresh forged address does not escape the peer's limit
        _refused(login.attempt("alice", PASSWORD, ip=_ip(200)))
    finally:
        http.close()
    # a different peer is not affected
    other = _fresh(app, peer="198.51.100.8")
    try:
        _signed_in(LoginPage(other, tenant, rp).attempt("alice", PASSWORD))
    finally:
        other.close()


def test_throttle_does_not_reveal_accounts(client, env):
    """The refusal for a locked real account and a locked unknown one look the same."""
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for name in ("alice", "ghost"):
        for n in range(DELAY_AFTER):
            _failed(login.attempt(name, "wrong password", ip=_ip(n)))
    real = login.attempt("alice", "wrong password", ip=_ip(10))
    ghost = login.attempt("ghost", "wrong password", ip=_ip(11))
    assert real.status_code == ghost.status_code == 429
    assert real.headers["retry-after"] == ghost.headers["retry-after"]
    strip = lambda text, name: _CSRF.sub("", text).replace(f'value="{name}"', "")  # noqa: E731
    assert strip(real.text, "alice") == strip(ghost.text, "ghost")


def test_wrong_password_and_unknown_account_answer_alike(client, env):
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    wrong = login.attempt("alice", "wrong password", ip=_ip(1))
    unknown = login.attempt("nobody", "wrong password", ip=_ip(2))
    _failed(wrong)
    _failed(unknown)
    strip = lambda text, name: _CSRF.sub("", text).replace(f'value="{name}"', "")  # noqa: E731
    assert strip(wrong.text, "alice") == strip(unknown.text, "nobody")
    assert "retry-after" not in wrong.headers and "retry-after" not in unknown.headers


def test_right_password_on_a_locked_account_answers_like_a_wrong_one(client, env, clock):
    """A refusal checks no password: it cannot tell the attacker the password was right."""
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for n in range(DELAY_AFTER):
        _failed(login.attempt("alice", "wrong password", ip=_ip(n)))
    right = login.attempt("alice", PASSWORD, ip=_ip(20))
    wrong = login.attempt("alice", "wrong password", ip=_ip(21))
    assert right.status_code == wrong.status_code == 429
    assert right.headers["retry-after"] == wrong.headers["retry-after"]
    assert _CSRF.sub("", right.text) == _CSRF.sub("", wrong.text)


def test_username_and_email_are_counted_apart_so_neither_links_to_the_other(client, env, factory):
    """Keys are logins as typed: locking ``alice`` says nothing of whether an email is hers."""
    tenant, rp = env
    factory.user(tenant, "carol", email="carol@example.com")
    login = LoginPage(client, tenant, rp)
    for n in range(DELAY_AFTER):
        _failed(login.attempt("carol", "wrong password", ip=_ip(n)))
    _refused(login.attempt("carol", PASSWORD, ip=_ip(9)))
    _signed_in(login.attempt("carol@example.com", PASSWORD, ip=_ip(10)))


def test_an_address_counts_the_distinct_accounts_it_tried(client, env, keystead):
    tenant, rp = env
    login = LoginPage(client, tenant, rp)
    for name in ("a1", "a2", "A1", "a3", "a3"):
        _failed(login.attempt(name, "wrong password", ip=_ip(33)))
    assert keystead.login.limiter.distinct_accounts(_ip(33)) == 3
    assert keystead.login.limiter.distinct_accounts(_ip(34)) == 0
