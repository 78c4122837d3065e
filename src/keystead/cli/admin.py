"""``keystead admin``: credentials for the admin REST API (``/admin/api/v1``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from keystead.config import load_settings
from keystead.errors import KeysteadError, NotFound
from keystead.http.admin.auth import PLATFORM_SCOPE, TENANT_SCOPE
from keystead.wiring import Keystead, build

admin_app = typer.Typer(help="Admin API credentials", no_args_is_help=True)
console = Console()


@admin_app.command("create-client")
def create_client(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant to administer")] = None,
    platform: Annotated[
        bool, typer.Option(help="A platform admin (all tenants), in the platform tenant")
    ] = False,
    name: Annotated[str, typer.Option(help="Client name")] = "Admin API client",
) -> None:
    """A confidential client (grant ``client_credentials``) whose tokens call the admin API."""
    if platform == (tenant is not None):
        console.print("[red]error:[/red] give either --tenant T or --platform")
        raise typer.Exit(2)
    settings = load_settings()
    k = build(settings, migrate=settings.is_dev)
    try:
        _create(k, tenant, name)
    except KeysteadError as exc:
        field = getattr(exc, "field", None)
        console.print(f"[red]error:[/red] {field + ': ' if field else ''}{exc.description}")
        raise typer.Exit(1) from exc
    finally:
        k.close()


def _create(k: Keystead, tenant_name: str | None, name: str) -> None:
    if tenant_name is None:
        platform_name = k.settings.admin.platform_tenant
        try:
            tenant = k.tenants.get(platform_name)
        except NotFound:
            tenant = k.tenants.create(platform_name, "Platform")
        scope = PLATFORM_SCOPE
    else:
        tenant, scope = k.tenants.get(tenant_name), TENANT_SCOPE
    created = k.clients.create(
        tenant.id, name, grant_types=["client_credentials"], scopes=[scope], redirect_uris=[]
    )
    issuer = k.tenants.issuer(tenant)
    console.print(f"tenant: {tenant.name}")
    console.print(f"client_id: {created.client.client_id}")
    console.print(f"client_secret: {created.secret}  [dim](shown once)[/dim]")
    console.print(f"token endpoint: {issuer}/token  (grant_type=client_credentials, scope={scope})")
