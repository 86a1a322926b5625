"""Notifications, titles and panes made from a crafted session file name, header or stream hold no raw
controls and keep each value on its line.

Every hostile string of tests/test_hostile_output.py, joined into one, is put into a session file's
name and header; the notifications the home and run screens raise from them (recorded with
`run_test(message_hook=...)`) must be plain one-line text that shows each of them escaped.
"""

from __future__ import annotations

import json
import unicodedata

import pytest
from textual.notifications import Notify
from textual.widgets import Static

from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.screens.home import HomeScreen
from streamwatch.tui.themes import DEFAULT_THEME, load_themes
from tests import sessions
from tests import streams as s
from tests.test_hostile_output import HOSTILE, file_part
from tests.tui.conftest import SESSION, FixedClock, live_app, recording, replay_app, timed

pytestmark = pytest.mark.anyio

HOSTILE_TEXT = "".join(text for text, _ in HOSTILE.values())
VISIBLE = "".join(visible for _, visible in HOSTILE.values())
NAME = "20261123-000000-" + file_part(HOSTILE_TEXT.replace("\x00", "")) + ".jsonl"
SHOWN_NAME = "20261123-000000-" + file_part(VISIBLE.replace("\\x00", "")) + ".jsonl"


def plain_line(text: str) -> str:
    for char in text:
        assert unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp"), repr(char)
        assert char not in "\u3164\ufe01", repr(char)
    return text


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "streamwatch"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "streamwatch" / "sessions"


def hostile_version(path) -> None:
    head = sessions.header("2026-11-23T00:00:00+00:00", "live", "claude-sonnet-4-6", "x") | {"version": HOSTILE_TEXT}
    path.write_text(json.dumps(head) + "\n", encoding="ascii")


async def notified(app: StreamwatchApp, keys: list[str], before=None) -> list:
    notes = []

    def hook(message) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification)

    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        if before is not None:
            before(app)
        await pilot.press(*keys)
        await pilot.pause()
        detail = str(app.screen.query_one("#session-detail", Static).render()) if isinstance(app.screen, HomeScreen) else ""
    return notes, detail


def home_app() -> StreamwatchApp:
    return StreamwatchApp(lambda app: HomeScreen(), clock=FixedClock(), themes=load_themes(), theme=DEFAULT_THEME)


async def test_opening_an_unreadable_session_with_a_crafted_name_and_version(home):
    home.mkdir(parents=True)
    hostile_version(home / NAME)
    notes, detail = await notified(home_app(), ["enter"])
    [note] = notes
    assert not note.markup and note.severity == "error"
    message = plain_line(note.message)
    assert message.startswith(f"Cannot open {SHOWN_NAME}: ") and f"(format {VISIBLE})" in message
    assert SHOWN_NAME in plain_line(detail.split("\n")[0])


async def test_a_session_that_breaks_after_it_was_listed(home):
    path = sessions.write(home, NAME, "2026-11-23T00:00:00+00:00")
    notes, _ = await notified(home_app(), ["enter"], before=lambda app: hostile_version(path))
    [note] = notes
    message = plain_line(note.message)
    assert SHOWN_NAME in message and f"(format {VISIBLE})" in message


async def test_exporting_a_session_with_a_crafted_name(tmp_path, monkeypatch):
    saved = tmp_path / "sessions" / NAME
    saved.parent.mkdir()
    saved.write_text('{"streamwatch":"session","version":1}\n')
    monkeypatch.chdir(tmp_path)
    app = live_app("complete")

    def export_this(app) -> None:
        app.screen.feed.session_path = saved

    notes, _ = await notified(app, ["e", "enter"], before=export_this)
    [note] = [n for n in notes if n.title == "Export"]
    assert plain_line(note.message) == f"Session exported to {tmp_path}/{SHOWN_NAME}"


async def test_the_verdict_panel_keeps_each_value_on_its_line():
    """A stop reason with a line break cannot forge a line of the verdict."""
    rec = recording(timed([s.message_start(), *s.text_block(0, "Hi."), s.message_delta("end\nSession: /forged"),
                           s.message_stop()]))
    app = replay_app(rec, FixedClock(), speed=None)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(200):
            panel = str(app.screen.query_one("#verdict-text").render())
            if "Complete" in panel:
                break
            await pilot.pause()
    assert "stop_reason end\\nSession: /forged" in panel
    assert [line for line in panel.split("\n") if line.startswith("Session: ")] == [f"Session: {SESSION}"]
