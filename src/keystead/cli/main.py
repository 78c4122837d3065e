"""``keystead``: serve, migrate, and manage tenants, users, clients and keys."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from keystead.cli.admin import admin_app
from keystead.cli.config_cmd import config_app
from keystead.cli.users_bulk import users_bulk_app
from keystead.config import load_settings
from keystead.errors import KeysteadError
from keystead.wiring import Keystead, build

app = typer.Typer(help="Keystead identity platform", no_args_is_help=True)
db_app = typer.Typer(help="Database", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants", no_args_is_help=True)
user_app = typer.Typer(help="Users of a tenant", no_args_is_help=True)
client_app = typer.Typer(help="OAuth clients of a tenant", no_args_is_help=True)
keys_app = typer.Typer(help="Signing keys of a tenant", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (tenant_app, "tenant"),
    (user_app, "user"),
    (client_app, "client"),
    (keys_app, "keys"),
):
    app.add_typer(sub, name=name)
app.add_typer(admin_app, name="admin")
app.add_typer(users_bulk_app, name="users")
app.add_typer(config_app, name="config")

console = Console()
TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant name")]


@contextmanager
def keystead(migrate: bool = False) -> Iterator[Keystead]:
    settings = load_settings()
    try:
        k = build(settings, migrate=migrate or settings.is_dev)
    except KeysteadError as exc:
        console.print(f"[red]error:[/red] {exc.description}")
        raise typer.Exit(2) from exc
    try:
        yield k
    except KeysteadError as exc:
        field = getattr(exc, "field", None)
        console.print(f"[red]error:[/red] {field + ': ' if field else ''}{exc.description}")
        raise typer.Exit(1) from exc
    finally:
        k.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Run the server (dev mode migrates the database first)."""
    import uvicorn

    from keystead.http.app import create_app

    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    application = create_app(settings=settings)
    uvicorn.run(
        application,
        host=host or settings.server.host,
        port=port or settings.server.port,
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    with keystead(migrate=True):
        console.print("database is up to date")


@tenant_app.command("create")
def tenant_create(
    name: str,
    display_name: Annotated[str | None, typer.Option(help="Name shown on pages")] = None,
    domain: Annotated[str | None, typer.Option(help="Custom domain mapped to the tenant")] = None,
    brand_color: Annotated[str | None, typer.Option(help="#rrggbb")] = None,
    logo_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    with keystead() as k:
        tenant = k.tenants.create(
            name, display_name, custom_domain=domain, brand_color=brand_color, logo_url=logo_url
        )
        console.print(f"created tenant {tenant.name}; issuer {k.tenants.issuer(tenant)}")


@tenant_app.command("list")
def tenant_list() -> None:
    with keystead() as k:
        table = Table("name", "display name", "status", "issuer")
        for tenant in k.tenants.list():
            table.add_row(tenant.name, tenant.display_name, tenant.status, k.tenants.issuer(tenant))
        console.print(table)


@tenant_app.command("disable")
def tenant_disable(name: str) -> None:
    with keystead() as k:
        k.tenants.set_status(name, "disabled")
        console.print(f"disabled tenant {name}")


@tenant_app.command("enable")
def tenant_enable(name: str) -> None:
    with keystead() as k:
        k.tenants.set_status(name, "active")
        console.print(f"enabled tenant {name}")


def _password(value: str | None, prompt: bool) -> str | None:
    if value is not None:
        return value
    env = os.environ.get("KEYSTEAD_PASSWORD")
    if env:
        return env
    if prompt:
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return None


@user_app.command("create")
def user_create(
    username: str,
    tenant: TenantOpt,
    email: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option(help="Full name")] = None,
    password: Annotated[str | None, typer.Option(help="Or KEYSTEAD_PASSWORD, or a prompt")] = None,
    no_password: Annotated[bool, typer.Option(help="Create without a password")] = False,
    role: Annotated[list[str] | None, typer.Option(help="A role (admin: the console); repeatable")] = None,
) -> None:
    with keystead() as k:
        t = k.tenants.get(tenant)
        secret = None if no_password else _password(password, prompt=True)
        user = k.users.create(t.id, username, email=email, password=secret, name=name, roles=role or ())
        console.print(f"created user {user.username} ({user.id})")


@user_app.command("set-password")
def user_set_password(
    username: str,
    tenant: TenantOpt,
    password: Annotated[str | None, typer.Option(help="Or KEYSTEAD_PASSWORD, or a prompt")] = None,
) -> None:
    with keystead() as k:
        t = k.tenants.get(tenant)
        user = k.users.find(t.id, username)
        k.users.set_password(t.id, user.id, _password(password, prompt=True) or "")
        console.print(f"password set for {user.username}")


@user_app.command("list")
def user_list(tenant: TenantOpt, limit: int = 100) -> None:
    with keystead() as k:
        t = k.tenants.get(tenant)
        table = Table("username", "email", "status", "id")
        for user in k.users.list(t.id, limit=limit):
            table.add_row(user.username, user.email or "", user.status, user.id)
        console.print(table)


@user_app.command("update")
def user_update(
    username: str,
    tenant: TenantOpt,
    email: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option(help="Full name")] = None,
    new_username: Annotated[str | None, typer.Option(help="Rename the user")] = None,
) -> None:
    with keystead() as k:
        t = k.tenants.get(tenant)
        user = k.users.find(t.id, username)
        changes: dict[str, Any] = {}
        if email is not None:
            changes["email"] = email
        if name is not None:
            changes["name"] = name
        if new_username is not None:
            changes["username"] = new_username
        updated = k.users.update(t.id, user.id, **changes)
        console.print(f"updated user {updated.username}")


