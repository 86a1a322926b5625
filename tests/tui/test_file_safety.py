"""The screens on files that are not what their names say: the session list, export."""

import os
import stat

import pytest
from textual.widgets import Static

from streamwatch.core.events import size_text
from streamwatch.core.rawevent import LIMIT
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.screens.home import FormError, HomeScreen, SessionTable, read_tools
from streamwatch.tui.screens.run import RawEventScreen
from streamwatch.tui.themes import DEFAULT_THEME, load_themes
from streamwatch.tui.widgets.timeline import Timeline
from tests import sessions
from tests import streams as s
from tests.tui.conftest import FixedClock, live_app, recording, replay_app, timed, wait_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def home(user_home):
    """The data folder, with no session in it."""
    return user_home


def home_app() -> StreamwatchApp:
    return StreamwatchApp(lambda app: HomeScreen(), clock=FixedClock(), themes=load_themes(), theme=DEFAULT_THEME)


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_the_list_shows_a_fifo_and_a_link_to_dev_zero_as_unreadable_and_the_app_quits(home, fifo, memory_cap):
    folder = home / "sessions"
    sessions.write(folder, "20261122-100000-live-good.jsonl", "2026-11-22T10:00:00+00:00")
    fifo(folder / "20261123-100000-live-pipe.jsonl")
    (folder / "20261124-100000-live-zero.jsonl").symlink_to("/dev/zero")
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        grid = app.screen.query_one(SessionTable)
        assert [grid.cells_at(i)[3] for i in range(grid.row_count)] == ["unreadable", "unreadable",
                                                                              "COMPLETE end_turn"]
        assert "unreadable: it is a symbolic link, not a regular file" in text_of(app, "#session-detail")
        await pilot.press("down")
        assert "unreadable: it is a FIFO (named pipe), not a regular file" in text_of(app, "#session-detail")
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_symlinked_sessions_folder_is_not_listed_and_the_screen_says_why(home, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    sessions.write(elsewhere, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00")
    (home / "sessions").parent.mkdir()
    (home / "sessions").symlink_to(elsewhere)
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one(SessionTable).row_count == 0
        assert text_of(app, "#home-status").startswith("not reading the sessions folder ")
        assert text_of(app, "#home-status").endswith("sessions: it is a symbolic link, not a folder")


async def test_e_exports_beside_a_link_in_the_working_directory_never_through_it(tmp_path, monkeypatch):
    saved = sessions.write(tmp_path / "sessions", "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00")
    work = tmp_path / "work"
    work.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("precious\n")
    precious.chmod(0o644)
    (work / saved.name).symlink_to(precious)
    monkeypatch.chdir(work)
    app = live_app("complete")
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.feed.session_path = saved
        await pilot.press("e", "enter")  # the picker's first choice: jsonl
        await app.workers.wait_for_complete()
        exported = work / "20261122-100000-live-a-1.jsonl"
        assert exported.read_bytes() == saved.read_bytes()
        assert stat.S_IMODE(os.lstat(exported).st_mode) == 0o600
        assert precious.read_text() == "precious\n" and stat.S_IMODE(precious.stat().st_mode) == 0o644
        assert any(str(exported) in str(n.message) for n in app._notifications)


def test_a_tools_file_or_a_theme_file_that_is_a_fifo_is_one_line(tmp_path, fifo):
    with pytest.raises(FormError) as refused:
        read_tools(fifo(tmp_path / "tools.json"))
    fifo_words = "it is a FIFO (named pipe), not a regular file"
    assert str(refused.value) == f"tools file: cannot read {tmp_path / 'tools.json'}: {fifo_words}"
    themes = tmp_path / "themes"
    themes.mkdir()
    fifo(themes / "mine.toml")
    assert load_themes(themes).warnings == [f"skipped {themes / 'mine.toml'}: cannot read it: {fifo_words}"]


async def test_an_event_of_megabytes_opens_cut_in_the_raw_view_and_w_writes_all_of_it(tmp_path, monkeypatch):
    huge = s.delta(0, {"type": "text_delta", "text": "é" + "x" * (8 << 20)})
    rec = recording(timed([s.message_start(), s.block_start(0, {"type": "text", "text": ""}), huge, s.block_stop(0),
                           s.message_delta("end_turn"), s.message_stop()]))
    monkeypatch.chdir(tmp_path)
    app = replay_app(rec, FixedClock(), speed=None)
    async with app.run_test(size=(100, 30)) as pilot:
        while len(app.screen.feed.player.state.events) < 6:
            await pilot.pause()
        app.screen.query_one(Timeline).move_to_seq(3)
        await pilot.press("enter")
        assert isinstance(app.screen, RawEventScreen)
        body = str(app.screen.query_one("#raw-body").render())
        assert len(body) < 3 * LIMIT
        assert "event: content_block_delta" in body and '"text": "éxxx' in body
        assert f"… {size_text(len(huge) - LIMIT)} more of this event not shown: w writes all of it to a file" in body
        await pilot.press("w")
        written = tmp_path / "event-3.sse"
        await wait_for(pilot, lambda: any(str(written) in str(n.message) for n in app._notifications))
        assert written.read_bytes() == huge and stat.S_IMODE(written.stat().st_mode) == 0o600
        assert any(str(written) in str(n.message) for n in app._notifications)
