"""Starting the app on a given screen: what the command line calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.screen import Screen

from streamwatch.core.catalog import SHORT_TIME_FORMAT, started_text
from streamwatch.core.config import load_config, save_theme
from streamwatch.core.playback import Follower, Player, SessionPlayer
from streamwatch.core.recording import Recording, SessionLoader, recorded_by, writer_running
from streamwatch.core.recovery import Recovery
from streamwatch.core.safe import one_line
from streamwatch.protocol import SCENARIO_HEADER
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.screens.run import Feed, LiveWatch, RunScreen
from streamwatch.tui.themes import load_themes

if TYPE_CHECKING:
    from streamwatch.export.otlp import Exporter
    from streamwatch.mock.server import MockServer
    from streamwatch.proxy.faults import Faults
    from streamwatch.proxy.rows import FlowBook
    from streamwatch.tui.screens.home import HomeScreen


def going_on(path: Path, stall_threshold: float) -> Callable[[LiveWatch], Recovery]:
    """How a replay of the session at `path` goes on live (r, c): see `Recovery.going_on`."""
    return lambda watch: Recovery.going_on(path, stall_threshold, hooks=[watch])


def replay_feed(path: Path, stall_threshold: float, speed: float | None, loader: SessionLoader | None = None) -> Feed:
    """A replay of the session file at `path`: its header read now (SessionError if it is not a
    session), the rest by the run screen, behind its first frame (`loader`, one that has read only the header)."""
    loader = loader or SessionLoader(path)
    player = SessionPlayer(loader.session, stall_threshold, speed=speed)
    return Feed(kind="replay", player=player, session_path=path, go_on=going_on(path, stall_threshold),
                loader=loader)


def replay_or_attach(path: Path, stall_threshold: float, speed: float | None) -> tuple[Feed, int | None]:
    """A replay of the session file at `path`, or, while it is still being recorded (`recorded_by`), the
    attach that follows it live and its writer's pid: a replay would show a cut that has not happened.
    Only a file whose writer runs is read whole first (a proxy's or a screen's, still open)."""
    loader = SessionLoader(path)
    if writer_running(loader.session.header) is True:
        loader.load()
        pid = recorded_by(loader.session)
        if pid is not None:
            return attach_feed(path, stall_threshold), pid
        loader = SessionLoader(path)
    return replay_feed(path, stall_threshold, speed, loader), None


def attach_feed(path: Path, stall_threshold: float) -> Feed:
    """A file another process may still be writing, followed: its header read now (SessionError if it
    is not a session), what it held read behind the first frame, and what is appended after, as it comes."""
    follower = Follower(path)
    header = follower.session.header
    # Short enough for 80 columns to leave room for where the stream stands: `demo pid 4242@vm 11-30 03:55`.
    started = header.get("started")
    owner = (
        f"{header.get('source', '?')} pid {header.get('pid', '?')}@{header.get('host', '?')} "
        f"{started_text(started if isinstance(started, str) else None, time_format=SHORT_TIME_FORMAT)}"
    )
    player = SessionPlayer(follower.session, stall_threshold, live=True)
    return Feed(kind="attach", player=player, session_path=path, follower=follower, owner=owner,
                go_on=going_on(path, stall_threshold), loader=follower.loader)


def live_feed(make: Callable[[LiveWatch], Recovery], stall_threshold: float, title: str = "") -> Feed:
    """A run screen feed for a request about to be sent (the screen sends it): `make` builds the
    recovery with the hook the screen reads."""
    watch = LiveWatch()
    waiting = Player(Recording(request={}), stall_threshold, live=True)
    return Feed(kind="live", player=waiting, live=make(watch), watch=watch, title=title)


def make_app(
    first: Callable[[StreamwatchApp], Screen[None]],
    theme: str | None = None,
    start_run: Callable[[HomeScreen.RunRequested], Feed] | None = None,
    telemetry: Exporter | None = None,
) -> StreamwatchApp:
    """The app with streamwatch's themes (the one asked for, else the configured one) and saved choices;
    `start_run` turns a new request from the home screen into a live feed; `telemetry`: where the
    attempts the app sends go as spans (`StreamwatchApp.exported`), when they are asked for.

    ThemeError (an unknown --theme) and ConfigError (a broken config file) reach the caller."""
    themes = load_themes()
    chosen = themes.pick(requested=theme, configured=load_config().theme)
    return StreamwatchApp(first, themes=themes, theme=chosen, save_theme=save_theme, start_run=start_run,
                          telemetry=telemetry)


class AppCrash(Exception):
    """The app stopped on an exception nobody handled (a bug); the message is one line, for the user."""


def run(app: StreamwatchApp) -> None:
    """Run the app to its end; AppCrash if an exception nobody handled stopped it. Quit on a run screen,
    its verdict and session path stay on the terminal in one line (`StreamwatchApp.exit_line`)."""
    app.run()
    if app.crash is not None:
        raise AppCrash(crash_line(app.crash, app.crash_feed))
    if app.exit_line is not None:
        print(one_line(app.exit_line))


def crash_line(error: Exception, feed: Feed | None) -> str:
    """`internal error: KeyError: 'type'; the session file is safe at <path>`."""
    text = str(error)
    what = f"{type(error).__name__}: {text}" if text else type(error).__name__
    if feed is not None and feed.live is not None:
        what = feed.live.redact(what)
    what = one_line(what)
    what = what if len(what) <= 200 else what[:199] + "…"
    path = None if feed is None else feed.session_path
    return f"internal error: {what}" + ("" if path is None else f"; the session file is safe at {one_line(str(path))}")


def run_app(feed: Feed, theme: str | None = None, telemetry: Exporter | None = None) -> int:
    run(make_app(lambda app: RunScreen(feed, app.clock), theme, telemetry=telemetry))
    return 0


def run_flows(
    book: FlowBook,
    *,
    listen: str,
    upstream: str,
    faults: Faults | None,
    stall_threshold: float,
    warning: str | None = None,
    theme: str | None = None,
    telemetry: Exporter | None = None,
) -> None:
    """The flows screen over a running proxy's `book`, until the user quits (q, ctrl+c); AppCrash if
    a bug stopped it, ThemeError / ConfigError for a bad --theme or config file."""
    from streamwatch.tui.screens.flows import FlowsScreen

    run(make_app(lambda app: FlowsScreen(
        book, listen=listen, upstream=upstream, faults=faults, stall_threshold=stall_threshold, clock=app.clock,
        warning=warning,
    ), theme, telemetry=telemetry))


class Runs:
    """New requests from the home screen: each becomes a live feed; the embedded server starts the
    first time one asks for it and stops with the app."""

    def __init__(self, stall_threshold: float) -> None:
        self.stall_threshold = stall_threshold
        self._server: MockServer | None = None

    def __enter__(self) -> Runs:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()

    def start(self, request: HomeScreen.RunRequested) -> Feed:
        base_url, headers = request.base_url, {}
        if request.scenario is not None:
            if base_url is None:
                if self._server is None:
                    from streamwatch.mock.server import MockServer

                    self._server = MockServer().start()
                base_url = self._server.base_url
            headers[SCENARIO_HEADER] = request.scenario
        source = "demo" if request.scenario is not None else "live"
        title = f"DEMO {request.scenario}" if request.scenario else ""

        def make(watch: LiveWatch) -> Recovery:
            return Recovery(
                request.request_body, hooks=[watch], base_url=base_url, headers=headers,
                stall_threshold=self.stall_threshold, source=source,
            )

        return live_feed(make, self.stall_threshold, title)
