"""``keystead admin create-client``: credentials that work on the admin API at once."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from keystead.cli.main import app as cli
from tests.admin.conftest import API, token_for
from tests.conftest import unique

runner = CliRunner()


def _invoke(monkeypatch, settings, *args: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KEYSTEAD_DATABASE__URL", settings.database.url)
    monkeypatch.setenv("KEYSTEAD_ADMIN__PLATFORM_TENANT", settings.admin.platform_tenant)
    monkeypatch.setenv("KEYSTEAD_SERVER__BASE_URL", settings.server.base_url)
    result = runner.invoke(cli, ["admin", "create-client", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    client_id = re.search(r"client_id: (\S+)", result.output)
    secret = re.search(r"client_secret: (\S+)", result.output)
    assert client_id and secret
    return client_id.group(1), secret.group(1)


def test_tenant_admin_client(client, factory, monkeypatch, settings):
    tenant = factory.tenant()
    client_id, secret = _invoke(monkeypatch, settings, "--tenant", tenant.name)

    token = token_for(client, tenant, client_id, secret, "keystead:admin")

    response = client.get(f"{API}/tenants/{tenant.name}/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_platform_admin_client_creates_the_platform_tenant(client, factory, keystead, monkeypatch, settings):
    client_id, secret = _invoke(monkeypatch, settings, "--platform")
    platform = keystead.tenants.get(settings.admin.platform_tenant)
    other = factory.tenant()

    token = token_for(client, platform, client_id, secret, "keystead:platform")

    response = client.get(f"{API}/tenants/{other.name}/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_tenant_or_platform_is_required(monkeypatch):
    result = runner.invoke(cli, ["admin", "create-client"])
    both = runner.invoke(cli, ["admin", "create-client", "--platform", "--tenant", unique()])

    assert result.exit_code == 2
    assert both.exit_code == 2
