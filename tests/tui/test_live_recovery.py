"""A live run on the run screen as a user drives it: the real mock server on loopback (a stub for what
the mock does not play), every recovery key, and what the user sees change."""

import asyncio
import functools
import re
import socket
import threading

import pytest

import streamwatch.core.resume
from streamwatch import cli
from streamwatch.core.live import LiveRun, request_body
from streamwatch.core.recording import load_session
from streamwatch.core.recovery import Recovery, RecoveryObserver
from streamwatch.mock import MockServer
from streamwatch.protocol import SCENARIO_HEADER, TIME_SCALE_HEADER, TOOL_BYTES_HEADER
from streamwatch.tui import launch
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.launch import Runs, live_feed, make_app
from streamwatch.tui.screens import run
from streamwatch.tui.screens.home import HomeScreen, SessionTable
from streamwatch.tui.screens.run import AttemptsScreen, ConfirmScreen, RunScreen
from streamwatch.tui.widgets.textview import TextView
from streamwatch.tui.widgets.timeline import Timeline
from tests import streams as s
from tests.stub import Canned, StubServer
from tests.tui.conftest import FixedClock, wait_for

pytestmark = pytest.mark.anyio

TIME_SCALE = 0.02
THRESHOLD = 5.0
SIZE = (120, 40)
INTERRUPTED = "Your previous response was interrupted."


