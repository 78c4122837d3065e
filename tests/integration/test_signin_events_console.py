"""The console's audit page lists sign-in stage events (its action filter offers them)."""

from __future__ import annotations

import httpx

from keystead.wiring import Keystead
from tests.integration import test_console as console_tests
from tests.integration.test_console import admin, console, signed_in
from tests.support.factories import Factory

# the console tests' fixtures (an https-less loopback base URL, a client on it), under their names
settings = console_tests.settings
console_http = console_tests.http


def test_the_console_audit_page_shows_sign_in_events(
    console_http: httpx.Client, factory: Factory, keystead: Keystead
):
    tenant = factory.tenant()
    boss = admin(factory, keystead, tenant)
    signed_in(console_http, tenant, boss)  # the console's own sign-in went through the hosted login page
    page = console_http.get(f"{console(tenant)}/audit", params={"action": "signin.password.succeeded"})
    assert page.status_code == 200
    assert 'value="signin.password.failed"' in page.text  # offered in the filter
    assert "signin.password.succeeded" in page.text and boss.username in page.text
    assert page.text.count("signin.password.succeeded") >= 2  # the option and the event's row
