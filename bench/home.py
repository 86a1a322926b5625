"""Home screen on 10 000 saved sessions: first frame, list shown, and each key typed in the filter.

The whole: `streamwatch` as a process (Textual headless, 120x35, a terminal), from its start to its
first frame and to the first frame that shows sessions in the list (the newest come first, all
right after), with 10 000 sessions in its data folder, against the same with 100 sessions and a
minimal Textual app (bench/startup.py's) in the same run; on a first start (no session index: every
file is read), to its newest sessions shown (they show as the files are read) and to all of them. Its parts: `Catalog.summaries()` (what
the session index speeds up, cold and warm; the screen waits for it behind its first frame), and the screen's own
side, in one process: from the summaries in hand to the frame that shows the newest, all, and all
again on `r`, and from each key typed in the filter (`sonnet 11-0`) to the frame that shows its
answer, median and worst, against the same with 100 sessions. Targets: first frame and list
shown < 1 s, each key < 100 ms. The sessions are copies of tests/sessions.py's (tests/copies.py).

Run: .venv/bin/python bench/home.py [--quick]   (--quick: 2 000 sessions, fewer repeats)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, Timing, main, process_seconds, row  # noqa: E402
from bench.startup import CLI, FIRST_FRAME, MINIMAL_APP  # noqa: E402

KEYS = "sonnet 11-0"
BASELINE_SESSIONS = 100

LISTED = """
from streamwatch.tui.widgets.sessiontable import SessionTable
_frame = App._display


def listed(self, screen, renderable):
    tables = screen.query(SessionTable)
    if renderable is not None and tables and tables.first().row_count >= int(os.environ.get("BENCH_ROWS", "1")):
        _frame(self, screen, renderable)
    else:
        _display(self, screen, renderable)


