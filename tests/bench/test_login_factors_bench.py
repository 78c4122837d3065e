"""bench/login_factors.py keeps working: a run of 0.2 s per row prints every row of its table
(raw argon2id, raw ES256, password sign-in, password + TOTP sign-in and passwordless passkey
sign-in through the hosted pages).
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
    "ES256 sign (joserfc, as jose.sign)",
    "password sign-in (hosted flow + code exchange)",
    "password + TOTP sign-in",
    "passkey sign-in (passwordless)",
)


@pytest.mark.skipif(
    os.environ.get("KEYSTEAD_TEST_DATABASE") == "postgres", reason="the benchmark's own SQLite run"
)
def test_the_login_factors_benchmark_prints_every_row(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "login_factors.py"), "--duration", "0.2"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[0].removeprefix("| ") for line in lines[1:]] == ["---", *ROWS]
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] in ROWS:
            assert int(cells[1]) >= 3  # calls
            assert float(cells[2].replace(",", "")) > 0  # per core
    assert "outside argon2id" in lines[0]
