"""Replaying a session of several attempts, as a user drives it: each attempt in turn, the gap between
them, the stitched answer, the attempt lines, the attempts dialog, and every replay key across attempts."""

import json

import pytest

from streamwatch.core.recording import load_session
from streamwatch.tui.screens.run import AttemptsScreen, RunScreen
from streamwatch.tui.widgets.textview import TextView
from streamwatch.tui.widgets.timeline import Timeline
from tests import sessions
from tests import streams as s
from tests.tui.conftest import FixedClock, recording, replay_app, timed, wait_for

pytestmark = pytest.mark.anyio

SIZE = (120, 40)
ATTEMPTS = ("a", "Attempts")


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


def verdict(app) -> str:
    return str(app.screen.query_one("#verdict-text").render())


def text_pane(app) -> TextView:
    return app.screen.query_one("#text", TextView)


def offered(app) -> set[tuple[str, str]]:
    return {(b.binding.key, b.binding.description) for b in app.screen.active_bindings.values()
            if b.enabled and b.binding.show}


def cursor_event(app):
    timeline = app.screen.query_one(Timeline)
    return timeline.event_at(timeline.cursor)


async def at(pilot, clock, now, played):
    """Move the replay's clock on to `now` and let it play until `played()` says it got there."""
    clock.now = now
    await wait_for(pilot, played)


# The session (tests/sessions.py `write_resumed`): attempt 1 streams from 0.35 s and dies inside its text
# at 0.81 s; attempt 2, a resume, is sent at 2.81 s and completes at 3.82 s.
async def test_a_resumed_session_replays_as_the_live_run_showed_it(tmp_path):
    clock = FixedClock(0.0)
    app = replay_app(load_session(sessions.write_resumed(tmp_path)), clock)
    async with app.run_test(size=SIZE) as pilot:
        await at(pilot, clock, 0.62, lambda: "STREAMING" in status(app))
        assert status(app).startswith(" REPLAY PLAY 1x 0.6/3.8s · attempt 1/2 · STREAMING")
        assert ATTEMPTS in offered(app) and "Attempt" not in verdict(app)

        await at(pilot, clock, 1.5, lambda: "ABNORMAL" in status(app))
        assert status(app).startswith(" REPLAY PLAY 1x 1.5/3.8s · attempt 1/2, attempt 2 in 1.3 s · ABNORMAL eof")
        assert text_pane(app).text == sessions.FIRST_DRAFT and text_pane(app).seams == []

        await at(pilot, clock, 3.42, lambda: " · attempt 2/2 · STREAMING" in status(app))
        assert " · attempt 2/2 · STREAMING" in status(app)
        assert text_pane(app).text == sessions.FIRST_DRAFT + "dle of its second se"
        assert text_pane(app).seams == [(0, len(sessions.FIRST_DRAFT))]
        assert "Attempt 1: first → eof\nAttempt 2: resume (user-turn) → running" in verdict(app)

        await at(pilot, clock, 10.0, lambda: "COMPLETE" in status(app))
        assert status(app).startswith(" REPLAY PAUSED 1x 3.8/3.8s · attempt 2/2 · COMPLETE end_turn")
        assert text_pane(app).text == sessions.RESUMED_ANSWER
        assert text_pane(app).seams == [(0, len(sessions.FIRST_DRAFT))]
        assert "Attempt 2: resume (user-turn) → complete; re-paid 60 input and 0 output tokens" in verdict(app)

        await pilot.press("a")
        assert isinstance(app.screen, AttemptsScreen)
        shown = str(app.screen.query_one("#raw-body").render())
        second = shown[shown.index("Attempt 2: resume (user-turn)"):]
        assert "continues the 40 characters of answer so far, after a user turn asking to continue" in second
        assert "Your previous response was interrupted." in second and "Attempt 1: first" in shown
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)
        assert not {("r", "Retry"), ("c", "Resume"), ("s", "Skip wait"), ("x", "Cancel")} & offered(app)

        await pilot.press("less_than_sign")
        assert " · attempt 1/2 · WAITING" in status(app) and len(app.screen.feed.player.state.events) == 0
        assert text_pane(app).text == "" and "Attempt" not in verdict(app)

        await pilot.press("greater_than_sign")
        assert status(app).startswith(" REPLAY PAUSED 1x 3.8/3.8s · attempt 2/2 · COMPLETE end_turn")
        assert text_pane(app).text == sessions.RESUMED_ANSWER
        assert "Attempt 1: first → eof" in verdict(app)

        await pilot.press("space")
        assert status(app).startswith(" REPLAY PLAY 1x 0.0/3.8s · attempt 1/2 · ")