@pytest.fixture(scope="module")
def server():
    with MockServer(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture(autouse=True)
def isolated(no_credentials, tmp_path, monkeypatch):
    """Sessions and config under tmp_path, and short backoff (no server-asked wait)."""
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "streamwatch"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(streamwatch.core.resume, "BACKOFF_BASE", 0.01)


# ----- helpers --------------------------------------------------------------------------------

def mock_recovery(server, body, scenario, headers=None, **options):
    """How the run screen's Recovery is built (as `cli._recovery` does) against the mock."""
    sent = {SCENARIO_HEADER: scenario, **(headers or {})}
    options.setdefault("stall_threshold", THRESHOLD)

    def make(watch):
        return Recovery(body, hooks=[watch], base_url=server.base_url, headers=sent, source="demo", **options)

    return make


def live_app(make, threshold=THRESHOLD):
    feed = live_feed(make, threshold)
    return make_app(lambda app: RunScreen(feed, app.clock))


def clean_text(server, body, scenario):
    """The uninterrupted answer to the same request (played at once: time scale 0)."""
    headers = {SCENARIO_HEADER: scenario, TIME_SCALE_HEADER: "0"}
    result = LiveRun(body, base_url=server.base_url, headers=headers, save=False).run()
    assert result.verdict.complete
    return result.verdict.text


def status(app) -> str:
    statuses = app.screen.query("#status")
    return str(statuses.first().render()) if statuses else f"(no status line on {type(app.screen).__name__})"


def verdict(app) -> str:
    return str(app.screen.query_one("#verdict-text").render())


def text_pane(app) -> TextView:
    return app.screen.query_one("#text", TextView)


def seam_offsets(pane: TextView) -> list[int]:
    """Where the marked seams are, as offsets in the pane's text."""
    lines = pane.text.split("\n")
    return [sum(len(line) + 1 for line in lines[:row]) + column for row, column in pane.seams]


def offered(app) -> set[tuple[str, str]]:
    """(key, label) of every key the footer shows."""
    return {(b.binding.key, b.binding.description) for b in app.screen.active_bindings.values()
            if b.enabled and b.binding.show}


RECOVER = {("r", "Retry"), ("c", "Resume")}
SKIP, CANCEL = ("s", "Skip wait"), ("x", "Cancel")


def waiting(app) -> float | None:
    """The seconds left that the status line counts down before the next attempt, if it does."""
    match = re.search(r"WAITING ([0-9.]+) s before attempt", status(app))
    return float(match[1]) if match else None


def live(app) -> Recovery:
    return app.screen.feed.live


# What the stub plays: the mock does not break right after a complete tool call, nor answer differently.
STREAM_WITH_A_TOOL_CALL = [
    s.message_start(),
    *s.text_block(0, "Let me write that file."),
    *s.tool_block(1, "write_file", {"path": "notes.md", "content": "hello"}),
]
"""It dies right after the tool call's content_block_stop: no message_delta, no message_stop."""
BROKEN_TEXT = [s.message_start(), *s.text_block(0, "A first draft that breaks off in the mid")[:-1]]
"""It dies inside the text block: no content_block_stop, no message_stop."""
COMPLETE = [s.message_start(), *s.text_block(0, " Done."), s.message_delta("end_turn"), s.message_stop()]


# ----- recovering a broken answer ---------------------------------------------------------------

async def test_c_resumes_a_stream_that_ended_early_and_stitches_the_answer(server, request):
    body = request_body(prompt=request.node.name, model="claude-sonnet-4-6")
    clean = clean_text(server, body, "tool_big")
    app = live_app(mock_recovery(server, body, "drop_eof", {TOOL_BYTES_HEADER: "12000"}))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL eof" in status(app))
        await wait_for(pilot, lambda: RECOVER <= offered(app))
        assert not {SKIP, CANCEL} & offered(app)
        first_text = live(app).attempts[0].state.text
        assert first_text and text_pane(app).text == first_text

        await pilot.press("c")
        await wait_for(pilot, lambda: "COMPLETE tool_use" in status(app))
        await wait_for(pilot, lambda: "Attempt 2: resume (user-turn) → complete" in verdict(app))
        panel = verdict(app)
        assert "Attempt 1: first → eof" in panel
        assert "dropped: tool_use `write_file` (block 1): cut off after" in panel
        assert " input and 0 output tokens, plus the output that makes the dropped blocks again" in panel
        assert text_pane(app).text == clean
        assert seam_offsets(text_pane(app)) == [len(first_text)]
        assert not RECOVER & offered(app)

        await pilot.press("a")
        assert isinstance(app.screen, AttemptsScreen)
        await wait_for(pilot, lambda: app.screen.query("#raw-body"))
        shown = str(app.screen.query_one("#raw-body").render())
        assert "Attempt 1: first" in shown and "Attempt 2: resume (user-turn)" in shown
        second = shown[shown.index("Attempt 2"):]
        assert INTERRUPTED in second and first_text[-40:] in second
        assert INTERRUPTED not in shown[: shown.index("Attempt 2")]
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


async def test_r_retries_and_the_new_answer_replaces_the_broken_one(server, request):
    body = request_body(prompt=request.node.name)
    clean = clean_text(server, body, "ok")
    app = live_app(mock_recovery(server, body, "drop_abrupt"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL transport_error" in status(app))
        await wait_for(pilot, lambda: RECOVER <= offered(app))
        broken = text_pane(app).text
        assert broken and clean.startswith(broken) and broken != clean
        await pilot.press("space")
        assert "PAUSED" in str(app.screen.query_one(Timeline).border_title)

        assert "attempt" not in status(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
        await wait_for(pilot, lambda: "Attempt 2: retry → complete" in verdict(app))
        assert "attempt 2 · COMPLETE end_turn" in status(app), "the line says which attempt it stands for"
        assert text_pane(app).text == clean
        assert text_pane(app).seams == []
        broken_tokens = -(-sum(b.chars for b in live(app).attempts[0].state.blocks.values()) // 4)
        assert " output tokens (estimated from its characters" in verdict(app)
        assert f"re-paid {live(app).attempts[1].state.input_tokens} input and ~{broken_tokens} output" in verdict(app)
        timeline = app.screen.query_one(Timeline)
        assert "PAUSED" not in str(timeline.border_title), "the new attempt is followed to its tail"
        assert timeline.cursor == timeline.row_count - 1 and timeline.follow


async def test_after_http_529_r_counts_down_the_server_s_wait_and_s_skips_it(server, request):
    body = request_body(prompt=request.node.name)
    # The failing request plays at time scale 5, so the server asks for 5 s (retry-after-ms: 5000), long
    # enough to watch under load (a Pilot key press waits for the app to idle); the retry plays at the
    # server's quick pace: the header is gone by the time its LiveRun copies them.
    headers = {SCENARIO_HEADER: "http_529", TIME_SCALE_HEADER: "5"}
    app = live_app(lambda watch: Recovery(body, hooks=[watch], base_url=server.base_url, headers=headers,
                                          stall_threshold=THRESHOLD, save=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL HTTP 529 overloaded_error" in status(app))
        await wait_for(pilot, lambda: ("r", "Retry") in offered(app))
        assert ("c", "Resume") not in offered(app)  # nothing came to continue
        del headers[TIME_SCALE_HEADER]

        await pilot.press("r")
        await wait_for(pilot, lambda: waiting(app) is not None)
        assert "before attempt 2: the server asked for it (retry-after-ms: 5000) · s skip · x cancel" in status(app)
        assert {SKIP, CANCEL} <= offered(app) and not RECOVER & offered(app)
        left = waiting(app)
        assert 0 < left <= 5
        await wait_for(pilot, lambda: (waiting(app) or left) < left)

        await pilot.press("s")
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
        assert live(app).attempts[1].waited < 4


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_c_continues_an_answer_cut_at_max_tokens_in_the_same_session(server, request):
    body = request_body(prompt=request.node.name, model="claude-sonnet-4-6", max_tokens=20)
    app = live_app(mock_recovery(server, body, "max_tokens"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "COMPLETE max_tokens" in status(app))
        await wait_for(pilot, lambda: "Keys: c resume: continue the answer" in verdict(app))
        assert "resume to continue it" in verdict(app) and "r retry" not in verdict(app)
        assert ("c", "Resume") in offered(app) and ("r", "Retry") not in offered(app)
        cut = live(app).attempts[0].state.text

        await pilot.press("r")  # not offered: says why, sends nothing
        await wait_for(pilot, lambda: any("Nothing to retry" in n for n in notices(app)))
        assert len(live(app).attempts) == 1

        await pilot.press("c")
        await wait_for(pilot, lambda: "Attempt 2: resume (user-turn) → complete" in verdict(app))
        assert "Attempt 1: first → cut at max_tokens" in verdict(app) and "COMPLETE end_turn" in status(app)
        assert text_pane(app).text.startswith(cut) and len(text_pane(app).text) > len(cut)
        assert seam_offsets(text_pane(app)) == [len(cut)]
        assert "Keys:" not in verdict(app) and not RECOVER & offered(app)
        path = app.screen.feed.session_path
    session = load_session(path)
    assert len(session.attempts) == 2
    assert session.attempts[1].link == {"reason": "resume", "replaces": 1, "strategy": "user-turn", "dropped": []}


async def test_c_with_nothing_to_continue_says_so_and_sends_nothing(server, request):
    body = request_body(prompt=request.node.name)
    app = live_app(mock_recovery(server, body, "http_529"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL HTTP 529" in status(app) and ("r", "Retry") in offered(app))
        assert "Keys: r retry: the same request again" in verdict(app) and "c resume" not in verdict(app)
        await pilot.press("c")
        await wait_for(pilot, lambda: notices(app))
        assert notices(app) == [
            "Nothing to resume: attempt 1 left no answer to continue: only a retry (the same request again) can help"
        ]
        await wait_for(pilot, lambda: "ABNORMAL HTTP 529" in status(app))
        assert len(live(app).attempts) == 1 and live(app).phase.value == "broken"


async def test_a_retry_that_answers_differently_replaces_the_broken_text():
    with StubServer([Canned(chunks=BROKEN_TEXT), Canned(chunks=COMPLETE)]) as stub:
        app = live_app(lambda watch: Recovery(request_body(), hooks=[watch], base_url=stub.base_url,
                                              stall_threshold=THRESHOLD, save=False))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "ABNORMAL eof" in status(app) and RECOVER <= offered(app))
            assert text_pane(app).text == "A first draft that breaks off in the mid"
            await pilot.press("r")
            await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
            assert text_pane(app).text == " Done." and stub.requests == 2


# ----- the tool-call hold -----------------------------------------------------------------------

def stub_app(stub):
    return live_app(lambda watch: Recovery(request_body(), hooks=[watch], base_url=stub.base_url,
                                           on_failure="resume", stall_threshold=THRESHOLD, save=False))


def dialog(app) -> str:
    """The tool-call question's text, once it is on screen (else empty)."""
    if not isinstance(app.screen, ConfirmScreen):
        return ""
    shown = app.screen.query("#confirm-dialog Static")
    return str(shown.first().render()) if shown else ""


async def test_n_at_the_tool_call_question_sends_nothing_more():
    with StubServer([Canned(chunks=STREAM_WITH_A_TOOL_CALL)]) as stub:
        app = stub_app(stub)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: dialog(app))
            assert dialog(app).startswith("Resume attempt 1?")
            assert "Tool calls that completed: write_file." in dialog(app)

            await pilot.press("n")
            assert isinstance(app.screen, RunScreen)
            await app.workers.wait_for_complete()
            await wait_for(pilot, lambda: "Recovery stopped: attempt 1 broke after a complete tool call" in verdict(app))
            assert stub.requests == 1 and len(live(app).attempts) == 1
            await wait_for(pilot, lambda: "ABNORMAL eof" in status(app) and RECOVER <= offered(app))


async def test_y_at_the_tool_call_question_resumes():
    with StubServer([Canned(chunks=STREAM_WITH_A_TOOL_CALL), Canned(chunks=COMPLETE)]) as stub:
        app = stub_app(stub)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: dialog(app))
            await pilot.press("y")
            assert isinstance(app.screen, RunScreen)
            await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
            await wait_for(pilot, lambda: "Attempt 2: resume (user-turn) → complete" in verdict(app))
            assert stub.requests == 2
            assert INTERRUPTED in stub.bodies[1]["messages"][-1]["content"]
            assert text_pane(app).text == "Let me write that file. Done."


# ----- cancel -----------------------------------------------------------------------------------

class HeldBeforeSending(RecoveryObserver):
    """Holds the first attempt between being planned and being sent, as a slow start of the SDK does."""

    def __init__(self) -> None:
        self.planned, self.go = threading.Event(), threading.Event()

    def on_attempt(self, attempt) -> None:
        self.planned.set()
        self.go.wait(60)


async def test_x_before_the_request_is_sent_says_cancelled_and_that_nothing_was_sent(server, request):
    body = request_body(prompt=request.node.name)
    held = HeldBeforeSending()

    def make(watch):
        return Recovery(body, hooks=[watch, held], base_url=server.base_url, headers={SCENARIO_HEADER: "ok"},
                        source="demo", stall_threshold=0.5)

    app = live_app(make, threshold=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, held.planned.is_set)
        await pilot.press("x")
        held.go.set()
        await wait_for(pilot, lambda: "ABNORMAL cancelled" in status(app))  # it used to say STALLED for ever
        assert CANCEL not in offered(app)
        assert app.screen.exit_line().endswith("nothing sent, nothing saved")
        assert "no response head" in str(app.screen.query_one("#head").render())
        assert app.screen.feed.live.attempts == []


async def test_x_cancels_a_stalled_attempt_and_the_session_says_so(server, request):
    body = request_body(prompt=request.node.name)
    # At time scale 0.5 the stall lasts 4 s; the status says STALLED after 0.5 s of it.
    make = mock_recovery(server, body, "stall", {TIME_SCALE_HEADER: "0.5"}, stall_threshold=0.5)
    app = live_app(make, threshold=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "STALLED" in status(app) and app.screen.feed.live.attempts)  # the request is out
        assert CANCEL in offered(app) and not RECOVER & offered(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: notices(app) == ["Nothing to retry: the stream has not ended yet (x cancels it)"])

        await pilot.press("x")
        await wait_for(pilot, lambda: "ABNORMAL cancelled" in status(app))  # an uncancelled stall ends COMPLETE
        await wait_for(pilot, lambda: RECOVER <= offered(app))
        assert "Recovery stopped" not in verdict(app) and "Attempt 1" not in verdict(app)  # it asked for none
        path = app.screen.feed.session_path
    session = load_session(path)
    assert len(session.attempts) == 1 and session.latest.ending["kind"] == "cancelled"
    assert session.latest.ending["sdk"]["seen"].startswith("nothing more: you cancelled")


# ----- the demo tour ----------------------------------------------------------------------------

def test_the_demo_tour_moves_on_to_the_next_run_after_the_first_ends(monkeypatch):
    """`streamwatch demo` on a terminal: its run screens driven by Pilot in place of a real terminal, on a
    fixed app clock, so the tour moves on when the test says the pause is over."""
    monkeypatch.setattr(cli, "_wants_tui", lambda args: True)
    clock = FixedClock()
    seen = []

    async def tour(feed):
        app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
            seen.append(status(app))
            first = app.screen
            await wait_for(pilot, lambda: [n.message for n in app._notifications] == ["Next in the tour in 4 s"])
            clock.now += 1.5  # the notice counts down on the app's clock
            await wait_for(pilot, lambda: [n.message for n in app._notifications] == ["Next in the tour in 3 s"])
            clock.now += run.TOUR_PAUSE - 1.5
            await wait_for(pilot, lambda: app.screen is not first)
            assert not [n for n in app._notifications if "Next in the tour" in n.message]
            assert isinstance(app.screen, RunScreen) and len(app.screen_stack) == 2
            await wait_for(pilot, lambda: "ABNORMAL eof" in status(app))
            await wait_for(pilot, lambda: RECOVER <= offered(app))
            seen.append(status(app))

    def run_app(feed, theme=None, telemetry=None):
        asyncio.run(tour(feed))
        return 0

    monkeypatch.setattr(launch, "run_app", run_app)
    assert cli.main(["demo", "--time-scale", str(TIME_SCALE)]) == cli.EXIT_COMPLETE
    assert [line.split(" · ")[:2] for line in seen] == [[" DEMO 1/2 ok", "COMPLETE end_turn"],
                                                       [" DEMO 2/2 drop_eof", "ABNORMAL eof"]]


# ----- from the home screen and back ------------------------------------------------------------

def keys(text: str) -> list[str]:
    return ["space" if char == " " else char for char in text]


async def test_a_new_request_from_home_runs_and_escape_comes_back_to_the_list(monkeypatch, tmp_path):
    monkeypatch.setattr("streamwatch.mock.server.MockServer", functools.partial(MockServer, time_scale=TIME_SCALE))
    prompt = "say hello from the home screen"
    with Runs(THRESHOLD) as runs:
        app = make_app(lambda app: HomeScreen(THRESHOLD), start_run=runs.start)
        async with app.run_test(size=SIZE) as pilot:
            await app.workers.wait_for_complete()
            await wait_for(pilot, lambda: "No saved sessions yet" in str(app.screen.query_one("#home-status").render()))
            home = app.screen
            await pilot.press("n", "f7", *keys(prompt), "ctrl+s")
            await wait_for(pilot, lambda: status(app).startswith(" DEMO ok · "))
            await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
            path = app.screen.feed.session_path

            await pilot.press("escape")
            assert app.screen is home
            assert not home.form_shown
            await app.workers.wait_for_complete()
            await wait_for(pilot, lambda: home.query_one(SessionTable).row_count == 1)
            row = home.query_one(SessionTable).cells_at(0)
            assert row[1:4] == ["ok", "sonnet-4-6", "COMPLETE end_turn"]
            assert str(home.query_one("#home-status").render()) == "1 session in ~/streamwatch/sessions"
    assert path.parent == tmp_path / "streamwatch" / "sessions"
    assert load_session(path).header["request"]["body"]["messages"] == [{"role": "user", "content": prompt}]


@pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated")
@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "claude-sonnet-4-6"], ids=["prefill", "user-turn"])
@pytest.mark.parametrize("scenario", ["drop_abrupt", "error_overloaded", "error_stream"])
async def test_one_key_resumes_every_text_fault_to_the_uninterrupted_answer(server, scenario, model):
    """`c` on each fault that breaks the text, with either strategy auto picks for the model."""
    body = request_body(model=model, prompt=f"Resume me after {scenario} on {model}, please.")
    clean = clean_text(server, body, "ok")
    app = live_app(mock_recovery(server, body, scenario))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app))
        await wait_for(pilot, lambda: RECOVER <= offered(app))
        await pilot.press("c")
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
        await wait_for(pilot, lambda: "Attempt 2: resume" in verdict(app))
        strategy = "prefill" if model.endswith("4-5") else "user-turn"
        assert f"Attempt 2: resume ({strategy}) → complete" in verdict(app)
        assert text_pane(app).text == clean
        assert len(seam_offsets(text_pane(app))) == 1


@pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated")
async def test_c_resumes_the_seed_failure_with_prefill_too(server):
    body = request_body(model="claude-sonnet-4-5", prompt="Write the notes file, prefill edition.")
    clean = clean_text(server, body, "tool_big")
    app = live_app(mock_recovery(server, body, "drop_eof", {TOOL_BYTES_HEADER: "4000"}))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL eof" in status(app))
        await wait_for(pilot, lambda: RECOVER <= offered(app))
        await pilot.press("c")
        await wait_for(pilot, lambda: "COMPLETE tool_use" in status(app))
        await wait_for(pilot, lambda: "Attempt 2: resume (prefill) → complete" in verdict(app))
        assert text_pane(app).text == clean


# ----- the same session, replayed ----------------------------------------------------------------

@pytest.mark.parametrize(("scenario", "key"), [("drop_abrupt", "c"), ("http_529", "r")])
async def test_a_replay_of_a_recovered_session_shows_what_the_live_run_showed(server, request, scenario, key):
    body = request_body(prompt=request.node.name, model="claude-sonnet-4-6")
    app = live_app(mock_recovery(server, body, scenario))
    async with app.run_test(size=SIZE) as pilot:
        label = {"c": "Resume", "r": "Retry"}[key]
        await wait_for(pilot, lambda: "ABNORMAL" in status(app) and (key, label) in offered(app))
        await pilot.press(key)
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app) and "→ complete" in verdict(app))
        shown, seams, panel = text_pane(app).text, text_pane(app).seams, verdict(app)
        path = app.screen.feed.session_path
    replay = make_app(lambda app: RunScreen(launch.replay_feed(path, THRESHOLD, speed=None), app.clock))
    async with replay.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(replay) and "→ complete" in verdict(replay))
        assert status(replay).startswith(" REPLAY PAUSED max ") and " · attempt 2/2 · COMPLETE" in status(replay)
        assert text_pane(replay).text == shown and text_pane(replay).seams == seams
        assert verdict(replay) == panel


