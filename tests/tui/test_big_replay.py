"""A big session replayed: its first frame comes before its file is read, and a filter over many
events leaves the keys free. Each waits on what it then asserts (a file held half read, frames held
back), never on a time."""

from __future__ import annotations

import threading

import pytest

from streamwatch.core.eventfilter import parse_filter
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.launch import replay_feed
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


async def test_a_replay_shows_its_first_frame_before_its_file_is_read_and_plays_what_was_read(tmp_path):
    feed = replay_feed(sessions.write_resumed(tmp_path), 5.0, speed=None)
    released = threading.Event()
    lines = feed.loader._lines

    def held() -> object:
        """The file's lines, held after the response head and four chunks until the test lets them go."""
        for number, line in enumerate(lines):
            if number == 5:
                released.wait(WAIT_SECONDS)
            yield line

    feed.loader._lines = held()
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=FixedClock(0.0))
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_for(pilot, lambda: "LOADING" in status(app) and len(timeline(app).state.events) == 4)
            await pilot.press("greater_than_sign")  # to the end of what was read: not the end of the stream
            await wait_for(pilot, lambda: "STREAMING" in status(app))
            assert "LOADING" in status(app) and "ABNORMAL" not in status(app) and "END" not in timeline(app).border_title
            released.set()
            await wait_for(pilot, lambda: "attempt 2/2 · COMPLETE end_turn" in status(app))
            assert "LOADING" not in status(app) and feed.loader.done
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
        assert pane.matches == [(0, 12)]


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
