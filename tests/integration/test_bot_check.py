"""The bot check on the hosted login page (services/bot_check.py, docs/bot-check.md): the
built-in proof of work, and Turnstile / hCaptcha verified against a local fake siteverify
server. A refused check shows the login form again with a message, checks no password and
counts nothing against the login or the address; the provider secret is write-only."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from keystead.config import Settings, load_settings
from keystead.services.proof_of_work import solve
from keystead.services.throttle import account_key
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow
from tests.support.stages import land, page_of, submit

SECRET = "0x4AAAAAAAtest-provider-secret"
SITE_KEY = "0x4AAAAAAAsitekey"
PASSED = "a-widget-token-that-passes"


@dataclass
class FakeSiteverify:
    delay: float = 0.0
    status: int = 200
    requests: list[dict[str, list[str]]] = field(default_factory=list)


@pytest.fixture
def siteverify() -> Iterator[tuple[FakeSiteverify, str]]:
    state = FakeSiteverify()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
            state.requests.append(form)
            if state.delay:
                time.sleep(state.delay)
            ok = form.get("secret") == [SECRET] and form.get("response") == [PASSED]
            body = json.dumps(
                {"success": ok, "error-codes": [] if ok else ["invalid-input-response"]}
            ).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/siteverify"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(db_url: str, siteverify: tuple[FakeSiteverify, str]) -> Settings:
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver"},
        bot_check={
            "turnstile_verify_url": siteverify[1],
            "hcaptcha_verify_url": siteverify[1],
            "timeout_seconds": 0.5,
        },
    )


@pytest.fixture
def env(client: httpx.Client, factory: Factory, keystead: Keystead):
    tenant = factory.tenant()
    factory.user(tenant, "alice")
    rp = factory.client(tenant, first_party=True)
    return tenant, rp, Flow(client, tenant.name)


def _bot(keystead: Keystead, tenant: Any, **bot: Any) -> None:
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(tenant.id, {"bot_check": bot}, expected_version=version)


def _login_page(flow: Flow, rp: Any) -> httpx.Response:
    page = land(flow.http, flow.start(flow.authorize_params(rp)))
    assert page_of(page) == "login"
    return page


def _challenge(page: httpx.Response) -> str:
    match = re.search(r'name="bot_pow_challenge" id="bot-pow-challenge" value="([^"]+)"', page.text)
    assert match is not None, page.text[:500]
    return match.group(1)


def _nothing_counted(keystead: Keystead, tenant: Any, login: str = "alice") -> None:
    assert keystead.login.limiter.state(account_key(tenant.id, login)).failures == 0
    assert keystead.login.limiter.ip_failures("testclient") == 0
    assert keystead.audit.page(tenant.id, action="signin.password.failed") == []
    assert keystead.audit.page(tenant.id, action="signin.password.succeeded") == []


# proof of work
def test_off_by_default_no_challenge(env):
    _tenant, rp, flow = env
    page = _login_page(flow, rp)
    assert "bot_pow_challenge" not in page.text and "bot-check.js" not in page.text


def test_a_solved_proof_of_work_lets_the_password_be_checked(env, keystead):
    tenant, rp, flow = env
    _bot(keystead, tenant, mode="always", difficulty=8)
    page = _login_page(flow, rp)
    challenge = _challenge(page)
    assert "/static/bot-check.js" in page.text and 'data-worker="/static/pow-worker.js"' in page.text
    done = submit(
        flow.http,
        page,
        username="alice",
        password=PASSWORD,
        bot_pow_challenge=challenge,
        bot_pow_solution=solve(challenge),
    )
    assert page_of(done) == "client"


@pytest.mark.parametrize("case", ["missing", "wrong", "forged", "replayed"])
def test_a_bad_proof_of_work_shows_the_form_again_and_counts_nothing(env, keystead, case):
    tenant, rp, flow = env
    _bot(keystead, tenant, mode="always", difficulty=12)
    page = _login_page(flow, rp)
    challenge = _challenge(page)
    answer = {"bot_pow_challenge": challenge, "bot_pow_solution": solve(challenge)}
    if case == "missing":
        answer = {}
    elif case == "wrong":
        answer["bot_pow_solution"] = str(int(answer["bot_pow_solution"]) + 1)  # almost surely unsolved
    elif case == "forged":
        answer["bot_pow_challenge"] = challenge.replace(".12.", ".8.")
    elif case == "replayed":
        keystead.bot_check.verify(  # someone used it first
            tenant.id, keystead.tenant_settings.read(tenant.id).bot_check, answer, "192.0.2.1"
        )
    refused = submit(flow.http, page, username="alice", password="wrong password 1", **answer)
    assert refused.status_code == 400 and page_of(refused) == "login"
    assert "security check" in refused.text
    assert "The username or password is incorrect" not in refused.text
    assert _challenge(refused) != challenge  # a fresh challenge
    assert 'value="alice"' in refused.text
    _nothing_counted(keystead, tenant)
    [event] = keystead.audit.page(tenant.id, action="signin.bot_check.refused")
    assert (event.after or {})["provider"] == "pow"


def test_an_expired_proof_of_work_is_refused(env, keystead, clock):
    tenant, rp, flow = env
    _bot(keystead, tenant, mode="always", difficulty=8)
    page = _login_page(flow, rp)
    challenge = _challenge(page)
    clock.advance(keystead.settings.bot_check.pow_ttl_seconds + 1)
    refused = submit(
        flow.http,
        page,
        username="alice",
        password=PASSWORD,
        bot_pow_challenge=challenge,
        bot_pow_solution=solve(challenge),
    )
    assert refused.status_code == 400 and "expired" in refused.text
    _nothing_counted(keystead, tenant)


def test_when_risky_asks_only_an_address_that_failed_often(env, keystead):
    tenant, rp, flow = env
    _bot(keystead, tenant, mode="when_risky", difficulty=8, risky_ip_failures=3, risky_distinct_accounts=50)
    page = _login_page(flow, rp)
    assert "bot_pow_challenge" not in page.text
    for n in range(3):
        page = submit(flow.http, page, username=f"guess{n}", password="wrong password")
        assert page.status_code == 400
    assert "bot_pow_challenge" in page.text  # now risky: the form asks
    refused = submit(flow.http, page, username="alice", password=PASSWORD)
    assert refused.status_code == 400 and "security check" in refused.text
    challenge = _challenge(refused)
    done = submit(
        flow.http,
        refused,
        username="alice",
        password=PASSWORD,
        bot_pow_challenge=challenge,
        bot_pow_solution=solve(challenge),
    )
    assert page_of(done) == "client"


def test_the_risk_signal_can_be_replaced(env, keystead):
    tenant, rp, flow = env
    _bot(keystead, tenant, mode="when_risky", difficulty=8)
    asked: list[tuple[str, str]] = []
    keystead.bot_check.use_risk_signal(lambda tenant_id, ip: asked.append((tenant_id, ip)) is None)
    assert "bot_pow_challenge" in _login_page(flow, rp).text
    assert asked and asked[0][0] == tenant.id


# Turnstile and hCaptcha
@pytest.mark.parametrize(
    ("provider", "field", "origin"),
    [
        ("turnstile", "cf-turnstile-response", "https://challenges.cloudflare.com"),
        ("hcaptcha", "h-captcha-response", "https://*.hcaptcha.com"),
    ],
)
def test_a_provider_token_is_verified_with_the_secret(env, keystead, siteverify, provider, field, origin):
    tenant, rp, flow = env
    state, _ = siteverify
    _bot(keystead, tenant, mode="always", provider=provider, site_key=SITE_KEY, secret=SECRET)
    page = _login_page(flow, rp)
    assert f'data-sitekey="{SITE_KEY}"' in page.text
    csp = page.headers["content-security-policy"]
    assert origin in re.search(r"script-src [^;]+", csp).group(0)  # type: ignore[union-attr]
    assert origin in re.search(r"frame-src [^;]+", csp).group(0)  # type: ignore[union-attr]
    assert "frame-ancestors 'none'" in csp

    refused = submit(flow.http, page, username="alice", password=PASSWORD, **{field: "a bad token"})
    assert refused.status_code == 400 and "security check" in refused.text
    _nothing_counted(keystead, tenant)
    done = submit(flow.http, refused, username="alice", password=PASSWORD, **{field: PASSED})
    assert page_of(done) == "client"
    assert [r["response"] for r in state.requests] == [["a bad token"], [PASSED]]
    assert all(r["secret"] == [SECRET] and r["remoteip"] == ["testclient"] for r in state.requests)


def test_a_slow_or_broken_provider_fails_closed(env, keystead, siteverify):
    tenant, rp, flow = env
    state, _ = siteverify
    _bot(keystead, tenant, mode="always", provider="turnstile", site_key=SITE_KEY, secret=SECRET)
    state.delay = 1.5  # past the 0.5 s timeout
    page = _login_page(flow, rp)
    slow = submit(flow.http, page, username="alice", password=PASSWORD, **{"cf-turnstile-response": PASSED})
    assert slow.status_code == 400 and "could not complete the security check" in slow.text
    state.delay, state.status = 0.0, 500
    broken = submit(flow.http, slow, username="alice", password=PASSWORD, **{"cf-turnstile-response": PASSED})
    assert broken.status_code == 400 and "could not complete" in broken.text
    _nothing_counted(keystead, tenant)
    reasons = [
        (e.after or {})["reason"] for e in keystead.audit.page(tenant.id, action="signin.bot_check.refused")
    ]
    assert reasons == ["unavailable", "unavailable"]


def test_the_default_page_keeps_the_strict_csp(env, keystead):
    tenant, rp, flow = env
    _bot(keystead, tenant, mode="always", difficulty=8)
    csp = _login_page(flow, rp).headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-src" not in csp and "cloudflare" not in csp


def test_the_provider_secret_is_stored_sealed_and_never_shown(env, keystead):
    tenant, _rp, _flow = env
    _bot(keystead, tenant, mode="always", provider="turnstile", site_key=SITE_KEY, secret=SECRET)
    stored = keystead.storage.tenant_by_id(tenant.id).settings  # type: ignore[union-attr]
    assert SECRET not in json.dumps(stored) and stored["bot_check"]["secret_sealed"]
    shown = keystead.tenant_settings.read(tenant.id).to_json()
    assert "secret_sealed" not in shown["bot_check"] and SECRET not in json.dumps(shown)
    exported = keystead.config.export(tenant.id, tenant.name)
    assert SECRET not in json.dumps(exported) and "secret_sealed" not in json.dumps(exported)
