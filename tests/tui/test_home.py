"""The home screen as a user drives it: the session list, the filter, replay, the request form."""

import datetime
import json
import socket
import subprocess
import sys
import threading

import pytest
from textual.widgets import Input, Select, Static, TextArea

from streamwatch.core import catalog as catalog_module
from streamwatch.core.catalog import Catalog
from streamwatch.core.diagnose import End
from streamwatch.core.recording import SessionWriter, process_facts
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.screens import home as home_module
from streamwatch.tui.screens.home import HomeScreen, SessionTable
from streamwatch.tui.screens.run import RunScreen
from streamwatch.tui.themes import DEFAULT_THEME, load_themes
from tests import copies, sessions
from tests.tui.conftest import WAIT_SECONDS, FixedClock, on_screen, wait_for

pytestmark = pytest.mark.anyio

PROMPT = "Explain in three short paragraphs why streaming responses can fail halfway through."


def home_app(**options) -> StreamwatchApp:
    return StreamwatchApp(lambda app: HomeScreen(**options), clock=FixedClock(), themes=load_themes(),
                          theme=DEFAULT_THEME)


async def loaded(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def table(app) -> SessionTable:
    return app.screen.query_one(SessionTable)


def rows(app) -> list[list[str]]:
    grid = table(app)
    return [grid.cells_at(i) for i in range(grid.row_count)]


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_the_list_shows_saved_sessions_newest_first(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        assert rows(app) == [
            ["11-22 09:15", "Explain in three…", "sonnet-4-6", "COMPLETE end_turn", "1.0s", "2.6 KB"],
            ["11-22 08:40", "Write the…", "opus-4-1", "ABNORMAL eof", "1.5s", "5.2 KB"],
            ["11-21 17:05", "Summarize this log", "haiku-4-5", "HTTP 529", "0.4s", "600 B"],
            ["11-21 12:00", "hi", "sonnet-4-6", "ABNORMAL error_event ↻2", "0.8s (+0.8s wait)", "2.0 KB"],
            ["-", "-", "-", "unreadable", "-", "25 B"],
        ]
        assert [row.summary.path for row in table(app).rows] == home
        assert text_of(app, "#home-status") == "5 sessions in ~/streamwatch/sessions"
        assert "demo · 14 events · 1 attempt" in text_of(app, "#session-detail")


async def test_at_80_columns_the_list_leaves_out_whole_columns_and_keeps_each_row_on_screen(home):
    app = home_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        grid = table(app)
        assert grid.column_names == ["Started", "Request", "Verdict", "Took"]
        assert rows(app)[3] == ["11-21 12:00", "hi", "ABNORMAL error_event ↻2", "0.8s (+0.8s wait)"]
        assert rows(app)[0][1] == "Explain in three…"
        assert grid.virtual_size.width <= grid.size.width
        await pilot.resize_terminal(120, 30)
        await wait_for(pilot, lambda: len(table(app).column_names) == 6)
        assert rows(app)[0][1] == "Explain in three short paragraphs…"
        assert text_of(app, "#session-detail").startswith("~/streamwatch/sessions/20261122-091500-demo-a1b2c3d4.jsonl\n")
        await pilot.resize_terminal(50, 20)
        await wait_for(pilot, lambda: text_of(app, "#session-detail").startswith("…/20261122-091500-demo-a1b2c3d4.jsonl\n"))


async def test_the_list_is_loaded_off_the_ui_thread(home):
    threads = []

    class Recording(Catalog):
        def summaries(self, *args):
            threads.append(threading.current_thread())
            return super().summaries(*args)

    app = home_app(catalog=Recording())
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        assert threads and threading.main_thread() not in threads
        assert table(app).row_count == 5


async def test_typing_in_the_filter_narrows_the_list_as_you_type(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash")
        assert app.screen.query_one("#session-filter", Input).has_focus
        await pilot.press(*"live")
        assert [row[3] for row in rows(app)] == ["ABNORMAL eof", "ABNORMAL error_event ↻2", "unreadable"]
        await pilot.press("space", *"abn")
        assert [row[3] for row in rows(app)] == ["ABNORMAL eof", "ABNORMAL error_event ↻2"]
        assert text_of(app, "#home-status") == "2 of 5 sessions match 'live abn'"
        await pilot.press(*["backspace"] * 4)
        assert [row[3] for row in rows(app)] == ["ABNORMAL eof", "ABNORMAL error_event ↻2", "unreadable"]
        await pilot.press("escape")
        assert table(app).row_count == 5 and table(app).has_focus


@pytest.mark.parametrize(("words", "verdicts"), [
    ("PROXY", ["HTTP 529"]),
    ("opus", ["ABNORMAL eof"]),
    ("529", ["HTTP 529"]),
    ("11-21", ["HTTP 529", "ABNORMAL error_event ↻2"]),
    ("unread", ["unreadable"]),
    ("e5f6a7b8", ["ABNORMAL eof"]),
    ("demo end_turn", ["COMPLETE end_turn"]),
    ("demo eof", []),
])
async def test_the_filter_matches_any_column(home, words, verdicts):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *words)
        assert [row[3] for row in rows(app)] == verdicts


async def test_enter_replays_the_highlighted_session_and_q_comes_back(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RunScreen)
        feed = app.screen.feed
        assert (feed.kind, feed.session_path, feed.player.speed) == ("replay", home[1], 1.0)
        assert app.screen.clock is app.clock
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen) and app.is_running
        await pilot.press("q")
    assert app.return_code == 0 and not app.is_running


async def test_enter_after_filtering_opens_the_match_and_nothing_when_none_matches(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"zzzz", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen) and table(app).row_count == 0
        await pilot.press("escape", "slash", *"proxy", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RunScreen) and app.screen.feed.session_path == home[2]
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen) and table(app).has_focus


