"""Lockouts through the admin API: read a user's lock state, unlock them (audited), on
in-process and Redis counters; another tenant's admin learns nothing; bad ids are problems."""

from __future__ import annotations

import pytest

from keystead.config import Settings, load_settings
from keystead.services.lockout import LockoutEvent
from keystead.services.login import LoginFailed
from keystead.wiring import Keystead
from tests.admin.conftest import Api, assert_problem
from tests.conftest import FAST_PASSWORDS, unique
from tests.support.factories import PASSWORD, Factory
from tests.support.redis_counters import BACKENDS, settings_for

DELAY_AFTER, LOCK_AFTER, LOCKOUT = 2, 4, 600
IP = "192.0.2.10"


@pytest.fixture(params=BACKENDS)
def settings(db_url: str, request: pytest.FixtureRequest) -> Settings:
    return load_settings(
        **settings_for(request.param),
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver", "max_body_bytes": 4096},
        admin={"platform_tenant": unique("platform"), "rate_limit_burst": 1_000_000},
        throttle={
            "account_failures_before_delay": DELAY_AFTER,
            "account_failures_before_lockout": LOCK_AFTER,
            "lockout_seconds": LOCKOUT,
        },
    )


def _fail(k: Keystead, tenant_id: str, login: str, clock, times: int) -> None:
    for n in range(times):
        try:
            k.login.authenticate(tenant_id, login, "wrong password", f"198.51.100.{n}")
        except LoginFailed as failed:
            if failed.retry_after:  # a progressive delay: wait it out, then fail for real
                clock.advance(failed.retry_after)
                with pytest.raises(LoginFailed):
                    k.login.authenticate(tenant_id, login, "wrong password", f"198.51.100.{n}")
        else:
            raise AssertionError("a wrong password signed in")


def _refused(k: Keystead, tenant_id: str, login: str) -> int:
    with pytest.raises(LoginFailed) as refused:
        k.login.authenticate(tenant_id, login, PASSWORD, IP)
    assert refused.value.retry_after > 0
    return refused.value.retry_after


def test_an_open_account(api: Api, factory: Factory):
    user = factory.user(api.tenant, "alice")
    response = api.request("GET", f"/users/{user.id}/lockout")
    assert response.status_code == 200, response.text
    assert response.json() == {"state": "open", "failures": 0, "retry_after": 0, "until": None}


def test_a_delayed_then_locked_account(api: Api, factory: Factory, keystead: Keystead, clock):
    user = factory.user(api.tenant, "alice")
    _fail(keystead, api.tenant.id, "alice", clock, DELAY_AFTER)
    delayed = api.request("GET", f"/users/{user.id}/lockout").json()
    assert delayed["state"] == "delayed" and delayed["failures"] == DELAY_AFTER
    assert 1 <= delayed["retry_after"] <= 2 and delayed["until"] is not None

    _fail(keystead, api.tenant.id, "ALICE", clock, LOCK_AFTER - DELAY_AFTER)  # case-insensitive
    locked = api.request("GET", f"/users/{user.id}/lockout").json()
    assert locked["state"] == "locked" and locked["failures"] == LOCK_AFTER
    assert LOCKOUT - 5 <= locked["retry_after"] <= LOCKOUT


def test_failures_by_email_count_for_the_user(api: Api, factory: Factory, keystead: Keystead, clock):
    user = factory.user(api.tenant, "bob", email="bob@example.com")
    _fail(keystead, api.tenant.id, "Bob@Example.com", clock, LOCK_AFTER)
    assert api.request("GET", f"/users/{user.id}/lockout").json()["state"] == "locked"


