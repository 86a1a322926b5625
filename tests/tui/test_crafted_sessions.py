"""Crafted session files on the screens a user opens them with: replay, attach, the home screen."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Static

from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.launch import attach_feed, replay_feed
from streamwatch.tui.screens.home import HomeScreen, SessionTable
from streamwatch.tui.screens.run import RunScreen
from tests import crafted
from tests.tui.conftest import FixedClock, wait_for

pytestmark = pytest.mark.anyio

CRAFTED = [
    ((10, 2, "error"), '{"message": "an error without a type"}'),
    ((10, 2, "sdk", "events"), "9" * 400),
    ((0, "pid"), "9" * 30),
    ((2, 2), '"\\ud800"'),
    ((12, 2, "dropped"), '{"a": "dict where a list of texts belongs"}'),
]
"""An end error without a type, a huge number, a pid past any pid_t, a lone surrogate in a chunk, a
dict where a list belongs: the crashes of issue 10, and more of their kind."""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "streamwatch"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    folder = tmp_path / "streamwatch" / "sessions"
    folder.mkdir(parents=True)
    path = folder / "20261122-100000-live-c0ffee00.jsonl"
    path.write_bytes(crafted.file_bytes(crafted.crafted(CRAFTED)))
    yield path
    monkeypatch.undo()
    time.tzset()


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


def warned(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications if n.severity == "warning"]


SKIPPED = ("5 damaged lines skipped: line 1: header.pid is not a whole number from 1 to 2147483647; left out "
           "(and 4 more: streamwatch analyze lists them)")


async def test_a_replay_of_a_crafted_file_plays_to_its_end_and_says_what_it_skipped(home):
    clock = FixedClock(0.0)
    app = StreamwatchApp(lambda app: RunScreen(replay_feed(home, 5.0, 1.0), app.clock), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:

        def played() -> bool:
            # The file is read behind the first frame: time moves on at each look, however many frames
            # passed before the replay's clock started.
            clock.now += 1.0
            return "attempt 2/2 · COMPLETE end_turn" in status(app) and warned(app) == [SKIPPED]

        await wait_for(pilot, played)
        await pilot.press("a")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunScreen))
        await pilot.press("escape", "less_than_sign", "full_stop", "n", "N", "greater_than_sign")
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))


async def test_attach_to_a_crafted_file_as_it_grows_says_each_skipped_line_once(home, tmp_path):
    lines = crafted.crafted(CRAFTED)
    grown = tmp_path / "attached.jsonl"
    grown.write_bytes(crafted.file_bytes(lines[:5]))
    app = StreamwatchApp(lambda app: RunScreen(attach_feed(grown, 5.0), app.clock), clock=FixedClock(0.0))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(warned(app)) == 1)
        assert " pid ?@" in status(app)
        assert warned(app) == ["2 damaged lines skipped: line 1: header.pid is not a whole number from 1 to "
                               "2147483647; left out (and 1 more: streamwatch analyze lists them)"]
        with grown.open("ab") as out:
            out.write(crafted.file_bytes(lines[5:]))
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app) and len(warned(app)) == 2)
        assert status(app).startswith(" REPLAY")
        assert warned(app)[1].startswith("3 damaged lines skipped: line 11: end.error.type is missing")


async def test_the_home_screen_lists_a_crafted_file_says_what_was_skipped_and_replays_it(home):
    app = StreamwatchApp(lambda app: HomeScreen(), clock=FixedClock(0.0))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: app.screen.query_one(SessionTable).row_count == 1)
        detail = str(app.screen.query_one("#session-detail", Static).render())
        assert "5 damaged lines skipped" in detail and app.screen.query_one(SessionTable).cells_at(
            0)[3].startswith("COMPLETE end_turn")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await wait_for(pilot, lambda: warned(app) == [SKIPPED])
