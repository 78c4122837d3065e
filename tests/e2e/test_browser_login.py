"""The hosted pages in a real browser: sign-in and consent to the client's redirect URI, keyboard
use, a phone-sized viewport, the Content-Security-Policy, and RP-initiated logout.

The client's redirect URI (127.0.0.1 on a port nothing listens on) is intercepted through the
DevTools Fetch domain and answered with a tiny callback page (see ``_intercept_client``). Screenshots go to
``test-artifacts/screenshots``."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e

BRAND_RGB = "rgb(15, 118, 110)"  # the live tenant's brand_color #0f766e
CALLBACK_HTML = "<!doctype html><meta charset=utf-8><title>callback</title><h1>callback</h1>"
CSP_MARKER = "CSP-VIOLATION"
CSP_LISTENER = (
    "document.addEventListener('securitypolicyviolation', e => console.error("
    f"'{CSP_MARKER} ' + e.violatedDirective + ' ' + e.blockedURI));"
)


# helpers
def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize_url(server: LiveServer, *, client_id: str | None = None, **params: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id or server.client_id,
        "redirect_uri": server.redirect_uri,
        "scope": "openid",
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        **params,
    }
    return f"{server.issuer}/authorize?{urlencode(query)}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _intercept_client(page: Any, server: LiveServer) -> list[str]:
    """Answer every request to the client's origin with the callback page; return the documents hit.

    ``page.route`` cannot do this: Playwright never routes a redirect hop (its Chromium network
    manager continues any request with ``redirectedFrom``), and the server reaches the redirect
    URI with a 303. The Chrome DevTools Fetch domain does pause redirect hops, so the browser
    really follows the server's 303 and lands on the redirect URI."""
    hits: list[str] = []
    cdp = page.context.new_cdp_session(page)

    def fulfil(event: dict[str, Any]) -> None:
        if event.get("resourceType") == "Document":
            hits.append(event["request"]["url"])
        cdp.send(
            "Fetch.fulfillRequest",
            {
                "requestId": event["requestId"],
                "responseCode": 200,
                "responseHeaders": [{"name": "Content-Type", "value": "text/html; charset=utf-8"}],
                "body": base64.b64encode(CALLBACK_HTML.encode()).decode(),
            },
        )

    cdp.on("Fetch.requestPaused", fulfil)
    cdp.send("Fetch.enable", {"patterns": [{"urlPattern": f"{_origin(server.redirect_uri)}/*"}]})
    return hits


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _at_client(server: LiveServer) -> re.Pattern[str]:
    return re.compile(re.escape(_origin(server.redirect_uri)) + "/")


