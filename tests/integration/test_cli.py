"""The ``keystead`` command against a real SQLite database (Typer's runner, same process)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from keystead.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYSTEAD_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("KEYSTEAD_PASSWORDS__MEMORY_KIB", "8192")
    monkeypatch.setenv("KEYSTEAD_PASSWORDS__TIME_COST", "1")
    monkeypatch.setenv("KEYSTEAD_SERVER__BASE_URL", "http://127.0.0.1:8000")
    monkeypatch.delenv("KEYSTEAD_PASSWORD", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None):
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    return result


def test_db_upgrade_tenant_user_client_and_keys(cli_env):
    assert run("db", "upgrade").exit_code == 0
    created = run("tenant", "create", "acme", "--display-name", "Acme Corp", "--brand-color", "#0f766e")
    assert created.exit_code == 0, created.output
    assert "http://127.0.0.1:8000/t/acme" in created.output
    assert "acme" in run("tenant", "list").output

    user = run(
        "user",
        "create",
        "alice",
        "--tenant",
        "acme",
        "--email",
        "alice@acme.test",
        env={"KEYSTEAD_PASSWORD": "a long enough password"},
    )
    assert user.exit_code == 0, user.output
    assert "alice@acme.test" in run("user", "list", "--tenant", "acme").output
    changed = run(
        "user",
        "set-password",
        "ALICE",
        "--tenant",
        "acme",
        env={"KEYSTEAD_PASSWORD": "another long password"},
    )
    assert changed.exit_code == 0, changed.output

    client = run(
        "client",
        "create",
        "Portal",
        "--tenant",
        "acme",
        "--redirect-uri",
        "https://portal.acme.test/cb",
        "--client-id",
        "portal",
    )
    assert client.exit_code == 0, client.output
    assert re.search(r"client_secret: \S{40,}", client.output)
    listing = run("client", "list", "--tenant", "acme").output
    assert "portal" in listing
    assert "client_secret" not in listing

    before = run("keys", "list", "--tenant", "acme").output
    rotated = run("keys", "rotate", "--tenant", "acme")
    assert rotated.exit_code == 0 and "new ES256 key" in rotated.output
    after = run("keys", "list", "--tenant", "acme").output
    assert "retired" in after and "retired" not in before


def test_bad_input_is_a_clear_error_and_changes_nothing(cli_env):
    run("tenant", "create", "acme")
    duplicate = run("tenant", "create", "acme")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    bad = run("tenant", "create", "Not A Slug")
    assert bad.exit_code == 1 and "name" in bad.output
    short = run("user", "create", "bob", "--tenant", "acme", env={"KEYSTEAD_PASSWORD": "short"})
    assert short.exit_code == 1 and "password" in short.output
    assert "bob" not in run("user", "list", "--tenant", "acme").output
    unknown = run("user", "list", "--tenant", "nope")
    assert unknown.exit_code == 1 and "no tenant" in unknown.output
    insecure = run("client", "create", "X", "--tenant", "acme", "--redirect-uri", "http://evil.example/cb")
    assert insecure.exit_code == 1 and "redirect_uris" in insecure.output


def test_tenant_disable_and_enable(cli_env):
    run("tenant", "create", "acme")
    assert run("tenant", "disable", "acme").exit_code == 0
    assert "disabled" in run("tenant", "list").output
    assert run("tenant", "enable", "acme").exit_code == 0


def test_demo_is_created_once_and_reused(cli_env):
    first = run("demo")
    assert first.exit_code == 0, first.output
    assert "admin user" in first.output and "/t/demo" in first.output
    assert "/t/demo/dev/outbox" in first.output
    state = json.loads((cli_env / ".keystead" / "demo.json").read_text())
    assert (cli_env / ".keystead" / "demo.json").stat().st_mode & 0o077 == 0

    second = run("demo")

    assert second.exit_code == 0
    assert state["admin_password"] in second.output
    assert state["client_secret"] in second.output
    assert json.loads((cli_env / ".keystead" / "demo.json").read_text()) == state


def test_production_mode_refuses_to_start_with_defaults(cli_env, monkeypatch):
    monkeypatch.setenv("KEYSTEAD_MODE", "production")
    result = run("tenant", "list")
    assert result.exit_code == 2
    assert "unsafe production configuration" in result.output


def test_user_lifecycle_and_client_options(cli_env):
    run("tenant", "create", "acme")
    env = {"KEYSTEAD_PASSWORD": "a long enough password"}
    assert run("user", "create", "carol", "--tenant", "acme", env=env).exit_code == 0
    updated = run(
        "user", "update", "carol", "--tenant", "acme", "--email", "carol@acme.test", "--name", "Carol"
    )
    assert updated.exit_code == 0, updated.output
    assert "carol@acme.test" in run("user", "list", "--tenant", "acme").output
    assert run("user", "update", "carol", "--tenant", "acme", "--email", "not-an-email").exit_code == 1
    assert run("user", "disable", "carol", "--tenant", "acme").exit_code == 0
    assert "disabled" in run("user", "list", "--tenant", "acme").output
    assert run("user", "enable", "carol", "--tenant", "acme").exit_code == 0
    assert run("user", "delete", "carol", "--tenant", "acme", "--yes").exit_code == 0
    assert "carol" not in run("user", "list", "--tenant", "acme").output

    created = run(
        "client",
        "create",
        "Api",
        "--tenant",
        "acme",
        "--client-id",
        "api",
        "--grant-type",
        "client_credentials",
        "--scope",
        "api",
        "--access-token-ttl",
        "120",
    )
    assert created.exit_code == 0, created.output
    first = re.search(r"client_secret: (\S+)", created.output).group(1)
    rotated = run("client", "rotate-secret", "api", "--tenant", "acme")
    assert rotated.exit_code == 0
    assert re.search(r"client_secret: (\S+)", rotated.output).group(1) != first
    too_long = run(
        "client",
        "create",
        "X",
        "--tenant",
        "acme",
        "--grant-type",
        "client_credentials",
        "--access-token-ttl",
        "999999999",
    )
    assert too_long.exit_code == 1 and "access_token_ttl" in too_long.output