# ----- a replay goes on live ----------------------------------------------------------------------

def recorded(server, request, scenario):
    """A broken session recorded live against the mock, as `streamwatch demo` records one."""
    body = request_body(prompt=request.node.name, model="claude-sonnet-4-6")
    headers = {SCENARIO_HEADER: scenario, TIME_SCALE_HEADER: str(TIME_SCALE)}
    result = LiveRun(body, base_url=server.base_url, headers=headers, source="demo").run()
    assert not result.verdict.complete and result.session_path is not None
    return result.session_path


KEY = "sk-ant-api03-" + "k3y" * 12


def replay_of(path):
    return make_app(lambda app: RunScreen(launch.replay_feed(path, THRESHOLD, speed=None), app.clock))


def sessions_in(folder):
    return sorted(folder.glob("*.jsonl"))


@pytest.mark.parametrize(("key", "how"), [("r", "retry"), ("c", "resume")])
async def test_r_or_c_before_a_replay_reaches_the_end_says_why_and_sends_nothing(server, request, key, how):
    old = recorded(server, request, "drop_abrupt")
    clock = FixedClock(0.0)
    app = make_app(lambda app: RunScreen(launch.replay_feed(old, THRESHOLD, speed=1.0), clock))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: " REPLAY " in status(app) and not app.screen.feed.player.finished)
        await pilot.press(key)  # it used to do nothing at all
        await wait_for(pilot, lambda: notices(app))
        assert notices(app) == [f"Nothing to {how}: the replay has not reached the end of the stream yet "
                                "(> plays it to the end)"]
        assert app.screen.feed.live is None and sessions_in(old.parent) == [old]


