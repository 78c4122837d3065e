"""``keystead config export`` / ``keystead config import`` against a real SQLite database:
the YAML round trip into a fresh tenant, dry runs, re-imports that change nothing, the secret of
a created client printed once, and a bad file refused naming the field with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from keystead.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KEYSTEAD_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("KEYSTEAD_PASSWORDS__MEMORY_KIB", "8192")
    monkeypatch.setenv("KEYSTEAD_PASSWORDS__TIME_COST", "1")
    monkeypatch.setenv("KEYSTEAD_SERVER__BASE_URL", "http://127.0.0.1:8000")
    monkeypatch.delenv("KEYSTEAD_TENANT", raising=False)
    monkeypatch.chdir(tmp_path)
    for name in ("acme", "fresh"):
        assert run("tenant", "create", name).exit_code == 0
    created = run("client", "create", "Shop", "--tenant", "acme", "--redirect-uri", "https://shop.example/cb")
    assert created.exit_code == 0, created.output
    return tmp_path


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_export_import_round_trip_dry_run_and_no_op(cli_env: Path):
    exported = run("config", "export", "--tenant", "acme", "-o", "acme.yaml")
    assert exported.exit_code == 0, exported.output
    document = yaml.safe_load((cli_env / "acme.yaml").read_text())
    assert document["tenant"] == "acme" and [c["name"] for c in document["clients"]] == ["Shop"]
    assert "secret" not in (cli_env / "acme.yaml").read_text().replace("client_secret_basic", "")

    dry = run("config", "import", "acme.yaml", "--tenant", "fresh", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "+ create" in dry.output and "dry run: nothing was changed" in dry.output
    assert "secret (shown once)" not in dry.output
    assert yaml.safe_load(run("config", "export", "--tenant", "fresh").output)["clients"] == []

    applied = run("config", "import", "acme.yaml", "--tenant", "fresh")
    assert applied.exit_code == 0, applied.output
    assert applied.output.count("secret (shown once)") == 1

    again = yaml.safe_load(run("config", "export", "--tenant", "fresh").output)
    assert {**again, "tenant": "acme"} == document

    repeat = run("config", "import", "acme.yaml", "--tenant", "fresh")
    assert repeat.exit_code == 0 and "no changes" in repeat.output
    assert "secret" not in repeat.output


def test_a_bad_file_is_refused_naming_the_field_and_nothing_is_written(cli_env: Path):
    assert run("config", "export", "--tenant", "acme", "-o", "acme.yaml").exit_code == 0
    document = yaml.safe_load((cli_env / "acme.yaml").read_text())
    document["settings"]["tokens"]["code_ttl"] = 5000
    (cli_env / "bad.yaml").write_text(yaml.safe_dump(document))
    before = run("config", "export", "--tenant", "fresh").output

    refused = runner.invoke(app, ["config", "import", "bad.yaml", "--tenant", "fresh"])

    assert refused.exit_code == 1
    assert "settings.tokens.code_ttl" in refused.output
    assert run("config", "export", "--tenant", "fresh").output == before
