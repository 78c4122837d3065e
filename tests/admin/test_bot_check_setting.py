"""The ``bot_check`` tenant setting through the admin API: the provider secret is write-only
(accepted, never returned, not in the audit), and a provider without its keys is refused naming
the field with nothing written."""

from __future__ import annotations

from keystead.wiring import Keystead
from tests.admin.conftest import Api, assert_problem

SECRET = "0x4AAAAAAAadmin-api-secret"


def _patch(api: Api, body: dict):
    etag = api.request("GET", "/settings").headers["etag"]
    return api.request("PATCH", "/settings", json=body, headers={"If-Match": etag})


def test_the_secret_is_write_only(api: Api, keystead: Keystead):
    patched = _patch(
        api,
        {"bot_check": {"mode": "always", "provider": "turnstile", "site_key": "sitekey", "secret": SECRET}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["bot_check"] == {
        "mode": "always",
        "provider": "turnstile",
        "difficulty": 18,
        "site_key": "sitekey",
        "risky_ip_failures": 5,
        "risky_distinct_accounts": 3,
    }
    read = api.request("GET", "/settings")
    audit = api.request("GET", "/audit-events", params={"action": "tenant.settings.update"})
    config = api.request("GET", "/config", headers={"Accept": "application/yaml"})
    for response in (patched, read, audit, config):
        assert SECRET not in response.text and "secret_sealed" not in response.text
    # sealed with the key ring: the bot check can read it back
    stored = keystead.tenant_settings.read(api.tenant.id).bot_check
    assert keystead.bot_check.unseal(api.tenant.id, stored.secret_sealed) == SECRET


def test_a_provider_without_its_keys_is_refused_naming_the_field(api: Api):
    before = api.request("GET", "/settings").json()
    for body, field in (
        ({"bot_check": {"mode": "always", "provider": "hcaptcha", "secret": SECRET}}, "bot_check.site_key"),
        ({"bot_check": {"mode": "always", "provider": "turnstile", "site_key": "k"}}, "bot_check.secret"),
        ({"bot_check": {"mode": "sometimes"}}, "bot_check.mode"),
        ({"bot_check": {"difficulty": 30}}, "bot_check.difficulty"),
        ({"bot_check": {"secret_sealed": "x"}}, "bot_check.secret_sealed"),
    ):
        problem = assert_problem(_patch(api, body), 422, "validation")
        assert field in [e["field"] for e in problem["errors"]], problem
    assert api.request("GET", "/settings").json() == before
