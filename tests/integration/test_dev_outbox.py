"""The dev outbox: without ``smtp_url`` mail is kept in memory and listed at
``/t/{tenant}/dev/outbox`` in dev mode; in production mode the page does not exist."""

from __future__ import annotations

import warnings

from starlette.testclient import TestClient

from keystead.http.app import create_app
from keystead.services.lockout import LockoutEvent
from keystead.wiring import Keystead
from tests.support.factories import Factory


def test_the_outbox_lists_the_tenants_mail(client, keystead: Keystead, factory: Factory):
    tenant, other = factory.tenant(), factory.tenant()
    user = factory.user(tenant, "alice", email="alice@example.com", email_verified=True)
    factory.user(other, "zed", email="zed@example.com", email_verified=True)
    keystead.messaging.email_codes.send_second_factor(tenant.id, user.id, "handle")
    keystead.messaging.unlock_links.on_lock(LockoutEvent(tenant.id, user.id, retry_after=60))
    page = client.get(f"/t/{tenant.name}/dev/outbox")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Your Acme Corp verification code" in page.text and "Unlock your Acme Corp account" in page.text
    assert "alice@example.com" in page.text and "zed@example.com" not in page.text
    assert f'href="http://testserver/t/{tenant.name}/unlock?token=' in page.text
    assert 'id="outbox-empty"' in client.get(f"/t/{other.name}/dev/outbox").text


def test_there_is_no_outbox_in_production(keystead: Keystead, factory: Factory):
    tenant = factory.tenant()
    keystead.settings = keystead.settings.model_copy(update={"mode": "production"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(create_app(keystead), base_url="http://testserver") as http:
            assert http.get(f"/t/{tenant.name}/dev/outbox").status_code == 404
