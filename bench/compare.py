"""Compare runs of bench/run.py saved with ``--json``: per scenario, req/s, CPU per request,
requests per second per core and p99, one column group per file.

    .venv/bin/python bench/compare.py /tmp/base.json /tmp/variant.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def label(run: dict[str, Any], path: Path) -> str:
    variants = run.get("variants") or []
    return f"{path.stem}" + (f" [{'+'.join(variants)}]" if variants else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+")
    args = p.parse_args()
    runs = [(path, json.loads(path.read_text())) for path in args.runs]
    names: list[str] = []
    for _, run in runs:
        for r in run["results"]:
            if r["scenario"] not in names:
                names.append(r["scenario"])
    for path, run in runs:
        print(f"- {label(run, path)}")
    print()
    print(
        f"{'scenario':<20}"
        + "".join(f" | {'req/s':>7} {'us/req':>7} {'/s/core':>7} {'p99 ms':>7}" for _ in runs)
    )
    for name in names:
        cells = []
        for _, run in runs:
            r = next((x for x in run["results"] if x["scenario"] == name), None)
            if r is None:
                cells.append(f" | {'':>7} {'':>7} {'':>7} {'':>7}")
                continue
            cells.append(
                f" | {r['per_s']:>7,.0f} {r['server_cpu_us_per_req']:>7,.0f} "
                f"{r.get('per_core_per_s', 0):>7,.0f} {r['p99_ms']:>7,.0f}"
            )
        print(f"{name:<20}" + "".join(cells))


if __name__ == "__main__":
    main()