async def test_a_demo_session_says_its_scenario_and_the_filter_finds_it(home):
    header = sessions.header("2026-11-22T09:30:00.000+00:00", "demo", "claude-sonnet-4-6", "5ce7a210")
    header["request"]["headers"]["x-streamwatch-scenario"] = "drop_eof"
    with SessionWriter(home[0].parent / "20261122-093000-demo-5ce7a210.jsonl", header) as writer:
        writer.response(200, {"content-type": "text/event-stream"}, 0.3)
        writer.end(End.EOF, 0.4)
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"drop_eof")
        assert len(rows(app)) == 1
        assert "scenario drop_eof · 0 events · 1 attempt" in text_of(app, "#session-detail")


async def test_an_unreadable_session_says_why_instead_of_opening(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("down", "down", "down", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert "not a streamwatch session file" in text_of(app, "#session-detail")
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1 and sessions.CORRUPT in errors[0].message and not errors[0].markup


async def test_a_session_deleted_after_listing_is_an_error_message_not_a_crash(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        home[0].unlink()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert any("cannot read" in n.message for n in app._notifications)


async def test_r_refreshes_the_list(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        sessions.write(home[0].parent, "20261123-080000-proxy-ffff0000.jsonl", "2026-11-23T08:00:00+00:00",
                       source="proxy")
        await pilot.press("r")
        await loaded(pilot)
        assert rows(app)[0][:2] == ["11-23 08:00", "hi"] and table(app).row_count == 6


async def test_the_cursor_keeps_its_session_when_the_list_refreshes(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("down", "down")
        assert table(app).highlighted.summary.path == home[2]
        sessions.write(home[0].parent, "20261123-080000-proxy-ffff0000.jsonl", "2026-11-23T08:00:00+00:00")
        await pilot.press("r")
        await loaded(pilot)
        assert table(app).row_count == 6 and table(app).cursor == 3
        assert text_of(app, "#session-detail").startswith("~/streamwatch/sessions/20261121-170500-proxy-c9d0e1f2.jsonl")


async def test_the_first_frame_says_loading_until_the_list_arrives(home):
    listed = threading.Event()

    class Slow(Catalog):
        def summaries(self, *args):
            listed.wait(WAIT_SECONDS)
            return super().summaries(*args)

    app = home_app(catalog=Slow())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "loading sessions…" in on_screen(app))
        assert table(app).row_count == 0 and table(app).has_focus
        listed.set()
        await loaded(pilot)
        assert table(app).row_count == 5 and text_of(app, "#home-status") == "5 sessions in ~/streamwatch/sessions"


async def test_a_first_start_without_an_index_shows_the_sessions_newest_first_as_they_are_read(home, monkeypatch):
    folder = home[0].parent
    for path in home:
        path.unlink()
    copies.write_copies(folder, 30)
    assert not (folder.parent / "index.sqlite3").exists()
    monkeypatch.setattr(home_module, "ROWS_SECONDS", 0.0, raising=False)  # the list grows with each file read
    released, summarize = threading.Event(), catalog_module.summarize
    read = []

    def held(path, *args):
        """Ten files read, then the rest held until the test lets them go."""
        if len(read) == 10:
            released.wait(WAIT_SECONDS)
        read.append(path.name)
        return summarize(path, *args)

    monkeypatch.setattr(catalog_module, "summarize", held)
    app = home_app()
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: table(app).row_count == 10)
            assert text_of(app, "#home-status") == "reading sessions, newest first (no index yet): 10 of 30…"
            assert [row.summary.path.name for row in table(app).rows] == sorted(read, reverse=True) == read
            assert table(app).cells_at(0)[0] == "11-01 00:29" and table(app).cells_at(9)[0] == "11-01 00:20"
            released.set()
            await loaded(pilot)
            assert table(app).row_count == 30 and text_of(app, "#home-status") == "30 sessions in ~/streamwatch/sessions"
            assert table(app).cells_at(29)[0] == "11-01 00:00"
    finally:
        released.set()


async def test_in_a_long_list_end_home_and_the_page_keys_move_the_cursor_and_the_view(home):
    folder = home[0].parent
    for path in home:
        path.unlink()
    copies.write_copies(folder, 300)
    Catalog().summaries()  # the session index made: not a first start, whose list grows as the files are read
    app = home_app()
    sent = []
    async with app.run_test(size=(100, 30), message_hook=sent.append) as pilot:
        await loaded(pilot)
        lists = {id(m): (len(m.rows), m.partial) for m in sent if isinstance(m, HomeScreen.SessionsLoaded)}
        assert list(lists.values()) == [(200, True), (300, False)]  # the newest first, at once
        assert text_of(app, "#home-status") == "300 sessions in ~/streamwatch/sessions"
        assert table(app).cells_at(0)[0] == "11-01 04:59"
        await pilot.press("end")
        await wait_for(pilot, lambda: "11-01 00:00" in on_screen(app))
        assert table(app).cursor == 299 and "11-01 04:59" not in on_screen(app)
        assert "20261101-000000-demo-00000000.jsonl" in text_of(app, "#session-detail")
        await pilot.press("home")
        await wait_for(pilot, lambda: "11-01 04:59" in on_screen(app))
        await pilot.press("pagedown", "pagedown")
        page = table(app).size.height - 2
        assert table(app).cursor == 2 * page
        await wait_for(pilot, lambda: table(app).cells_at(2 * page)[0] in on_screen(app))
        await pilot.press("pageup")
        assert table(app).cursor == page
        await pilot.press("slash", *"04:5")
        assert text_of(app, "#home-status") == "10 of 300 sessions match '04:5'"
        assert table(app).cells_at(0)[0] == "11-01 04:59" and table(app).cursor == 0


async def test_an_empty_home_says_how_to_start(home):
    for path in home:
        path.unlink()
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        status = text_of(app, "#home-status")
        assert status == "No saved sessions yet in ~/streamwatch/sessions; press n for a new request"


# ----- the request form ---------------------------------------------------------------------------

def requests(messages) -> list[HomeScreen.RunRequested]:
    """Each RunRequested once (the hook sees it at the screen and again as it bubbles to the app)."""
    return list({id(m): m for m in messages if isinstance(m, HomeScreen.RunRequested)}.values())


async def run_form(home, fill=None, size=(100, 30), **options):
    """Open the form, fill fields (id -> value), press ctrl+s; the RunRequested messages and the error line."""
    app = home_app(**options)
    sent = []
    async with app.run_test(size=size, message_hook=lambda m: sent.append(m)) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        for field, value in (fill or {}).items():
            widget = app.screen.query_one(f"#{field}")
            if isinstance(widget, TextArea):
                widget.load_text(value)
            else:
                widget.value = value
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = text_of(app, "#form-error")
        focused = app.focused.id if app.focused else None
    return requests(sent), error, focused


async def test_n_opens_the_form_and_escape_goes_back_to_the_list(home):
    app = home_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        assert app.screen.form_shown and app.screen.query_one("#form-prompt", TextArea).has_focus
        await pilot.press("escape")
        assert not app.screen.form_shown and table(app).has_focus
        assert text_of(app, "#home-status") == "5 sessions in ~/streamwatch/sessions"


async def test_without_an_api_key_the_form_says_so_and_targets_the_embedded_server(home):
    app = home_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        notice = text_of(app, "#target-notice")
        assert notice.startswith("No API key set (ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN).")
        assert "embedded mock server" in notice
        assert app.screen.query_one("#form-base-url", Input).value == "embedded"
        assert app.screen.query_one("#scenario-row").display
    sent, error, _ = await run_form(home, {"form-scenario": "drop_eof"})
    assert error == ""
    assert [(m.base_url, m.scenario) for m in sent] == [(None, "drop_eof")]
    assert sent[0].request_body == {
        "model": "claude-sonnet-4-6", "max_tokens": 1024, "messages": [{"role": "user", "content": PROMPT}],
    }


async def test_with_an_api_key_the_default_target_is_the_api(home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        assert "No API key" not in text_of(app, "#target-notice")
        assert "the Anthropic API" in text_of(app, "#target-notice")
        assert not app.screen.query_one("#scenario-row").display
        app.screen.query_one("#form-base-url", Input).value = "embedded"
        await pilot.pause()
        assert app.screen.query_one("#scenario-row").display
    sent, _, _ = await run_form(home)
    assert [(m.base_url, m.scenario) for m in sent] == [(None, None)]
    sent, _, _ = await run_form(home, {"form-base-url": "http://127.0.0.1:8787"})
    assert [(m.base_url, m.scenario) for m in sent] == [("http://127.0.0.1:8787", None)]


async def test_the_form_builds_the_whole_request_body(home, tmp_path):
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}]
    (tmp_path / "tools.json").write_text(json.dumps({"tools": tools}))
    sent, error, _ = await run_form(home, {
        "form-model": "claude-opus-4-1",
        "form-max-tokens": "4096",
        "form-system": "You are terse.",
        "form-prompt": "Line one\nline two",
        "form-tools": str(tmp_path / "tools.json"),
        "form-thinking": "2048",
        "form-scenario": "thinking",
    }, model="claude-haiku-4-5")
    assert error == ""
    assert sent[0].request_body == {
        "model": "claude-opus-4-1",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Line one\nline two"}],
        "system": "You are terse.",
        "tools": tools,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }
    assert sent[0].scenario == "thinking"


async def test_the_form_starts_from_the_configured_model_and_base_url(home):
    sent, _, _ = await run_form(home, model="claude-haiku-4-5", base_url="https://gateway.example/anthropic")
    assert sent[0].request_body["model"] == "claude-haiku-4-5"
    assert (sent[0].base_url, sent[0].scenario) == ("https://gateway.example/anthropic", None)


@pytest.mark.parametrize(("fill", "error", "field"), [
    ({"form-max-tokens": "lots"}, "max tokens: not a whole number: 'lots'", "form-max-tokens"),
    ({"form-max-tokens": "0"}, "max tokens: must be 1 or more", "form-max-tokens"),
    ({"form-model": ""}, "model: give a model name (no spaces)", "form-model"),
    ({"form-prompt": "  \n"}, "prompt: write the user message to send", "form-prompt"),
    ({"form-thinking": "100"}, "thinking budget: must be 1024 or more", "form-thinking"),
    ({"form-thinking": "2048"}, "thinking budget: must be less than max tokens (1024)", "form-thinking"),
    ({"form-base-url": "ftp://example.com"},
     "base URL: must be a URL (http:// or https://) or 'embedded'", "form-base-url"),
    ({"form-tools": "/nonexistent/tools.json"},
     "tools file: cannot read /nonexistent/tools.json: No such file or directory", "form-tools"),
])
async def test_a_bad_field_is_a_one_line_error_and_nothing_is_sent(home, fill, error, field):
    sent, shown, focused = await run_form(home, fill)
    assert sent == []
    assert shown == error and focused == field


@pytest.mark.parametrize(("content", "words"), [
    ("{not json", "is not valid JSON: Expecting property name"),
    ('{"name": "x"}', "must hold a JSON list of tool definitions, each with a name"),
    ('[{"description": "no name"}]', "must hold a JSON list of tool definitions, each with a name"),
])
async def test_an_invalid_tools_file_is_a_one_line_error(home, tmp_path, content, words):
    (tmp_path / "tools.json").write_text(content)
    sent, shown, focused = await run_form(home, {"form-tools": str(tmp_path / "tools.json")})
    assert sent == [] and words in shown and "\n" not in shown and focused == "form-tools"


async def test_the_form_s_error_goes_when_a_field_is_edited(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        app.screen.query_one("#form-model", Input).value = ""
        await pilot.press("ctrl+s")
        assert text_of(app, "#form-error") == "model: give a model name (no spaces)"
        assert app.screen.query_one("#form-model", Input).has_focus
        await pilot.press(*"claude-x")
        assert text_of(app, "#form-error") == ""


async def test_enter_in_a_form_field_sends_too(home):
    app = home_app()
    sent = []
    async with app.run_test(size=(100, 30), message_hook=sent.append) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        app.screen.query_one("#form-model", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
    assert len(requests(sent)) == 1


def active(app) -> set[str]:
    return {b.binding.id for b in app.screen.active_bindings.values() if b.enabled and b.binding.show}


async def test_keys_have_ids_and_footer_labels_for_what_each_view_can_do(home):
    declared = {b.id: (b.key, b.description) for b in [*HomeScreen.BINDINGS, *SessionTable.BINDINGS]}
    assert declared == {"home.open": ("enter", "Open"), "home.filter": ("slash", "Filter"),
                        "home.new": ("n", "New request"), "home.refresh": ("r", "Refresh"),
                        "home.send": ("ctrl+s", "Send"), "home.back": ("escape", "Back"),
                        "home.stats": ("s", "Stats")}
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        assert {"home.open", "home.filter", "home.new", "home.refresh", "home.stats", "app.quit", "app.theme"} <= active(app)
        assert not {"home.send", "home.back"} & active(app)
        await pilot.press("slash", "x")
        assert "home.back" in active(app)
        await pilot.press("escape", "n")
        assert {"home.send", "home.back"} <= active(app)
        assert not {"home.new", "home.refresh", "home.filter", "home.stats"} & active(app)


async def test_typing_n_r_or_s_in_the_filter_types_them(home):
    app = home_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"nrs")
        assert app.screen.query_one("#session-filter", Input).value == "nrs"
        assert not app.screen.form_shown


async def test_the_scenario_picker_lists_the_mock_scenarios(home):
    app = home_app(scenarios=["ok", "stall"])
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        picker = app.screen.query_one("#form-scenario", Select)
        assert picker.value == "ok" and [value for _, value in picker._options] == ["ok", "stall"]


async def test_untrusted_text_is_shown_literally(home):
    sessions.write(home[0].parent, "20261123-000000-live-[b]x.jsonl", "2026-11-23T00:00:00+00:00",
                   model="[bold red]claude\x1b[31m", source="[link=x]live")
    app = home_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await loaded(pilot)
        assert rows(app)[0][1:3] == ["hi", "[bold red]claude\\x1b[31m"]
        assert "[link=x]live ·" in text_of(app, "#session-detail")
        assert "20261123-000000-live-[b]x.jsonl" in text_of(app, "#session-detail")


# ----- appearance -----------------------------------------------------------------------------

async def open_form(pilot):
    await loaded(pilot)
    await pilot.press("n")
    pilot.app.screen.query_one("#form-prompt", TextArea).cursor_blink = False  # the snapshot shows it, always
    await pilot.pause()


@pytest.mark.parametrize("size", [(100, 30), (80, 24)], ids=["100x30", "80x24"])
def test_home_screen(snap_compare, home, size):
    assert snap_compare(home_app(), terminal_size=size, run_before=loaded)


def test_new_request_form(snap_compare, home):
    assert snap_compare(home_app(), terminal_size=(80, 24), run_before=open_form)


async def test_a_session_still_being_recorded_is_listed_recording_and_enter_follows_it_live(user_home, tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)  # lives until killed
    try:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        header = {**sessions.header(now, "live", "claude-sonnet-4-6", "5ta11ed"), "host": socket.gethostname(),
                  "pid": process.pid, **process_facts(process.pid)}
        (user_home / "sessions").mkdir(parents=True)
        writer = SessionWriter(user_home / "sessions" / "20261122-100000-live-5ta11ed.jsonl", header)
        writer.response(200, {}, 0.1)
        app = home_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot)
            [row] = rows(app)
            assert "RECORDING" in row and not any("ABNORMAL" in cell for cell in row)
            assert f"still being recorded (by pid {process.pid}): enter follows it live" in text_of(app, "#session-detail")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
            assert (app.screen.feed.kind, app.screen.feed.session_path) == ("attach", writer.path)
            await pilot.press("q")
            process.kill()
            process.wait()
            await pilot.press("r")
            await wait_for(pilot, lambda: rows(app) and "ABNORMAL cancelled" in rows(app)[0])
        writer.close()
    finally:
        process.kill()
        process.wait()
        process.stdin.close()
