"""The run screen at 80x24 and 60x20: every line keeps whole words, the timeline keeps each delta's size,
the key line ends on a whole key, the filter's count stays, and notices neither stack nor cover the verdict."""

from __future__ import annotations

import pytest
from textual.widgets._toast import Toast

from streamwatch.tui.widgets.keys import KeyLine
from streamwatch.tui.widgets.timeline import Timeline
from tests.tui.conftest import FixedClock, live_app, on_screen, recording, replay_app, seed_chunks, timed, wait_for

pytestmark = pytest.mark.anyio

FULL_STATUS = " ABNORMAL eof · died inside tool_use `write_file` at 2.3 KB of JSON · 75 events · 11.6 KB"


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


def lines(app) -> list[str]:
    return on_screen(app).splitlines()


@pytest.mark.parametrize(("size", "shown"), [
    ((120, 30), FULL_STATUS),
    ((80, 24), " ABNORMAL eof · died inside tool_use `write_file` at 2.3 KB of JSON · 75 events"),
    ((60, 20), " ABNORMAL eof · died inside tool_use `write_file` at 2.3 KB…"),
])
async def test_the_status_line_leaves_out_the_least_important_pieces_whole(size, shown):
    app = live_app("eof_in_tool_use")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app))
        assert status(app) == shown and lines(app)[0] == shown


async def test_the_status_line_fits_again_when_the_terminal_grows():
    app = live_app("eof_in_tool_use")
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app))
        await pilot.resize_terminal(120, 30)
        await wait_for(pilot, lambda: status(app) == FULL_STATUS)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_timeline_keeps_each_delta_s_size(size):
    app = live_app("eof_in_tool_use")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app))
        rows = [line for line in lines(app) if line.startswith("│#")]
        assert rows and all("json +40 B" in row or "json +36 B" in row for row in rows), rows


@pytest.mark.parametrize("size", [(80, 24), (60, 20), (120, 30)])
async def test_the_key_line_shows_whole_keys_and_always_help(size):
    app = live_app("eof_in_tool_use")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app))
        keys = app.screen.query_one(KeyLine)
        whole = {f"{shown} {label}" for shown, label, _, _ in keys.items()}
        line = lines(app)[-1]
        assert line.endswith("? Help") or line.endswith("^p palette")
        shown = str(keys.render()).strip()
        for item in whole:
            shown = shown.replace(item, "")
        assert not shown.strip(), f"a piece of a key: {shown!r}"
        assert len(line) <= size[0]


async def test_a_click_on_a_key_presses_it():
    app = live_app("eof_in_tool_use")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app))
        line = lines(app)[-1]
        await pilot.click(KeyLine, offset=(line.index("Filter"), 0))
        await wait_for(pilot, lambda: app.screen.query_one("#filter").has_focus)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_filter_count_and_paused_are_never_cut(size):
    app = live_app("eof_in_tool_use")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app))
        await pilot.press("slash", *"json", "enter", "up")
        title = str(app.screen.query_one(Timeline).border_title)
        assert title.endswith("filter 'json': 59 · PAUSED")
        assert title in lines(app)[2]


async def test_repeated_notices_show_once_at_the_top_clear_of_the_verdict():
    clock = FixedClock(0.0)
    app = replay_app(recording(timed(seed_chunks(), pause_after=5, pause=6.0)), clock, speed=None)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app))
        await pilot.press("less_than_sign", *["N"] * 7, "t")
        await wait_for(pilot, lambda: len(app.screen.query(Toast)) == 2)
        assert [n.message for n in app._notifications] == ["No earlier anomaly", "Theme: textual-light"]
        verdict = app.screen.query_one("#verdict").region
        for toast in app.screen.query(Toast):
            assert not toast.region.overlaps(verdict) and toast.region.y >= 1
