"""The admin console in headless Chromium against a live server: an administrator signs in
through Keystead's own login page, creates a client (its secret shown once), creates a user,
finds them by prefix among 300 others, revokes their sessions and disables them; a user without
the admin role is refused, another tenant is out of reach, a form without its CSRF token is
refused; the keyboard, a phone-sized viewport and the Content-Security-Policy.

Screenshots of every page go to ``test-artifacts/screenshots/console-*.png`` (copied by hand to
``docs/screenshots/`` after looking at them)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keystead.config import load_settings
from keystead.ports.records import User
from keystead.services.console_access import ADMIN_ROLE
from keystead.wiring import build
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e

ADMIN, ADMIN_PASSWORD = "opal.admin", "admin password 123"
CSP_MARKER = "CSP-VIOLATION"
CSP_LISTENER = (
    "document.addEventListener('securitypolicyviolation', e => console.error("
    f"'{CSP_MARKER} ' + e.violatedDirective + ' ' + e.blockedURI));"
)
FIRST_NAMES = (
    "ada", "bela", "carmen", "dmitri", "elif", "farah", "goran", "hana", "ivo", "jun",
    "kemal", "lena", "marta", "nils", "olga", "priya", "rafael", "sofia", "tomas", "uma",
    "vera", "wanjiru", "xin", "yusuf", "zora", "amara", "bruno", "chiara", "diego", "esme",
)  # fmt: skip
LAST_NAMES = (
    "okafor",
    "lindqvist",
    "moreau",
    "tanaka",
    "novak",
    "haddad",
    "silva",
    "kowalski",
    "nguyen",
    "brennan",
)


@dataclass(frozen=True)
class Seeded:
    server: LiveServer
    other_tenant: str
    platform_tenant: str

    @property
    def console(self) -> str:
        return f"{self.server.issuer}/console"

    @property
    def tenant_console(self) -> str:
        return f"{self.console}/tenants/{self.server.tenant}"


@pytest.fixture(scope="module")
def seeded(server: LiveServer) -> Iterator[Seeded]:
    """An admin in the live tenant, 300 users (bulk, through the store), another tenant."""
    settings = load_settings(
        database={"url": server.env["KEYSTEAD_DATABASE__URL"]},
        server={"base_url": server.base_url},
        passwords={"memory_kib": 8192, "time_cost": 1},
    )
    k = build(settings)
    try:
        tenant = k.storage.tenant_by_name(server.tenant)
        assert tenant is not None
        k.users.create(
            tenant.id,
            ADMIN,
            password=ADMIN_PASSWORD,
            name="Opal Admin",
            email="opal@acme.test",
            roles=[ADMIN_ROLE],
        )
        now = k.clock()
        members = [
            User(
                id=str(uuid.uuid4()),
                tenant_id=tenant.id,
                username=f"{first}.{last}",
                email=f"{first}.{last}@acme.test",
                email_verified=True,
                name=f"{first.title()} {last.title()}",
                given_name=first.title(),
                family_name=last.title(),
                status="disabled" if (i * 7) % 23 == 0 else "active",
                created_at=now - i * 4111,
                updated_at=now - i * 4111,
            )
            for i, (first, last) in enumerate((f, n) for f in FIRST_NAMES for n in LAST_NAMES)
        ]
        inserted = k.storage.add_users_bulk(tenant.id, members)
        assert len(inserted) == 300
        other = k.tenants.create(f"other{uuid.uuid4().hex[:6]}", "Other Corp", brand_color="#b45309")
        platform = k.storage.tenant_by_name(settings.admin.platform_tenant) or k.tenants.create(
            settings.admin.platform_tenant, "Keystead Platform", brand_color="#4338ca"
        )
        k.users.create(platform.id, "root", password=ADMIN_PASSWORD, name="Platform Root", roles=[ADMIN_ROLE])
        yield Seeded(server, other.name, platform.name)
    finally:
        k.close()


def _expect(locator: Any) -> Any:
    from playwright.sync_api import expect  # imported late: the browser tier skips without Playwright

    return expect(locator)


def _shot(page: Any, shots: Path, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(shots / f"console-{name}.png"), full_page=full_page)


def _sign_in(
    page: Any,
    seeded: Seeded,
    username: str = ADMIN,
    password: str = ADMIN_PASSWORD,
    *,
    console: str | None = None,
) -> Any:
    response = page.goto(f"{console or seeded.console}/")
    assert page.get_by_role("heading", name="Sign in").is_visible()
    page.get_by_label("Email or username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in", exact=True).click()
    return navigation.value or response


def _nav(page: Any, section: str) -> None:
    with page.expect_navigation():
        page.get_by_role("navigation", name="Console sections").get_by_role("link", name=section).click()


def _errors(messages: list[str]) -> list[str]:
    return [
        m for m in messages if CSP_MARKER in m or "Content Security Policy" in m or m.startswith("pageerror")
    ]


def test_an_admin_manages_clients_and_users_end_to_end(
    context: Any, seeded: Seeded, shots: Path, browser: Any
) -> None:
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))

    # sign in through Keystead's own login page; land on the users list
    page.goto(f"{seeded.console}/")
    _shot(page, shots, "signin")
    _sign_in(page, seeded)
    assert page.url == f"{seeded.tenant_console}/users"
    assert page.get_by_role("heading", name="Users", exact=True).is_visible()
    assert page.locator("#users-table tbody tr").count() == 25
    assert page.locator("#next-page").is_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "ks_console")
    assert cookie["httpOnly"] and cookie["path"] == f"/t/{seeded.server.tenant}/console"
    assert cookie["sameSite"] == "Lax"
    _shot(page, shots, "users")

    # create a confidential client: the secret is shown once, not after a reload
    _nav(page, "Clients")
    assert page.get_by_role("heading", name="Clients", exact=True).is_visible()
    _shot(page, shots, "clients")
    page.get_by_role("link", name="New client").first.click()
    page.get_by_label("Name", exact=True).fill("Billing portal")
    page.get_by_label("Redirect URIs", exact=True).fill("https://billing.acme.test/callback")
    _shot(page, shots, "client-new")
    with page.expect_navigation():
        page.get_by_role("button", name="Create client").click()
    secret = page.locator("#client-secret").inner_text().strip()
    assert len(secret) >= 40
    assert page.get_by_text("it is shown only once").is_visible()
    _shot(page, shots, "client-secret")
    page.reload()
    assert page.locator("#client-secret").count() == 0
    assert secret not in page.content()
    assert page.get_by_role("heading", name=re.compile("Billing portal")).is_visible()
    _shot(page, shots, "client")

    # create a user with a password
    _nav(page, "Users")
    page.get_by_role("link", name="New user").click()
    page.get_by_label("Username").fill("quinn.hughes")
    page.get_by_label("Email").fill("quinn@acme.test")
    page.get_by_label("Full name").fill("Quinn Hughes")
    page.get_by_label("Initial password").fill("violet staircase 42")
    _shot(page, shots, "user-new")
    with page.expect_navigation():
        page.get_by_role("button", name="Create user").click()
    assert page.get_by_text("User quinn.hughes was created.").is_visible()
    user_url = page.url

    # Quinn signs in elsewhere: not an admin, so the console refuses; the SSO session exists
    other = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    try:
        quinn = other.new_page()
        _sign_in(quinn, seeded, "quinn.hughes", "violet staircase 42")
        assert quinn.get_by_role("heading", name="This account cannot use the console").is_visible()
        assert not [c for c in other.cookies() if c["name"] == "ks_console"]
        _shot(quinn, shots, "refused")
    finally:
        other.close()

    # find Quinn by prefix among 300 users, searching as you type (htmx)
    _nav(page, "Users")
    search = page.get_by_role("searchbox", name="Search users")
    search.press_sequentially("qui", delay=40)
    page.wait_for_url(re.compile(r"q=qui"))
    _expect(page.locator("#users-table tbody tr")).to_have_count(1)
    assert page.get_by_role("link", name="quinn.hughes").is_visible()
    _shot(page, shots, "users-search")
    search.fill("")
    search.press_sequentially("farah", delay=30)
    page.wait_for_url(re.compile(r"q=farah"))
    _expect(page.locator("#users-table tbody tr")).to_have_count(10)
    assert page.get_by_role("link", name="farah.okafor").is_visible()
    search.fill("")
    search.press_sequentially("nobody-here", delay=20)
    page.locator("#users-empty").wait_for()
    _shot(page, shots, "users-empty")

    # Quinn's page: one live session; revoke all, then disable
    page.goto(user_url)
    assert page.locator("#sessions-table tbody tr").count() == 1
    _shot(page, shots, "user")
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke all sessions").click()
    assert page.locator("#no-sessions").is_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Disable user").click()
    assert page.locator("#user-status-badge").inner_text() == "Disabled"
    assert page.get_by_role("button", name="Enable user").is_visible()

    # delete needs the username typed
    page.get_by_role("link", name="Delete user…").click()
    _shot(page, shots, "user-delete")
    page.get_by_label(re.compile("to confirm")).fill("wrong")
    with page.expect_navigation():
        page.get_by_role("button", name="Delete user").click()
    assert page.locator("#confirm-error").is_visible()

    # keys (rotate), settings, audit log with a filter
    _nav(page, "Keys")
    before = page.locator("#keys-table tbody tr").count()
    with page.expect_navigation():
        page.get_by_role("button", name="Rotate keys").click()
    assert page.locator("#keys-table tbody tr").count() > before
    _shot(page, shots, "keys")
    _nav(page, "Settings")
    assert page.get_by_text(seeded.server.issuer, exact=True).is_visible()
    _shot(page, shots, "settings")
    _nav(page, "Audit log")
    actions = [t.strip() for t in page.locator(".kc-event .kc-badge").all_inner_texts()]
    for action in ("client.create", "user.create", "user.sessions.revoke", "user.update", "keys.rotate"):
        assert action in actions
    _shot(page, shots, "audit")
    page.get_by_label("Action").select_option("user.create")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert {t.strip() for t in page.locator(".kc-event .kc-badge").all_inner_texts()} == {"user.create"}

    # sign out: the console and the SSO session end
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", name="You have signed out").is_visible()
    assert not [c for c in context.cookies() if c["name"] in ("ks_console", "ks_session")]
    _shot(page, shots, "signed-out")
    assert _errors(messages) == []


def test_another_tenant_and_a_form_without_csrf_are_refused(
    context: Any, seeded: Seeded, shots: Path
) -> None:
    page = context.new_page()
    _sign_in(page, seeded)
    response = page.goto(f"{seeded.console}/tenants/{seeded.other_tenant}/users")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="You cannot manage this tenant").is_visible()
    _shot(page, shots, "forbidden-tenant")

    page.goto(f"{seeded.tenant_console}/users/new")
    page.get_by_label("Username").fill("no-csrf")
    page.evaluate("document.querySelector('main form input[name=csrf_token]').remove()")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Create user").click()
    assert navigation.value.status == 403
    assert page.get_by_role("heading", name="This form has expired").is_visible()
    _shot(page, shots, "csrf")
    page.goto(f"{seeded.tenant_console}/users?q=no-csrf")
    assert page.locator("#users-empty").is_visible()


def test_the_console_works_with_the_keyboard(context: Any, seeded: Seeded) -> None:
    page = context.new_page()
    _sign_in(page, seeded)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "kc-skip"
    assert page.locator(".kc-skip").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "user-search":
            break
    else:
        pytest.fail("Tab never reached the search field")
    page.keyboard.type("ada mor")
    _expect(page.locator("#users-table tbody tr")).to_have_count(1)
    page.keyboard.press("Tab")  # the status filter
    page.keyboard.press("Tab")  # the search button
    page.keyboard.press("Tab")  # the first result
    assert page.evaluate("document.activeElement.textContent") == "ada.moreau"
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name=re.compile("Ada Moreau")).is_visible()


def test_the_console_fits_a_phone(browser: Any, seeded: Seeded, shots: Path) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", is_mobile=True)
    try:
        page = phone.new_page()
        _sign_in(page, seeded)
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        assert page.locator("#users-table tbody tr").first.is_visible()
        _shot(page, shots, "mobile-users", full_page=False)
        page.get_by_role("link", name="ada.brennan", exact=True).click()
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        _shot(page, shots, "mobile-user", full_page=False)
        _nav(page, "Audit log")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        _shot(page, shots, "mobile-audit", full_page=False)
    finally:
        phone.close()


def test_a_platform_admin_switches_tenants(context: Any, seeded: Seeded, shots: Path) -> None:
    page = context.new_page()
    home = f"{seeded.server.base_url}/t/{seeded.platform_tenant}/console"
    _sign_in(page, seeded, "root", console=home)
    assert page.url == f"{home}/tenants/{seeded.platform_tenant}/users"
    switch = page.get_by_label("Tenant")
    assert page.locator(".kc-switch__go").is_hidden()  # console.js submits on change
    with page.expect_navigation():
        switch.select_option(seeded.server.tenant)
    assert page.url == f"{home}/tenants/{seeded.server.tenant}/users"
    assert page.get_by_text("as a platform administrator").is_visible()
    assert page.locator("#users-table tbody tr").count() == 25
    _shot(page, shots, "platform-switcher")
    with page.expect_navigation():
        page.get_by_label("Tenant").select_option(seeded.other_tenant)
    assert page.locator("#users-empty").is_visible()  # Other Corp has no users: the empty state
    _shot(page, shots, "platform-empty-tenant")


def test_the_essential_actions_work_without_javascript(browser: Any, seeded: Seeded) -> None:
    plain = browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="en-US", java_script_enabled=False
    )
    plain.set_default_timeout(10_000)
    try:
        page = plain.new_page()
        _sign_in(page, seeded)
        page.get_by_role("searchbox", name="Search users").fill("priya")
        with page.expect_navigation():
            page.get_by_role("button", name="Search", exact=True).click()
        assert "q=priya" in page.url
        assert page.locator("#users-table tbody tr").count() == 10
        with page.expect_navigation():
            page.get_by_role("link", name="priya.silva").click()
        with page.expect_navigation():
            page.get_by_role("button", name="Disable user").click()
        assert page.locator("#user-status-badge").inner_text() == "Disabled"
        with page.expect_navigation():
            page.get_by_role("button", name="Enable user").click()
        assert page.locator("#user-status-badge").inner_text() == "Active"
        page.goto(f"{seeded.console}/tenants/{seeded.server.tenant}/keys")
        assert page.get_by_role("button", name="Rotate keys").is_visible()
    finally:
        plain.close()
