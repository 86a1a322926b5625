"""The stats screen as a user drives it from home: `s`, the table and its day chart, `b` to group
otherwise, `enter` on a cell for the sessions behind it, and one of those replayed."""

import pytest
from textual.widgets import DataTable, Static

from streamwatch.tui.screens.home import HomeScreen
from streamwatch.tui.screens.run import RunScreen
from streamwatch.tui.screens.stats import SessionsScreen, StatsScreen, sparkline
from streamwatch.tui.widgets.sessiontable import SessionTable
from tests.tui.conftest import wait_for
from tests.tui.test_home import home_app, loaded

pytestmark = pytest.mark.anyio
SIZE = (160, 20)


def cells(app) -> list[list[str]]:
    grid = app.screen.query_one(DataTable)
    return [[str(cell) for cell in grid.get_row_at(row)] for row in range(grid.row_count)]


def title(app) -> str:
    return str(app.screen.query_one("#stats-title", Static).render())


async def stats_screen(pilot):
    await loaded(pilot)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, StatsScreen) and pilot.app.screen.query_one(DataTable).row_count)


async def test_s_shows_each_model_s_streams_how_they_ended_and_a_day_chart(home):
    app = home_app()
    async with app.run_test(size=SIZE) as pilot:
        await stats_screen(pilot)
        assert title(app) == "Stats by model · 4 streams · days 2026-11-21 to 2026-11-22 · not counted: 1 unreadable"
        table = cells(app)
        assert [row[:5] for row in table] == [
            ["claude-sonnet-4-6", "█▁", "2", "50.0%", "50.0%"],
            ["claude-haiku-4-5", "█·", "1", "0.0%", "0.0%"],
            ["claude-opus-4-1", "·█", "1", "0.0%", "0.0%"],
            ["all", "█▅", "4", "25.0%", "25.0%"],
        ]
        assert [str(column.label) for column in app.screen.query_one(DataTable).columns.values()][:5] == [
            "MODEL", "NOT COMPLETE / DAY", "STREAMS", "COMPLETE", "ERROR"]

        await pilot.press("b")
        assert title(app).startswith("Stats by source · 4 streams") and cells(app)[-1][0] == "all"
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_enter_on_a_cell_lists_the_streams_it_counted_and_enter_replays_one(home):
    app = home_app()
    async with app.run_test(size=SIZE) as pilot:
        await stats_screen(pilot)
        await pilot.press("down", "down", "down")  # the total's row
        header = [str(column.label) for column in app.screen.query_one(DataTable).columns.values()]
        await pilot.press(*["right"] * header.index("EOF"))
        assert str(app.screen.query_one("#stats-detail", Static).render()) == "every stream: enter lists its eof streams"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        listed = app.screen.query_one(SessionTable)
        assert title(app) == "1 session · every stream · eof"
        assert [row.summary.path for row in listed.rows] == [home[1]]
        assert listed.cells_at(0)[3] == "ABNORMAL eof"

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen))


async def test_a_cell_that_counted_nothing_says_so_and_stays(home):
    app = home_app()
    async with app.run_test(size=SIZE) as pilot:
        await stats_screen(pilot)
        header = [str(column.label) for column in app.screen.query_one(DataTable).columns.values()]
        await pilot.press(*["right"] * header.index("TIMEOUT"), "enter")
        await wait_for(pilot, lambda: any("No session in that cell" in n.message for n in app._notifications))
        assert isinstance(app.screen, StatsScreen)


def visible_rows(app) -> list[str]:
    """The table's rows as the terminal shows them, header first."""
    table = app.screen.query_one(DataTable)
    return ["".join(segment.text for segment in table.render_line(y)).rstrip() for y in range(table.row_count + 1)]


async def test_at_80_columns_the_title_fits_and_the_group_column_stays_while_the_rest_scrolls(home):
    app = home_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await stats_screen(pilot)
        shown = title(app)
        assert shown.startswith("Stats by model · 4 streams · ") and shown.endswith(" · not counted: 1 unreadable")
        assert len(shown) <= 78
        header = [str(column.label) for column in app.screen.query_one(DataTable).columns.values()]
        await pilot.press(*["right"] * (len(header) - 1))
        models = ["claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-1", "all"]
        # the table scrolls over more than one frame on a loaded machine: wait until it shows the last column
        await wait_for(pilot, lambda: "REPAID TOK" in visible_rows(app)[0] and "STREAMS" not in visible_rows(app)[0]
                       and [row.split()[0] for row in visible_rows(app)[1:]] == models)
        assert visible_rows(app)[0].split()[0] == "MODEL"


def test_the_stats_screen_at_80_columns_scrolled_to_its_last_column(home, snap_compare):
    async def scroll_right(pilot):
        await stats_screen(pilot)
        columns = len(pilot.app.screen.query_one(DataTable).columns)
        await pilot.press(*["right"] * (columns - 1))

    assert snap_compare(home_app(), terminal_size=(80, 24), run_before=scroll_right)


def test_the_chart_has_a_bar_per_day_from_none_to_all_failed_and_a_dot_for_a_day_without_streams():
    assert sparkline([0.0, 0.5, 1.0, None, 0.99]) == "▁▅█·█"


def test_the_stats_screen(home, snap_compare):
    async def open_stats(pilot):
        await stats_screen(pilot)

    assert snap_compare(home_app(), terminal_size=(120, 20), run_before=open_stats)


async def test_with_no_saved_session_it_says_so_instead_of_a_row_of_zeros(user_home):
    app = home_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen) and app.screen.summaries is not None)
        assert title(app) == "Stats by model · 0 streams" and cells(app) == []
        assert str(app.screen.query_one("#stats-detail", Static).render()) == "No saved sessions yet."
        await pilot.press("enter", "b")
        assert isinstance(app.screen, StatsScreen) and cells(app) == []