@pytest.mark.parametrize(("key", "how", "strategy"), [("r", "retry", "retry"), ("c", "resume", "user-turn")])
async def test_r_or_c_in_a_replay_sends_a_new_live_attempt_into_a_new_linked_session(server, request, key, how,
                                                                                       strategy, monkeypatch):
    old = recorded(server, request, "drop_abrupt")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    app = replay_of(old)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app) and RECOVER <= offered(app))
        assert "Keys: c resume: continue the answer · r retry: the same request again" in verdict(app)
        await pilot.press(key)
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app) and "→ complete" in verdict(app))
        assert status(app).startswith(f" LIVE after {load_session(old).header['id']} · ")
        assert f"Attempt 2: {how}" in verdict(app) and not RECOVER & offered(app)
        new = app.screen.feed.session_path
    assert new != old and sessions_in(old.parent) == sorted([old, new])
    session = load_session(new)
    assert session.skipped == [] and len(session.attempts) == 1
    assert session.header["continues"] == {"session": load_session(old).header["id"], "file": old.name, "attempt": 1,
                                           "reason": how, "strategy": strategy, "dropped": []}
    assert session.header["source"] == "demo" and session.attempts[0].request["url"].startswith(server.base_url)
    # The key came from the environment, as a live run's does, and went to the new file as a live run's does: not at all.
    assert session.attempts[0].request["headers"]["authorization"] == "[redacted]" and KEY not in new.read_text()
    again = replay_of(new)
    async with again.run_test(size=SIZE) as pilot:
        said = f"Continues session {load_session(old).header['id']} ({old.name}) after its attempt 1: a {how}"
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(again) and said in verdict(again))
        assert said + ("" if how == "retry" else f" ({strategy})") in verdict(again)


