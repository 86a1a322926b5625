"""Starting the app on a given screen: what the command line calls."""

from __future__ import annotations

from pathlib import Path

from streamwatch.core.live import LiveRun
from streamwatch.core.playback import Follower, Player
from streamwatch.core.recording import Recording, load_session
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.screens.run import Feed, RunScreen


def replay_feed(path: Path, stall_threshold: float, speed: float | None) -> Feed:
    session = load_session(path)
    player = Player(session.latest, stall_threshold, speed=speed)
    return Feed(kind="replay", player=player, session_path=path)


def attach_feed(path: Path, stall_threshold: float) -> Feed:
    follower = Follower(path)
    header = follower.session.header
    owner = f"{header.get('source', '?')} run, pid {header.get('pid', '?')} on {header.get('host', '?')}, started {header.get('started', '?')}"
    player = Player(follower.session.latest, stall_threshold, live=True)
    return Feed(kind="attach", player=player, session_path=path, follower=follower, owner=owner)


def live_feed(run: LiveRun, title: str = "") -> Feed:
    """A run screen feed for a request about to be sent; the screen starts it."""
    waiting = Player(Recording(request={}), run.stall_threshold, live=True)
    return Feed(kind="live", player=waiting, live=run, title=title)


def run_app(feed: Feed, theme: str | None = None) -> int:
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), theme=theme)
    app.run()
    return 0
