"""Signing in by email in a real browser, against a live server whose mail goes over SMTP to an
aiosmtpd sink: the login page offers it, the address form answers "if an account exists", the
sign-in link opened in another browser explains itself and spends nothing, opened in the same
browser signs in; a second sign-in types the code instead. Screenshots go to
test-artifacts/screenshots (the docs' copies, docs/screenshots/email-*.png, are refreshed by hand)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keystead.config import load_settings
from keystead.wiring import build
from tests.e2e.test_browser_login import (
    CSP_LISTENER,
    CSP_MARKER,
    _at_client,
    _authorize_url,
    _intercept_client,
    _pkce,
)
from tests.e2e.test_mfa import ACR_MFA, _claims, _password, _shot
from tests.support.live_server import LiveServer, live_server
from tests.support.mail import Sink, code_in, html_of, link_in, smtp_sink

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: Sink) -> Iterator[LiveServer]:
    before = os.environ.get("KEYSTEAD_SMTP_URL")
    os.environ["KEYSTEAD_SMTP_URL"] = sink.url
    try:
        with live_server(tmp_path_factory.mktemp("e2e-email"), host="localhost") as s:
            k = build(load_settings(database={"url": s.env["KEYSTEAD_DATABASE__URL"]}))
            try:  # before the server's first request for this tenant (its caches are empty)
                tenant = k.storage.tenant_by_name(s.tenant)
                assert tenant is not None
                version = k.tenant_settings.read(tenant.id).version
                methods = ["password", "email_code", "email_link"]
                changes = {"login_methods": methods, "email": {"second_factor": True}}
                k.tenant_settings.update(tenant.id, changes, expected_version=version)
            finally:
                k.close()
            yield s
    finally:
        if before is None:
            os.environ.pop("KEYSTEAD_SMTP_URL", None)
        else:
            os.environ["KEYSTEAD_SMTP_URL"] = before


def _ask_by_email(page: Any, shots: Path | None = None) -> None:
    with page.expect_navigation():
        page.get_by_role("link", name="Email me a sign-in link").click()
    assert page.get_by_role("heading", name="Sign in with email").is_visible()
    page.get_by_label("Email address").fill("alice@example.com")
    with page.expect_navigation():
        page.get_by_role("button", name="Email me a sign-in link").click()
    assert page.get_by_role("heading", name="Check your email").is_visible()
    if shots is not None:
        _shot(page, shots, "email-check")


def _finish(page: Any, server: LiveServer) -> None:
    if not _at_client(server).match(page.url):
        with page.expect_navigation():
            page.get_by_role("button", name="Allow").click()
    page.wait_for_url(_at_client(server))


def test_sign_in_by_email_link_then_by_code(
    browser: Any, context: Any, server: LiveServer, sink: Sink, shots: Path
):
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if CSP_MARKER in m.text else None)
    page.add_init_script(CSP_LISTENER)
    _intercept_client(page, server)

    # 1. the login page offers email; alice asks for a link
    verifier, challenge = _pkce()
    page.goto(_authorize_url(server, code_challenge=challenge, code_challenge_method="S256"))
    assert page.get_by_role("link", name="Email me a sign-in link").is_visible()
    _shot(page, shots, "email-login")
    _ask_by_email(page, shots)
    (mail,) = sink.wait(1)
    assert mail["To"] == "alice@example.com"
    link = link_in(mail)

    # the message itself, as a mail client would show its HTML part
    preview = context.new_page()
    preview.set_content(html_of(mail))
    _shot(preview, shots, "email-message")
    preview.close()

    # 2. opened in another browser: explained, nothing spent
    other = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    try:
        elsewhere = other.new_page()
        elsewhere.goto(link)
        assert "only in the browser where you started signing in" in elsewhere.content()
        _shot(elsewhere, shots, "email-link-elsewhere")
    finally:
        other.close()

    # 3. opened where the sign-in started: signed in, one factor
    page.goto(link)
    _finish(page, server)
    claims = _claims(server, page.url, verifier)
    assert claims["amr"] == ["otp"]

    # 4. a fresh browser types the code from the mail instead
    fresh = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    try:
        second = fresh.new_page()
        _intercept_client(second, server)
        verifier, challenge = _pkce()
        second.goto(_authorize_url(server, code_challenge=challenge, code_challenge_method="S256"))
        _ask_by_email(second)
        code = code_in(sink.wait(2)[1])
        field = second.get_by_label("Code from the email")
        assert field.get_attribute("autocomplete") == "one-time-code"
        field.fill(code)
        _shot(second, shots, "email-code")
        with second.expect_navigation():
            second.get_by_role("button", name="Sign in").click()
        _finish(second, server)
        assert _claims(server, second.url, verifier)["amr"] == ["otp"]
    finally:
        fresh.close()
    assert not violations, violations


def test_a_mailed_code_as_the_second_factor(context: Any, server: LiveServer, sink: Sink, shots: Path):
    page = context.new_page()
    _intercept_client(page, server)
    sent = len(sink.messages)
    verifier, challenge = _pkce()
    url = _authorize_url(server, acr_values=ACR_MFA, code_challenge=challenge, code_challenge_method="S256")
    page.goto(url)
    _password(page, server)
    assert page.get_by_role("heading", name="Two-step verification").is_visible()
    assert page.locator("#email-address").inner_text() == "a•••@example.com"
    code = code_in(sink.wait(sent + 1)[-1])
    page.get_by_label("Code from the email").fill(code)
    _shot(page, shots, "email-second-factor")
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    _finish(page, server)
    claims = _claims(server, page.url, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]
