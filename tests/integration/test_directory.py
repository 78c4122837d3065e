"""Directory services on a real database: users (uniqueness per tenant, input rules, argon2id
hashes and rehashing on login, deletion), clients (secrets shown once and stored as HMACs,
redirect URI rules) and tenants."""

from __future__ import annotations

import re
import uuid
import warnings

import pytest
from sqlalchemy import select

from keystead.adapters.sql import tables
from keystead.config import PasswordSettings, load_settings
from keystead.errors import Conflict, InvalidInput, NotFound
from keystead.services.clients import SECRET_PURPOSE
from keystead.wiring import build
from tests.conftest import FAST_PASSWORDS
from tests.support.factories import PASSWORD, REDIRECT_URI
from tests.support.flow import Flow

ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def hash_params(password_hash: str) -> tuple[int, int, int]:
    match = ARGON2ID.match(password_hash)
    assert match is not None, password_hash
    m, t, p = (int(g) for g in match.groups())
    return m, t, p


def name() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


# uniqueness
def test_usernames_are_unique_per_tenant_case_insensitively(factory, keystead):
    tenant = factory.tenant()
    base = name()
    keystead.users.create(tenant.id, base.capitalize(), email=f"{base}@example.com", password=PASSWORD)
    for clash in (base, base.upper(), f" {base} "):
        with pytest.raises(Conflict):
            keystead.users.create(tenant.id, clash, email=f"{uuid.uuid4().hex[:6]}@example.com")


def test_emails_are_unique_per_tenant_case_insensitively(factory, keystead):
    tenant = factory.tenant()
    keystead.users.create(tenant.id, name(), email="Alice.Smith@Example.com")
    for clash in ("alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM"):
        with pytest.raises(Conflict):
            keystead.users.create(tenant.id, name(), email=clash)


def test_same_username_and_email_allowed_in_another_tenant(factory, keystead):
    a, b = factory.tenant(), factory.tenant()
    first = keystead.users.create(a.id, "alice", email="alice@example.com", password=PASSWORD)
    second = keystead.users.create(b.id, "ALICE", email="Alice@example.com", password=PASSWORD)
    assert first.id != second.id
    assert keystead.users.find(a.id, "alice").id == first.id
    assert keystead.users.find(b.id, "alice").id == second.id


def test_update_to_a_taken_username_or_email_is_a_conflict(factory, keystead):
    tenant = factory.tenant()
    one = factory.user(tenant, "one-user")
    two = factory.user(tenant, "two-user")
    with pytest.raises(Conflict):
        keystead.users.update(tenant.id, two.id, username="ONE-USER")
    with pytest.raises(Conflict):
        keystead.users.update(tenant.id, two.id, email=one.email.upper())
    renamed = keystead.users.update(tenant.id, two.id, username="Two-Renamed")
    assert keystead.users.find(tenant.id, "two-renamed").id == renamed.id


def test_find_by_username_or_email_is_case_insensitive(factory, keystead):
    tenant = factory.tenant()
    user = factory.user(tenant, "MixedCase", email="Mixed.Case@Example.org")
    for login in ("mixedcase", "MIXEDCASE", "mixed.case@example.org", " MIXED.CASE@EXAMPLE.ORG "):
        assert keystead.users.find(tenant.id, login).id == user.id
    with pytest.raises(NotFound):
        keystead.users.find(tenant.id, "nobody-here")


# input rules
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "has space"}, "username"),
        ({"username": ""}, "username"),
        ({"username": "tab\tname"}, "username"),
        ({"username": "x" * 256}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"email": "sp ace@example.com"}, "email"),
        ({"email": "x" * 65 + "@example.com"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "7chars!"}, "password"),
        ({"password": "p" * 1025}, "password"),
        ({"nickname": "x"}, "nickname"),
        ({"name": "n" * 256}, "name"),
    ],
)
def test_invalid_user_input_is_refused(factory, keystead, kwargs, field):
    tenant = factory.tenant()
    values = {"username": name(), "email": f"{name()}@example.com", "password": PASSWORD}
    values.update(kwargs)
    username = values.pop("username")
    with pytest.raises(InvalidInput) as info:
        keystead.users.create(tenant.id, username, **values)
    assert info.value.field == field
    assert keystead.users.list(tenant.id) == []


def test_password_of_eight_characters_is_accepted(factory, keystead):
    tenant = factory.tenant()
    user = keystead.users.create(tenant.id, name(), password="8chars!!")
    assert user.password_hash is not None


def test_invalid_status_is_refused(factory, keystead):
    tenant = factory.tenant()
    user = factory.user(tenant)
    with pytest.raises(InvalidInput):
        keystead.users.set_status(tenant.id, user.id, "banned")


# password hashes
def test_password_is_stored_as_argon2id_with_configured_params(factory, keystead):
    tenant = factory.tenant()
    user = factory.user(tenant)
    stored = keystead.users.get(tenant.id, user.id).password_hash
    assert stored is not None
    assert PASSWORD not in stored
    assert hash_params(stored) == (FAST_PASSWORDS["memory_kib"], FAST_PASSWORDS["time_cost"], 1)
    other = factory.user(tenant)
    assert keystead.users.get(tenant.id, other.id).password_hash != stored  # salted