@user_app.command("disable")
def user_disable(username: str, tenant: TenantOpt) -> None:
    """Refuse sign-in; existing sessions and tokens stop working."""
    with keystead() as k:
        t = k.tenants.get(tenant)
        k.users.set_status(t.id, k.users.find(t.id, username).id, "disabled")
        console.print(f"disabled user {username}")


@user_app.command("enable")
def user_enable(username: str, tenant: TenantOpt) -> None:
    with keystead() as k:
        t = k.tenants.get(tenant)
        k.users.set_status(t.id, k.users.find(t.id, username).id, "active")
        console.print(f"enabled user {username}")


@user_app.command("delete")
def user_delete(
    username: str,
    tenant: TenantOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete the user with their sessions, consents and tokens."""
    with keystead() as k:
        t = k.tenants.get(tenant)
        user = k.users.find(t.id, username)
        if not yes:
            typer.confirm(f"Delete {user.username} from {t.name}?", abort=True)
        k.users.delete(t.id, user.id)
        console.print(f"deleted user {user.username}")


@client_app.command("create")
def client_create(
    name: str,
    tenant: TenantOpt,
    redirect_uri: Annotated[list[str] | None, typer.Option(help="Repeatable")] = None,
    post_logout_redirect_uri: Annotated[list[str] | None, typer.Option(help="Repeatable")] = None,
    public: Annotated[bool, typer.Option(help="Public client (PKCE, no secret)")] = False,
    grant_type: Annotated[list[str] | None, typer.Option(help="Repeatable")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="Repeatable")] = None,
    first_party: Annotated[bool, typer.Option(help="Skip the consent page")] = False,
    client_id: Annotated[str | None, typer.Option(help="Choose the client_id")] = None,
    id_token_alg: Annotated[str, typer.Option(help="ES256 or RS256")] = "ES256",
    access_token_ttl: Annotated[int, typer.Option(help="Seconds")] = 600,
    id_token_ttl: Annotated[int, typer.Option(help="Seconds")] = 600,
    refresh_token_ttl: Annotated[int, typer.Option(help="Seconds")] = 30 * 86400,
) -> None:
    with keystead() as k:
        t = k.tenants.get(tenant)
        created = k.clients.create(
            t.id,
            name,
            client_type="public" if public else "confidential",
            redirect_uris=redirect_uri or [],
            post_logout_redirect_uris=post_logout_redirect_uri or [],
            first_party=first_party,
            client_id=client_id,
            id_token_alg=id_token_alg,
            access_token_ttl=access_token_ttl,
            id_token_ttl=id_token_ttl,
            refresh_token_ttl=refresh_token_ttl,
            grant_types=grant_type or ["authorization_code", "refresh_token"],
            scopes=scope or ["openid", "profile", "email", "offline_access"],
        )
        console.print(f"client_id:     {created.client.client_id}")
        if created.secret:
            console.print(f"client_secret: {created.secret}  [dim](shown once)[/dim]")


@client_app.command("rotate-secret")
def client_rotate_secret(client_id: str, tenant: TenantOpt) -> None:
    """A new secret (shown once); the old one stops working at once."""
    with keystead() as k:
        t = k.tenants.get(tenant)
        rotated = k.clients.rotate_secret(t.id, client_id)
        console.print(f"client_secret: {rotated.secret}  [dim](shown once)[/dim]")


@client_app.command("list")
def client_list(tenant: TenantOpt) -> None:
    with keystead() as k:
        t = k.tenants.get(tenant)
        table = Table("client_id", "name", "type", "redirect URIs")
        for c in k.clients.list(t.id):
            table.add_row(c.client_id, c.name, c.client_type, " ".join(c.redirect_uris))
        console.print(table)


@keys_app.command("rotate")
def keys_rotate(tenant: TenantOpt) -> None:
    """New signing keys; the old ones stay published until their tokens expire."""
    with keystead() as k:
        t = k.tenants.get(tenant)
        for key in k.keys.rotate(t.id):
            console.print(f"new {key.alg} key {key.kid}")


@keys_app.command("list")
def keys_list(tenant: TenantOpt) -> None:
    with keystead() as k:
        t = k.tenants.get(tenant)
        table = Table("kid", "alg", "status", "published until")
        for key in k.keys.listing(t.id):
            until = "" if key.publish_until is None else f"{key.publish_until:.0f}"
            table.add_row(key.kid, key.alg, key.status, until)
        console.print(table)


@app.command()
def demo(
    state_dir: Annotated[Path, typer.Option(help="Where demo credentials are kept")] = Path(".keystead"),
) -> None:
    """Create (once) a demo tenant, admin user and client, and print how to sign in."""
    from keystead.cli.demo import ensure_demo

    with keystead() as k:
        info = ensure_demo(k, state_dir)
    for line in info.lines():
        console.print(line, highlight=False, soft_wrap=True)


def run() -> None:
    app()


if __name__ == "__main__":
    run()

__all__ = ["app"]
