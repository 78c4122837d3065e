"""examples/flask_webapp.py, run for real (a subprocess) against a live Keystead: a user signs in
through Keystead's pages and the app greets them by name, then signs out through Keystead."""

from __future__ import annotations

import html
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keystead.config import load_settings
from keystead.wiring import build
from tests.support.live_server import LiveServer, _wait, free_port, live_server

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def app_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, app_url: str) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("flask"), redirect_uri=f"{app_url}/callback") as server:
        yield server


@pytest.fixture(scope="module")
def webapp(live: LiveServer, app_url: str) -> Iterator[str]:
    k = build(
        load_settings(
            database={"url": live.env["KEYSTEAD_DATABASE__URL"]},
            server={"base_url": live.base_url},
            passwords={"memory_kib": 8192, "time_cost": 1},
        )
    )
    try:
        tenant = k.tenants.get(live.tenant)
        rp = k.clients.create(
            tenant.id,
            "Acme Web",
            redirect_uris=[f"{app_url}/callback"],
            post_logout_redirect_uris=[f"{app_url}/"],
            scopes=["openid", "profile", "email"],
        )
    finally:
        k.close()
    port = app_url.rsplit(":", 1)[1]
    env = dict(
        os.environ,
        KEYSTEAD_ISSUER=live.issuer,
        CLIENT_ID=rp.client.client_id,
        CLIENT_SECRET=rp.secret or "",
        APP_URL=app_url,
        SECRET_KEY=secrets.token_hex(),
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "examples.flask_webapp", "run", "--port", port],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(f"{app_url}/", proc)
        yield app_url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _submit(browser: httpx.Client, page: httpx.Response, fields: dict[str, str]) -> httpx.Response:
    """Submit the page's (first) form as a browser would: its hidden inputs plus ``fields``."""
    form = re.search(r"<form\b.*?</form>", page.text, re.S)  # not the login page's passkey form
    assert form is not None, page.text[:300]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))
    action = re.search(r'action="([^"]+)"', form.group(0))
    assert "csrf_token" in hidden and action, page.text[:300]
    data = {k: html.unescape(v) for k, v in hidden.items()} | fields
    return browser.post(str(page.url.join(html.unescape(action.group(1)))), data=data)


def test_a_user_signs_in_to_the_example_app_and_out_again(live, webapp):
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        login_page = browser.get(f"{webapp}/login")
        assert 'id="login-form"' in login_page.text
        consent = _submit(browser, login_page, {"username": live.username, "password": live.password})
        assert 'id="consent-form"' in consent.text
        home = _submit(browser, consent, {"decision": "allow"})

        assert home.url == httpx.URL(f"{webapp}/")
        assert "Hello Alice Liddell" in home.text
        assert "alice@example.com" in home.text

        confirm = browser.get(f"{webapp}/logout")
        assert 'id="logout-form"' in confirm.text
        back = _submit(browser, confirm, {"decision": "logout"})
        assert back.url == httpx.URL(f"{webapp}/"), back.text[-1500:]
        assert "Sign in with Keystead" in back.text


def test_a_forged_callback_is_refused(webapp):
    with httpx.Client(timeout=10) as browser:
        response = browser.get(f"{webapp}/callback?code=forged&state=forged")
    assert response.status_code >= 400
    assert "Hello" not in response.text