def test_default_password_params_are_owasp(keystead):
    defaults = PasswordSettings()
    assert (defaults.memory_kib, defaults.time_cost, defaults.parallelism) == (19456, 2, 1)
    from keystead.services.passwords import Passwords

    passwords = Passwords(PasswordSettings(workers=1))
    try:
        assert hash_params(passwords.hash("correct horse")) == (19456, 2, 1)
    finally:
        passwords.close()


def test_password_hash_is_upgraded_on_login(db_url, clock, factory, keystead):
    tenant = factory.tenant()
    user = factory.user(tenant, "rehash-me")
    rp = factory.client(tenant)
    before = keystead.users.get(tenant.id, user.id).password_hash
    assert hash_params(before)[:2] == (8192, 1)

    stronger = {"memory_kib": 9216, "time_cost": 2, "parallelism": 1}
    k2 = build(
        load_settings(database={"url": db_url}, passwords=stronger, server={"base_url": "http://testserver"}),
        clock=clock,
    )
    from starlette.testclient import TestClient

    from keystead.http.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(create_app(k2), base_url="http://testserver", follow_redirects=False) as http:
            flow = Flow(http, tenant.name)
            # a failed login changes nothing
            with pytest.raises(AssertionError):
                flow.login(rp, "rehash-me", "wrong password 123")
            assert keystead.users.get(tenant.id, user.id).password_hash == before
            http.cookies.clear()
            result = flow.login(rp, "rehash-me")
            assert "code" in result.params

    after = keystead.users.get(tenant.id, user.id).password_hash
    assert after != before
    assert hash_params(after) == (9216, 2, 1)
    # the new hash still verifies with the old deployment's settings too
    assert keystead.login.authenticate(tenant.id, "rehash-me", PASSWORD, "127.0.0.1").id == user.id


def test_set_password_replaces_the_hash(factory, keystead):
    tenant = factory.tenant()
    user = factory.user(tenant, name())
    keystead.users.set_password(tenant.id, user.id, "a brand new password")
    assert (
        keystead.login.authenticate(tenant.id, user.username, "a brand new password", "127.0.0.1").id
        == user.id
    )
    from keystead.services.login import LoginFailed

    with pytest.raises(LoginFailed):
        keystead.login.authenticate(tenant.id, user.username, PASSWORD, "127.0.0.1")
    with pytest.raises(InvalidInput):
        keystead.users.set_password(tenant.id, user.id, "short")


