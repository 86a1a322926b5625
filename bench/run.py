"""Run every benchmark in bench/ and write bench/RESULTS.md.

A benchmark is any `bench/<name>.py` (not starting with `_`) that defines `rows(quick)` and runs
`bench._common.main(rows, __doc__)` as a script (see bench/_common.py): each runs in its own process,
so its imports and memory peak are its own. The tables are printed as they come and written, with
the machine and the time taken, to bench/RESULTS.md.

Run: .venv/bin/python bench/run.py [--quick] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, child_env, table  # noqa: E402

BENCH = Path(__file__).resolve().parent
DEFINES_ROWS = re.compile(r"^def rows\(", re.MULTILINE)


def benchmarks() -> list[Path]:
    return sorted(
        path for path in BENCH.glob("*.py")
        if not path.name.startswith("_") and path.name != "run.py" and DEFINES_ROWS.search(path.read_text())
    )


def run(path: Path, quick: bool) -> tuple[str, list[Row], float, str]:
    """One benchmark's title, rows, seconds taken, and what went wrong (empty if nothing)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rows.json"
        command = [sys.executable, str(path), "--json", str(out), *(["--quick"] if quick else [])]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=child_env(), timeout=900)
        took = time.perf_counter() - start
        if done.returncode != 0 or not out.exists():
            return path.stem, [], took, (done.stderr.strip().splitlines() or ["failed"])[-1]
        found = json.loads(out.read_text())
    return found["title"], [Row(**row) for row in found["rows"]], took, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    started = time.perf_counter()
    load = os.getloadavg()
    sections = []
    missed = 0
    for path in benchmarks():
        if only and path.stem not in only:
            continue
        title, rows, took, error = run(path, args.quick)
        text = table(title, rows) if rows else f"### {title}\n\nFAILED: {error}"
        text += f"\n\n`bench/{path.name}`: {took:.0f} s"
        missed += sum(row.missed for row in rows) + (1 if error else 0)
        print(text + "\n", flush=True)
        sections.append(text)
    total = time.perf_counter() - started
    head = (
        f"# Benchmark results\n\nLast run: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"`python bench/run.py{' --quick' if args.quick else ''}`, {total:.0f} s in all. Python "
        f"{platform.python_version()} on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, load "
        f"average {load[0]:.1f} at the start (a shared machine: compare the rows of one run, not runs).\n\n"
        "Each measure is the median of its repeats (the minimum in brackets) next to a baseline measured in the "
        "same run; the ratio is judged against its target, and **MISS** marks a measure over it.\n"
        f"\n{missed} missed.\n"
    )
    if not only:
        (BENCH / "RESULTS.md").write_text("\n\n".join([head, *sections]) + "\n")
    print(f"{total:.0f} s, {missed} missed")


if __name__ == "__main__":
    main()
