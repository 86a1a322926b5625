"""Start-up: first frame of the home, replay and attach screens, and `analyze` of a small capture.

Each is a whole process, from its start to its first frame drawn (Textual headless, 120x35) or,
for `analyze`, to its exit; against `python -c pass` and a minimal Textual app (one Static) timed
the same way in the same run. Targets: first frame < 1 s, analyze < 150 ms.

Run: .venv/bin/python bench/startup.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, main, process_seconds, row  # noqa: E402

FIRST_FRAME = """
import os, sys, time
from textual.app import App
from textual.screen import Screen

_display, _run = App._display, App.run


def display(self, screen, renderable):
    _display(self, screen, renderable)
    if renderable is None or getattr(self, "_bench_marked", False):
        return
    if type(screen) is Screen and not os.environ.get("BENCH_ANY_SCREEN"):
        return  # the app's default screen, before its own first screen is pushed
    self._bench_marked = True
    with open(os.environ["BENCH_MARK"], "w") as mark:
        mark.write(repr(time.time()))
    self.exit()


App._display = display
App.run = lambda self, **options: _run(self, headless=True, size=(120, 35))
"""

CLI = FIRST_FRAME + """
from streamwatch.cli import main
sys.exit(main(sys.argv[1:]))
"""

MINIMAL_APP = FIRST_FRAME + """
from textual.widgets import Static


class Minimal(App):
    def compose(self):
        yield Static("hello")


Minimal().run()
"""

ANALYZE = "import sys\nfrom streamwatch.cli import main\nsys.exit(main(sys.argv[1:]))"


def small_session(folder: Path) -> Path:
    from streamwatch.core.diagnose import End
    from streamwatch.core.recording import SessionWriter
    from tests import streams as s

    chunks = [s.message_start(), *s.text_block(0, "word " * 400, 10), s.message_delta("end_turn"), s.message_stop()]
    writer = SessionWriter.create("demo", {"method": "POST", "url": "bench", "headers": {}, "body": {}},
                                  directory=folder)
    writer.response(200, {"content-type": "text/event-stream"}, 0.2)
    for i, chunk in enumerate(chunks):
        writer.chunk(chunk, 0.3 + i * 0.001)
    writer.end(End.EOF, 0.3 + len(chunks) * 0.001)
    writer.close()
    return writer.path


def small_capture(folder: Path) -> Path:
    from tests import streams as s

    path = folder / "small.sse"
    parts = [s.message_start(), *s.text_block(0, "word " * 400, 10), s.message_delta("end_turn"), s.message_stop()]
    path.write_bytes(b"".join(parts))
    return path


def rows(quick: bool) -> list[Row]:
    repeat = 3 if quick else 7
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        session, capture = small_session(home), small_capture(home)
        env = {"STREAMWATCH_HOME": str(home / "data"), "STREAMWATCH_CONFIG_HOME": str(home / "config")}
        python = process_seconds("pass", repeat)
        textual = process_seconds(MINIMAL_APP, repeat, env={"BENCH_ANY_SCREEN": "1"})
        sdk = process_seconds("import anthropic", repeat)
        found = [
            row("python -c pass", python),
            row("python -c 'import anthropic' (not paid by what sends nothing)", sdk, python, "python"),
            row("minimal Textual app, first frame", textual, python, "python"),
        ]
        for name, args, tty in (
            ("`streamwatch` home, first frame", (), True),
            ("`streamwatch replay`, first frame", ("replay", str(session)), False),
            ("`streamwatch attach`, first frame", ("attach", str(session)), False),
        ):
            timing = process_seconds(CLI, repeat, args, env=env, tty=tty)
            found.append(row(name, timing, textual, "minimal app", limit=1.0))
        timing = process_seconds(ANALYZE, repeat, ("analyze", str(capture)), env=env)
        found.append(row("`streamwatch analyze` small capture, whole process", timing, python, "python", limit=0.15))
    return found


if __name__ == "__main__":
    main(rows, __doc__)