# deletion
def test_deleting_a_user_ends_sessions_and_tokens(client, factory, keystead):
    tenant = factory.tenant()
    user = factory.user(tenant, "leaver")
    rp = factory.client(tenant)
    flow = Flow(client, tenant.name)
    body = flow.exchange(rp, flow.login(rp, "leaver")).json()
    cookie = next(str(c.value) for c in client.cookies.jar if c.name == "ks_session")
    assert keystead.sessions.current(tenant.id, cookie) is not None

    keystead.users.delete(tenant.id, user.id)

    assert keystead.sessions.current(tenant.id, cookie) is None
    with pytest.raises(NotFound):
        keystead.users.get(tenant.id, user.id)
    with pytest.raises(NotFound):
        keystead.users.delete(tenant.id, user.id)
    silent = client.get(
        f"/t/{tenant.name}/authorize?client_id={rp.client_id}&redirect_uri={REDIRECT_URI}"
        "&response_type=code&scope=openid&prompt=none"
    )
    assert "error=login_required" in silent.headers["location"]
    refreshed = flow.token(rp, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    info = client.get(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status_code in (401, 403)
    introspected = client.post(
        f"/t/{tenant.name}/introspect", data={"token": body["access_token"]}, auth=(rp.client_id, rp.secret)
    )
    assert introspected.json() == {"active": False}


def test_deleting_a_user_keeps_other_users_sessions(client, app, factory, keystead):
    tenant = factory.tenant()
    leaver = factory.user(tenant, "leaver2")
    factory.user(tenant, "stayer")
    rp = factory.client(tenant)
    Flow(client, tenant.name).login(rp, "stayer")
    stayer_cookie = next(str(c.value) for c in client.cookies.jar if c.name == "ks_session")
    keystead.users.delete(tenant.id, leaver.id)
    assert keystead.sessions.current(tenant.id, stayer_cookie) is not None


# clients
def test_client_secret_is_shown_once_and_stored_as_hmac(factory, keystead):
    tenant = factory.tenant()
    created = keystead.clients.create(tenant.id, "Secret App", redirect_uris=[REDIRECT_URI])
    secret = created.secret
    assert secret is not None
    assert len(secret) >= 43

    stored = keystead.clients.get(tenant.id, created.client.client_id)
    assert stored.secret_hash is not None
    assert stored.secret_hash != secret
    assert secret not in stored.secret_hash
    assert stored.secret_hash == keystead.ring.mac(SECRET_PURPOSE, secret)
    assert not hasattr(stored, "secret")
    assert secret not in repr(stored)
    with keystead.storage.engine.connect() as conn:
        row = conn.execute(select(tables.clients).where(tables.clients.c.id == stored.id)).mappings().one()
    assert all(secret not in str(value) for value in row.values())


def test_client_secret_authenticates_and_rotation_replaces_it(client, factory, keystead):
    tenant = factory.tenant()
    rp = factory.client(tenant)
    url = f"/t/{tenant.name}/token"
    data = {"grant_type": "client_credentials", "scope": "api"}
    assert client.post(url, data=data, auth=(rp.client_id, rp.secret)).status_code == 200
    wrong = client.post(url, data=data, auth=(rp.client_id, rp.secret + "x"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"

    rotated = keystead.clients.rotate_secret(tenant.id, rp.client_id)
    assert rotated.secret not in (None, rp.secret)
    assert client.post(url, data=data, auth=(rp.client_id, rp.secret)).status_code == 401
    assert client.post(url, data=data, auth=(rp.client_id, rotated.secret)).status_code == 200


def test_public_client_has_no_secret(factory, keystead):
    tenant = factory.tenant()
    created = keystead.clients.create(tenant.id, "SPA", client_type="public", redirect_uris=[REDIRECT_URI])
    assert created.secret is None
    assert created.client.secret_hash is None
    with pytest.raises(InvalidInput):
        keystead.clients.rotate_secret(tenant.id, created.client.client_id)
    with pytest.raises(InvalidInput):
        keystead.clients.create(
            tenant.id,
            "Bad",
            client_type="public",
            redirect_uris=[REDIRECT_URI],
            grant_types=["client_credentials"],
        )


@pytest.mark.parametrize(
    "uri",
    [
        "https://rp.example.com/cb#frag",
        "https://rp.example.com/cb#",
        "javascript:alert(1)",
        "JavaScript://rp.example.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://rp.example.com/cb",
        "http://localhost.evil.com/cb",
        "http://127.0.0.1.evil.com/cb",
        "/relative/cb",
        "rp.example.com/cb",
        "https:///cb",
        "https://rp.example.com/c b",
        "",
    ],
)
def test_invalid_redirect_uris_are_refused(factory, keystead, uri):
    tenant = factory.tenant()
    with pytest.raises(InvalidInput) as info:
        keystead.clients.create(tenant.id, "App", redirect_uris=[uri])
    assert info.value.field == "redirect_uris"
    with pytest.raises(InvalidInput) as info:
        keystead.clients.create(
            tenant.id, "App", redirect_uris=[REDIRECT_URI], post_logout_redirect_uris=[uri]
        )
    assert info.value.field == "post_logout_redirect_uris"
    assert keystead.clients.list(tenant.id) == []


@pytest.mark.parametrize(
    "uri",
    [
        "https://rp.example.com/cb",
        "https://rp.example.com/cb?x=1",
        "http://localhost:8080/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:9000/cb",
        "com.example.app:/oauth2redirect",
    ],
)
def test_valid_redirect_uris_are_accepted(factory, keystead, uri):
    tenant = factory.tenant()
    created = keystead.clients.create(tenant.id, "App", redirect_uris=[uri])
    assert created.client.redirect_uris == (uri,)


def test_code_grant_needs_a_redirect_uri(factory, keystead):
    tenant = factory.tenant()
    with pytest.raises(InvalidInput):
        keystead.clients.create(tenant.id, "App", redirect_uris=[])


def test_client_ids_are_unique_per_tenant(factory, keystead):
    a, b = factory.tenant(), factory.tenant()
    client_id = f"app-{uuid.uuid4().hex[:8]}"
    keystead.clients.create(a.id, "App", redirect_uris=[REDIRECT_URI], client_id=client_id)
    with pytest.raises(Conflict):
        keystead.clients.create(a.id, "App", redirect_uris=[REDIRECT_URI], client_id=client_id)
    keystead.clients.create(b.id, "App", redirect_uris=[REDIRECT_URI], client_id=client_id)
    with pytest.raises(InvalidInput):
        keystead.clients.create(a.id, "App", redirect_uris=[REDIRECT_URI], client_id="has:colon")


# tenants
@pytest.mark.parametrize(
    "bad", ["", "UPPER", "-lead", "trail-", "under_score", "a" * 64, "dot.name", "sp ace"]
)
def test_invalid_tenant_names_are_refused(keystead, bad):
    with pytest.raises(InvalidInput):
        keystead.tenants.create(bad)


def test_tenant_names_and_domains_are_unique(keystead):
    tenant_name = f"t{uuid.uuid4().hex[:12]}"
    domain = f"id-{uuid.uuid4().hex[:8]}.example.test"
    keystead.tenants.create(tenant_name, custom_domain=domain)
    with pytest.raises(Conflict):
        keystead.tenants.create(tenant_name)
    with pytest.raises(Conflict):
        keystead.tenants.create(f"t{uuid.uuid4().hex[:12]}", custom_domain=domain.upper())
