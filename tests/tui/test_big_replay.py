"""A big session replayed or attached: its first frame comes before its file is read, the keys are
answered while it is read, and a filter over many events leaves the keys free. Each waits on what it then asserts (a file held half read, frames held
back), never on a time."""

from __future__ import annotations

import re
import threading

import pytest

from streamwatch.core.diagnose import End
from streamwatch.core.eventfilter import parse_filter
from streamwatch.core.recording import SessionWriter
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.launch import attach_feed, replay_feed
from streamwatch.tui.screens.run import RunScreen
from streamwatch.tui.widgets import textview as textview_module
from streamwatch.tui.widgets import timeline as timeline_module
from streamwatch.tui.widgets.textview import TextView
from streamwatch.tui.widgets.timeline import Timeline
from tests import sessions
from tests import streams as s
from tests.tui.conftest import WAIT_SECONDS, FixedClock, recording, replay_app, timed, wait_for

pytestmark = pytest.mark.anyio


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


def timeline(app) -> Timeline:
    return app.screen.query_one(Timeline)


def held(loader, after: int, released: threading.Event) -> None:
    """The loader's lines held after the first `after` records until the test lets them go."""
    lines = loader._lines

    def lines_held() -> object:
        for number, line in enumerate(lines):
            if number == after:
                released.wait(WAIT_SECONDS)
            yield line

    loader._lines = lines_held()


def notices(app) -> list[str]:
    return [str(notice.message) for notice in app._notifications]


async def test_a_replay_shows_its_first_frame_before_its_file_is_read_and_plays_what_was_read(tmp_path):
    feed = replay_feed(sessions.write_resumed(tmp_path), 5.0, speed=None)
    released = threading.Event()
    held(feed.loader, 5, released)  # the response head and four chunks
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=FixedClock(0.0))
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_for(pilot, lambda: "LOADING" in status(app) and len(timeline(app).state.events) == 4)
            await pilot.press("n")  # no anomaly in what was read: not "no further anomaly", the rest is to come
            assert "No anomaly up to event #4 so far: n looks on from there" in notices(app)
            await pilot.press("greater_than_sign")  # to the end of what was read: not the end of the stream
            # Answered at once: the status line says where the replay is going, and that the file is still read.
            assert status(app).startswith(" REPLAY TO END max ") and "LOADING" in status(app)
            assert "STREAMING" in status(app) and "ABNORMAL" not in status(app)
            assert "END" not in timeline(app).border_title
            released.set()
            await wait_for(pilot, lambda: "attempt 2/2 · COMPLETE end_turn" in status(app))
            assert "LOADING" not in status(app) and feed.loader.done and status(app).startswith(" REPLAY PAUSED ")
    finally:
        released.set()


async def test_while_a_replay_loads_its_status_line_and_timeline_count_the_same_events(tmp_path):
    feed = replay_feed(sessions.write_resumed(tmp_path), 5.0, speed=None)
    released = threading.Event()
    held(feed.loader, 5, released)
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=FixedClock(0.0))

    def counts() -> tuple[str, str]:
        return (re.search(r" (\d+) events", status(app))[1], re.search(r" (\d+) events", str(timeline(app).border_title))[1])

    try:
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_for(pilot, lambda: "LOADING" in status(app) and " 4 events" in status(app))
            screen = app.screen
            screen.refresh_frame = lambda: None  # the player is fed on between two frames: no frame drawn yet
            released.set()
            await wait_for(pilot, lambda: len(feed.player.state.events) > 4)
            await pilot.press("up")  # keys redraw the timeline between frames
            assert counts() == ("4", "4") and "PAUSED" in str(timeline(app).border_title)
            await pilot.press("end")
            assert counts() == ("4", "4")
            del screen.refresh_frame
            await wait_for(pilot, lambda: "attempt 2/2 · COMPLETE end_turn" in status(app))
            assert counts()[0] == counts()[1]
    finally:
        released.set()