def test_unlock_lets_the_user_sign_in_and_is_audited(api: Api, factory: Factory, keystead: Keystead, clock):
    user = factory.user(api.tenant, "alice", email="alice@example.com")
    _fail(keystead, api.tenant.id, "alice", clock, LOCK_AFTER)
    _fail(keystead, api.tenant.id, "alice@example.com", clock, LOCK_AFTER)
    _refused(keystead, api.tenant.id, "alice")

    response = api.request("DELETE", f"/users/{user.id}/lockout")

    assert response.status_code == 204, response.text
    assert keystead.login.authenticate(api.tenant.id, "alice", PASSWORD, IP).id == user.id
    assert keystead.login.authenticate(api.tenant.id, "alice@example.com", PASSWORD, IP).id == user.id
    assert api.request("GET", f"/users/{user.id}/lockout").json()["state"] == "open"
    events = api.request("GET", "/audit-events", params={"action": "user.unlock"}).json()["items"]
    assert len(events) == 1 and events[0]["target"] == user.id
    assert events[0]["before"]["state"] == "locked"


def test_unlock_of_an_open_account_is_harmless(api: Api, factory: Factory):
    user = factory.user(api.tenant, "carol")
    assert api.request("DELETE", f"/users/{user.id}/lockout").status_code == 204
    assert api.request("GET", f"/users/{user.id}/lockout").json()["state"] == "open"


def test_unlock_leaves_other_users_locked(api: Api, factory: Factory, keystead: Keystead, clock):
    alice, _ = factory.user(api.tenant, "alice"), factory.user(api.tenant, "dave")
    _fail(keystead, api.tenant.id, "dave", clock, LOCK_AFTER)
    assert api.request("DELETE", f"/users/{alice.id}/lockout").status_code == 204
    _refused(keystead, api.tenant.id, "dave")


def test_a_lockout_calls_the_unlock_hook_for_real_accounts_only(
    api: Api, factory: Factory, keystead: Keystead, clock
):
    events: list[LockoutEvent] = []
    keystead.lockouts.on_lock(events.append)
    keystead.lockouts.on_lock(lambda event: 1 / 0)  # a broken listener changes nothing
    user = factory.user(api.tenant, "erin")
    _fail(keystead, api.tenant.id, "erin", clock, LOCK_AFTER)
    _fail(keystead, api.tenant.id, "nobody", clock, LOCK_AFTER)
    assert [(e.tenant_id, e.user_id) for e in events] == [(api.tenant.id, user.id)]
    assert LOCKOUT - 5 <= events[0].retry_after <= LOCKOUT
    keystead.lockouts.unlock(keystead.users.get(api.tenant.id, events[0].user_id))
    assert keystead.login.authenticate(api.tenant.id, "erin", PASSWORD, IP).id == user.id


def test_another_tenants_user_is_not_found_and_its_admin_is_forbidden(
    api: Api, other_api: Api, factory: Factory, keystead: Keystead, clock
):
    user = factory.user(api.tenant, "alice")
    _fail(keystead, api.tenant.id, "alice", clock, LOCK_AFTER)
    for method in ("GET", "DELETE"):
        assert_problem(other_api.request(method, f"/users/{user.id}/lockout"), 404, "not-found")
        forbidden = api.http.request(
            method, f"{other_api.base}/users/{user.id}/lockout", headers=api.headers()
        )
        assert_problem(forbidden, 403, "forbidden")
    _refused(keystead, api.tenant.id, "alice")  # nothing was unlocked
    assert api.request("GET", "/audit-events", params={"action": "user.unlock"}).json()["items"] == []


def test_unknown_or_malformed_user_ids_are_problems(api: Api):
    assert_problem(api.request("GET", "/users/nobody/lockout"), 404, "not-found")
    assert_problem(api.request("DELETE", "/users/nobody/lockout"), 404, "not-found")
    body = assert_problem(api.request("GET", "/users/bad%20id/lockout"), 422, "validation")
    assert "user_id" in str(body)


def test_without_a_token_nothing_is_unlocked(api: Api, factory: Factory, keystead: Keystead, clock):
    user = factory.user(api.tenant, "alice")
    _fail(keystead, api.tenant.id, "alice", clock, LOCK_AFTER)
    response = api.http.delete(f"{api.base}/users/{user.id}/lockout")
    assert_problem(response, 401, "unauthorized")
    _refused(keystead, api.tenant.id, "alice")
