"""Risk decisions on the console's audit page: the admin's own sign-in to the console is
assessed (the tenant in ``simulate`` mode), and the page shows its score, outcome and the
signals that fired, filterable by the ``risk.decision`` action."""

from __future__ import annotations

import httpx

from keystead.services.console_access import CONSOLE_CLIENT_ID
from keystead.wiring import Keystead
from tests.integration.test_console import admin, http, settings, sign_in  # noqa: F401 (fixtures)
from tests.support.factories import Factory


def test_the_audit_page_shows_risk_decisions(http: httpx.Client, keystead: Keystead, factory: Factory):  # noqa: F811
    tenant = factory.tenant()
    keystead.tenant_settings.update(tenant.id, {"risk": {"mode": "simulate"}}, expected_version=0)
    boss = admin(factory, keystead, tenant)
    sign_in(http, tenant, boss)
    page = http.get(
        f"/t/{tenant.name}/console/tenants/{tenant.name}/audit", params={"action": "risk.decision"}
    )
    assert page.status_code == 200, page.text
    assert '<option value="risk.decision" selected>' in page.text
    assert "Risk score <strong>10</strong>: allow, mode simulate" in page.text
    assert '<span class="kc-code">stale_mfa</span> +10' in page.text
    [event] = keystead.audit.page(tenant.id, action="risk.decision")
    assert event.target == boss.id and event.after is not None and event.after["effect"] == "none"
    assert event.actor == f"{boss.id} via {CONSOLE_CLIENT_ID}"  # the user signing in, via the client