async def test_r_in_a_replay_of_a_demo_whose_mock_stopped_plays_it_on_a_new_mock_that_stops_with_the_app(request):
    with MockServer(time_scale=TIME_SCALE) as gone:
        old, base_url = recorded(gone, request, "drop_abrupt"), gone.base_url
    app = replay_of(old)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL" in status(app) and RECOVER <= offered(app))
        await pilot.press("r")
        await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app) and "→ complete" in verdict(app))
        new = app.screen.feed.session_path
        played_by = load_session(new).attempts[0].request["url"]
    assert new != old and load_session(new).header["continues"]["session"] == load_session(old).header["id"]
    assert not played_by.startswith(base_url)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(played_by.split(":")[2].split("/")[0])), timeout=1).close()


async def test_a_replay_whose_target_is_gone_or_needs_a_key_says_so_in_one_notice_and_stays(request):
    with MockServer(time_scale=TIME_SCALE) as gone:
        recorded_by_mock, base_url = recorded(gone, request, "drop_abrupt"), gone.base_url
    # A local server that is not streamwatch's mock (a proxy, a gateway) that has stopped: nothing can stand in for it.
    old = recorded_by_mock.with_name("local.jsonl")
    old.write_text(recorded_by_mock.read_text().replace('"demo"', '"live"').replace(SCENARIO_HEADER, "x-local"))
    recorded_by_mock.unlink()
    remote = old.with_name("remote.jsonl")
    remote.write_text(old.read_text().replace(base_url, "https://api.example.com"))
    for path, says in [(old, f"cannot reach {base_url}: Connection refused"),
                       (remote, "no API key to call https://api.example.com")]:
        app = replay_of(path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda app=app: RECOVER <= offered(app))
            await pilot.press("r")
            await wait_for(pilot, lambda app=app: app._notifications)
            assert len(app._notifications) == 1 and str(next(iter(app._notifications)).message).startswith(says)
            assert app.screen.feed.kind == "replay" and RECOVER <= offered(app)
    assert sessions_in(old.parent) == sorted([old, remote])
