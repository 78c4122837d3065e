"""The account page in a real browser: alice signs in through her tenant's login, adds a passkey
with Chromium's virtual authenticator (CDP), names and renames it, removes it, and the page fits
a phone. Screenshots go to test-artifacts/screenshots (the docs' copies,
docs/screenshots/passkey-account*.png, are refreshed by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_browser_login import CSP_LISTENER, CSP_MARKER
from tests.e2e.test_mfa import _password, _shot
from tests.e2e.test_passkeys import AUTOFILL_SWITCH, _virtual_authenticator
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e


def test_manage_passkeys_on_the_account_page(context: Any, server: LiveServer, shots: Path) -> None:
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if CSP_MARKER in m.text else None)
    page.add_init_script(CSP_LISTENER)
    page.add_init_script(AUTOFILL_SWITCH)
    cdp, authenticator = _virtual_authenticator(context, page)

    page.goto(f"{server.issuer}/account")
    _password(page, server)  # the tenant's own login page, then back to the account page
    page.wait_for_url(f"{server.issuer}/account")
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert page.get_by_text("No passkeys yet.").is_visible()

    # add one, with a name
    page.get_by_label("Name for the new passkey (optional)").fill("This laptop")
    with page.expect_navigation():
        page.get_by_role("button", name="Add a passkey").click()
    assert page.get_by_role("status").filter(has_text="Passkey added").is_visible()
    assert page.locator("#passkeys .ks-factor__name").get_by_text("This laptop").is_visible()
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["isResidentCredential"] is True

    # rename it
    page.locator("#passkeys summary").first.click()
    page.get_by_label("New name").fill("Work laptop")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert page.locator("#passkeys .ks-factor__name").get_by_text("Work laptop").is_visible()
    _shot(page, shots, "passkey-account")

    # a phone-sized viewport: no horizontal scroll
    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, shots, "passkey-account-mobile")
    page.set_viewport_size({"width": 1280, "height": 860})

    # remove it
    with page.expect_navigation():
        page.get_by_role("button", name="Remove Work laptop").click()
    assert page.get_by_text("No passkeys yet.").is_visible()
    assert not violations, violations
