"""The password policy wherever a password is set: users, imports, the console and the CLI."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from keystead.config import Settings, load_settings
from keystead.errors import InvalidInput
from keystead.ports.records import Tenant
from keystead.services.login import LoginFailed
from keystead.services.password_policy import BREACHED
from keystead.services.pwned_range import PwnedRange
from keystead.services.user_import_jobs import Actor
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS
from tests.integration.test_console import BASE, admin, console, signed_in
from tests.support.factories import Factory

GOOD = "violet tractor on the moor"


@pytest.fixture
def settings(db_url: str) -> Settings:
    # the console needs a loopback base URL (tests/integration/test_console.py)
    return load_settings(database={"url": db_url}, passwords=FAST_PASSWORDS, server={"base_url": BASE})


@pytest.fixture
def http(app: Any) -> Iterator[httpx.Client]:
    import warnings

    from starlette.testclient import TestClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(app, base_url=BASE, follow_redirects=False) as c:
            yield c


def _policy(keystead: Keystead, tenant: Tenant, **rules: Any) -> None:
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(tenant.id, {"password_policy": rules}, expected_version=version)


def _refusal(call: Any) -> str:
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.field == "password"
    return caught.value.description


def test_creating_a_user_with_a_common_password_is_refused_and_writes_nothing(
    keystead: Keystead, factory: Factory
):
    tenant = factory.tenant()
    reason = _refusal(lambda: keystead.users.create(tenant.id, "mallory", password="Password123"))
    assert reason == BREACHED
    assert keystead.storage.user_by_login(tenant.id, "mallory") is None
    assert keystead.users.create(tenant.id, "mallory", password=GOOD).password_hash


def test_setting_a_password_follows_the_tenants_rules(keystead: Keystead, factory: Factory):
    tenant = factory.tenant()
    user = factory.user(tenant, "gwendolyn", email="gwen.smith@example.com")
    _policy(keystead, tenant, min_length=12, max_length=64, blocklist=["Roadrunner", "acmecloud"])
    cases = {
        "eleven char": "passwords are 12 to 64 characters",
        "x" * 65: "passwords are 12 to 64 characters",
        "i am gwendolyn, hello": "a password must not contain the username",
        "call gwen.smith now!": "a password must not contain the name of the email address",
        "beep beep ROADRUNNER": "a password must not contain the word 'roadrunner' (blocked by this organisation)",
        "manchesterunited": BREACHED,
        "we love acme corp here": "a password must not contain the name of this service",  # display name
    }
    for password, reason in cases.items():
        assert _refusal(lambda p=password: keystead.users.set_password(tenant.id, user.id, p)) == reason
    assert keystead.users.get(tenant.id, user.id) == user  # nothing written
    keystead.users.set_password(tenant.id, user.id, GOOD)
    assert keystead.login.authenticate(tenant.id, "gwendolyn", GOOD, "192.0.2.1").id == user.id


def test_a_tenant_may_turn_the_breached_check_off(keystead: Keystead, factory: Factory):
    tenant = factory.tenant()
    _policy(keystead, tenant, check_breached=False)
    assert keystead.users.create(tenant.id, "legacy", password="superstar1").password_hash
    assert keystead.users.policy.is_breached("superstar1")  # still detectable at sign-in


def test_a_password_that_signs_in_is_checked_offline_for_breaches(
    keystead: Keystead, factory: Factory, monkeypatch: pytest.MonkeyPatch
):
    def no_network(self: PwnedRange, password: str) -> int:
        raise AssertionError("the login path asked the range endpoint")

    tenant = factory.tenant()
    _policy(keystead, tenant, check_breached=False)
    keystead.users.create(tenant.id, "old-timer", password="monster123")
    user = keystead.users.create(tenant.id, "newcomer", password=GOOD)
    _policy(keystead, tenant, check_breached=True, hibp_range_check=True)
    monkeypatch.setattr(PwnedRange, "lookup", no_network)

    breached = keystead.login.sign_in(tenant.id, "old-timer", "monster123", "192.0.2.1")
    clean = keystead.login.sign_in(tenant.id, "newcomer", GOOD, "192.0.2.1")

    assert (breached.user.username, breached.breached) == ("old-timer", True)
    assert (clean.user.id, clean.breached) == (user.id, False)
    assert keystead.users.policy.is_breached("monster123") and not keystead.users.policy.is_breached(GOOD)
    with pytest.raises(LoginFailed):  # a wrong password says nothing about the list
        keystead.login.sign_in(tenant.id, "old-timer", "monster1234", "192.0.2.1")


def test_the_cli_refuses_a_common_password_naming_the_field(tmp_path: Any, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from keystead.cli.main import app

    monkeypatch.setenv("KEYSTEAD_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("KEYSTEAD_PASSWORDS__MEMORY_KIB", "8192")
    monkeypatch.setenv("KEYSTEAD_PASSWORDS__TIME_COST", "1")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, password: str | None = None) -> Any:
        env = {"KEYSTEAD_PASSWORD": password} if password is not None else None
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    assert run("tenant", "create", "acme").exit_code == 0
    refused = run("user", "create", "bobby", "--tenant", "acme", password="letmein123")
    assert refused.exit_code == 1 and "password" in refused.output and "common or breached" in refused.output
    assert run("user", "create", "bobby", "--tenant", "acme", password=GOOD).exit_code == 0
    again = run("user", "set-password", "bobby", "--tenant", "acme", password="bobby-is-my-name")
    assert again.exit_code == 1 and "must not contain the username" in again.output


def test_the_server_wires_its_range_endpoint(keystead: Keystead):
    checker = keystead.users.policy.range_check
    assert isinstance(checker, PwnedRange)
    assert checker.url == keystead.settings.passwords.hibp_range_url
    assert checker.timeout == keystead.settings.passwords.hibp_timeout_seconds


def test_imports_refuse_listed_passwords_per_row_without_range_queries(
    keystead: Keystead, factory: Factory, monkeypatch: pytest.MonkeyPatch
):
    def no_network(self: PwnedRange, password: str) -> int:
        raise AssertionError("an import asked the range endpoint")

    monkeypatch.setattr(PwnedRange, "lookup", no_network)
    tenant = factory.tenant()
    _policy(keystead, tenant, hibp_range_check=True, blocklist=["acmecloud"])
    rows = [
        {"username": "ok-one", "password": GOOD},
        {"username": "common", "password": "qwertyuiop"},
        {"username": "named", "password": "named-and-proud-of-it"},
        {"username": "blocked", "password": "my acmecloud secret"},
        {"username": "hashed-is-not-checked", "password_hash": keystead.passwords.hash("password")},
    ]
    stream = io.BytesIO(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    _, progress = keystead.imports.run(tenant.id, Actor("admin", "test"), stream)
    assert [(e.line, e.field, e.reason) for e in progress.errors] == [
        (2, "password", BREACHED),
        (3, "password", "a password must not contain the username"),
        (4, "password", "a password must not contain the word 'acmecloud' (blocked by this organisation)"),
    ]
    assert progress.created == 2
    assert keystead.storage.user_by_login(tenant.id, "common") is None


def test_the_console_shows_the_reason_next_to_the_password_field(
    http: httpx.Client, factory: Factory, keystead: Keystead
):
    tenant = factory.tenant()
    csrf = signed_in(http, tenant, admin(factory, keystead, tenant))
    created = http.post(
        f"{console(tenant)}/users", data={"csrf_token": csrf, "username": "dora", "password": "password1"}
    )
    assert created.status_code == 400 and 'id="password-error"' in created.text
    assert "common or breached" in created.text
    assert keystead.storage.user_by_login(tenant.id, "dora") is None
    dora = keystead.users.create(tenant.id, "dora")
    page = f"{console(tenant)}/users/{dora.id}/password"
    refused = http.post(
        page, data={"csrf_token": csrf, "password": "dora-the-explorer", "confirm": "dora-the-explorer"}
    )
    assert refused.status_code == 400 and "must not contain the username" in refused.text
    assert keystead.users.get(tenant.id, dora.id).password_hash is None
