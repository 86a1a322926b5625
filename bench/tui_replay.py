"""Replay of a 50 000-event session through the headless app at max speed.

Total time to reach the verdict, next to the same recording fed through the core alone; the worst
event-loop lag seen by a 10 ms probe; the latency of key presses (`up` in the timeline) made every
100 ms while the replay runs, from the key event to its action, median and worst (target: under
100 ms); and how many frames a second the screen drew (the cap is 20). On a shared machine CPU
speed drifts between runs: compare the rows of one run.

Run: .venv/bin/python bench/tui_replay.py [--quick]   (50 000 events; 10 000 with --quick)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row  # noqa: E402
from bench._common import main as bench_main  # noqa: E402
from streamwatch.core.diagnose import End, StreamState  # noqa: E402
from streamwatch.core.recording import SessionWriter, load_session  # noqa: E402
from streamwatch.tui.app import StreamwatchApp  # noqa: E402
from streamwatch.tui.launch import replay_feed  # noqa: E402
from streamwatch.tui.screens.run import RunScreen  # noqa: E402
from streamwatch.tui.widgets.timeline import Timeline  # noqa: E402
from tests import streams as s  # noqa: E402


def write_session(folder: Path, events: int) -> Path:
    """A text block and a tool_use block, one event per chunk, 0.5 ms apart."""
    text_events = events // 2
    text = "".join(f"word{i % 97} " for i in range(text_events))
    tool_input = {"path": "out.txt", "content": "x" * (events - text_events) * 20}
    chunks = [s.message_start(), *s.text_block(0, text, max(1, len(text) // text_events)),
              *s.tool_block(1, "write_file", tool_input, 20), s.message_delta("tool_use"), s.message_stop()]
    writer = SessionWriter.create("demo", {"method": "POST", "url": "bench", "headers": {}, "body": {}},
                                  directory=folder)
    writer.response(200, {"content-type": "text/event-stream"}, 0.2)
    for i, chunk in enumerate(chunks):
        writer.chunk(chunk, 0.3 + i * 0.0005)
    writer.end(End.EOF, 0.3 + len(chunks) * 0.0005)
    writer.close()
    return writer.path


def core_only(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    state = load_session(path).latest.replay_into(StreamState())
    return time.perf_counter() - start, len(state.events)


async def through_app(path: Path, size: tuple[int, int], speed: float | None) -> dict[str, float]:
    load_start = time.perf_counter()
    feed = replay_feed(path, 5.0, speed=speed)
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock))
    lags: list[float] = []
    presses: list[float] = []
    frames: list[float] = []
    async with app.run_test(size=size):
        start = time.perf_counter()
        screen = app.screen
        draw = screen.refresh_frame

        def counted() -> None:
            frames.append(time.perf_counter())
            draw()

        screen.refresh_frame = counted

        async def probe() -> None:
            while True:
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - before - 0.01)

        task = asyncio.create_task(probe())
        timeline = app.screen.query_one(Timeline)
        handled: list[float] = []
        original = timeline.action_move

        def move(delta: int) -> None:
            handled.append(time.perf_counter())
            original(delta)

        timeline.action_move = move
        while not feed.player.finished:
            before = time.perf_counter()
            app.simulate_key("up")
            while not handled or handled[-1] < before:
                await asyncio.sleep(0.001)
            presses.append(handled[-1] - before)
            await asyncio.sleep(0.1)
        total = time.perf_counter() - start
        task.cancel()
        verdict = feed.player.state.verdict()
        assert verdict.complete, verdict.explanation
    return {
        "load": start - load_start,
        "total": total,
        "lag": max(lags, default=0.0),
        "key": max(presses, default=0.0),
        "key_median": sorted(presses)[len(presses) // 2] if presses else 0.0,
        "fps": len(frames) / total,
        "duration": feed.player.duration,
        "events": verdict.event_count,
    }


def rows(quick: bool) -> list[Row]:
    events = 10_000 if quick else 50_000
    with tempfile.TemporaryDirectory() as folder:
        path = write_session(Path(folder), events)
        base, _ = core_only(path)
        app = asyncio.run(through_app(path, (120, 35), None))
    label = f"replay of {app['events']} events at max speed"
    return [
        Row(f"{label}: time to the verdict", app["total"], base, "core only"),
        Row(f"{label}: worst event-loop lag", app["lag"], None),
        Row(f"{label}: median key press", app["key_median"], None, limit=0.1),
        Row(f"{label}: worst key press", app["key"], None, limit=0.1),
        Row(f"{label}: frames drawn per second (cap 20)", app["fps"], None, unit="fps"),
    ]


if __name__ == "__main__":
    bench_main(rows, __doc__)
