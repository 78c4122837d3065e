"""bench/risk_engine.py keeps working: a run of 0.2 s per row prints every row (raw argon2id,
the pure engine, a sign-in without and with the risk engine) and the added cost per sign-in.
Asserts no timing: only that the benchmark runs and what it reports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROWS = (
    "argon2id verify (raw)",
    "risk engine evaluate (pure)",
    "password sign-in, risk never",
    "password sign-in, risk adaptive",
    "risk assess + remember (service)",
)


@pytest.mark.skipif(
    os.environ.get("KEYSTEAD_TEST_DATABASE") == "postgres", reason="the benchmark's own SQLite run"
)
def test_the_risk_engine_benchmark_prints_every_row(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "risk_engine.py"), "--duration", "0.2"],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[0].removeprefix("| ") for line in lines[2:]] == list(ROWS)
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert int(cells[1]) >= 3  # calls
        assert float(cells[2].replace(",", "")) > 0  # per core
    assert "risk adds" in done.stdout and "of one argon2id verify" in done.stdout
