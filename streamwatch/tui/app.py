"""The streamwatch Textual app: screens for runs, replays and attaches, help, themes.

Every notification, from any screen, goes through `StreamwatchApp.notify`: its message and title are
plain text on one line (never markup), with controls and invisible characters shown as escapes,
since they often quote a file name, a session header or an error from the wire. A notification that
repeats one still shown replaces it (seven `n` at the last anomaly say "No further anomaly" once),
and they show at the top right (the stylesheet), clear of the verdict at the bottom."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.containers import VerticalScroll
from textual.notifications import Notification, Notify, SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from streamwatch.core.config import ConfigError
from streamwatch.core.safe import one_line
from streamwatch.tui.themes import ThemeCommands, ThemeSet, register

_LEAVE_KEYS = {"quit": ("q", "ctrl+c"), "back": ("escape",)}


class HelpScreen(ModalScreen[None]):
    """Every key of the screen below, with what it does."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = bindings

    def compose(self) -> ComposeResult:
        text = Text("Keys\n\n", style="bold")
        for key, description in self.rows:
            text.append(f"  {key:<12}", style="bold")
            text.append(f"{description}\n")
        text.append("\nesc to close", style="dim")
        with VerticalScroll(id="help-dialog"):
            yield Static(text)


STOP_ASK_SECONDS = 3.0
"""How long, on the app's clock, the second press that stops a live stream may wait after the first."""


