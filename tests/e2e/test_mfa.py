"""Two-step verification in a real browser: asked for by the client (``acr_values``), the user
sets up an authenticator app (QR code image, manual key, code), signs out, and signs in again
with the password and a code. Codes are computed with pyotp from the manual key. Screenshots go
to test-artifacts/screenshots (the docs' copies, docs/screenshots/mfa-*.png, are refreshed by hand)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pyotp
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.test_browser_login import (
    CSP_LISTENER,
    CSP_MARKER,
    _at_client,
    _authorize_url,
    _intercept_client,
    _pkce,
    _query,
    _token_endpoint,
)
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e

ACR_MFA = "urn:keystead:acr:mfa"


def _shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def _password(page: Any, server: LiveServer) -> None:
    page.get_by_label("Email or username").fill(server.username)
    page.get_by_label("Password").fill(server.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()


def _claims(server: LiveServer, url: str, verifier: str) -> dict[str, Any]:
    token = httpx.post(
        _token_endpoint(server),
        auth=(quote(server.client_id, safe=""), quote(server.client_secret, safe="")),
        data={
            "grant_type": "authorization_code",
            "code": _query(url)["code"],
            "redirect_uri": server.redirect_uri,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    jwks = KeySet.import_key_set(httpx.get(f"{server.issuer}/jwks", timeout=10).json())
    return dict(jwt.decode(token.json()["id_token"], jwks, algorithms=["RS256"]).claims)


def test_enrol_an_authenticator_then_sign_in_with_password_and_code(
    context: Any, server: LiveServer, shots: Path
) -> None:
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if CSP_MARKER in m.text else None)
    page.add_init_script(CSP_LISTENER)
    _intercept_client(page, server)

    # 1. the client asks for two-step verification; alice has none: she sets it up
    verifier, challenge = _pkce()
    page.goto(
        _authorize_url(server, acr_values=ACR_MFA, code_challenge=challenge, code_challenge_method="S256")
    )
    _password(page, server)
    assert page.get_by_role("heading", name="Set up two-step verification").is_visible()
    qr = page.locator("#totp-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the image URL loads
    assert qr.get_attribute("src").endswith("/totp.svg")
    _shot(page, shots, "mfa-enrol")
    totp = pyotp.TOTP(page.locator("#manual-key").inner_text().replace(" ", ""))

    page.get_by_label("Then enter the 6-digit code the app shows").fill("000000")
    with page.expect_navigation():
        page.get_by_role("button", name="Verify and continue").click()
    assert (
        page.get_by_role("alert").inner_text().strip()
        == "That code is not valid. Check the code and try again."
    )
    _shot(page, shots, "mfa-enrol-error")
    page.get_by_label("Then enter the 6-digit code the app shows").fill(totp.now())
    with page.expect_navigation():
        page.get_by_role("button", name="Verify and continue").click()
    # the recovery codes, shown once
    assert page.get_by_role("heading", name="Save your recovery codes").is_visible()
    assert page.locator("#recovery-codes code").count() == 10
    assert page.get_by_role("link", name="Download").get_attribute("download") == "recovery-codes.txt"
    _shot(page, shots, "mfa-recovery-codes")
    with page.expect_navigation():
        page.get_by_role("button", name="I have saved them").click()
    if not _at_client(server).match(page.url):
        with page.expect_navigation():
            page.get_by_role("button", name="Allow").click()
    page.wait_for_url(_at_client(server))
    claims = _claims(server, page.url, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]

    # 2. sign out
    page.goto(f"{server.issuer}/logout")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert not [c for c in context.cookies() if c["name"] == "ks_session"]

    # 3. sign in again: the password, then a code (the next step's: the enrolment used this one)
    verifier, challenge = _pkce()
    page.goto(_authorize_url(server, code_challenge=challenge, code_challenge_method="S256"))
    _password(page, server)
    assert page.get_by_role("heading", name="Two-step verification").is_visible()
    code = page.get_by_label("Authentication code")
    assert code.get_attribute("autocomplete") == "one-time-code"
    assert code.get_attribute("inputmode") == "numeric"
    assert page.evaluate("document.activeElement.id") == "code"
    _shot(page, shots, "mfa-code")
    code.fill(totp.at(time.time() + 30))
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url(_at_client(server))
    claims = _claims(server, page.url, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]

    # the recovery-code page is one link away
    page.goto(_authorize_url(server, prompt="login", state=secrets.token_urlsafe(8)))
    _password(page, server)
    with page.expect_navigation():
        page.get_by_role("link", name="Use a recovery code").click()
    assert page.get_by_label("Recovery code").is_visible()
    _shot(page, shots, "mfa-recovery")
    assert not violations, violations
