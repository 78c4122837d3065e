"""The bot check's proof of work in a real browser: the login page's same-origin Web Worker
solves the challenge (SHA-256 in JavaScript), the form is sent with the solution, the server
verifies it and the sign-in reaches the client; no CSP violation. Screenshots go to
test-artifacts/screenshots (the docs' copy, docs/screenshots/bot-check-pow.png, by hand)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from keystead.config import load_settings
from keystead.wiring import build
from tests.e2e.test_browser_login import (
    CSP_LISTENER,
    CSP_MARKER,
    _at_client,
    _authorize_url,
    _intercept_client,
)
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e
DIFFICULTY = 16


@pytest.fixture(scope="module")
def bot_server(server: LiveServer) -> LiveServer:
    """The live server's tenant with the proof of work always on (seen once its caches expire)."""
    k = build(load_settings(database={"url": server.env["KEYSTEAD_DATABASE__URL"]}))
    try:
        tenant = k.tenants.get(server.tenant)
        version = k.tenant_settings.read(tenant.id).version
        k.tenant_settings.update(
            tenant.id, {"bot_check": {"mode": "always", "difficulty": DIFFICULTY}}, expected_version=version
        )
    finally:
        k.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        page = httpx.get(_authorize_url(server), follow_redirects=True, timeout=10)
        if "bot_pow_challenge" in page.text:
            return server
        time.sleep(0.5)
    raise AssertionError("the bot check setting did not take effect")


def test_the_browser_solves_the_proof_of_work_and_signs_in(context: Any, bot_server: LiveServer, shots: Path):
    server = bot_server
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if CSP_MARKER in m.text else None)
    page.add_init_script(CSP_LISTENER)
    _intercept_client(page, server)

    page.goto(_authorize_url(server))
    status = page.locator("#bot-check-status")
    page.wait_for_selector("#bot-check-status[data-solved='true']", timeout=30_000)
    assert status.inner_text() == "Security check complete."
    solution = page.locator("#bot-pow-solution").input_value()
    assert solution.isdigit()
    page.get_by_label("Email or username").fill(server.username)
    page.get_by_label("Password").fill(server.password)
    _shot(page, shots, "bot-check-pow")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    if not _at_client(server).match(page.url):
        with page.expect_navigation():
            page.get_by_role("button", name="Allow").click()
    page.wait_for_url(_at_client(server))
    assert "code=" in page.url
    assert not violations, violations


def test_a_form_sent_without_javascript_is_asked_again(context: Any, bot_server: LiveServer, shots: Path):
    server = bot_server
    page = context.new_page()
    page.route("**/static/bot-check.js", lambda route: route.abort())  # as if scripts were off
    page.goto(_authorize_url(server))
    page.get_by_label("Email or username").fill(server.username)
    page.get_by_label("Password").fill(server.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    alert = page.get_by_role("alert")
    assert "security check" in alert.inner_text()
    _shot(page, shots, "bot-check-refused")


def _shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
