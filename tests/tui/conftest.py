"""Recorded streams, a fixed clock and a wait on a condition, for driving the TUI deterministically."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from streamwatch.core.diagnose import End
from streamwatch.core.playback import Player, SessionPlayer
from streamwatch.core.recording import Recording, Session
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.screens.run import Feed, RunScreen
from tests import sessions
from tests import streams as s

SESSION = Path("/home/dev/.local/share/streamwatch/sessions/20261122-020000-demo-abcd1234.jsonl")
ANSWER = "Here is the plan.\nFirst we read the file, then we write the report with every section."


WAIT_SECONDS = 60.0
"""How long `wait_for` lets the app run before the test fails: only reached when something is broken."""


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = WAIT_SECONDS) -> None:
    """Let the app run (handle what is queued, then idle a moment) until `condition()` is true; fail after
    `timeout` seconds saying what the screen showed. A test waits on what it then asserts, never a fixed time:
    a loaded machine only makes this slower, never wrong."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s in vain; the screen shows:\n{on_screen(pilot.app)}")
        await pilot.pause()


async def frames(pilot: Pilot, count: int = 1) -> None:
    """Let the run screen draw `count` frames from now (on its frame clock, or after a key): what a screen
    shows once its clock has moved on, where nothing is meant to change."""
    screen = pilot.app.screen
    drawn = 0

    def counted() -> None:
        nonlocal drawn
        type(screen).refresh_frame(screen)
        drawn += 1

    screen.refresh_frame = counted
    try:
        await wait_for(pilot, lambda: drawn >= count)
    finally:
        del screen.refresh_frame


def on_screen(app) -> str:
    """The app's screen as text, the last frame it painted (what a failed wait reports)."""
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


class FixedClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def timed(chunks: list[bytes], start: float = 0.4, step: float = 0.05, pause_after: int | None = None,
          pause: float = 0.0) -> list[tuple[float, bytes]]:
    out, t = [], start
    for i, chunk in enumerate(chunks):
        out.append((round(t, 3), chunk))
        t += step + (pause if i == pause_after else 0.0)
    return out


def recording(chunks: list[tuple[float, bytes]], status: int = 200, end: End | None = End.EOF,
              error: dict | None = None) -> Recording:
    rec = Recording(request={})
    rec.response(status, {"content-type": "text/event-stream"}, 0.3)
    for t, chunk in chunks:
        rec.chunk(chunk, t)
    if end is not None:
        rec.end(end, chunks[-1][0] + 0.01 if chunks else 0.31, error)
    return rec


def seed_chunks() -> list[bytes]:
    tool = s.tool_block(1, "write_file", {"path": "report.md", "content": "Quarterly numbers. " * 120}, 40, stop=False)
    return [s.message_start(), s.ping(), *s.text_block(0, ANSWER, 8), *tool]


SCENES = {
    "streaming": lambda: (recording(timed(seed_chunks()[:9]), end=None), 0.85),
    "stalled": lambda: (recording(timed(seed_chunks()[:9]), end=None), 7.6),
    "complete": lambda: (recording(timed([s.message_start(), s.ping(), *s.text_block(0, ANSWER, 8),
                                          s.message_delta("end_turn", 24), s.message_stop()])), 99.0),
    "eof_in_tool_use": lambda: (recording(timed(seed_chunks(), pause_after=5, pause=6.0)), 99.0),
    "error_event": lambda: (recording(timed([s.message_start(), *s.text_block(0, ANSWER, 8)[:6], s.error()])), 99.0),
    "http_529": lambda: (recording([(0.31, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')],
                                   status=529), 99.0),
}


def live_app(scene: str, clock: FixedClock | None = None) -> StreamwatchApp:
    rec, position = SCENES[scene]()
    clock = clock or FixedClock()
    player = Player(rec, stall_threshold=5.0, live=True)
    player.tick(clock.now)
    player.position = position
    feed = Feed(kind="live", player=player, session_path=SESSION)
    return StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=clock)


def replay_app(rec: Recording | Session, clock: FixedClock, speed: float | None = 1.0) -> StreamwatchApp:
    """A replay of one recording, or of every attempt of a session."""
    session = rec if isinstance(rec, Session) else Session(path=SESSION, header={}, attempts=[rec])
    player = SessionPlayer(session, stall_threshold=5.0, speed=speed)
    feed = Feed(kind="replay", player=player, session_path=SESSION)
    return StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=clock)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def user_home(tmp_path, monkeypatch):
    """A user's folders under `tmp_path` (its `streamwatch` folder is the data folder, returned), in UTC,
    with no API key and an empty config."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "streamwatch"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TZ", "UTC")
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    time.tzset()
    yield tmp_path / "streamwatch"
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def home(user_home):
    """A user with the sample sessions (their paths, newest first)."""
    return sessions.write_sample(user_home / "sessions")
