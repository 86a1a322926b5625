"""OpenTelemetry export: what sending spans costs the thread that records the streams.

A stream of the demo's size (a text answer, ~130 events, ~16 KB) saved as a session, played through the
core as a live run records it (`replay_attempts`, which fires the same hooks), 200 sessions in a row:
with the OTLP hook sending to a collector on loopback (the test's, in a process of its own), with it sending to
a port where nothing listens (a dead collector), against the same sessions with no hook. The spans
are sent by the SDK's BatchSpanProcessor on its own thread, which shares the machine's cores (and the
interpreter's lock) with the recording thread. Measured as CPU time, which a shared machine's load
leaves alone (wall time there mostly counts the waits for a core): the recording thread's own, and
the whole process's (the sender's thread included). Target: within 1.15x of the same without export.
And, as a whole process, the one-time cost of setting the exporter up (importing the SDK), next to
importing streamwatch's command line.

Run: .venv/bin/python bench/otlp.py [--quick]
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, Timing, child_env, process_seconds, row  # noqa: E402
from streamwatch.core.playback import replay_attempts  # noqa: E402
from streamwatch.core.recording import load_session  # noqa: E402
from streamwatch.export.otlp import Exporter  # noqa: E402
from tests import sessions  # noqa: E402
from tests import streams as s  # noqa: E402

TARGET = 1.15
SETUP = "from streamwatch.export.otlp import Exporter; Exporter('http://127.0.0.1:9/v1/traces').close(0)"


COLLECTOR = """
import sys, threading
from tests.otlp_collector import Collector
with Collector(int(sys.argv[1])):
    print("ready", flush=True)
    sys.stdin.read()
"""


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rows(quick: bool) -> list[Row]:
    count, repeat = (50, 3) if quick else (200, 7)
    with tempfile.TemporaryDirectory() as folder:
        text = "Streams break where nobody looks. " * 60
        chunks = [s.message_start(), s.ping(), *s.text_block(0, text, 16), s.message_delta("end_turn", 400),
                  s.message_stop()]
        session = load_session(sessions.write(Path(folder), "20261201-120000-demo-0a0b0c0d.jsonl",
                                              "2026-12-01T12:00:00.000+00:00", "demo", chunks=chunks, step=0.01))

        def play(exporter: Exporter | None) -> None:
            for _ in range(count):
                replay_attempts(session, 5.0, [] if exporter is None else [exporter.hook(source="demo")])

        port = dead_port()
        env = child_env()
        with subprocess.Popen([sys.executable, "-c", COLLECTOR, str(port)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env, cwd=env["PYTHONPATH"]) as collector:
            assert collector.stdout is not None and collector.stdout.readline() == "ready\n"
            exporter = Exporter(f"http://127.0.0.1:{port}/v1/traces")
            dead = Exporter(f"http://127.0.0.1:{dead_port()}/v1/traces", on_warning=lambda line: None)
            # Interleaved, so that the load of a busy machine weighs on the three alike.
            times: dict[Exporter | None, list[tuple[float, float]]] = {None: [], exporter: [], dead: []}
            for _ in range(repeat):
                for which, seconds in times.items():
                    thread, process = time.thread_time(), time.process_time()
                    play(which)
                    seconds.append((time.thread_time() - thread, time.process_time() - process))
            exporter.close(30.0)
            dead.close()
            collector.communicate("")
        thread = [spread([t for t, _ in found]) for found in times.values()]
        process = [spread([p for _, p in found]) for found in times.values()]
        setup = process_seconds(SETUP, repeat)
        cli = process_seconds("import streamwatch.cli", repeat)
    per = f"{count} sessions of {len(chunks) - 1}+ events"
    return [
        row(f"recording thread's CPU: {per}, spans to a collector ({exporter.sent} spans taken)", thread[1],
            thread[0], "no export", TARGET),
        row(f"process CPU, sender included: {per}, spans to a collector", process[1], process[0], "no export", TARGET),
        row(f"recording thread's CPU: {per}, spans to a dead collector", thread[2], thread[0], "no export", TARGET),
        row(f"process CPU, sender included: {per}, spans to a dead collector", process[2], process[0], "no export",
            TARGET),
        row("a process that sets the exporter up (imports the SDK), wall time", setup, cli, "import streamwatch.cli"),
    ]


def spread(seconds: list[float]) -> Timing:
    return Timing(min(seconds), statistics.median(seconds))


if __name__ == "__main__":
    from bench._common import main

    main(rows, __doc__)
