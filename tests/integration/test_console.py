"""The admin console's server-side checks, without a browser (SQLite and PostgreSQL): sign-in
through Keystead's own OIDC, the admin role, the console cookie (sealed, path-scoped, timeouts),
tenant boundaries for tenant and platform admins, CSRF on every POST, audit events, the secret
shown once, keyset pages."""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from keystead.cli.demo import ADMIN as DEMO_ADMIN
from keystead.cli.demo import TENANT as DEMO_TENANT
from keystead.cli.demo import ensure_demo
from keystead.cli.main import app as cli
from keystead.clock import FrozenClock
from keystead.config import Settings, load_settings
from keystead.ports.records import Tenant, User
from keystead.protocols.oauth2.client_auth import ClientCredentials
from keystead.protocols.oauth2.errors import InvalidClient
from keystead.services.console_access import ADMIN_ROLE, CONSOLE_CLIENT_ID
from keystead.web.console.auth import safe_next
from keystead.wiring import Keystead, build
from tests.conftest import FAST_PASSWORDS
from tests.support.factories import PASSWORD, Factory

BASE = "http://localhost"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(db_url: str) -> Settings:
    # The console's redirect URI derives from the base URL; http is allowed on loopback only.
    return load_settings(database={"url": db_url}, passwords=FAST_PASSWORDS, server={"base_url": BASE})


@pytest.fixture
def http(app: Any) -> Iterator[httpx.Client]:
    from starlette.testclient import TestClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(app, base_url=BASE, follow_redirects=False) as c:
            yield c


def admin(factory: Factory, keystead: Keystead, tenant: Tenant, username: str | None = None) -> User:
    user = factory.user(tenant, username)
    return keystead.users.update(tenant.id, user.id, roles=[ADMIN_ROLE])


def sign_in(
    http: httpx.Client, tenant: Tenant, user: User, *, next_path: str | None = None, base: str = BASE
) -> httpx.Response:
    """Open the console, sign in on Keystead's login page, and return the callback's response."""
    start = http.get(next_path or f"/t/{tenant.name}/console/")
    assert start.status_code == 303
    response = http.get(start.headers["location"])  # /signin: to the authorization endpoint
    assert response.status_code == 303
    response = http.get(response.headers["location"])
    while response.status_code == 303 and "/interaction/" in response.headers["location"]:
        page = response.headers["location"]
        response = http.get(page)
        token = _CSRF.search(response.text)
        assert token is not None
        response = http.post(
            page, data={"csrf_token": token.group(1), "username": user.username, "password": PASSWORD}
        )
    location = response.headers["location"]
    assert location.startswith(f"{base}/t/{tenant.name}/console/callback?"), location
    return http.get(location)


def signed_in(http: httpx.Client, tenant: Tenant, user: User) -> str:
    """Sign in and return a CSRF token of the console session."""
    done = sign_in(http, tenant, user)
    assert done.status_code == 303, done.text
    page = http.get(f"/t/{tenant.name}/console/tenants/{tenant.name}/users")
    assert page.status_code == 200
    token = _CSRF.search(page.text)
    assert token is not None
    return token.group(1)


def console(tenant: Tenant, target: Tenant | None = None) -> str:
    return f"/t/{tenant.name}/console/tenants/{(target or tenant).name}"


