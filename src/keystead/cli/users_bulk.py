"""``keystead users import`` and ``keystead users export``: JSON Lines in and out, in process.

The import is recorded as an import job (visible through the admin API) and in the audit trail;
its progress is a Rich bar on stderr, its summary and rejected rows (line, field, reason) on
stdout; the exit code is 1 when any row was rejected or the import stopped.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from keystead.config import load_settings
from keystead.errors import KeysteadError
from keystead.ports.records import ImportJob
from keystead.services.audit import Actor
from keystead.services.user_import import Progress as ImportProgress
from keystead.services.user_import import count_rows
from keystead.services.user_import_export import export_lines
from keystead.wiring import Keystead, build

users_bulk_app = typer.Typer(help="Bulk import and export of a tenant's users", no_args_is_help=True)
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
        err.print(f"[red]error:[/red] {exc.description}")
        raise typer.Exit(2) from exc
    try:
        yield k
    except KeysteadError as exc:
        field = getattr(exc, "field", None)
        err.print(f"[red]error:[/red] {field + ': ' if field else ''}{exc.description}")
        raise typer.Exit(1) from exc
    finally:
        k.close()


@users_bulk_app.command("import")
def import_users(
    file: Annotated[str, typer.Argument(help="A JSON Lines file, or - for standard input")],
    tenant: TenantOpt,
) -> None:
    """Import users from JSON Lines (docs/import-export.md). Existing usernames are left as they
    are, so running the same file again creates nothing new."""
    with _keystead() as k, _opened(file) as stream:
        t = k.tenants.get(tenant)
        total = count_rows(stream)
        with _bar(total) as (bar, task):

            def report(p: ImportProgress) -> None:
                bar.update(task, completed=p.done, total=max(total, p.done))

            job, progress = k.imports.run(
                t.id, ACTOR, stream, source=Path(file).name[:255], on_progress=report
            )
    _summary(job, progress)
    if job.status != "succeeded" or job.failed:
        raise typer.Exit(1)


@users_bulk_app.command("export")
def export_users(
    tenant: TenantOpt,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
    with_password_hashes: Annotated[
        bool, typer.Option(help="Include password hashes: the file is then as sensitive as the database")
    ] = False,
) -> None:
    """Write every user of the tenant as JSON Lines, in the import's format."""
    with _keystead() as k:
        t = k.tenants.get(tenant)
        k.audit.record(
            t.id, ACTOR, "user.export", None, after={"include_password_hashes": with_password_hashes}
        )
        lines = export_lines(k.storage, t.id, with_password_hashes=with_password_hashes)
        if output is None:
            out = typer.get_binary_stream("stdout")
            count = sum(out.write(line) > 0 for line in lines)
            out.flush()
        else:
            count = _write_private(output, lines)
    err.print(f"exported {count} users" + (f" to {output}" if output else ""))


def _write_private(path: Path, lines: Iterator[bytes]) -> int:
    """Write to ``path`` readable by its owner only (it may hold password hashes)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    count = 0
    with os.fdopen(fd, "wb") as out:
        for line in lines:
            out.write(line)
            count += 1
    return count


@contextmanager
def _opened(file: str) -> Iterator[IO[bytes]]:
    stream: IO[bytes]
    if file == "-":
        # standard input is read once into a spool file: the rows are counted before the import
        stream = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        shutil.copyfileobj(sys.stdin.buffer, stream)
        stream.seek(0)
    else:
        try:
            stream = open(file, "rb")  # noqa: SIM115
        except OSError as exc:
            err.print(f"[red]error:[/red] cannot read {escape(file)}: {exc.strerror}")
            raise typer.Exit(2) from exc
    with stream:
        yield stream


@contextmanager
def _bar(total: int) -> Iterator[tuple[Progress, TaskID]]:
    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        yield bar, bar.add_task("import", total=total)


def _summary(job: ImportJob, progress: ImportProgress) -> None:
    _say(
        f"import {job.status}: {job.total} rows, {job.created} created, "
        f"{job.unchanged} unchanged, {job.failed} failed (job {job.id})"
    )
    for error in job.errors:
        where = f"line {error['line']}" if error["line"] is not None else "import"
        _say(f"{where}: {error['field'] + ': ' if error['field'] else ''}{error['reason']}")
    if job.failed > len(progress.errors):
        _say(f"... and {job.failed - len(progress.errors)} more rejected rows not listed")


def _say(text: str) -> None:
    console.print(text, markup=False, soft_wrap=True)