async def test_attach_shows_its_first_frame_before_the_file_is_read_then_follows_what_is_appended(tmp_path):
    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)  # its writer: this process, running
    writer.response(200, {}, 0.1)
    chunks = s.complete_text("followed from the start")
    for i, chunk in enumerate(chunks[:6]):
        writer.chunk(chunk, 0.2 + i * 0.01)
    feed = attach_feed(writer.path, 5.0)
    released = threading.Event()
    held(feed.loader, 5, released)
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=FixedClock(0.0))
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_for(pilot, lambda: "LOADING" in status(app) and " 4 events" in status(app))
            assert status(app).startswith(" ATTACHED live pid ") and "STREAMING" in status(app)
            released.set()
            await wait_for(pilot, lambda: " 6 events" in status(app))
            assert "LOADING" not in status(app)
            for i, chunk in enumerate(chunks[6:]):
                writer.chunk(chunk, 0.3 + i * 0.01)
            writer.end(End.EOF, 0.5)
            await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
            assert app.screen.query_one("#text", TextView).text == "followed from the start"
            assert feed.player.session.skipped == []
    finally:
        released.set()


async def test_a_filter_over_many_events_goes_a_piece_a_frame_and_the_keys_are_answered_meanwhile(monkeypatch):
    monkeypatch.setattr(timeline_module, "SCAN_SECONDS", 0.0)
    monkeypatch.setattr(timeline_module, "SCAN_BLOCK", 8)
    chunks = [s.message_start(), *s.text_block(0, "word " * 60, 5), s.message_delta("end_turn"), s.message_stop()]
    app = replay_app(recording(timed(chunks, step=0.001)), FixedClock(0.0), speed=None)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
        screen, view = app.screen, timeline(app)
        screen.refresh_frame = lambda: None  # no frame comes: the filter goes no further than its first piece
        await pilot.press("slash", *"stop", "enter")
        assert view.scanning and "so far" in str(view.border_title)
        await pilot.press("end", "home")
        assert view.cursor == 0 and not view.follow and view.scanning  # answered while the filter is underway
        del screen.refresh_frame
        await wait_for(pilot, lambda: not view.scanning)
        state = view.state
        expected = [position + 1 for position in parse_filter("stop").rows(state)]
        assert [view.event_at(row).seq for row in range(view.row_count)] == expected
        assert len(expected) == 3 and "so far" not in str(view.border_title)  # block_stop, message_delta, msg_stop


async def test_a_search_finds_what_the_next_frame_completes_across_the_seam(clock):
    chunks = [s.message_start(), *s.text_block(0, "lorem ipsum dolor sit amet", 3), s.message_delta("end_turn"),
              s.message_stop()]
    app = replay_app(recording(timed(chunks, step=0.1)), clock)
    async with app.run_test(size=(120, 35)) as pilot:
        pane = app.screen.query_one("#text", TextView)
        clock.now += 1.05  # the deltas up to "dol" shown so far
        await wait_for(pilot, lambda: pane.text == "lorem ipsum dol")
        await pilot.press("ctrl+f", *"DOLOR", "enter")
        assert pane.matches == []
        clock.now += 10.0
        await wait_for(pilot, lambda: pane.text == "lorem ipsum dolor sit amet")
        await wait_for(pilot, lambda: pane.matches == [(0, 12)])  # the search goes on a piece a frame


async def test_a_search_of_a_long_text_goes_a_piece_a_frame_and_the_keys_are_answered_meanwhile(monkeypatch):
    monkeypatch.setattr(textview_module, "SEARCH_SECONDS", 0.0)
    monkeypatch.setattr(textview_module, "SEARCH_PIECE", 16)
    answer = "lorem ipsum dolor sit amet " * 20
    chunks = [s.message_start(), *s.text_block(0, answer, 9), s.message_delta("end_turn"), s.message_stop()]
    app = replay_app(recording(timed(chunks, step=0.001)), FixedClock(0.0), speed=None)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
        screen, pane = app.screen, app.screen.query_one("#text", TextView)
        screen.refresh_frame = lambda: None  # no frame comes: the search goes no further than its first piece
        await pilot.press("ctrl+f", *"dolor", "enter")
        assert pane.finding and pane.matches == [(0, 12)] and pane.border_subtitle.startswith("search 'dolor': 1/1 so far")
        await pilot.press("right_square_bracket")
        assert pane.current == 0 and pane.finding  # answered (round the one match found so far)
        del screen.refresh_frame
        await wait_for(pilot, lambda: not pane.finding)
        assert list(pane.matches) == [(0, 12 + 27 * n) for n in range(20)]
        assert pane.border_subtitle.startswith("search 'dolor': 1/20 ·")
