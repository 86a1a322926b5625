"""Replay through the headless app at max speed: a 50 000-event session, and big sessions.

50 000 events: total time to reach the verdict, next to the same recording fed through the core
alone; the worst event-loop lag seen by a 10 ms probe; the latency of key presses (`up` in the
timeline) made every 100 ms while the replay runs, from the key event to its action, median and
worst (target: under 100 ms); and how many frames a second the screen drew (the cap is 20).

Big sessions (a 10 MB text answer and a tool input, 40 characters an event: 250 000 events, ~39 MB
of SSE; and 500 000 events, twice that), each in a process of its own: the peak resident set of the
process replaying it (ru_maxrss), against the body's size and the target of 3x the body + 80 MB;
the answer to every key a user presses (scroll, page, home/end, a `/` filter, a ctrl+f search, `p`)
while it plays and after it ended, from the key to what it changed on screen, median and worst
(target: under 100 ms); how long until it is all read; and the first frame of `streamwatch replay`
on it as a whole process, beside the minimal Textual app of bench/startup.py (target < 1 s), and that
of `streamwatch attach` beside it (both read the file behind their first frame).

On a shared machine CPU speed drifts between runs: compare the rows of one run.

Run: .venv/bin/python bench/tui_replay.py [--quick]   (quick: 10 000 events, a 50 000-event big session)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, child_env, process_seconds, row  # noqa: E402
from bench._common import main as bench_main  # noqa: E402
from bench.startup import CLI, MINIMAL_APP  # noqa: E402
from streamwatch.core.diagnose import End, StreamState  # noqa: E402
from streamwatch.core.recording import SessionWriter, load_session  # noqa: E402
from streamwatch.tui.app import StreamwatchApp  # noqa: E402
from streamwatch.tui.launch import replay_feed  # noqa: E402
from streamwatch.tui.screens.run import RunScreen  # noqa: E402
from streamwatch.tui.widgets.timeline import Timeline  # noqa: E402
from tests import streams as s  # noqa: E402

MB = 1024 * 1024


def write_session(folder: Path, events: int) -> Path:
    """A text block and a tool_use block, one event per chunk, 0.5 ms apart."""
    text_events = events // 2
    text = "".join(f"word{i % 97} " for i in range(text_events))
    tool_input = {"path": "out.txt", "content": "x" * (events - text_events) * 20}
    chunks = [s.message_start(), *s.text_block(0, text, max(1, len(text) // text_events)),
              *s.tool_block(1, "write_file", tool_input, 20), s.message_delta("tool_use"), s.message_stop()]
    return _write(folder, chunks, 0.0005)


def big_session(folder: Path, events: int) -> tuple[Path, int]:
    """`events` events: a text answer in 40-character deltas, then a tool input in 40-character pieces
    (one event in 25), one event per chunk 10 µs apart; the path and the body's size in bytes. The
    chunks are made once each and repeated (building 250 000 events one by one takes seconds)."""
    piece = "lorem ipsum dolor sit amet, consectetur "
    tool_events = events // 25
    text_events = events - tool_events - 8
    text_delta = s.delta(0, {"type": "text_delta", "text": piece})
    json_delta = s.delta(1, {"type": "input_json_delta", "partial_json": '"' + piece[:38] + '",'})
    chunks = [s.message_start(), *s.text_block(0, "", 1)[:1], *[text_delta] * text_events, s.block_stop(0),
              s.block_start(1, {"type": "tool_use", "id": "toolu_01", "name": "write_file", "input": {}}),
              s.delta(1, {"type": "input_json_delta", "partial_json": '{"rows": ['}), *[json_delta] * tool_events,
              s.delta(1, {"type": "input_json_delta", "partial_json": '"end"]}'}), s.block_stop(1),
              s.message_delta("tool_use"), s.message_stop()]
    return _write(folder, chunks, 0.00001), sum(map(len, chunks))


def _write(folder: Path, chunks: list[bytes], step: float) -> Path:
    writer = SessionWriter.create("demo", {"method": "POST", "url": "bench", "headers": {}, "body": {}},
                                  directory=folder)
    writer.response(200, {"content-type": "text/event-stream"}, 0.2)
    for i, chunk in enumerate(chunks):
        writer.chunk(chunk, 0.3 + i * step)
    writer.end(End.EOF, 0.3 + len(chunks) * step)
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


# ----- big sessions ------------------------------------------------------------------------------

BIG = """
import asyncio, json, resource, sys
sys.path.insert(0, ".")
from bench.tui_replay import big_replay
found = asyncio.run(big_replay(sys.argv[1]))
found["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(found))
"""


def _keys(app: StreamwatchApp) -> list[tuple[str, tuple[str, ...], str, Callable[[], object]]]:
    """The keys a user presses on a big replay: (name, keys typed first, the key timed, what shows it
    was answered: a value that changes when the key has done its work). The timeline's keys are
    pressed with the timeline focused (a search leaves the focus on the text pane)."""
    screen = app.screen
    timeline = screen.query_one(Timeline)
    tools = screen.query_one("#tools")
    text = screen.query_one("#text")
    return [
        ("scroll (up)", (), "up", lambda: (timeline.cursor, timeline.follow)),
        ("page down", (), "pagedown", lambda: timeline.cursor),
        ("home", (), "home", lambda: timeline.cursor),
        ("end", (), "end", lambda: (timeline.cursor, timeline.follow)),
        ("/ filter 'json'", ("slash", *"json"), "enter", lambda: timeline.filter.text),
        ("/ filter cleared (escape)", (), "escape", lambda: timeline.filter.text),
        ("ctrl+f search 'dolor'", ("ctrl+f", *"dolor"), "enter", lambda: text.query),
        ("search closed (escape)", (), "escape", lambda: text.query),
        ("p (tool input pretty/raw)", (), "p", lambda: tools.pretty),
    ]


async def _answer(app: StreamwatchApp, typed: tuple[str, ...], key: str, shown: Callable[[], object]) -> float | None:
    """Seconds from `key` to `shown()` changing; None when it did not change within 10 s (the key does
    nothing here: `p` before the tool block arrived)."""
    timeline = app.screen.query_one(Timeline)
    if key in ("up", "pagedown", "home", "end") and app.focused is not timeline:
        timeline.focus()
        await asyncio.sleep(0.05)
    for each in typed:
        app.simulate_key(each)
        await asyncio.sleep(0.005)
    before, start = shown(), time.perf_counter()
    app.simulate_key(key)
    while shown() == before:
        if time.perf_counter() - start > 10:
            return None
        await asyncio.sleep(0.001)
    return time.perf_counter() - start


def _all_read(feed: object) -> bool:
    loader = getattr(feed, "loader", None)
    return loader is None or loader.done


async def big_replay(path: str) -> dict[str, object]:
    """A replay of `path` at max speed in the headless app: every key of `_keys` in turn, pressed over
    and over while it plays and after its end; when the whole file was read and the verdict reached."""
    start = time.perf_counter()
    feed = replay_feed(Path(path), 5.0, speed=None)
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock))
    presses: dict[str, list[tuple[str, float | None]]] = {"playing": [], "after": []}
    filtered: list[float] = []
    async with app.run_test(size=(120, 35)):
        first = time.perf_counter() - start
        keys = _keys(app)
        loaded = ended = None
        rounds = 0
        while rounds < 2:
            for name, typed, key, shown in keys:
                took = await _answer(app, typed, key, shown)
                if key == "enter" and typed[0] == "slash":
                    filtered.append(await _filtered(app, took))
                if loaded is None and _all_read(feed):
                    loaded = time.perf_counter() - start
                presses["after" if ended is not None else "playing"].append((name, took))
                await asyncio.sleep(0.05)
            if ended is None and feed.player.finished:
                ended = time.perf_counter() - start
            rounds += ended is not None
        verdict = feed.player.state.verdict()
        assert verdict.complete, verdict.explanation
    return {"first": first, "loaded": loaded, "ended": ended, "events": verdict.event_count, "filtered": filtered,
            **presses}


async def _filtered(app: StreamwatchApp, took: float | None) -> float:
    """Seconds from the filter's enter until every event was matched against it (the rows show as they
    are found: `Timeline.scanning`, where there is one)."""
    timeline = app.screen.query_one(Timeline)
    start = time.perf_counter() - (took or 0.0)
    while getattr(timeline, "scanning", False):
        await asyncio.sleep(0.001)
    return time.perf_counter() - start


def big_rows(events: int, folder: Path, repeat: int) -> list[Row]:
    path, body = big_session(folder, events)
    env = child_env()
    done = subprocess.run([sys.executable, "-c", BIG, str(path)], capture_output=True, text=True, env=env,
                          cwd=env["PYTHONPATH"], timeout=900)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-2000:])
    found = json.loads(done.stdout.splitlines()[-1])
    size = body / MB
    label = f"replay of {found['events']} events ({size:.0f} MB of SSE, {path.stat().st_size / MB:.0f} MB file)"
    found_rows = [Row(f"{label}: peak", found["peak"] / MB, size, "body", unit="MB", limit=3 * size + 80)]
    for name, when in (("while it plays", "playing"), ("after its end", "after")):
        answered = [(key, took) for key, took in found[when] if took is not None]
        unanswered = sorted({key for key, took in found[when] if took is None})
        if not answered:
            continue
        worst_key, worst = max(answered, key=lambda each: each[1])
        note = f"{len(answered)} keys" + (f"; no answer in 10 s: {', '.join(unanswered)}" if unanswered else "")
        found_rows.append(Row(f"{label}: keys {name}, median", statistics.median(t for _, t in answered), None,
                              limit=0.1, note=note))
        found_rows.append(Row(f"{label}: keys {name}, worst", worst, None, limit=0.1, note=worst_key))
    if found["filtered"]:
        found_rows.append(Row(f"{label}: / filter 'json' on every event, worst", max(found["filtered"]), None,
                              note="rows show as they are found; keys go on meanwhile"))
    found_rows.append(Row(f"{label}: all read, in the app", found["loaded"] or found["ended"], None))
    env = {"STREAMWATCH_HOME": str(folder / "data"), "STREAMWATCH_CONFIG_HOME": str(folder / "config")}
    timing = process_seconds(CLI, repeat, ("replay", str(path)), env=env)
    found_rows.append(row(f"{label}: `streamwatch replay` first frame", timing, None, limit=1.0))
    attach = process_seconds(CLI, repeat, ("attach", str(path)), env=env)
    found_rows.append(row(f"{label}: `streamwatch attach` first frame", attach, timing, "replay's first frame",
                          limit=1.0, note="its writer gone: it plays to the end as a replay"))
    path.unlink()
    return found_rows


def rows(quick: bool) -> list[Row]:
    events = 10_000 if quick else 50_000
    with tempfile.TemporaryDirectory() as folder:
        path = write_session(Path(folder), events)
        base, _ = core_only(path)
        app = asyncio.run(through_app(path, (120, 35), None))
        path.unlink()
        label = f"replay of {app['events']} events at max speed"
        found = [
            Row(f"{label}: time to the verdict", app["total"], base, "core only"),
            Row(f"{label}: worst event-loop lag", app["lag"], None),
            Row(f"{label}: median key press", app["key_median"], None, limit=0.1),
            Row(f"{label}: worst key press", app["key"], None, limit=0.1),
            Row(f"{label}: frames drawn per second (cap 20)", app["fps"], None, unit="fps"),
        ]
        repeat = 1 if quick else 3
        textual = process_seconds(MINIMAL_APP, repeat, env={"BENCH_ANY_SCREEN": "1"})
        found.append(row("minimal Textual app, first frame (bench/startup.py)", textual))
        for big in (50_000,) if quick else (250_000, 500_000):
            big_found = big_rows(big, Path(folder), repeat)
            for each in big_found:
                if each.name.endswith("`streamwatch replay` first frame"):
                    each.baseline, each.baseline_name = textual.median, "minimal app"
            found += big_found
    return found


if __name__ == "__main__":
    bench_main(rows, __doc__)