def test_a_tenant_admin_signs_in_with_keystead_and_gets_a_sealed_path_scoped_cookie(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    boss = admin(factory, keystead, tenant)
    done = sign_in(http, tenant, boss, next_path=f"{console(tenant)}/keys")
    assert done.status_code == 303
    assert done.headers["location"] == f"{console(tenant)}/keys"
    cookie = next(
        v for k, v in done.headers.multi_items() if k == "set-cookie" and v.startswith("ks_console=")
    )
    attributes = cookie.lower()
    assert f"path=/t/{tenant.name}/console" in attributes
    assert "httponly" in attributes and "samesite=lax" in attributes
    value = cookie.split(";")[0].split("=", 1)[1]
    assert boss.id not in value and boss.username not in value
    client = keystead.clients.lookup(tenant.id, CONSOLE_CLIENT_ID)
    assert client.client_type == "public" and client.first_party
    assert client.redirect_uris == (f"{BASE}/t/{tenant.name}/console/callback",)
    assert http.get(f"{console(tenant)}/keys").status_code == 200
    events = keystead.audit.page(tenant.id, action="console.signin")
    assert [e.target for e in events] == [boss.id]


def test_a_user_without_the_admin_role_is_refused_and_gets_no_console_cookie(
    http: httpx.Client, factory: Factory
) -> None:
    tenant = factory.tenant()
    someone = factory.user(tenant)
    done = sign_in(http, tenant, someone)
    assert done.status_code == 403
    assert "not an administrator" in done.text
    assert not any(v.startswith("ks_console=") for k, v in done.headers.multi_items() if k == "set-cookie")
    assert http.get(f"{console(tenant)}/users").status_code == 303


def test_without_a_session_every_page_sends_to_sign_in_and_htmx_gets_hx_redirect(
    http: httpx.Client, factory: Factory
) -> None:
    tenant = factory.tenant()
    response = http.get(f"{console(tenant)}/clients")
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/t/{tenant.name}/console/signin?next=")
    htmx = http.get(f"{console(tenant)}/users?q=a", headers={"HX-Request": "true"})
    assert htmx.status_code == 204
    assert htmx.headers["HX-Redirect"].startswith(f"/t/{tenant.name}/console/signin")
    assert http.get("/t/no-such-tenant/console/").status_code == 404


def test_a_tenant_admin_cannot_reach_another_tenant_on_any_route(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    home, other = factory.tenant(), factory.tenant()
    victim = factory.user(other)
    csrf = signed_in(http, home, admin(factory, keystead, home))
    for target in (other.name, "no-such-tenant"):
        base = f"/t/{home.name}/console/tenants/{target}"
        for path in ("users", "users/new", f"users/{victim.id}", "clients", "keys", "settings", "audit"):
            assert http.get(f"{base}/{path}").status_code == 403, path
        writes = {
            "users": {"username": "intruder"},
            f"users/{victim.id}/status": {"status": "disabled"},
            f"users/{victim.id}/sessions/revoke": {},
            f"users/{victim.id}/delete": {"confirm": victim.username},
            "clients": {"name": "Evil", "kind": "service"},
            "keys/rotate": {},
            "settings": {"section": "branding", "version": "0", "display_name": "Pwned"},
        }
        for path, data in writes.items():
            assert http.post(f"{base}/{path}", data={"csrf_token": csrf, **data}).status_code == 403, path
    assert keystead.users.get(other.id, victim.id).status == "active"
    assert keystead.storage.user_by_login(other.id, "intruder") is None
    assert keystead.clients.list(other.id) == []
    assert keystead.audit.page(other.id) == []
    assert keystead.tenants.get(other.name).display_name == other.display_name
    # the other tenant's own console does not accept this tenant's cookie either
    assert http.get(f"/t/{other.name}/console/tenants/{other.name}/users").status_code == 303


def test_a_platform_admin_manages_another_tenant_and_the_audit_event_lands_there(
    http: httpx.Client, factory: Factory, keystead: Keystead, settings: Settings
) -> None:
    platform = keystead.storage.tenant_by_name(settings.admin.platform_tenant)
    if platform is None:
        platform = keystead.tenants.create(settings.admin.platform_tenant, "Platform")
    other = factory.tenant()
    root = admin(factory, keystead, platform)
    csrf = signed_in(http, platform, root)
    listing = http.get(f"{console(platform, other)}/users")
    assert listing.status_code == 200
    assert 'id="tenant-switch"' in listing.text
    created = http.post(f"{console(platform, other)}/users", data={"csrf_token": csrf, "username": "hired"})
    assert created.status_code == 303
    hired = keystead.users.find(other.id, "hired")
    [event] = keystead.audit.page(other.id, action="user.create")
    assert event.target == hired.id
    assert event.actor == f"{root.id} via {CONSOLE_CLIENT_ID}"
    switched = http.get(f"/t/{platform.name}/console/switch?tenant={other.name}")
    assert switched.headers["location"] == f"{console(platform, other)}/users"
    odd = http.get(f"/t/{platform.name}/console/switch", params={"tenant": "../../x"})
    assert odd.headers["location"] == f"/t/{platform.name}/console/"
    assert http.get(f"{console(platform)}/users").status_code == 200


def test_a_tenant_admin_has_no_tenant_switcher(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    signed_in(http, tenant, admin(factory, keystead, tenant))
    assert 'id="tenant-switch"' not in http.get(f"{console(tenant)}/users").text


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_a_post_without_the_session_csrf_token_is_refused_and_writes_nothing(
    http: httpx.Client, factory: Factory, keystead: Keystead, token: str | None
) -> None:
    tenant = factory.tenant()
    signed_in(http, tenant, admin(factory, keystead, tenant))
    data = {"username": "sneaky"} | ({"csrf_token": token} if token is not None else {})
    response = http.post(f"{console(tenant)}/users", data=data)
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert keystead.storage.user_by_login(tenant.id, "sneaky") is None
    json_body = http.post(f"{console(tenant)}/users", json={"username": "sneaky"})
    assert json_body.status_code == 403


def test_the_session_ends_when_the_admin_is_disabled_loses_the_role_or_the_sso_session_ends(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    boss = admin(factory, keystead, tenant)
    signed_in(http, tenant, boss)
    keystead.users.update(tenant.id, boss.id, roles=[])
    assert http.get(f"{console(tenant)}/users").status_code == 303
    keystead.users.update(tenant.id, boss.id, roles=[ADMIN_ROLE])
    signed_in(http, tenant, boss)
    keystead.users.set_status(tenant.id, boss.id, "disabled")
    assert http.get(f"{console(tenant)}/users").status_code == 303
    keystead.users.set_status(tenant.id, boss.id, "active")
    signed_in(http, tenant, boss)
    keystead.sessions.end_all_of_user(tenant.id, boss.id)
    assert http.get(f"{console(tenant)}/users").status_code == 303


def test_idle_and_absolute_timeouts(
    http: httpx.Client, factory: Factory, keystead: Keystead, clock: FrozenClock
) -> None:
    tenant = factory.tenant()
    boss = admin(factory, keystead, tenant)
    signed_in(http, tenant, boss)
    clock.advance(29 * 60)
    assert http.get(f"{console(tenant)}/users").status_code == 200  # used: the idle timer restarts
    clock.advance(29 * 60)
    assert http.get(f"{console(tenant)}/users").status_code == 200
    clock.advance(31 * 60)
    assert http.get(f"{console(tenant)}/users").status_code == 303
    signed_in(http, tenant, boss)
    statuses = []
    for _ in range(37):  # active every 20 minutes, yet 12 hours is the limit
        clock.advance(20 * 60)
        statuses.append(http.get(f"{console(tenant)}/users").status_code)
    assert statuses == [200] * 36 + [303]


def test_a_tampered_cookie_or_one_sealed_for_another_tenant_does_not_open(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    home, other = factory.tenant(), factory.tenant()
    signed_in(http, home, admin(factory, keystead, home))
    value = http.cookies.get("ks_console", path=f"/t/{home.name}/console")
    assert value
    http.cookies.set("ks_console", value, path=f"/t/{other.name}/console")
    assert http.get(f"{console(other)}/users").status_code == 303
    tampered = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    http.cookies.set("ks_console", tampered, path=f"/t/{home.name}/console")
    assert http.get(f"{console(home)}/users").status_code == 303


def test_sign_in_follows_only_console_paths_and_refuses_a_replayed_or_foreign_state(
    http: httpx.Client, factory: Factory
) -> None:
    tenant = factory.tenant()
    base = f"/t/{tenant.name}/console"
    for evil in (
        "https://evil.example/",
        "//evil.example/x",
        f"{base}x",
        f"{base}//evil.example",
        "/elsewhere",
    ):
        assert safe_next(evil, base) == f"{base}/"
    assert safe_next(f"{base}/tenants/x/keys", base) == f"{base}/tenants/x/keys"
    start = http.get(f"{base}/signin", params={"next": "https://evil.example/"})
    assert start.status_code == 303
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CONSOLE_CLIENT_ID]
    bad_state = http.get(f"/t/{tenant.name}/console/callback", params={"state": "forged", "code": "x"})
    assert bad_state.status_code == 400
    assert "expired" in bad_state.text
    http.cookies.clear()
    no_cookie = http.get(
        f"/t/{tenant.name}/console/callback", params={"state": query["state"][0], "code": "x"}
    )
    assert no_cookie.status_code == 400


def test_a_new_client_secret_is_shown_once_and_never_audited(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    csrf = signed_in(http, tenant, admin(factory, keystead, tenant))
    created = http.post(
        f"{console(tenant)}/clients",
        data={
            "csrf_token": csrf,
            "name": "Billing",
            "kind": "web",
            "redirect_uris": "https://billing.example/cb",
        },
    )
    assert created.status_code == 303
    first = http.get(created.headers["location"])
    secret = re.search(r'<code class="kc-code" id="client-secret">([^<]+)</code>', first.text)
    assert secret is not None
    assert first.headers["cache-control"] == "no-store"
    again = http.get(created.headers["location"])
    assert 'id="client-secret"' not in again.text
    client = next(c for c in keystead.clients.list(tenant.id) if c.name == "Billing")
    credentials = ClientCredentials(client.client_id, secret.group(1), "client_secret_basic")
    assert keystead.clients.authenticate(tenant.id, credentials).client_id == client.client_id
    [event] = keystead.audit.page(tenant.id, action="client.create")
    assert secret.group(1) not in repr(event)
    bad = http.post(
        f"{console(tenant)}/clients",
        data={"csrf_token": csrf, "name": "Bad", "kind": "web", "redirect_uris": "http://evil.example/cb"},
    )
    assert bad.status_code == 400
    assert 'aria-invalid="true"' in bad.text
    assert [c.name for c in keystead.clients.list(tenant.id)].count("Bad") == 0


def test_disable_user_and_revoke_sessions_are_audited_with_the_admin_as_actor(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    boss = admin(factory, keystead, tenant)
    csrf = signed_in(http, tenant, boss)
    worker = factory.user(tenant)
    keystead.sessions.start(tenant.id, worker.id, acr=None, amr=("pwd",))
    keystead.sessions.start(tenant.id, worker.id, acr=None, amr=("pwd",))
    page = http.get(f"{console(tenant)}/users/{worker.id}")
    assert page.text.count("/revoke") >= 3  # one per session, and "revoke all"
    revoked = http.post(f"{console(tenant)}/users/{worker.id}/sessions/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert keystead.sessions.of_user(tenant.id, worker.id) == []
    disabled = http.post(
        f"{console(tenant)}/users/{worker.id}/status", data={"csrf_token": csrf, "status": "disabled"}
    )
    assert disabled.status_code == 303
    assert keystead.users.get(tenant.id, worker.id).status == "disabled"
    # (the console's own sign-in adds stage events whose actor is the user: services/signin_events.py)
    events = {e.action: e for e in keystead.audit.page(tenant.id) if not e.action.startswith("signin.")}
    assert events["user.sessions.revoke"].target == worker.id
    assert len(events["user.sessions.revoke"].after["sessions"]) == 2  # type: ignore[index]
    assert events["user.update"].after["status"] == "disabled"  # type: ignore[index]
    assert all(e.actor == f"{boss.id} via {CONSOLE_CLIENT_ID}" for e in events.values())
    myself = http.post(
        f"{console(tenant)}/users/{boss.id}/status", data={"csrf_token": csrf, "status": "disabled"}
    )
    assert myself.status_code == 400
    assert keystead.users.get(tenant.id, boss.id).active


def test_delete_needs_the_username_typed_and_a_stale_edit_is_refused(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    csrf = signed_in(http, tenant, admin(factory, keystead, tenant))
    doomed = factory.user(tenant)
    wrong = http.post(
        f"{console(tenant)}/users/{doomed.id}/delete", data={"csrf_token": csrf, "confirm": "nope"}
    )
    assert wrong.status_code == 400
    assert keystead.users.get(tenant.id, doomed.id)
    stale = http.post(
        f"{console(tenant)}/users/{doomed.id}",
        data={"csrf_token": csrf, "version": "1.0", "username": "renamed"},
    )
    assert stale.status_code == 409
    assert keystead.users.get(tenant.id, doomed.id).username == doomed.username
    gone = http.post(
        f"{console(tenant)}/users/{doomed.id}/delete", data={"csrf_token": csrf, "confirm": doomed.username}
    )
    assert gone.status_code == 303
    assert keystead.storage.user_by_id(tenant.id, doomed.id) is None
    assert http.get(f"{console(tenant)}/users/{doomed.id}").status_code == 404


def test_users_are_found_by_prefix_and_paged_by_keyset_links(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    signed_in(http, tenant, admin(factory, keystead, tenant, "zz-admin"))
    for i in range(60):
        keystead.users.create(tenant.id, f"member{i:03d}")
    found = http.get(f"{console(tenant)}/users", params={"q": "member04"}, headers={"HX-Request": "true"})
    assert found.status_code == 200
    assert "<html" not in found.text  # a fragment for htmx
    assert re.findall(r">(member\d+)</a>", found.text) == [f"member{i:03d}" for i in range(40, 50)]
    seen: list[str] = []
    url: str | None = f"{console(tenant)}/users?q=member"
    while url:
        page = http.get(url)
        seen += re.findall(r">(member\d+)</a>", page.text)
        nxt = re.search(r'href="([^"]+)" id="next-page"', page.text)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert seen == [f"member{i:03d}" for i in range(60)]
    tampered = http.get(f"{console(tenant)}/users", params={"after": "xx.yy"})
    assert "not valid any more" in tampered.text


def test_the_demo_admin_is_a_console_admin_and_the_console_url_is_printed(
    keystead: Keystead, tmp_path: Path
) -> None:
    info = ensure_demo(keystead, tmp_path)
    tenant = keystead.tenants.get(DEMO_TENANT)
    user = keystead.users.find(tenant.id, DEMO_ADMIN)
    assert ADMIN_ROLE in user.roles
    keystead.users.update(tenant.id, user.id, roles=[])  # a demo made before the console
    ensure_demo(keystead, tmp_path)
    assert ADMIN_ROLE in keystead.users.find(tenant.id, DEMO_ADMIN).roles
    assert any(f"{info.issuer}/console/" in line for line in info.lines())


def test_user_create_takes_repeatable_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYSTEAD_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("KEYSTEAD_SERVER__BASE_URL", "http://127.0.0.1:8000")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli, ["tenant", "create", "acme"]).exit_code == 0
    created = runner.invoke(
        cli,
        [
            "user",
            "create",
            "root",
            "--tenant",
            "acme",
            "--no-password",
            "--role",
            "admin",
            "--role",
            "auditor",
        ],
    )
    assert created.exit_code == 0, created.output
    bad = runner.invoke(
        cli, ["user", "create", "eve", "--tenant", "acme", "--no-password", "--role", "Not A Role"]
    )
    assert bad.exit_code != 0
    settings = load_settings(database={"url": f"sqlite:///{tmp_path / 'cli.db'}"})
    k = build(settings)
    try:
        tenant = k.tenants.get("acme")
        assert k.users.find(tenant.id, "root").roles == ("admin", "auditor")
        assert k.storage.user_by_login(tenant.id, "eve") is None
    finally:
        k.close()


def test_settings_are_changed_through_the_settings_service_as_a_compare_and_set(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    csrf = signed_in(http, tenant, admin(factory, keystead, tenant))
    page = http.get(f"{console(tenant)}/settings")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    form = {
        "csrf_token": csrf,
        "version": version.group(1),
        "section": "branding",
        "display_name": "Acme Rebrand",
    }
    bad = http.post(f"{console(tenant)}/settings", data={**form, "primary_color": "teal"})
    assert bad.status_code == 400
    assert 'id="primary_color-error"' in bad.text
    assert keystead.tenants.get(tenant.name).display_name == tenant.display_name
    saved = http.post(f"{console(tenant)}/settings", data={**form, "primary_color": "#0F766E"})
    assert saved.status_code == 303
    changed = keystead.tenants.get(tenant.name)
    assert (changed.display_name, changed.brand_color) == ("Acme Rebrand", "#0f766e")
    [event] = keystead.audit.page(tenant.id, action="tenant.settings.update")
    assert event.after["branding"]["primary_color"] == "#0f766e"  # type: ignore[index]
    stale = http.post(f"{console(tenant)}/settings", data={**form, "display_name": "Lost update"})
    assert stale.status_code == 409
    assert keystead.tenants.get(tenant.name).display_name == "Acme Rebrand"
    tokens = {"csrf_token": csrf, "section": "tokens", "version": str(int(version.group(1)) + 1)}
    lifetimes = http.post(
        f"{console(tenant)}/settings", data={**tokens, "access_token_ttl": "300", "session_ttl": "x"}
    )
    assert lifetimes.status_code == 400
    assert 'id="session_ttl-error"' in lifetimes.text
    ok = http.post(f"{console(tenant)}/settings", data={**tokens, "access_token_ttl": "300"})
    assert ok.status_code == 303
    assert keystead.tenant_settings.read(tenant.id).tokens.access_token_ttl == 300


def test_on_https_the_console_cookies_are_secure(db_url: str, clock: FrozenClock) -> None:
    from starlette.testclient import TestClient

    from keystead.http.app import create_app

    base = "https://id.example.com"
    settings = load_settings(database={"url": db_url}, passwords=FAST_PASSWORDS, server={"base_url": base})
    k = build(settings, clock=clock)
    try:
        tenant = k.tenants.create(f"tls{uuid.uuid4().hex[:12]}", "TLS Corp")
        boss = k.users.create(tenant.id, "boss", password=PASSWORD, roles=[ADMIN_ROLE])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with TestClient(create_app(k), base_url=base, follow_redirects=False) as http:
                done = sign_in(http, tenant, boss, base=base)
        cookies = [v.lower() for name, v in done.headers.multi_items() if name == "set-cookie"]
        console_cookie = next(c for c in cookies if c.startswith("ks_console="))
        assert "secure" in console_cookie and "httponly" in console_cookie
        assert k.clients.lookup(tenant.id, CONSOLE_CLIENT_ID).redirect_uris == (
            f"{base}/t/{tenant.name}/console/callback",
        )
    finally:
        k.passwords.close()


def test_an_unexpected_error_is_a_styled_500_page(
    http: httpx.Client, factory: Factory, keystead: Keystead, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = factory.tenant()
    csrf = signed_in(http, tenant, admin(factory, keystead, tenant))

    def broken(tenant_id: str) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(keystead.keys, "rotate", broken)
    response = http.post(f"{console(tenant)}/keys/rotate", data={"csrf_token": csrf})
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "database went away" not in response.text
    assert keystead.audit.page(tenant.id, action="keys.rotate") == []


def test_create_user_and_set_password_refuse_bad_input_and_write_nothing(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    csrf = signed_in(http, tenant, admin(factory, keystead, tenant))
    users = f"{console(tenant)}/users"
    bad_email = http.post(users, data={"csrf_token": csrf, "username": "dora", "email": "not-an-email"})
    assert bad_email.status_code == 400
    assert 'id="email" name="email" value="not-an-email"' in bad_email.text  # the form keeps what was typed
    assert 'aria-invalid="true" aria-describedby="email-error"' in bad_email.text
    short = http.post(users, data={"csrf_token": csrf, "username": "dora", "password": "short"})
    assert short.status_code == 400 and 'id="password-error"' in short.text
    assert keystead.storage.user_by_login(tenant.id, "dora") is None
    assert http.post(users, data={"csrf_token": csrf, "username": "dora"}).status_code == 303
    taken = http.post(users, data={"csrf_token": csrf, "username": "DORA"})
    assert taken.status_code == 409 and "already in use" in taken.text
    dora = keystead.users.find(tenant.id, "dora")
    assert dora.roles == () and dora.password_hash is None

    password = f"{console(tenant)}/users/{dora.id}/password"
    differ = http.post(
        password, data={"csrf_token": csrf, "password": "long enough 1", "confirm": "long enough 2"}
    )
    assert differ.status_code == 400 and "differ" in differ.text
    too_short = http.post(password, data={"csrf_token": csrf, "password": "short", "confirm": "short"})
    assert too_short.status_code == 400
    assert keystead.users.get(tenant.id, dora.id).password_hash is None
    done = http.post(
        password, data={"csrf_token": csrf, "password": "long enough 1", "confirm": "long enough 1"}
    )
    assert done.status_code == 303
    assert keystead.login.authenticate(tenant.id, "dora", "long enough 1", "127.0.0.1").id == dora.id
    [event] = keystead.audit.page(tenant.id, action="user.password.set")
    assert event.target == dora.id and "long enough" not in repr(event)


def test_client_edits_rotation_and_disabling_and_the_console_client_is_protected(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    csrf = signed_in(http, tenant, admin(factory, keystead, tenant))
    rp = factory.client(tenant)
    url = f"{console(tenant)}/clients/{rp.client_id}"
    page = http.get(url)
    version = re.search(r'name="version" value="([^"]+)"', page.text)
    assert version is not None
    form = {"csrf_token": csrf, "version": version.group(1), "name": "Portal"}
    bad = http.post(url, data={**form, "redirect_uris": "http://portal.example/cb"})
    assert bad.status_code == 400 and 'id="redirect_uris-error"' in bad.text
    uris = "https://portal.example/cb\nhttps://portal.example/cb2"
    saved = http.post(url, data={**form, "redirect_uris": uris})
    assert saved.status_code == 303
    client = keystead.clients.lookup(tenant.id, rp.client_id)
    assert client.redirect_uris == ("https://portal.example/cb", "https://portal.example/cb2")
    assert http.post(url, data={**form, "redirect_uris": uris}).status_code == 409  # the version moved on

    rotated = http.post(f"{url}/secret", data={"csrf_token": csrf})
    assert rotated.status_code == 303
    shown = re.search(r'id="client-secret">([^<]+)<', http.get(url).text)
    assert shown is not None and shown.group(1) != rp.secret
    old = ClientCredentials(rp.client_id, rp.secret, "client_secret_basic")
    new = ClientCredentials(rp.client_id, shown.group(1), "client_secret_basic")
    assert keystead.clients.authenticate(tenant.id, new).client_id == rp.client_id
    with pytest.raises(InvalidClient):
        keystead.clients.authenticate(tenant.id, old)

    assert http.post(f"{url}/status", data={"csrf_token": csrf, "status": "disabled"}).status_code == 303
    assert keystead.clients.lookup(tenant.id, rp.client_id).status == "disabled"

    own = f"{console(tenant)}/clients/{CONSOLE_CLIENT_ID}"
    assert http.get(own).status_code == 200
    refused = http.post(f"{own}/status", data={"csrf_token": csrf, "status": "disabled"})
    assert refused.status_code == 400
    assert keystead.clients.lookup(tenant.id, CONSOLE_CLIENT_ID).active
    assert http.get(f"{console(tenant)}/users").status_code == 200


def test_revoking_one_session_ends_only_that_one_and_only_for_its_user(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    csrf = signed_in(http, tenant, admin(factory, keystead, tenant))
    worker, bystander = factory.user(tenant), factory.user(tenant)
    first = keystead.sessions.start(tenant.id, worker.id, acr=None, amr=("pwd",)).session
    second = keystead.sessions.start(tenant.id, worker.id, acr=None, amr=("pwd",)).session
    other = keystead.sessions.start(tenant.id, bystander.id, acr=None, amr=("pwd",)).session
    base = f"{console(tenant)}/users/{worker.id}/sessions"
    wrong_user = http.post(f"{base}/{other.id}/revoke", data={"csrf_token": csrf})
    assert wrong_user.status_code == 404
    assert keystead.sessions.find(tenant.id, other.id) is not None
    done = http.post(f"{base}/{first.id}/revoke", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert [s.id for s in keystead.sessions.of_user(tenant.id, worker.id)] == [second.id]
    [event] = keystead.audit.page(tenant.id, action="session.revoke")
    assert event.target == first.id and event.before["user_id"] == worker.id  # type: ignore[index]
    assert http.post(f"{base}/{first.id}/revoke", data={"csrf_token": csrf}).status_code == 404


def test_after_the_idle_timeout_signing_in_again_asks_for_the_password(
    http: httpx.Client, factory: Factory, keystead: Keystead, clock: FrozenClock
) -> None:
    tenant = factory.tenant()
    boss = admin(factory, keystead, tenant)
    signed_in(http, tenant, boss)
    http.cookies.delete("ks_console", path=f"/t/{tenant.name}/console")
    start = http.get(f"/t/{tenant.name}/console/signin")
    assert "max_age=1800" in start.headers["location"]
    fresh = http.get(start.headers["location"])  # a recent SSO sign-in is reused
    assert fresh.headers["location"].startswith(f"{BASE}/t/{tenant.name}/console/callback?")
    assert http.get(fresh.headers["location"]).status_code == 303
    assert http.get(f"{console(tenant)}/users").status_code == 200
    clock.advance(31 * 60)
    assert http.get(f"{console(tenant)}/users").status_code == 303  # idle: the console session ended
    stale = http.get(http.get(f"/t/{tenant.name}/console/signin").headers["location"])
    assert "/interaction/" in stale.headers["location"]  # the password again, not a silent sign-in


def test_a_tenant_on_a_custom_domain_has_its_console_at_slash_console(
    db_url: str, clock: FrozenClock
) -> None:
    from starlette.testclient import TestClient

    from keystead.http.app import create_app

    settings = load_settings(
        database={"url": db_url}, passwords=FAST_PASSWORDS, server={"base_url": "https://keystead.example"}
    )
    k = build(settings, clock=clock)
    domain = f"id{uuid.uuid4().hex[:8]}.acme.test"
    try:
        tenant = k.tenants.create(f"cd{uuid.uuid4().hex[:12]}", "Domain Corp", custom_domain=domain)
        k.users.create(tenant.id, "boss", password=PASSWORD, roles=[ADMIN_ROLE])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with TestClient(create_app(k), base_url=f"https://{domain}", follow_redirects=False) as http:
                keys = f"/console/tenants/{tenant.name}/keys"
                start = http.get(keys)
                assert start.headers["location"] == f"/console/signin?next={keys}"
                authorize = http.get(start.headers["location"]).headers["location"]
                assert authorize.startswith("/authorize?")
                login = http.get(authorize).headers["location"]
                form = http.get(login)
                token = _CSRF.search(form.text)
                assert token is not None
                back = http.post(
                    login, data={"csrf_token": token.group(1), "username": "boss", "password": PASSWORD}
                )
                assert back.headers["location"].startswith(f"https://{domain}/console/callback?")
                done = http.get(back.headers["location"])
                assert done.status_code == 303
                assert done.headers["location"] == keys
                assert "path=/console;" in next(
                    v.lower()
                    for n, v in done.headers.multi_items()
                    if n == "set-cookie" and v.startswith("ks_console=")
                )
                assert http.get(f"/console/tenants/{tenant.name}/users").status_code == 200
                assert http.get(f"/t/{tenant.name}/console/").status_code == 404  # only on its domain
    finally:
        k.passwords.close()


def test_sign_out_needs_the_csrf_token_and_ends_the_sso_session(
    http: httpx.Client, factory: Factory, keystead: Keystead
) -> None:
    tenant = factory.tenant()
    boss = admin(factory, keystead, tenant)
    csrf = signed_in(http, tenant, boss)
    [sso] = keystead.sessions.of_user(tenant.id, boss.id)
    assert http.post(f"/t/{tenant.name}/console/signout", data={}).status_code == 403
    assert keystead.sessions.find(tenant.id, sso.id) is not None
    out = http.post(f"/t/{tenant.name}/console/signout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == f"/t/{tenant.name}/console/signed-out"
    assert keystead.sessions.find(tenant.id, sso.id) is None
    assert http.get(out.headers["location"]).status_code == 200
    assert http.get(f"{console(tenant)}/users").status_code == 303
    assert [e.target for e in keystead.audit.page(tenant.id, action="console.signout")] == [boss.id]
