"""bench/users_1m.py keeps working: a tiny run on SQLite (2,000 users) loads every user, times
every operation and admin API page, and prints plans that use an index for every hot query.
Asserts no timing: only that the benchmark runs and what it reports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    os.environ.get("KEYSTEAD_TEST_DATABASE") == "postgres", reason="the benchmark's own SQLite run"
)
def test_the_million_user_benchmark_runs_at_a_small_size(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "users_1m.py"),
            *("--users", "2000", "--batch", "700", "--samples", "3", "--backends", "sqlite"),
            *("--json", str(report)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    result = json.loads(report.read_text())["sqlite"]
    assert result["users"] == 2000
    assert result["load"]["users_per_s"] > 0
    assert set(result["operations"]) >= {
        "lookup by username",
        "lookup by email",
        "username prefix, first page",
        "q: one user's word",
        "q: first + last name",
        "q: email domain (common)",
    }
    assert list(result["pages"]) == ["depth 1", "depth 40"]
    assert all(t["p50"] <= t["p99"] for t in [*result["operations"].values(), *result["pages"].values()])
    plans = done.stdout
    assert "SEARCH user_search_tokens USING COVERING INDEX" in plans
    assert "SEARCH users USING INDEX" in plans
    assert not re.search(r"\bSCAN users\b", plans), plans  # no full scan of the users table
