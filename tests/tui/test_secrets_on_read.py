"""A session file streamwatch did not write shows no secret it holds: not in the home screen's list or
detail, nor in its replay (the stream, the verdict, the response head, an event as it was on the wire)."""

import pytest
from textual.widgets import Static

from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.launch import attach_feed
from streamwatch.tui.screens.home import HomeScreen, SessionTable
from streamwatch.tui.screens.run import RawEventScreen, RunScreen
from streamwatch.tui.widgets.timeline import Timeline
from tests import secretfile
from tests.secretfile import leaked
from tests.tui.conftest import FixedClock, on_screen, wait_for

pytestmark = pytest.mark.anyio


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


def shown(app) -> str:
    """The screen, and every notification it holds."""
    return on_screen(app) + "\n".join(str(n.message) for n in app._notifications)


async def test_home_and_replay_of_a_hand_made_file_show_no_secret(user_home):
    secretfile.write(user_home / "sessions")
    clock = FixedClock(0.0)
    app = StreamwatchApp(lambda app: HomeScreen(), clock=clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(SessionTable).row_count == 1)
        detail = str(app.screen.query_one("#session-detail", Static).render())
        assert "why does my key [redacted]" in on_screen(app)
        assert "ABNORMAL transport_error" in on_screen(app)
        assert leaked(shown(app) + detail) == []
        await pilot.press("enter")

        def played() -> bool:
            clock.now += 1.0
            return isinstance(app.screen, RunScreen) and "transport_error" in status(app)

        await wait_for(pilot, played)
        await wait_for(pilot, lambda: "[redacted] were echoed" in on_screen(app))
        assert leaked(shown(app)) == []
        await pilot.press("h")
        await wait_for(pilot, lambda: "Response head" in on_screen(app))
        assert "set-cookie: [redacted]" in on_screen(app)
        assert leaked(shown(app)) == []
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        assert "Recovery stopped: not retried: peer closed connection; the request sent x-api-key [redacted]" in (
            on_screen(app))
        app.screen.query_one(Timeline).move_to_seq(3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RawEventScreen))
        raw = str(app.screen.query_one("#raw-body").render())
        assert "Your key [redacted] and token [redacted]" in raw and leaked(raw + shown(app)) == []
        assert leaked(shown(app)) == []


async def test_attach_to_a_hand_made_file_as_it_grows_shows_no_secret(user_home, tmp_path):
    lines = secretfile.write(user_home / "sessions").read_bytes().splitlines(keepends=True)
    grown = tmp_path / "attached.jsonl"
    grown.write_bytes(b"".join(lines[:3]))  # the head and the first chunk, which ends inside a key
    app = StreamwatchApp(lambda app: RunScreen(attach_feed(grown, 5.0), app.clock), clock=FixedClock(0.0))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "STREAMING · 2 events" in status(app))
        assert leaked(shown(app)) == []
        with grown.open("ab") as out:
            out.write(b"".join(lines[3:]))
        await wait_for(pilot, lambda: "transport_error" in status(app) and "[redacted] were echoed" in on_screen(app))
        assert leaked(shown(app)) == []