async def test_next_anomaly_and_step_go_on_into_the_next_attempt(tmp_path):
    clock = FixedClock(0.0)
    app = replay_app(load_session(sessions.write_resumed(tmp_path, stall_after=3)), clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        assert " · attempt 1/2, attempt 2 in 2.0 s · ABNORMAL eof" in status(app)
        assert cursor_event(app).seq == 2 and cursor_event(app).type == "content_block_start"

        await pilot.press("n")
        assert " · attempt 2/2 · STREAMING" in status(app) and "PAUSED" in status(app)
        assert cursor_event(app).seq == 4 and app.screen.feed.player.state.anomalies[0].code == "stall"
        assert "Attempt 2: resume (user-turn) → running" in verdict(app)
        await pilot.press("n")
        assert " · attempt 2/2 · STREAMING" in status(app) and cursor_event(app).seq == 4, "no anomaly left: it stays"
        await pilot.press("full_stop", "full_stop")
        assert str(app.screen.query_one(Timeline).border_title) == "Timeline · 6 events · PAUSED (2 new)"

        await pilot.press("N")
        assert " · attempt 1/2, attempt 2 in 2.0 s · ABNORMAL eof" in status(app) and "PAUSED" in status(app)
        assert cursor_event(app).seq == 2 and text_pane(app).text == sessions.FIRST_DRAFT
        assert str(app.screen.query_one(Timeline).border_title).endswith(" events · PAUSED")
        await pilot.press("N")
        assert cursor_event(app).seq == 2 and " · attempt 1/2" in status(app)

        await pilot.press("less_than_sign", "n", "full_stop")
        assert " · attempt 2/2 · " in status(app) and len(app.screen.feed.player.state.events) == 1
        assert text_pane(app).text == sessions.FIRST_DRAFT and len(text_pane(app).seams) == 1


async def test_why_recovery_stopped_shows_once_the_replay_reaches_the_last_attempt_s_end(tmp_path):
    why = "no complete answer after 2 attempts, the most allowed"
    clock = FixedClock(0.0)
    app = replay_app(load_session(sessions.write_resumed(tmp_path, complete=False, stopped=why)), clock)
    async with app.run_test(size=SIZE) as pilot:
        await at(pilot, clock, 1.5, lambda: "ABNORMAL" in status(app))
        assert "ABNORMAL eof" in status(app) and "Recovery stopped" not in verdict(app)
        await at(pilot, clock, 100.0, lambda: "Recovery stopped" in verdict(app))
        assert f"Attempt 2: resume (user-turn) → error_event; re-paid 60 input and 0 output tokens\nRecovery stopped: {why}" in verdict(app)
        await pilot.press("less_than_sign")
        assert "Recovery stopped" not in verdict(app)


async def test_shift_n_from_the_end_visits_the_last_attempt_s_anomalies_first(tmp_path):
    clock = FixedClock(0.0)
    app = replay_app(load_session(sessions.write_resumed(tmp_path, stall_after=3, complete=False)), clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("greater_than_sign")
        assert " · attempt 2/2 · ABNORMAL" in status(app)
        marks = app.screen.feed.player.state.anomaly_events
        assert len(marks) >= 1
        for seq in reversed(marks):
            await pilot.press("N")
            assert " · attempt 2/2 · ABNORMAL" in status(app) and cursor_event(app).seq == seq
        await pilot.press("N")
        assert " · attempt 1/2" in status(app) and cursor_event(app).seq == 2


async def test_a_session_of_one_attempt_replays_as_it_always_did():
    clock = FixedClock(0.0)
    app = replay_app(recording(timed(s.complete_text("only once"))), clock)
    async with app.run_test(size=SIZE) as pilot:
        await at(pilot, clock, 100.0, lambda: "COMPLETE" in status(app))
        assert status(app).startswith(" REPLAY PAUSED 1x 0.8/0.8s · COMPLETE end_turn")
        assert "attempt" not in status(app) and ATTEMPTS not in offered(app)
        await pilot.press("a")
        assert isinstance(app.screen, RunScreen)


async def test_what_the_sdk_gave_the_app_shows_once_the_replay_reaches_the_end():
    clock = FixedClock(0.0)
    rec = recording(timed(s.complete_text("only once")))
    rec.ending["sdk"] = {"seen": "no exception, 6 events, stop_reason=end_turn"}
    app = replay_app(rec, clock)
    async with app.run_test(size=SIZE) as pilot:
        await at(pilot, clock, 0.5, lambda: "STREAMING" in status(app))
        assert "STREAMING" in status(app) and "Your code would have seen" not in verdict(app)
        await at(pilot, clock, 100.0, lambda: "Your code would have seen" in verdict(app))
        assert "Your code would have seen: no exception, 6 events, stop_reason=end_turn" in verdict(app)


async def test_the_attempts_dialog_shows_a_shared_file_s_requests_escaped(tmp_path):
    path = sessions.write_resumed(tmp_path)
    header, *records = path.read_text().splitlines()
    header = json.loads(header)
    header["request"].update(method="POST\x1b[5m", url="https://x/\x1b]0;PWNED\x07")
    path.write_text("\n".join([json.dumps(header), *records]) + "\n")
    app = replay_app(load_session(path), FixedClock(0.0))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("greater_than_sign", "a")
        shown = str(app.screen.query_one("#raw-body").render())
        assert "\x1b" not in shown and "\x07" not in shown
        assert "POST\\x1b[5m https://x/\\x1b]0;PWNED\\x07" in shown
