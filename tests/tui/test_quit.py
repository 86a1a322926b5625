"""A live run as the user sees it against a server that keeps the stream open: leaving (ctrl+c quits
like q; a live stream is stopped only on a second press, asked for in a notice; the verdict and session
path are left on the terminal in one line), and the head line (model, target, response head) and `h`."""

from __future__ import annotations

import pytest

from streamwatch.core.live import request_body
from streamwatch.core.recovery import Recovery
from streamwatch.tui import launch
from streamwatch.tui.app import STOP_ASK_SECONDS, StreamwatchApp
from streamwatch.tui.launch import live_feed
from streamwatch.tui.screens.home import HomeScreen
from streamwatch.tui.screens.run import RunScreen
from tests import streams as s
from tests.stub import Canned, StubServer
from tests.tui.conftest import SESSION, FixedClock, live_app, recording, replay_app, timed, wait_for

pytestmark = pytest.mark.anyio

HEAD = {"content-type": "text/event-stream", "request-id": "req_011CVstub", "retry-after": "7",
        "anthropic-ratelimit-requests-remaining": "49", "anthropic-ratelimit-requests-limit": "50"}
STREAMING = [s.message_start(), s.ping(), *s.text_block(0, "A first draft that keeps", 8)[:3]]


@pytest.fixture(autouse=True)
def isolated(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "streamwatch"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def hanging():
    """A server that sends the start of an answer, then nothing, the connection open: a stream still running."""
    with StubServer([Canned(headers=HEAD, chunks=STREAMING, hang=True)]) as stub:
        yield stub


def streaming_app(stub: StubServer, clock: FixedClock) -> StreamwatchApp:
    feed = live_feed(lambda watch: Recovery(request_body(), hooks=[watch], base_url=stub.base_url, save=False), 5.0)
    return StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=clock)


def notices(app) -> list[str]:
    return [notification.message for notification in app._notifications]


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_q_and_ctrl_c_quit_a_finished_run_at_once_and_leave_its_verdict(key):
    app = live_app("complete")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "COMPLETE" in status(app))
        await pilot.press(key)
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.exit_line == f"streamwatch: COMPLETE end_turn · 17 events · 2.0 KB · 1.210s · session {SESSION}"
    assert "ctrl+q" not in " ".join(notices(app))


@pytest.mark.parametrize(("key", "shown"), [("q", "q"), ("ctrl+c", "ctrl+c")])
async def test_a_live_stream_stops_only_on_a_second_press(hanging, key, shown):
    clock = FixedClock()
    app = streaming_app(hanging, clock)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: "STREAMING" in status(app) and app.screen.stream_running)
        await pilot.press(key)
        assert notices(app) == [f"press {shown} again to stop the stream and quit"]
        assert app.return_code is None and app.screen.feed.live.current.run.state.ended is None
        await pilot.press(key)
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.exit_line.startswith("streamwatch: STOPPED by you · 5 events · ")
    assert app.exit_line.endswith(" · not saved (--no-save)")


async def test_any_other_key_or_the_time_running_out_takes_the_question_back(hanging):
    clock = FixedClock()
    app = streaming_app(hanging, clock)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: "STREAMING" in status(app) and app.screen.stream_running)
        await pilot.press("q", "j")
        assert notices(app) == [], "the notice goes with the question"
        await pilot.press("q")
        assert notices(app) == ["press q again to stop the stream and quit"]
        clock.now += STOP_ASK_SECONDS + 0.1
        await pilot.press("q")
        assert app.return_code is None and notices(app) == ["press q again to stop the stream and quit"]
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.return_code is not None)


async def test_esc_back_to_home_asks_before_it_stops_the_stream(hanging):
    clock = FixedClock()
    feed = live_feed(lambda watch: Recovery(request_body(), hooks=[watch], base_url=hanging.base_url, save=False), 5.0)
    app = StreamwatchApp(lambda app: HomeScreen(), clock=clock)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.push_screen(RunScreen(feed, clock))
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.stream_running)
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen) and notices(app) == ["press esc again to stop the stream and go back"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await wait_for(pilot, lambda: feed.live.cancelled)


async def test_a_replay_quits_at_once_saying_where_it_stood():
    clock = FixedClock(0.0)
    app = replay_app(recording(timed(s.complete_text())), clock, speed=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "COMPLETE" in status(app))
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.exit_line.startswith("streamwatch: COMPLETE end_turn · 14 events · ")


def test_the_line_reaches_the_terminal_made_safe(monkeypatch, capsys):
    app = live_app("complete")
    monkeypatch.setattr(app, "run", lambda: setattr(app, "exit_line", "streamwatch: COMPLETE \x1b[2J · session x"))
    launch.run(app)
    assert capsys.readouterr().out == "streamwatch: COMPLETE \\x1b[2J · session x\n"


# ----- the response head ------------------------------------------------------------------------

def head(app) -> str:
    return str(app.screen.query_one("#head").render())


@pytest.mark.parametrize(("size", "shown"), [
    ((120, 30), "claude-sonnet-4-6 → 127.0.0.1:{port} · HTTP 200 · req_011CVstub · retry-after 7 · requests 49/50"),
    ((80, 24), "claude-sonnet-4-6 → 127.0.0.1:{port} · HTTP 200 · req_011CVstub · retry-after 7"),
])
async def test_the_run_screen_names_the_model_the_target_and_the_response_head(hanging, size, shown):
    app = streaming_app(hanging, FixedClock())
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "HTTP 200" in head(app))
        assert head(app) == shown.format(port=hanging.base_url.rsplit(":", 1)[1])
        await pilot.press("h")
        shown = str(app.screen.query_one("#raw-body").render())
        assert "model: claude-sonnet-4-6\n" in shown and "request-id: req_011CVstub\n" in shown
        assert "requests: 49/50 left\n" in shown and "content-type: text/event-stream\n" in shown
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


async def test_a_demo_run_says_it_went_to_the_mock(hanging):
    feed = live_feed(lambda watch: Recovery(request_body(), hooks=[watch], base_url=hanging.base_url, save=False,
                                            headers={"x-streamwatch-scenario": "ok"}), 5.0)
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=FixedClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "HTTP 200" in head(app))
        assert head(app).startswith("claude-sonnet-4-6 → mock · HTTP 200 · req_011CVstub")


async def test_a_stopped_saved_stream_names_its_file_and_says_what_the_file_holds(hanging, tmp_path):
    from streamwatch.core.recording import load_session

    feed = live_feed(lambda watch: Recovery(request_body(), hooks=[watch], base_url=hanging.base_url), 5.0)
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=FixedClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.stream_running and feed.live.current is not None
                       and len(feed.live.current.run.state.events) == 5)
        await pilot.press("q", "q")
        await wait_for(pilot, lambda: app.return_code is not None)
    [path] = (tmp_path / "streamwatch" / "sessions").iterdir()
    recorded = load_session(path).latest
    assert app.exit_line.startswith(f"streamwatch: STOPPED by you · 5 events · {sum(len(d) for _, d in recorded.chunks)} B")
    assert app.exit_line.endswith(f" · session {path}")
