"""What every bench module shares: timing with repeats, rows measured against a baseline of the
same run, and the table (or JSON, for bench/run.py) they are printed as.

The convention: a bench module is `bench/<name>.py` with a docstring, a function
`rows(quick: bool) -> list[Row]` that builds its inputs once, measures, and returns its rows, and
`if __name__ == "__main__": main(rows, __doc__)`. `bench/run.py` runs every such module in its own
process (so imports and memory peaks are each module's own) and writes bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One measurement, next to the baseline it is judged against (measured in the same run).

    `value` and `baseline` are the medians (seconds, or MB for memory); `best` is the minimum.
    `target` is the highest acceptable value / baseline ratio (None: shown, not judged)."""

    name: str
    value: float
    baseline: float | None = None
    baseline_name: str = ""
    target: float | None = None
    limit: float | None = None
    """The highest acceptable value itself (an absolute target, such as a first frame under 1 s)."""
    unit: str = "s"
    best: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline <= 0:
            return None
        return self.value / self.baseline

    @property
    def missed(self) -> bool:
        ratio = self.ratio
        over_ratio = self.target is not None and ratio is not None and ratio > self.target
        return over_ratio or (self.limit is not None and self.value > self.limit)


@dataclass
class Timing:
    best: float
    median: float


def timed(work: Callable[[], object], repeat: int) -> Timing:
    """`work` run `repeat` times: the minimum and the median of its wall times."""
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return Timing(min(times), statistics.median(times))


def row(name: str, mine: Timing, base: Timing | None = None, baseline_name: str = "", target: float | None = None,
        limit: float | None = None, note: str = "") -> Row:
    baseline = None if base is None else base.median
    return Row(name, mine.median, baseline, baseline_name, target, limit, "s", mine.best, note)


def child_env() -> dict[str, str]:
    """The environment for a measured child process: this checkout first on the path (or the one
    $BENCH_ROOT names, to measure another checkout, such as main, with the same bench; run the child
    in that folder too, since `python -c` puts its working folder first).
    Bytecode is cached (as an installed package has it), even where the environment turns it off:
    compiling streamwatch's sources on every start would be timed as start-up."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.environ.get("BENCH_ROOT", str(ROOT))
    env.pop("PYTHONSTARTUP", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def process_seconds(code: str, repeat: int, args: tuple[str, ...] = (), env: dict[str, str] | None = None,
                    tty: bool = False) -> Timing:
    """Wall time of `python -c code`, from starting the process to the time.time() the code writes to the
    file named by $BENCH_MARK (so a process that marks a milestone, such as its first frame, is timed to
    it), or to its exit when it writes none. `tty`: stdin and stdout are a terminal (a pseudo-terminal)."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        mark = Path(folder) / "mark"
        for _ in range(max(1, repeat)):
            mark.unlink(missing_ok=True)
            child = {**child_env(), **(env or {}), "BENCH_MARK": str(mark)}
            streams: dict[str, object] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
            terminal = pty.openpty() if tty else None
            if terminal is not None:
                streams.update(stdin=terminal[1], stdout=terminal[1])
            try:
                start = time.time()
                done = subprocess.run([sys.executable, "-c", code, *args], env=child, cwd=child["PYTHONPATH"],
                                      timeout=120, **streams)
                end = time.time()
            finally:
                if terminal is not None:
                    os.close(terminal[0])
                    os.close(terminal[1])
            if done.returncode not in (0, 1):
                raise RuntimeError(f"bench child failed: {done.stderr.decode(errors='replace').strip()[-2000:]}")
            times.append((float(mark.read_text()) if mark.exists() else end) - start)
    return Timing(min(times), statistics.median(times))


def format_value(value: float, unit: str) -> str:
    if unit == "s":
        if value < 0.01:
            return f"{value * 1000:.2f} ms"
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def table(title: str, rows: list[Row]) -> str:
    """The rows as a Markdown table: value, baseline, ratio, target, and MISS where the ratio is over it."""
    lines = [f"### {title}", "", "| measure | median (min) | baseline | ratio | target | |", "|---|---|---|---|---|---|"]
    for r in rows:
        best = "" if r.best is None else f" ({format_value(r.best, r.unit)})"
        base = "-" if r.baseline is None else f"{format_value(r.baseline, r.unit)} {r.baseline_name}"
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        targets = ([] if r.target is None else [f"<= {r.target:g}x"]) + (
            [] if r.limit is None else [f"< {format_value(r.limit, r.unit)}"]
        )
        target = ", ".join(targets) or "-"
        mark = "**MISS**" if r.missed else ("ok" if targets else "")
        name = r.name + (f" ({r.note})" if r.note else "")
        lines.append(f"| {name} | {format_value(r.value, r.unit)}{best} | {base} | {ratio} | {target} | {mark} |")
    return "\n".join(lines)


def main(rows: Callable[[bool], list[Row]], doc: str | None) -> None:
    """A bench module's command line: `--quick` for smaller inputs and fewer repeats, `--json FILE` to
    hand the rows to bench/run.py."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    found = rows(args.quick)
    title = (doc or "bench").splitlines()[0].rstrip(".")
    print(table(title, found))
    if args.json is not None:
        args.json.write_text(json.dumps({"title": title, "rows": [asdict(r) for r in found]}))
