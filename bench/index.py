"""The session index: listing and counting 10 000 saved sessions, cold, warm, and as before the index.

10 000 small sessions of mixed outcomes (tests/fleet.py, 2 000 with --quick) in a data folder. The
baseline, measured in the same run, is how the list was made before the index: every file replayed
through the core (`catalog.summarize`, what a new process's `Catalog.summaries()` did). Against it:
`Catalog.summaries()` cold (no index: every file read, and the index written), warm (a new
`Catalog`, as a new process lists: every row from the index, no file read), and again in the same
process (nothing changed: only the folder is listed); counting `stats --by model` over a warm list;
and `streamwatch sessions` and `streamwatch stats` as whole processes, warm, against the same
commands where the index cannot be used (every file read); and what `latest` names (`Catalog.latest`:
the newest stream, for attach the newest session still being recorded), warm, against the newest file
by modification time, which `latest` was before it looked at what the files hold. Target: a warm list of 10 000 under 1 s
(the home screen's budget).

Run: .venv/bin/python bench/index.py [--quick]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, main, process_seconds, row, timed  # noqa: E402

CLI = "import sys\nfrom streamwatch.cli import main\nsys.exit(main(sys.argv[1:]))"


def rows(quick: bool) -> list[Row]:
    count = 2_000 if quick else 10_000
    repeat = 3 if quick else 5
    slow_repeat = 1 if quick else 2
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        os.environ["STREAMWATCH_HOME"] = str(home)
        os.environ["STREAMWATCH_CONFIG_HOME"] = str(home / "config")
        from streamwatch.core.catalog import Catalog, summarize
        from streamwatch.core.index import INDEX_NAME
        from streamwatch.core.recording import session_entries, session_files
        from streamwatch.core.stats import count as count_stats
        from tests.fleet import write_fleet

        write_fleet(home / "sessions", count)
        index = home / INDEX_NAME

        def files() -> None:
            for path, status in session_entries(home / "sessions"):
                summarize(path, status.st_size, status.st_mtime)

        def cold() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{index}{suffix}").unlink(missing_ok=True)
            Catalog().summaries()

        baseline = timed(files, slow_repeat)
        found = [row(f"`Catalog.summaries()` of {count} sessions, cold (no index: reads every file, writes the index)",
                     timed(cold, slow_repeat), baseline, "every file read")]
        found.append(row(f"`Catalog.summaries()` of {count}, warm (a new catalog, from the index)",
                         timed(lambda: Catalog().summaries(), repeat), baseline, "every file read", limit=1.0))
        catalog = Catalog()
        catalog.summaries()
        found.append(row(f"`Catalog.summaries()` of {count} again in the same process (nothing changed)",
                         timed(catalog.summaries, repeat), baseline, "every file read"))
        found.append(row(f"`stats --by model` of {count}: a warm list and the count",
                         timed(lambda: count_stats(Catalog().summaries(), "model"), repeat), baseline,
                         "every file read"))
        newest = timed(lambda: session_files()[0], repeat)
        for live, what in ((False, "the newest stream"), (True, "attach's: the newest session being recorded")):
            found.append(row(f"`latest` of {count}, warm ({what})", timed(lambda live=live: Catalog().latest(live), repeat),
                             newest, "the newest file by mtime"))
        env = {"STREAMWATCH_HOME": str(home), "STREAMWATCH_CONFIG_HOME": str(home / "config")}
        for name, args in (("`streamwatch sessions`", ("sessions",)), ("`streamwatch stats`", ("stats",))):
            warm = process_seconds(CLI, repeat, args, env=env)
            index.rename(f"{index}.aside")
            index.mkdir()  # a folder at its name: the index cannot be used, every file is read as before it
            before = process_seconds(CLI, slow_repeat, args, env=env)
            index.rmdir()
            Path(f"{index}.aside").rename(index)
            found.append(row(f"{name} of {count}, whole process, warm", warm, before, "the same, every file read"))
    return found


if __name__ == "__main__":
    main(rows, __doc__)