def _sign_in(page: Any, server: LiveServer, url: str) -> None:
    """Log in with the mouse, allow consent if the page asks, and wait for the client's redirect URI."""
    page.goto(url)
    page.get_by_label("Email or username").fill(server.username)
    page.get_by_label("Password").fill(server.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    if not _at_client(server).match(page.url):
        with page.expect_navigation():
            page.get_by_role("button", name="Allow").click()
    page.wait_for_url(_at_client(server))


def _token_endpoint(server: LiveServer) -> str:
    meta = httpx.get(f"{server.issuer}/.well-known/openid-configuration", timeout=10).json()
    return str(meta["token_endpoint"])


def _shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


# 1. the whole code flow, with a screenshot of every hosted page
def test_sign_in_and_consent_reach_the_redirect_uri_and_the_code_redeems(
    context: Any, server: LiveServer, shots: Path
) -> None:
    page = context.new_page()
    hits = _intercept_client(page, server)
    verifier, challenge = _pkce()
    state, nonce = "st-" + secrets.token_urlsafe(8), "n-" + secrets.token_urlsafe(8)
    page.goto(
        _authorize_url(
            server,
            scope="openid profile email",
            state=state,
            nonce=nonce,
            code_challenge=challenge,
            code_challenge_method="S256",
        )
    )

    # login page, branded
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert page.get_by_text("Conformance RP").is_visible()
    assert page.title().endswith("Acme Corp")
    sign_in = page.get_by_role("button", name="Sign in", exact=True)
    assert sign_in.evaluate("b => getComputedStyle(b).backgroundColor") == BRAND_RGB
    _shot(page, shots, "login")

    # wrong password: a generic error, the username kept, the fields flagged
    page.get_by_label("Email or username").fill(server.username)
    page.get_by_label("Password").fill("not the password")
    with page.expect_navigation():
        sign_in.click()
    alert = page.get_by_role("alert")
    assert alert.inner_text().strip() == "The username or password is incorrect."
    assert page.get_by_label("Email or username").input_value() == server.username
    assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "password"  # the field left to fill
    _shot(page, shots, "login-error")

    # right password: the consent page
    page.get_by_label("Password").fill(server.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert page.get_by_role("heading", name=re.compile("Conformance RP wants to access")).is_visible()
    assert page.get_by_text("Signed in as").is_visible()
    for description in ("Sign you in with your account", "Your name and basic profile", "Your email address"):
        assert page.get_by_text(description).is_visible()
    _shot(page, shots, "consent")

    with page.expect_navigation():
        page.get_by_role("button", name="Allow").click()
    page.wait_for_url(_at_client(server))
    assert page.get_by_role("heading", name="callback").is_visible()
    assert len(hits) == 1
    params = _query(page.url)
    assert page.url.startswith(server.redirect_uri + "?")
    assert set(params) >= {"code", "state", "iss"}
    assert params["state"] == state
    assert params["iss"] == server.issuer

    # the code redeems at the token endpoint (client_secret_basic, RFC 6749 section 2.3.1)
    token = httpx.post(
        _token_endpoint(server),
        auth=(quote(server.client_id, safe=""), quote(server.client_secret, safe="")),
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": server.redirect_uri,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"].lower() == "bearer"
    assert body["access_token"]
    jwks = KeySet.import_key_set(httpx.get(f"{server.issuer}/jwks", timeout=10).json())
    claims = jwt.decode(body["id_token"], jwks, algorithms=["RS256"]).claims
    assert claims["iss"] == server.issuer
    assert claims["aud"] in (server.client_id, [server.client_id])
    assert claims["nonce"] == nonce

    # the logout confirmation and the signed-out page (no client, so no redirect)
    page.goto(f"{server.issuer}/logout")
    assert page.get_by_role("heading", name="Sign out of Acme Corp?").is_visible()
    _shot(page, shots, "logout")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", name="You have been signed out.").is_visible()
    assert not [c for c in context.cookies() if c["name"] == "ks_session"]
    _shot(page, shots, "logged-out")

    # an error page: an unknown client is never redirected to
    response = page.goto(_authorize_url(server, client_id="no-such-client"))
    assert response is not None
    assert response.status == 400
    assert page.get_by_role("heading").first.inner_text().strip()
    assert page.locator(".ks-support code").first.inner_text() in ("invalid_request", "invalid_client")
    _shot(page, shots, "error")


# 2. keyboard only
def test_login_and_consent_work_with_the_keyboard_alone(context: Any, server: LiveServer) -> None:
    page = context.new_page()
    _intercept_client(page, server)
    _, challenge = _pkce()
    page.goto(
        _authorize_url(
            server,
            client_id=server.public_client_id,
            scope="openid address",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
    )
    username, password = page.get_by_label("Email or username"), page.get_by_label("Password")
    assert username.get_attribute("id") == "username"
    assert password.get_attribute("type") == "password"
    assert username.get_attribute("autocomplete") == "username webauthn"  # passkeys in the autofill
    assert password.get_attribute("autocomplete") == "current-password"

    # the username field has focus on load; Tab moves to the password, Enter submits
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type(server.username)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(server.password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name=re.compile("wants to access")).is_visible()

    # consent: Tab reaches "Allow" with a visible focus ring, Enter allows
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "allow":
            break
    else:
        pytest.fail("Tab never reached the Allow button")
    ring = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()"
    )
    assert ring[0] != "none" or ring[2] != "none", ring
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(_at_client(server))
    assert "code" in _query(page.url)


# 3. a phone-sized viewport
def test_login_page_fits_a_phone_without_horizontal_scroll(
    browser: Any, server: LiveServer, shots: Path
) -> None:
    ctx = browser.new_context(
        viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        page = ctx.new_page()
        page.goto(_authorize_url(server))
        assert page.get_by_role("button", name="Sign in", exact=True).is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.get_by_role("button", name="Sign in", exact=True).bounding_box()
        assert box is not None
        assert box["height"] >= 44  # a comfortable touch target
        _shot(page, shots, "login-mobile")

        page.goto(_authorize_url(server, client_id="no-such-client"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        ctx.close()


# 4. Content-Security-Policy
def test_login_and_consent_pages_send_a_csp_and_violate_none(context: Any, server: LiveServer) -> None:
    page = context.new_page()
    context.add_init_script(CSP_LISTENER)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    documents: list[Any] = []
    page.on("response", lambda r: documents.append(r) if r.request.resource_type == "document" else None)
    _intercept_client(page, server)

    page.goto(_authorize_url(server, scope="openid phone"))
    page.get_by_label("Email or username").fill(server.username)
    page.get_by_label("Password").fill(server.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert page.get_by_role("button", name="Allow").is_visible()
    # both stylesheets applied: the base CSS and the tenant's branding.css
    assert page.evaluate("document.styleSheets.length") == 2
    assert (
        page.get_by_role("button", name="Allow").evaluate("b => getComputedStyle(b).backgroundColor")
        == BRAND_RGB
    )

    ours = [r for r in documents if r.url.startswith(server.base_url)]
    assert len(ours) >= 2  # login GET, consent (the login POST's answer)
    for response in ours:
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp, response.url
        assert "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert response.headers.get("x-content-type-options") == "nosniff"
    violations = [m for m in console if CSP_MARKER in m or "Content Security Policy" in m]
    assert violations == []
    assert [m for m in console if m.startswith(("error", "pageerror"))] == []
    assert [u for u in failed if u.startswith(server.base_url)] == []


# 5. RP-initiated logout, then prompt=none
def test_rp_initiated_logout_returns_to_the_client_and_ends_the_session(
    context: Any, server: LiveServer, shots: Path
) -> None:
    page = context.new_page()
    hits = _intercept_client(page, server)
    _sign_in(page, server, _authorize_url(server))
    assert any(c["name"] == "ks_session" for c in context.cookies())

    query = urlencode(
        {
            "client_id": server.client_id,
            "post_logout_redirect_uri": server.post_logout_redirect_uri,
            "state": "xyz",
        }
    )
    page.goto(f"{server.issuer}/logout?{query}")
    assert page.get_by_role("heading", name="Sign out of Acme Corp?").is_visible()
    assert page.get_by_text("Conformance RP asked to sign you out").is_visible()
    _shot(page, shots, "logout-rp")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(re.escape(server.post_logout_redirect_uri)))
    assert page.url.split("?")[0] == server.post_logout_redirect_uri
    assert _query(page.url) == {"state": "xyz"}
    assert not any(c["name"] == "ks_session" for c in context.cookies())

    # the session is gone: prompt=none cannot sign in silently
    before = len(hits)
    page.goto(_authorize_url(server, prompt="none", state="silent"))
    page.wait_for_url(_at_client(server))
    assert len(hits) == before + 1
    params = _query(page.url)
    assert params["error"] == "login_required"
    assert params["state"] == "silent"
    assert params["iss"] == server.issuer
    assert "code" not in params
