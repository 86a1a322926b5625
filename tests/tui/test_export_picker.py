"""`e` on the run screen: a picker of the export formats, then one new private file and one notice."""

import os
import stat

import pytest
from textual.widgets._toast import Toast

from streamwatch.cli import main
from streamwatch.core.diagnose import End
from streamwatch.export import FORMATS
from streamwatch.tui.screens import run as run_screen
from streamwatch.tui.screens.export import ExportScreen
from streamwatch.tui.screens.run import RunScreen
from tests import sessions
from tests import streams as s
from tests.tui.conftest import live_app, wait_for

pytestmark = pytest.mark.anyio

NAME = "20261122-100000-live-a.jsonl"


def broken_session(folder):
    chunks = [s.message_start(), *s.text_block(0, "Half an answer"), *s.tool_block(1, "write_file", {"p": "x" * 300},
                                                                                      stop=False)]
    return sessions.write(folder / "sessions", NAME, "2026-11-22T10:00:00+00:00", chunks=chunks, end=End.EOF)


def notices(app):
    return [str(note.message) for note in app._notifications if note.title == "Export"]


async def test_e_offers_every_format_and_esc_writes_nothing(tmp_path, monkeypatch):
    saved = broken_session(tmp_path)
    monkeypatch.chdir(tmp_path)
    app = live_app("complete")
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.feed.session_path = saved
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        options = app.screen.query_one("#export-formats")
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == list(FORMATS)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await app.workers.wait_for_complete()
        assert sorted(path.name for path in tmp_path.iterdir()) == ["sessions"] and notices(app) == []


@pytest.mark.parametrize("name", list(FORMATS))
async def test_each_choice_writes_what_export_writes_to_a_new_private_file_and_says_where(
    tmp_path, monkeypatch, capsysbinary, name
):
    saved = broken_session(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    assert main(["export", str(saved), "--format", name]) == 0
    expected = capsysbinary.readouterr().out
    app = live_app("complete")
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.feed.session_path = saved
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press(*["down"] * list(FORMATS).index(name), "enter")
        await wait_for(pilot, lambda: notices(app))
        target = work / (saved.stem + FORMATS[name].suffix)
        assert notices(app) == [f"{FORMATS[name].title} exported to {target}"]
        assert target.read_bytes() == expected
        assert stat.S_IMODE(os.lstat(target).st_mode) == 0o600
        assert isinstance(app.screen, RunScreen)


async def test_a_taken_name_gets_the_next_free_one(tmp_path, monkeypatch):
    saved = broken_session(tmp_path)
    monkeypatch.chdir(tmp_path)
    taken = tmp_path / (saved.stem + ".md")
    taken.write_text("mine\n")
    app = live_app("complete")
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.feed.session_path = saved
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press(*["down"] * list(FORMATS).index("report"), "enter")
        await wait_for(pilot, lambda: notices(app))
        assert taken.read_text() == "mine\n"
        assert (tmp_path / (saved.stem + "-1.md")).read_text().startswith("# Broken stream: `ABNORMAL eof`")


async def test_a_session_that_cannot_be_read_any_more_is_one_error_notice(tmp_path, monkeypatch):
    saved = broken_session(tmp_path)
    monkeypatch.chdir(tmp_path)
    app = live_app("complete")
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.feed.session_path = saved
        saved.write_text("not a session\n")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press(*["down"] * list(FORMATS).index("har"), "enter")
        await wait_for(pilot, lambda: any(note.severity == "error" for note in app._notifications))
        [error] = [note for note in app._notifications if note.severity == "error"]
        assert error.title == "Export failed" and "is not a streamwatch session file" in str(error.message)
        assert not list(tmp_path.glob("*.har"))


async def test_a_folder_it_cannot_write_in_says_which_and_what_to_do(tmp_path, monkeypatch):
    saved = broken_session(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.chdir(locked)

    def refused(source, folder, name, threshold):  # as a folder not ours refuses (root writes anywhere)
        raise PermissionError(13, "Permission denied", str(folder / f"{source.stem}.sse"))

    monkeypatch.setattr(run_screen, "export_beside", refused)
    app = live_app("complete")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.screen.feed.session_path = saved
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(note.severity == "error" for note in app._notifications))
        [error] = [note for note in app._notifications if note.severity == "error"]
        await wait_for(pilot, lambda: app.screen.query(Toast))
        toast = " ".join(str(line.text) for line in app.screen.query_one(Toast).render_lines(app.screen.query_one(Toast).region.reset_offset))
    assert error.title == "Export failed" and str(error.message).startswith(f"{locked}/")
    assert str(error.message).endswith(": Permission denied. Start in a folder you can write, or use streamwatch "
                                       "export -o FILE")
    assert "Export failed" in toast and f"▌ {str(locked)[:20]}" in toast and toast.rstrip().endswith("export -o FILE")