App._display = listed
"""
LIST_SHOWN = FIRST_FRAME + LISTED + CLI.removeprefix(FIRST_FRAME)
"""The `streamwatch` command, marked at the first frame that shows sessions in the list ($BENCH_ROWS of
them at least: 1 unless it says)."""
FIRST_START = """
import os, pathlib
pathlib.Path(os.environ["STREAMWATCH_HOME"], "index.sqlite3").unlink(missing_ok=True)
""" + LIST_SHOWN
"""The same, on a first start: no session index (it is made again from the files by each run)."""


def screen_side(summaries: list, folder: Path) -> tuple[float, float, float, list[float]]:
    """Seconds from the summaries in hand to the frame that shows the newest of them, and to the one
    that shows them all (the list's worker starts after the screen's first frame); to the one that
    shows them all again on `r` (the rows of unchanged summaries are kept); and from each key of
    `KEYS` typed in the filter to the frame that shows its answer."""
    from streamwatch.core.catalog import Catalog
    from streamwatch.tui.app import StreamwatchApp
    from streamwatch.tui.screens.home import HomeScreen
    from streamwatch.tui.widgets.sessiontable import SessionTable
    from tests.tui.conftest import FixedClock

    handed: list[float] = []
    frames: list[tuple[float, str, list]] = []
    """Each frame drawn: when, what the filter held, and the list of rows the table showed."""

    class InHand(Catalog):
        def summaries(self, *args: object) -> list:
            handed.append(time.perf_counter())
            return summaries

    async def run() -> tuple[float, float, float, list[float]]:
        app = StreamwatchApp(lambda app: HomeScreen(catalog=InHand(folder)), clock=FixedClock())
        display = app._display

        def drawn(screen, renderable) -> None:
            display(screen, renderable)
            tables = screen.query(SessionTable)
            if renderable is not None and tables:
                typed = screen.query_one("#session-filter").value
                frames.append((time.perf_counter(), typed, tables.first().rows))

        app._display = drawn
        async with app.run_test(size=(120, 35)) as pilot:

            async def frame(wanted: Callable[[float, str, list], bool]) -> tuple[float, str, list]:
                while not any(wanted(*drawn) for drawn in frames):
                    await pilot.pause()
                return next(drawn for drawn in frames if wanted(*drawn))

            newest, _, _ = await frame(lambda t, typed, rows: bool(rows))
            whole, _, everything = await frame(lambda t, typed, rows: len(rows) == len(summaries))
            await pilot.press("r")
            again, _, _ = await frame(lambda t, typed, rows: len(rows) == len(summaries) and rows is not everything)
            await pilot.press("slash")
            answers = []
            for n, key in enumerate(KEYS):
                start = time.perf_counter()
                await pilot.press("space" if key == " " else key)
                answered, _, _ = await frame(lambda t, typed, rows: t > start and typed == KEYS[: n + 1])  # noqa: B023
                answers.append(answered - start)
        return newest - handed[0], whole - handed[0], again - handed[1], answers

    return asyncio.run(run())


def listed(home: Path) -> tuple[list, tuple[Timing, Timing]]:
    """The summaries of `home`'s sessions, and the time `Catalog.summaries()` took, cold (the session
    index made from the files) and warm (a new Catalog, from the index)."""
    from streamwatch.core.catalog import Catalog

    before = os.environ.get("STREAMWATCH_HOME")
    os.environ["STREAMWATCH_HOME"] = str(home)
    try:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            summaries = Catalog().summaries()
            times.append(time.perf_counter() - start)
    finally:
        if before is None:
            del os.environ["STREAMWATCH_HOME"]
        else:
            os.environ["STREAMWATCH_HOME"] = before
    cold, warm = (Timing(t, t) for t in times)
    return summaries, (cold, warm)


def rows(quick: bool) -> list[Row]:
    from tests.copies import write_copies

    count = 2_000 if quick else 10_000
    repeat = 2 if quick else 3
    found: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        homes = {n: Path(scratch) / f"home{n}" for n in (BASELINE_SESSIONS, count)}
        for n, home in homes.items():
            write_copies(home / "sessions", n)
        envs = {n: {"STREAMWATCH_HOME": str(home), "STREAMWATCH_CONFIG_HOME": str(Path(scratch) / "config")}
                for n, home in homes.items()}

        summaries, listing = {}, {}
        for n, home in homes.items():
            summaries[n], listing[n] = listed(home)
        for place, when in ((0, "cold: the index made from the files"), (1, "warm: from the index")):
            found.append(row(f"part: Catalog.summaries(), {count} files, {when}", listing[count][place],
                             listing[BASELINE_SESSIONS][place], f"{BASELINE_SESSIONS} files",
                             note="once, the session index's side"))

        textual = process_seconds(MINIMAL_APP, repeat, env={"BENCH_ANY_SCREEN": "1"})
        found.append(row("minimal Textual app, first frame", textual))
        small = process_seconds(CLI, repeat, env=envs[BASELINE_SESSIONS], tty=True)
        found.append(row(f"`streamwatch` home, first frame, {BASELINE_SESSIONS} sessions", small, textual,
                         "minimal app", limit=1.0))
        big = process_seconds(CLI, repeat, env=envs[count], tty=True)
        found.append(row(f"`streamwatch` home, first frame, {count} sessions", big, textual, "minimal app",
                         limit=1.0))
        small = process_seconds(LIST_SHOWN, repeat, env=envs[BASELINE_SESSIONS], tty=True)
        big = process_seconds(LIST_SHOWN, repeat, env=envs[count], tty=True)
        found.append(row(f"whole: `streamwatch` home, its newest sessions shown, {count} sessions (index warm)", big,
                         small, f"{BASELINE_SESSIONS} sessions", limit=1.0))
        first = process_seconds(FIRST_START, repeat, env=envs[count], tty=True)
        found.append(row(f"whole: `streamwatch` home, its newest sessions shown, {count} sessions, first start (no "
                         "index)", first, big, "index warm", limit=1.0, note="shown as the files are read"))
        whole = process_seconds(FIRST_START, repeat, env={**envs[count], "BENCH_ROWS": str(count)}, tty=True)
        found.append(row(f"whole: `streamwatch` home, all {count} sessions shown, first start (no index)", whole,
                         first, "its newest shown", note="the index made from the files meanwhile"))

        measured = {n: [screen_side(summaries[n], homes[n] / "sessions") for _ in range(repeat)] for n in homes}
        for place, when in ((0, "its newest"), (1, "all"), (2, "all again on `r`")):
            shown = {n: Timing(min(run[place] for run in runs), statistics.median(run[place] for run in runs))
                     for n, runs in measured.items()}
            found.append(row(f"part: summaries in hand to the list shown, {when}, {count} sessions", shown[count],
                             shown[BASELINE_SESSIONS], f"{BASELINE_SESSIONS} sessions", note="the screen's side"))
        keys = {n: [answer for *_, answers in runs for answer in answers] for n, runs in measured.items()}
        for name, pick in (("median", statistics.median), ("worst", max)):
            mine, base = pick(keys[count]), pick(keys[BASELINE_SESSIONS])
            found.append(row(f"part: a key typed in the filter to its answer shown, {name}, {count} sessions",
                             Timing(min(keys[count]), mine), Timing(min(keys[BASELINE_SESSIONS]), base),
                             f"{BASELINE_SESSIONS} sessions", limit=0.1, note=f"{len(keys[count])} keys"))
    return found


if __name__ == "__main__":
    main(rows, __doc__)