class StreamwatchApp(App[int]):
    """The app. `q`, `ctrl+c` and (on a run screen opened from home) `esc` leave at once, unless a live
    stream is running: then the first press asks (a notice: press it again to stop the stream), and
    only a second press within `STOP_ASK_SECONDS` stops it; any other key, or the time running out,
    takes the question back. On the way out, `exit_line` is what the run screen said last (the
    verdict and the session path), for the command line to print.

    On mount it freezes what start-up built (modules, the SDK, a loaded recording) out of
    the garbage collector's way: a full collection then walks only what the run adds, which keeps its
    pauses short enough for keys to answer within 100 ms on 50 000-event sessions (bench/tui_replay.py)."""

    CSS_PATH = "streamwatch.tcss"
    TITLE = "streamwatch"
    BINDINGS = [
        Binding("q", "quit('q')", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit('ctrl+c')", "Quit", id="app.quit_ctrl_c", show=False, priority=True),
        Binding("t", "next_theme", "Theme", id="app.theme"),
        Binding("question_mark", "help", "Help", id="app.help", key_display="?"),
    ]

    def __init__(
        self,
        first_screen: Callable[[StreamwatchApp], Screen[None]],
        clock: Callable[[], float] = time.monotonic,
        theme_names: list[str] | None = None,
        theme: str | None = None,
        themes: ThemeSet | None = None,
        save_theme: Callable[[str], None] | None = None,
        start_run: Callable[[Any], Any] | None = None,
        telemetry: Any = None,
    ) -> None:
        """`themes`: streamwatch's themes (`load_themes()`), registered and cycled by `t` instead of
        `theme_names`; `save_theme`: called with the name when the user picks a theme, to remember it;
        `start_run`: turns the home screen's RunRequested into a run screen feed; `telemetry`: the
        OpenTelemetry exporter (export/otlp.py's `Exporter`) when --otlp or the variables ask for
        spans, which every attempt the app sends itself goes to (`exported`)."""
        super().__init__()
        self.telemetry = telemetry
        self.clock = clock
        self._first_screen = first_screen
        self._themes = theme_names or ["textual-dark", "textual-light", "ansi-dark"]
        self._save_theme = save_theme
        self._start_run = start_run
        self._theme_warnings: list[str] = []
        if themes is not None:
            register(self, themes)
            self._themes = themes.names
            self._theme_warnings = themes.warnings
        if theme:
            self.theme = theme
        self.crash: Exception | None = None
        """The exception nobody handled that stopped the app (a bug), if one did."""
        self.crash_feed: Any = None
        """The run screen's feed when it did (None on the home screen)."""
        self.exit_line: str | None = None
        """One line for the terminal once the app is gone: the verdict and session of the run screen shown."""
        self._asked: tuple[str, float, Notification] | None = None
        self._mock: Any = None
        self._mock_lock = threading.Lock()

    @property
    def theme_names(self) -> list[str]:
        return list(self._themes)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A notification, its text shown as it is: `markup` is refused, the text made inert."""
        super().notify(one_line(message), title=one_line(title), severity=severity, timeout=timeout, markup=False)

    def _on_notify(self, event: Notify) -> None:
        """Runs before Textual's own handler shows the new notification: the same words shown already go."""
        new = event.notification
        for shown in list(self._notifications):
            if (shown.message, shown.title) == (new.message, new.title):
                self._unnotify(shown, refresh=False)

    async def on_event(self, event: events.Event) -> None:
        """Any key but the one that asked to stop the stream takes the question back."""
        if isinstance(event, events.Key) and self._asked is not None and event.key not in _LEAVE_KEYS[self._asked[0]]:
            self._take_back()
        await super().on_event(event)

    def may_stop_stream(self, how: str, key: str) -> bool:
        """Whether leaving (`how`: quit or back, by `key`) may go ahead now: no live stream runs on a run
        screen, or the user already asked to leave, a moment ago on the app's clock. Otherwise ask once."""
        running = any(getattr(screen, "stream_running", False) for screen in self.screen_stack)
        asked, self._asked = self._asked, None
        if not running or (asked is not None and asked[0] == how and self.clock() - asked[1] <= STOP_ASK_SECONDS):
            if asked is not None:
                self._unnotify(asked[2])
            return True
        if asked is not None:
            self._unnotify(asked[2], refresh=False)
        words = f"press {key} again to stop the stream and " + ("go back" if how == "back" else "quit")
        notification = Notification(words, "", "warning", STOP_ASK_SECONDS, markup=False)
        self._asked = (how, self.clock(), notification)
        self.post_message(Notify(notification))
        return False

    def _take_back(self) -> None:
        assert self._asked is not None
        self._unnotify(self._asked[2])
        self._asked = None

    async def action_quit(self, key: str = "q") -> None:
        """Quit (`q`, `ctrl+c`); see the class doc for a live stream."""
        if not self.may_stop_stream("quit", key):
            return
        from streamwatch.tui.screens.run import RunScreen

        shown = [screen for screen in self.screen_stack if isinstance(screen, RunScreen)]
        self.exit_line = shown[-1].exit_line() if shown else None
        self.exit()

    def embedded_mock(self) -> str:
        """From any thread: the base URL of the app's own embedded mock server, started the first time
        one is asked for (a replay of a demo whose mock is gone goes on live against it, its fault
        taken as fired already, as the gone one would); it stops with the app."""
        with self._mock_lock:
            if self._mock is None:
                from streamwatch.mock.server import MockServer

                self._mock = MockServer(stands_in=True).start()
            return str(self._mock.base_url)

    def on_unmount(self) -> None:
        with self._mock_lock:
            if self._mock is not None:
                self._mock.stop()
                self._mock = None

    def on_mount(self) -> None:
        gc.freeze()
        for warning in self._theme_warnings:
            self.notify(warning, title="Theme", severity="warning", timeout=10, markup=False)
        self.push_screen(self._first_screen(self))

    def action_next_theme(self) -> None:
        names = self._themes
        current = names.index(self.theme) if self.theme in names else -1
        self.choose_theme(names[(current + 1) % len(names)])

    def choose_theme(self, name: str) -> None:
        """Switch to a theme the user picked (`t` or the command palette) and remember it."""
        self.theme = name
        if self._save_theme is None:
            self.notify(f"Theme: {name}", timeout=2, markup=False)
            return
        try:
            self._save_theme(name)
        except ConfigError as exc:
            self.notify(str(exc), title=f"Theme: {name}, not saved", severity="warning", markup=False)
        else:
            self.notify(f"Theme: {name} (saved in config.toml, used from now on)", timeout=3, markup=False)

    def on_home_screen_run_requested(self, message: Any) -> None:
        """A new request from the home screen: watch it on a run screen; escape comes back home."""
        if self._start_run is None:
            return
        from streamwatch.tui.screens.run import RunScreen

        feed = self._start_run(message)
        if feed.live is not None:
            self.exported(feed.live)
        self.push_screen(RunScreen(feed, self.clock))

    def exported(self, recovery: Any) -> None:
        """Send the spans of the attempts `recovery` (a run of the home screen's form, a retry or resume
        pressed in a replay) is about to send, when spans are asked for; any thread, before it sends."""
        if self.telemetry is not None:
            recovery.hooks.add(self.telemetry.hook())

    def _handle_exception(self, error: Exception) -> None:
        """An exception nobody handled ends the app with return code 1, as Textual ends it, but without
        Textual's traceback on the terminal (its locals can hold anything the run saw): `crash` is
        said in one line once the app is gone (`tui.launch.run`)."""
        if self.crash is None:
            from streamwatch.tui.screens.run import RunScreen

            self.crash = error
            shown = [screen for screen in self.screen_stack if isinstance(screen, RunScreen)]
            self.crash_feed = shown[-1].feed if shown else None
        super()._handle_exception(error)
        self._exit_renderables.clear()

    def search_themes(self) -> None:
        self.push_screen(CommandPalette(providers=[ThemeCommands], placeholder="Search for themes…"))

    def action_help(self) -> None:
        """Every key of the screen: first those the footer shows, in its order (at 80 columns it cannot
        show them all), then the rest (moving, scrolling)."""
        rows = []
        seen = set()
        bindings = [active.binding for active in self.screen.active_bindings.values()]
        for binding in sorted(bindings, key=lambda binding: not binding.show):
            if binding.description and binding.action not in seen:
                seen.add(binding.action)
                rows.append((binding.key_display or self.get_key_display(binding), binding.description))
        self.push_screen(HelpScreen(rows))
