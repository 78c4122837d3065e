"""``keystead users import`` and ``keystead users export`` against a real SQLite database
(Typer's runner, same process): summary and rejected lines, exit codes, re-runs, the export
written back in the import's format, hashes only on request and in a private file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import bcrypt
import orjson
import pytest
from click.testing import Result
from typer.testing import CliRunner

from keystead.cli.main import app
from keystead.config import load_settings
from keystead.wiring import build

runner = CliRunner()
PASSWORD = "imported pass phrase"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KEYSTEAD_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("KEYSTEAD_PASSWORDS__MEMORY_KIB", "8192")
    monkeypatch.setenv("KEYSTEAD_PASSWORDS__TIME_COST", "1")
    monkeypatch.setenv("KEYSTEAD_SERVER__BASE_URL", "http://127.0.0.1:8000")
    monkeypatch.delenv("KEYSTEAD_TENANT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert run("tenant", "create", "acme").exit_code == 0
    return tmp_path


def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin, env=env, catch_exceptions=False)


def write(path: Path, *rows: dict[str, Any] | str) -> Path:
    path.write_bytes(b"".join((r.encode() if isinstance(r, str) else orjson.dumps(r)) + b"\n" for r in rows))
    return path


def test_import_prints_a_summary_and_exits_0_when_every_row_went_in(cli_env: Path) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    file = write(
        cli_env / "users.jsonl",
        {"username": "ann", "email": "ann@example.com", "password": PASSWORD},
        {"username": "ben", "password_hash": hashed},
    )
    result = run("users", "import", str(file), "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert "import succeeded: 2 rows, 2 created, 0 unchanged, 0 failed" in result.output
    assert PASSWORD not in result.output and hashed not in result.output

    again = run("users", "import", str(file), "--tenant", "acme")
    assert again.exit_code == 0, again.output
    assert "2 rows, 0 created, 2 unchanged, 0 failed" in again.output

    k = build(load_settings())
    try:
        tenant = k.tenants.get("acme")
        assert k.login.authenticate(tenant.id, "ben", PASSWORD, "192.0.2.1").username == "ben"
        jobs = k.imports.page(tenant.id, after=None, limit=10)
        assert [(j.source, j.created, j.actor) for j in jobs] == [
            ("users.jsonl", 0, "cli"),
            ("users.jsonl", 2, "cli"),
        ]
    finally:
        k.close()


def test_rejected_rows_are_listed_by_line_and_the_exit_code_is_1(cli_env: Path) -> None:
    file = write(
        cli_env / "mixed.jsonl",
        {"username": "good"},
        {"username": "bad", "email": "nope"},
        "not json",
        {"username": "odd", "favourite_colour": "[red]markup[/red]"},
    )
    result = run("users", "import", str(file), "-t", "acme")
    assert result.exit_code == 1, result.output
    assert "4 rows, 1 created, 0 unchanged, 3 failed" in result.output
    assert "line 2: email: not a valid email address" in result.output
    assert "line 3: not a JSON object" in result.output
    assert "line 4: favourite_colour: unknown field" in result.output


def test_import_reads_standard_input_and_the_tenant_from_the_environment(cli_env: Path) -> None:
    body = orjson.dumps({"username": "piped"}) + b"\n"
    result = run("users", "import", "-", stdin=body, env={"KEYSTEAD_TENANT": "acme"})
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output


def test_import_of_a_missing_file_or_tenant_is_an_error(cli_env: Path) -> None:
    missing = run("users", "import", str(cli_env / "nope.jsonl"), "--tenant", "acme")
    assert missing.exit_code == 2
    assert "cannot read" in missing.output
    file = write(cli_env / "one.jsonl", {"username": "x"})
    no_tenant = run("users", "import", str(file), "--tenant", "no-such-tenant")
    assert no_tenant.exit_code == 1
    assert "no tenant named 'no-such-tenant'" in no_tenant.output
    assert run("users", "import", str(file)).exit_code == 2  # no tenant given at all


def test_export_writes_the_import_format_without_hashes_unless_asked(cli_env: Path) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    source = write(
        cli_env / "in.jsonl",
        {"username": "cat", "email": "cat@example.com", "given_name": "Cat", "password_hash": hashed},
        {"username": "dan", "status": "disabled", "roles": ["ops"]},
    )
    assert run("users", "import", str(source), "--tenant", "acme").exit_code == 0

    plain = run("users", "export", "--tenant", "acme")
    assert plain.exit_code == 0, plain.output
    rows = [orjson.loads(line) for line in plain.stdout.splitlines()]
    assert [r["username"] for r in rows] == ["cat", "dan"]
    assert rows[1]["roles"] == ["ops"] and rows[1]["status"] == "disabled"
    assert hashed not in plain.output

    out = cli_env / "export.jsonl"
    full = run("users", "export", "--tenant", "acme", "--output", str(out), "--with-password-hashes")
    assert full.exit_code == 0, full.output
    assert "exported 2 users" in full.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    exported = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert exported[0]["password_hash"] == hashed

    # into another tenant, ids dropped (they are global): the passwords work there
    assert run("tenant", "create", "other").exit_code == 0
    moved = write(cli_env / "moved.jsonl", *({k: v for k, v in r.items() if k != "id"} for r in exported))
    assert run("users", "import", str(moved), "--tenant", "other").exit_code == 0
    k = build(load_settings())
    try:
        other = k.tenants.get("other")
        assert k.login.authenticate(other.id, "cat", PASSWORD, "192.0.2.1").given_name == "Cat"
        events = [e.after for e in k.audit.page(k.tenants.get("acme").id) if e.action == "user.export"]
        assert events == [{"include_password_hashes": True}, {"include_password_hashes": False}]
    finally:
        k.close()
