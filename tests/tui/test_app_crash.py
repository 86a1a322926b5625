"""A screen that stops on a bug: one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import functools

import pytest
from textual.app import App

from streamwatch import cli
from streamwatch.core.playback import SessionPlayer
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.screens.home import HomeScreen
from tests import sessions


@pytest.fixture
def saved(tmp_path, monkeypatch):
    """A saved session, an empty config, and the screens run headless (there is no terminal here)."""
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "streamwatch"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(StreamwatchApp, "run", functools.partialmethod(App.run, headless=True))
    return sessions.write(tmp_path / "streamwatch" / "sessions", "20261122-100000-live-a.jsonl",
                          "2026-11-22T10:00:00+00:00")


def broken_tick(self, now, budget=0.015):
    raise KeyError("type")


def test_a_replay_that_stops_on_a_bug_is_one_line_and_a_non_zero_exit(saved, monkeypatch, capfd):
    monkeypatch.setattr(SessionPlayer, "tick", broken_tick)
    assert cli.main(["replay", str(saved)]) == cli.EXIT_INTERNAL
    out, err = capfd.readouterr()
    assert err == f"streamwatch: error: internal error: KeyError: 'type'; the session file is safe at {saved}\n"
    assert "Traceback" not in out


def test_the_home_screen_stopping_on_a_bug_is_one_line_too(saved, monkeypatch, capfd):
    monkeypatch.setattr(HomeScreen, "on_mount", lambda self: [][1])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert cli.main([]) == cli.EXIT_INTERNAL
    out, err = capfd.readouterr()
    assert err == "streamwatch: error: internal error: IndexError: list index out of range\n"
