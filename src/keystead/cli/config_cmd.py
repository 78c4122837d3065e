"""``keystead config export`` and ``keystead config import``: a tenant's settings (its login
flow included) and clients as a YAML (or JSON) file, docs/config-as-code.md.

``import`` checks the whole file before it writes anything (exit 1 naming the field on the
first problem, nothing changed), prints what differs, and with ``--dry-run`` stops there. The
secret of a confidential client it creates is printed once. Importing the same file again
changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from keystead.config import load_settings
from keystead.errors import KeysteadError
from keystead.services.audit import Actor
from keystead.services.config_document import ImportResult, dump_yaml, load_yaml
from keystead.wiring import Keystead, build

config_app = typer.Typer(
    help="A tenant's configuration as code (settings, login flow, clients)", no_args_is_help=True
)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)
ACTOR = Actor("cli")
TenantOpt = Annotated[str, typer.Option("--tenant", "-t", envvar="KEYSTEAD_TENANT", help="Tenant name")]


@contextmanager
def _keystead() -> Iterator[Keystead]:
    settings = load_settings()
    try:
        k = build(settings, migrate=settings.is_dev)
    except KeysteadError as exc:
        err.print(f"[red]error:[/red] {escape(exc.description)}")
        raise typer.Exit(2) from exc
    try:
        yield k
    except KeysteadError as exc:
        field = getattr(exc, "field", None)
        err.print(f"[red]error:[/red] {escape(field + ': ' if field else '')}{escape(exc.description)}")
        raise typer.Exit(1) from exc
    finally:
        k.close()


@config_app.command("export")
def export(
    tenant: TenantOpt,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (else stdout)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML")] = False,
) -> None:
    """Print (or write) the tenant's settings and clients, without any secret."""
    with _keystead() as k:
        found = k.tenants.get(tenant)
        document = k.config.export(found.id, found.name)
    text = json.dumps(document, indent=2) + "\n" if as_json else dump_yaml(document)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {escape(str(output))}")


@config_app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(help="A YAML or JSON file written by `config export`", exists=True, dir_okay=False),
    ],
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", "-t", envvar="KEYSTEAD_TENANT", help="Target tenant (default: the file's `tenant`)"
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing")
    ] = False,
) -> None:
    """Make the tenant's settings and the listed clients match the file."""
    with _keystead() as k:
        document = load_yaml(file.read_text(encoding="utf-8"))  # JSON is YAML too
        name = tenant or (document.get("tenant") if isinstance(document, dict) else None)
        if not isinstance(name, str) or not name:
            raise typer.BadParameter("name the tenant with --tenant (the file has none)")
        found = k.tenants.get(name)
        result = k.config.import_(found.id, document, ACTOR, dry_run=dry_run)
    _report(result, dry_run)


def _report(result: ImportResult, dry_run: bool) -> None:
    if not result.changes:
        console.print("no changes: the tenant already matches the file")
    for change in result.changes:
        sign = {"create": "+", "update": "~", "settings": "~"}[change.kind]
        console.print(
            f"{sign} {change.kind} {escape(change.target)}: {_short(change.before)} -> {_short(change.after)}"
        )
    for client_id in result.unlisted:
        console.print(f"  (client {escape(client_id)} is not in the file: left as it is)")
    if dry_run:
        console.print("dry run: nothing was changed")
    for client_id, secret in result.secrets.items():
        console.print(f"client {escape(client_id)} secret (shown once): {secret}")


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return escape(text if len(text) <= 120 else text[:117] + "...")
