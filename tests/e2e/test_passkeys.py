"""Passkeys in a real browser: Chromium's virtual WebAuthn authenticator (Chrome DevTools
Protocol: ``WebAuthn.enable``, ``addVirtualAuthenticator``; CTAP2, internal, resident keys, user
verification) against a live server on ``localhost`` (WebAuthn refuses IP addresses). The client
asks for two-step verification; alice adds a passkey instead of an authenticator app, signs out,
signs in with the passkey alone, and later uses it as the second factor after her password.
Screenshots go to test-artifacts/screenshots (the docs' copies, docs/screenshots/passkey-*.png,
are refreshed by hand)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_browser_login import (
    CSP_LISTENER,
    CSP_MARKER,
    _at_client,
    _authorize_url,
    _intercept_client,
    _pkce,
)
from tests.e2e.test_mfa import ACR_MFA, _claims, _password, _shot
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e

NO_AUTOFILL = "keystead-test-no-passkey-autofill"
#: Makes the page believe the browser has no passkey autofill (conditional mediation) when the
#: test sets NO_AUTOFILL in localStorage: the button path then runs without the autofill one.
AUTOFILL_SWITCH = (
    f"if (window.PublicKeyCredential && localStorage.getItem('{NO_AUTOFILL}')) "
    "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);"
)


def _virtual_authenticator(context: Any, page: Any) -> tuple[Any, str]:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, str(added["authenticatorId"])


def _finish(page: Any, server: LiveServer) -> None:
    if not _at_client(server).match(page.url):
        with page.expect_navigation():
            page.get_by_role("button", name="Allow").click()
    page.wait_for_url(_at_client(server))


def _sign_out(page: Any, context: Any, server: LiveServer) -> None:
    page.goto(f"{server.issuer}/logout")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert not [c for c in context.cookies() if c["name"] == "ks_session"]


def test_add_a_passkey_then_sign_in_passwordless_and_as_second_factor(
    context: Any, server: LiveServer, shots: Path
) -> None:
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if CSP_MARKER in m.text else None)
    page.add_init_script(CSP_LISTENER)
    page.add_init_script(AUTOFILL_SWITCH)
    _intercept_client(page, server)
    cdp, authenticator = _virtual_authenticator(context, page)

    # 1. the client asks for two-step verification: alice adds a passkey instead of an app
    verifier, challenge = _pkce()
    page.goto(
        _authorize_url(server, acr_values=ACR_MFA, code_challenge=challenge, code_challenge_method="S256")
    )
    _password(page, server)
    assert page.get_by_role("heading", name="Set up two-step verification").is_visible()
    add = page.get_by_role("button", name="Add a passkey instead")
    assert add.is_visible()
    _shot(page, shots, "passkey-enrol")
    with page.expect_navigation():
        add.click()
    _finish(page, server)
    claims = _claims(server, page.url, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "hwk", "user", "mfa"]
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["isResidentCredential"] is True and credential["rpId"] == "localhost"
    assert credential["signCount"] == 1

    # 2. sign out; the login page's conditional request (autofill) finds the passkey: Chromium's
    # virtual authenticator answers it at once, where a person would pick it in the username list
    _sign_out(page, context, server)
    verifier, challenge = _pkce()
    page.goto(_authorize_url(server, code_challenge=challenge, code_challenge_method="S256"))
    page.wait_for_url(_at_client(server))  # consent was given in step 1
    claims = _claims(server, page.url, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["hwk", "user", "mfa"]

    # 3. in a browser without autofill for passkeys, the button does it
    _sign_out(page, context, server)
    page.evaluate(f"localStorage.setItem('{NO_AUTOFILL}', '1')")
    verifier, challenge = _pkce()
    page.goto(_authorize_url(server, code_challenge=challenge, code_challenge_method="S256"))
    username = page.get_by_label("Email or username")
    assert username.get_attribute("autocomplete") == "username webauthn"
    button = page.get_by_role("button", name="Sign in with a passkey")
    button.wait_for(state="visible")
    _shot(page, shots, "passkey-login")
    with page.expect_navigation():
        button.click()
    _finish(page, server)
    claims = _claims(server, page.url, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["hwk", "user", "mfa"]

    # 4. a password sign-in asks for the second factor: the passkey answers it
    _sign_out(page, context, server)
    verifier, challenge = _pkce()
    page.goto(
        _authorize_url(
            server, code_challenge=challenge, code_challenge_method="S256", state=secrets.token_urlsafe(8)
        )
    )
    _password(page, server)
    assert page.get_by_role("heading", name="Two-step verification").is_visible()
    use = page.get_by_role("button", name="Use a passkey")
    use.wait_for(state="visible")
    _shot(page, shots, "passkey-second-factor")
    with page.expect_navigation():
        use.click()
    _finish(page, server)
    claims = _claims(server, page.url, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "hwk", "user", "mfa"]
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["signCount"] == 4
    assert not violations, violations


def test_a_cancelled_passkey_request_says_so_and_the_password_still_works(
    context: Any, server: LiveServer
) -> None:
    page = context.new_page()
    _intercept_client(page, server)
    cdp, authenticator = _virtual_authenticator(context, page)
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False})
    page.goto(_authorize_url(server))
    page.get_by_role("button", name="Sign in with a passkey").click()  # no passkey on this device
    status = page.locator("#passkey-status")
    status.wait_for(state="visible")
    assert "not used" in status.inner_text()
    _password(page, server)
    assert "/interaction/" in page.url or _at_client(server).match(page.url)
