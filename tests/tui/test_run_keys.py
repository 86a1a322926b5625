"""Every key of the run screen, pressed as a user would, and what it changed."""

import datetime
import os
import re
import socket
import stat
import subprocess
import sys

import pytest

from streamwatch.core.diagnose import End
from streamwatch.tui.screens.run import RawEventScreen, RunScreen
from streamwatch.tui.widgets.panes import StatusLine
from streamwatch.tui.widgets.timeline import Timeline
from tests import sessions
from tests import streams as s
from tests.tui.conftest import (
    SESSION,
    FixedClock,
    frames,
    live_app,
    recording,
    replay_app,
    seed_chunks,
    timed,
    wait_for,
)

pytestmark = pytest.mark.anyio


def timeline(app) -> Timeline:
    return app.screen.query_one(Timeline)


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


def screen_lines(app) -> list[str]:
    """The screen as last painted, one string a line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def offered(app) -> set[tuple[str, str]]:
    return {(b.binding.key, b.binding.description) for b in app.screen.active_bindings.values()
            if b.enabled and b.binding.show}


async def test_space_pauses_and_resumes_following_the_live_tail():
    app = live_app("eof_in_tool_use")
    async with app.run_test(size=(100, 30)) as pilot:
        line = timeline(app)
        assert line.follow and line.cursor == line.row_count - 1
        await pilot.press("space")
        assert not line.follow
        assert "PAUSED" in str(line.border_title)
        await pilot.press("up", "up")
        assert line.cursor == line.row_count - 3
        await pilot.press("space")
        assert line.follow and line.cursor == line.row_count - 1


async def test_n_and_shift_n_visit_anomalies_in_order():
    app = live_app("eof_in_tool_use")
    async with app.run_test(size=(100, 30)) as pilot:
        line = timeline(app)
        await pilot.press("home")
        await pilot.press("n")
        assert line.event_at(line.cursor).seq == 7
        await pilot.press("n")
        assert line.event_at(line.cursor).seq == 16
        await pilot.press("n")
        assert line.event_at(line.cursor).seq == 16
        await pilot.press("N")
        assert line.event_at(line.cursor).seq == 7


async def test_slash_filters_the_timeline_by_event_type_and_escape_clears():
    app = live_app("complete")
    async with app.run_test(size=(100, 30)) as pilot:
        line = timeline(app)
        total = line.row_count
        assert ("escape", "Close filter / search / back") not in offered(app)
        await pilot.press("slash")
        assert ("escape", "Close filter / search / back") in offered(app)
        await pilot.press(*"stop", "enter")
        # message_delta's row shows `stop_reason=end_turn`
        assert [line.event_at(r).type for r in range(line.row_count)] == ["content_block_stop", "message_delta",
                                                                        "message_stop"]
        assert "filter 'stop': 3" in str(line.border_title) and ("escape", "Close filter / search / back") in offered(app)
        await pilot.press("slash", "escape")
        assert line.row_count == total and ("escape", "Close filter / search / back") not in offered(app)


async def test_the_filter_matches_the_shown_names_takes_field_terms_and_says_a_bad_term():
    app = live_app("complete")
    async with app.run_test(size=(100, 30)) as pilot:
        line = timeline(app)
        await pilot.press("slash", *"block", "enter")
        shown = {line.event_at(r).type for r in range(line.row_count)}
        assert shown == {"content_block_start", "content_block_stop"}
        await pilot.press("slash", *(["backspace"] * 5), *"index:0 delta", "enter")
        assert line.row_count > 1 and {line.event_at(r).type for r in range(line.row_count)} == {"content_block_delta"}
        assert f"filter 'index:0 delta': {line.row_count}" in str(line.border_title)
        await pilot.press("slash", *(["backspace"] * 13), *"gap>x", "enter")
        assert "filter: 'gap>x': a gap term is" in str(line.border_title)
        assert any("a gap term is gap> or gap< and a time" in n.message for n in app._notifications)


async def test_the_filter_box_types_the_letters_that_are_keys_elsewhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = replay_app(recording(timed(s.complete_text())), FixedClock())
    async with app.run_test(size=(100, 30)) as pilot:
        player = app.screen.feed.player
        await pilot.press("slash", *"rcsxnNae", "space", "plus", "minus", "full_stop", "less_than_sign")
        assert app.screen.query_one("#filter").value == "rcsxnNae +-.<"
        assert player.playing and player.speed == 1.0 and list(tmp_path.iterdir()) == []
        await pilot.press("escape", "space", "plus")
        assert not player.playing and player.speed == 2.0


async def test_enter_shows_the_raw_event_and_escape_closes_it():
    app = live_app("error_event")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("end", "up")
        await pilot.press("enter")
        assert isinstance(app.screen, RawEventScreen)
        assert app.screen.event.type == "error"
        body = str(app.screen.query_one("#raw-body").render())
        assert "event: error" in body and '"overloaded_error"' in body
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


async def test_e_exports_the_session_file_to_the_working_directory(tmp_path, monkeypatch):
    saved = tmp_path / "sessions" / SESSION.name
    saved.parent.mkdir()
    saved.write_text('{"streamwatch":"session","version":1}\n')
    monkeypatch.chdir(tmp_path)
    app = live_app("complete")
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.feed.session_path = saved
        await pilot.press("e", "enter")  # the picker's first choice: jsonl
        await app.workers.wait_for_complete()
        exported = tmp_path / SESSION.name
        assert exported.read_text() == saved.read_text()
        assert stat.S_IMODE(os.stat(exported).st_mode) == 0o600
        assert any(str(exported) in str(n.message) for n in app._notifications)


async def test_t_cycles_the_theme_and_question_mark_lists_every_key():
    app = live_app("complete")
    async with app.run_test(size=(100, 30)) as pilot:
        first = app.theme
        await pilot.press("t")
        assert app.theme != first
        await pilot.press("question_mark")
        text = str(app.screen.query_one("Static").render())
        for words in ("Pause/follow", "Next anomaly", "Prev anomaly", "Filter", "Export", "Theme", "Quit", "Raw event"):
            assert words in text
        assert text.index("Help") < text.index("Up") < text.index("Raw event"), "the footer's keys come first"
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


@pytest.mark.parametrize("width", [80, 100, 120])
async def test_an_overflowing_footer_ends_with_a_whole_key_and_no_stray_letter(width):
    """The replay offers more keys than fit even at 120: the last ones are left out whole, ? Help stays."""
    app = replay_app(recording(timed(seed_chunks())), FixedClock(0.0))
    async with app.run_test(size=(width, 24)) as pilot:
        await wait_for(pilot, lambda: screen_lines(app)[-1].rstrip().endswith(" ? Help"))
        line = screen_lines(app)[-1]
        assert "▏" not in line and line.startswith(" space Play/pause nN Anomaly / Filter e Export")


async def test_v_reaches_a_verdict_too_long_for_80x24_and_the_arrows_read_the_rest():
    app = live_app("eof_in_tool_use")
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.screen.query_one("#verdict")
        await wait_for(pilot, lambda: panel.max_scroll_y > 0)
        assert panel.border_subtitle == "v, then ↑↓ to scroll"
        await pilot.press("v", "end")
        assert app.focused is panel
        await wait_for(pilot, lambda: panel.scroll_y == panel.max_scroll_y)  # it scrolls to the last line
        await wait_for(pilot, lambda: "Session:" in "".join(screen_lines(app)[-9:-1]))  # its last line is in sight
        assert "jsonl" in "".join(screen_lines(app)[-9:-1])
        await pilot.press("tab")
        assert app.focused is timeline(app)


async def test_q_quits():
    app = live_app("complete")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("q")
    assert app.return_code == 0 and not app.is_running


async def test_replay_keys_play_pause_speed_step_and_jump():
    clock = FixedClock(0.0)
    rec = recording(timed(seed_chunks(), pause_after=5, pause=6.0))
    app = replay_app(rec, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        player = app.screen.feed.player
        clock.now = 0.62
        await wait_for(pilot, lambda: len(player.state.events) >= 5)
        assert len(player.state.events) == 5
        assert "REPLAY PLAY 1x" in status(app)
        assert ("space", "Play/pause") in offered(app) and ("space", "Pause/follow") not in offered(app)
        await pilot.press("space")
        clock.now = 3.0
        await frames(pilot)
        assert len(player.state.events) == 5 and "PAUSED" in status(app)
        await pilot.press("full_stop")
        assert len(player.state.events) == 6
        await pilot.press("plus", "plus")
        assert player.speed == 5.0
        await pilot.press("minus")
        assert player.speed == 2.0
        await pilot.press("greater_than_sign")
        assert player.finished and "ABNORMAL eof" in status(app)
        await pilot.press("less_than_sign")
        assert len(player.state.events) == 0 and not player.finished
        await pilot.press("n")
        assert [a.code for a in player.state.anomalies] == ["stall"]
        assert timeline(app).event_at(timeline(app).cursor).seq == 7


async def test_jumping_back_to_the_start_of_a_max_speed_replay_plays_its_tool_call_again():
    clock = FixedClock(0.0)
    app = replay_app(recording(timed(seed_chunks())), clock, speed=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "ABNORMAL eof" in status(app) and app.screen.query(".tool-block"))
        [first] = app.screen.query(".tool-block")
        await pilot.press("less_than_sign")
        await wait_for(pilot, lambda: not first.is_attached and app.screen.query(".tool-block"))
        assert "ABNORMAL eof" in status(app)
        [view] = app.screen.query(".tool-block")
        assert "write_file" in str(view.render())


async def test_status_counts_a_stall_up_live_and_then_completes():
    clock = FixedClock(0.0)
    chunks = [s.message_start(), s.ping(), *s.text_block(0, "slow answer"), s.message_delta("end_turn"),
              s.message_stop()]
    rec = recording(timed(chunks, pause_after=3, pause=8.0), end=End.EOF)
    app = replay_app(rec, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        clock.now = 3.0
        await wait_for(pilot, lambda: "STREAMING" in status(app))
        clock.now = 7.05
        await wait_for(pilot, lambda: "STALLED" in status(app))
        assert "STALLED 6.5 s · silent" in status(app)
        clock.now = 7.55
        await frames(pilot)
        assert "STALLED 7.0 s · silent" in status(app)
        clock.now = 20.0
        await wait_for(pilot, lambda: "COMPLETE" in status(app))
        assert "COMPLETE end_turn" in status(app)
        assert app.screen.query_one("#text").text == "slow answer"


async def test_attach_follows_a_file_as_it_grows_and_waits_for_the_next_attempt_while_its_writer_runs(tmp_path):
    from streamwatch.core.recording import SessionWriter
    from streamwatch.tui.app import StreamwatchApp
    from streamwatch.tui.launch import attach_feed

    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)
    writer.response(200, {}, 0.1)
    clock = FixedClock(0.0)
    feed = attach_feed(writer.path, 5.0)
    app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        for i, chunk in enumerate(s.complete_text("first try")[:4]):
            writer.chunk(chunk, 0.2 + i * 0.01)
        await wait_for(pilot, lambda: len(app.screen.feed.player.state.events) >= 4)
        assert status(app).startswith(" ATTACHED live pid ")
        assert len(app.screen.feed.player.state.events) == 4
        writer.end(End.EOF, 0.3)
        await wait_for(pilot, lambda: "ABNORMAL eof" in status(app))
        assert " · waiting for attempt 2 · ABNORMAL eof" in status(app) and "REPLAY" not in status(app)
        assert not app.screen.feed.is_replay and ("a", "Attempts") not in offered(app)
        writer.attempt({"headers": {}}, 1.0, reason="retry", replaces=1, strategy="retry", dropped=[])
        writer.response(200, {}, 1.1)
        await wait_for(pilot, lambda: " · attempt 2 · " in status(app))
        assert " · attempt 2 · WAITING" in status(app) and ("a", "Attempts") in offered(app)
        for i, chunk in enumerate(s.complete_text("second try")):
            writer.chunk(chunk, 1.2 + i * 0.01)
        writer.end(End.EOF, 1.5)
        await wait_for(pilot, lambda: "COMPLETE" in status(app))
        assert " · attempt 2/2 · COMPLETE end_turn" in status(app) and status(app).startswith(" REPLAY")
        assert app.screen.query_one("#text").text == "second try"
        panel = str(app.screen.query_one("#verdict-text").render())
        assert "Attempt 1: first → eof\nAttempt 2: retry → complete" in panel


@pytest.fixture
def writer_process():
    """A process that stands for the one writing an attached session file."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)  # lives until killed
    yield process
    process.kill()
    process.wait()
    process.stdin.close()


def attached(tmp_path, **header):
    """A session file with `header` over the usual one (this host, no pid, started now), and the app attached to it."""
    from streamwatch.core.recording import SessionWriter
    from streamwatch.tui.app import StreamwatchApp
    from streamwatch.tui.launch import attach_feed

    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    usual = sessions.header(now, "live", "claude-sonnet-4-6", "9a9a9a9a")
    writer = SessionWriter(tmp_path / "writer.jsonl", {**usual, "host": socket.gethostname(), **header})
    writer.response(200, {}, 0.1)
    feed = attach_feed(writer.path, 5.0)
    return writer, StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=FixedClock(0.0))


async def test_attached_in_the_middle_of_a_stall_the_stall_counts_from_the_last_event_not_from_attaching(
    tmp_path, writer_process
):
    now = datetime.datetime.now(datetime.UTC)
    started = now - datetime.timedelta(seconds=9)
    writer, app = attached(tmp_path, pid=writer_process.pid, started=started.isoformat(timespec="milliseconds"))
    for i, chunk in enumerate(s.complete_text("slow answer")[:4]):
        writer.chunk(chunk, 0.2 + i * 0.01)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "STALLED" in status(app))
        # 9 s since the writer started, less the last event's 0.23 s, and however long attaching took
        since = (datetime.datetime.now(datetime.UTC) - now).total_seconds()
        silence = re.search(r"STALLED (\d+\.\d) s · silent", status(app))
        assert silence and 8.7 <= float(silence[1]) <= 8.8 + since, status(app)


async def test_attach_is_a_replay_once_a_broken_attempt_s_writer_is_gone(tmp_path, writer_process):
    writer, app = attached(tmp_path, pid=writer_process.pid)
    async with app.run_test(size=(100, 30)) as pilot:
        for i, chunk in enumerate(s.complete_text("first try")[:4]):
            writer.chunk(chunk, 0.2 + i * 0.01)
        writer.end(End.EOF, 0.3)
        await wait_for(pilot, lambda: "ABNORMAL eof" in status(app))
        assert status(app).startswith(f" ATTACHED live pid {writer_process.pid}@")
        assert "waiting for attempt 2 · ABNORMAL eof" in status(app)
        # Its writer may still send the next attempt: this screen offers neither key, nor names them.
        assert not {("r", "Retry"), ("c", "Resume")} & offered(app) and "Keys:" not in verdict_text(app)
        writer_process.kill()
        writer_process.wait()
        await wait_for(pilot, lambda: status(app).startswith(" REPLAY"))
        assert status(app).startswith(" REPLAY PAUSED 1x 0.3/0.3s · ABNORMAL eof")
        assert ("less_than_sign", "Start") in offered(app)
        # Now they work (a new live attempt from the recorded request), and the advice names them.
        await wait_for(pilot, lambda: {("r", "Retry"), ("c", "Resume")} <= offered(app))
        assert "Resume or retry. Keys: c resume: continue the answer · r retry: the same request again" in " ".join(
            verdict_text(app).split("\n"))


def verdict_text(app) -> str:
    return str(app.screen.query_one("#verdict-text").render())


async def test_attach_says_why_recovery_stopped_when_the_writer_says_it_after_the_end(tmp_path, writer_process):
    writer, app = attached(tmp_path, pid=writer_process.pid, on_failure="retry")
    async with app.run_test(size=(100, 30)) as pilot:
        for i, chunk in enumerate(s.complete_text("first try")[:4]):
            writer.chunk(chunk, 0.2 + i * 0.01)
        writer.end(End.EOF, 0.3)
        await wait_for(pilot, lambda: "ABNORMAL eof" in status(app))
        assert "waiting for attempt 2 · ABNORMAL eof" in status(app)
        assert "Recovery stopped" not in str(app.screen.query_one("#verdict-text").render())
        writer.stop("cancelled before the next attempt was sent", 2.5)
        await wait_for(pilot, lambda: "Recovery stopped" in str(app.screen.query_one("#verdict-text").render()))
        assert "Recovery stopped: cancelled before the next attempt was sent" in str(
            app.screen.query_one("#verdict-text").render())


async def test_a_complete_attached_session_is_steered_as_a_replay_while_its_writer_runs(tmp_path, writer_process):
    writer, app = attached(tmp_path, pid=writer_process.pid)
    async with app.run_test(size=(100, 30)) as pilot:
        for i, chunk in enumerate(s.complete_text("all there")):
            writer.chunk(chunk, 0.2 + i * 0.01)
        writer.end(End.EOF, 0.3)
        await wait_for(pilot, lambda: "COMPLETE" in status(app))
        assert status(app).startswith(" REPLAY PAUSED 1x 0.3/0.3s · COMPLETE end_turn")
        await pilot.press("less_than_sign")
        await frames(pilot)
        assert status(app).startswith(" REPLAY PAUSED 1x 0.0/0.3s") and not app.screen.feed.player.state.events


async def test_attach_to_a_writer_killed_mid_stream_ends_where_its_recording_stops(tmp_path, writer_process):
    writer, app = attached(tmp_path, pid=writer_process.pid)
    async with app.run_test(size=(100, 30)) as pilot:
        for i, chunk in enumerate(s.complete_text("cut short")[:4]):
            writer.chunk(chunk, 0.2 + i * 0.01)
        await wait_for(pilot, lambda: "STREAMING" in status(app))
        assert "REPLAY" not in status(app)
        writer_process.kill()
        writer_process.wait()
        await wait_for(pilot, lambda: "ABNORMAL" in status(app))
        assert status(app).startswith(" REPLAY PAUSED 1x ") and "ABNORMAL cancelled" in status(app)
        assert "the recording process stopped" in str(app.screen.query_one("#verdict-text").render())


async def test_attach_to_a_session_whose_writer_is_long_gone_opens_at_its_end(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    writer, app = attached(tmp_path, pid=gone.pid)
    for i, chunk in enumerate(s.complete_text("finished an hour ago")):
        writer.chunk(chunk, 0.2 + i * 0.5)
    writer.end(End.EOF, 5.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "COMPLETE" in status(app))
        assert status(app).startswith(" REPLAY PAUSED 1x 5.0/5.0s · COMPLETE end_turn")
        assert app.screen.query_one("#text").text == "finished an hour ago"


async def test_attach_shows_a_session_file_s_own_header_escaped(tmp_path):
    _, app = attached(tmp_path, source="live\x1b[2J", host="box\x1b]0;pwned\x07\nx")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: status(app).startswith(" ATTACHED"))
        line = status(app)
        assert "\x1b" not in line and "\x07" not in line and "\n" not in line
        assert line.startswith(" ATTACHED live\\x1b[2J pid ") and "box\\x1b]0;pwned\\x07\\nx" in line


async def test_space_on_a_finished_replay_plays_it_again_from_the_start():
    clock = FixedClock(0.0)
    app = replay_app(recording(timed(s.complete_text("again"))), clock)
    async with app.run_test(size=(100, 30)) as pilot:
        player = app.screen.feed.player
        clock.now = 100.0
        await wait_for(pilot, lambda: player.finished)
        await pilot.press("space")
        assert not player.finished and player.position < 1.0
        assert "REPLAY PLAY" in status(app)
        await pilot.press("full_stop", "greater_than_sign")
        assert player.finished and "REPLAY PAUSED" in status(app)
        await pilot.press("space")
        assert not player.finished and "REPLAY PLAY" in status(app), "played again, even after a step paused it"


async def test_a_finished_screen_stays_idle_until_a_key(monkeypatch):
    painted: list[str] = []
    for widget in (Timeline, StatusLine):
        original = widget.render_lines

        def counting(self, crop, original=original):
            painted.append(type(self).__name__)
            return original(self, crop)

        monkeypatch.setattr(widget, "render_lines", counting)
    app = replay_app(recording(timed(s.complete_text())), FixedClock(), speed=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "COMPLETE" in status(app))
        await frames(pilot, 2)
        await pilot.pause()  # and painted them
        painted.clear()
        await frames(pilot, 8)
        assert painted == []
        await pilot.press("up")
        await wait_for(pilot, lambda: "Timeline" in painted)


@pytest.mark.parametrize("how", ["resize", "all_at_once"])
async def test_a_following_timeline_keeps_its_last_row_in_view(how):
    clock = FixedClock(0.0)
    app = replay_app(recording(timed(s.complete_text("word " * 60))), clock)
    size = (120, 50) if how == "resize" else (120, 30)
    async with app.run_test(size=size) as pilot:
        line = timeline(app)
        clock.now = 1000.0
        await wait_for(pilot, lambda: app.screen.feed.player.finished)
        if how == "resize":
            tall = line.size.height
            await pilot.resize_terminal(120, 30)
            await wait_for(pilot, lambda: line.size.height < tall)
        await wait_for(pilot, lambda: round(line.scroll_y) == line.row_count - line.size.height)
        assert line.follow and line.cursor == line.row_count - 1


async def test_the_raw_event_view_shows_a_hostile_event_type_escaped():
    evil = s.event({"type": "EVIL\x1b[5m\x1b]0;T\x1b\\"}, name="evil")
    app = replay_app(recording(timed([s.message_start(), evil])), FixedClock(), speed=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.feed.player.finished)
        await pilot.press("end", "up", "enter")
        assert isinstance(app.screen, RawEventScreen)
        shown = str(app.screen.query_one("#raw-body").render())
        assert "\x1b" not in shown and "Event #2 · EVIL\\x1b[5m\\x1b]0;T\\x1b\\ · " in shown


# ----- the tool input, pretty or raw; searching a pane ---------------------------------------------

def tool_pane_text(app) -> str:
    return "\n".join(str(view.render()) for view in app.screen.query(".tool-block"))


BROKEN_TOOL = [
    s.message_start(),
    s.block_start(0, {"type": "tool_use", "id": "toolu_01", "name": "write_file", "input": {}}),
    s.delta(0, {"type": "input_json_delta", "partial_json": '{"path": "a.md", "content": "line one\\nline'}),
    s.delta(0, {"type": "input_json_delta", "partial_json": ' two caf\\u00e9"}, "extra": 1}'}),
    s.block_stop(0),
]
"""A tool input whose JSON breaks off after its first member's object closes (a stray `, "extra"`)."""


async def test_p_shows_the_tool_input_pretty_with_the_cut_marked_or_raw_as_it_streamed():
    app = replay_app(recording(timed(BROKEN_TOOL)), FixedClock(), speed=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "INVALID JSON" in tool_pane_text(app))
        pretty = tool_pane_text(app)
        assert '"content": "line one\nline two café"\n}\n⟂ the JSON breaks off here: text after the end' in pretty
        assert "extra" not in pretty and "\\n" not in pretty
        await pilot.press("p")
        await wait_for(pilot, lambda: "\\n" in tool_pane_text(app))
        raw = tool_pane_text(app)
        assert '{"path": "a.md", "content": "line one\\nline two caf\\u00e9"}, "extra": 1}' in raw
        assert "breaks off" not in raw
        assert "raw JSON · tool_use write_file" in str(app.screen.query_one("#tools").border_title)
        await pilot.press("p")
        await wait_for(pilot, lambda: tool_pane_text(app) == pretty)
        assert ("p", "Tool input: pretty / raw JSON") in help_rows(app)


def help_rows(app) -> set[tuple[str, str]]:
    return {(b.binding.key, b.binding.description) for b in app.screen.active_bindings.values() if b.enabled}


async def test_ctrl_f_searches_the_text_pane_and_brackets_step_through_the_matches():
    app = live_app("complete")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.screen.query_one("#text")
        await pilot.press("ctrl+f", *"THE", "enter")
        # "the plan", "the file", "then", "the report": any case, in what the pane shows.
        assert pane.matches == [(0, 8), (1, 14), (1, 24), (1, 38)]
        assert pane.border_subtitle.startswith("search 'THE': 1/4")
        await pilot.press("right_square_bracket")
        assert pane.border_subtitle.startswith("search 'THE': 2/4")
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert pane.border_subtitle.startswith("search 'THE': 4/4")
        painted = app.screen.query_one("#text").render_line(1)
        assert any(segment.style and segment.style.reverse for segment in painted)
        line = timeline(app)
        await pilot.press("home", "n")  # n still visits anomalies, here the end of the answer
        assert pane.border_subtitle.startswith("search 'THE': 4/4")
        await pilot.press("escape")
        assert pane.matches == [] and pane.border_subtitle == ""
        assert ("right_square_bracket", "Next match") not in help_rows(app) and line is timeline(app)


async def test_ctrl_f_in_the_tool_pane_searches_the_tool_input():
    app = replay_app(recording(timed(BROKEN_TOOL)), FixedClock(), speed=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "INVALID JSON" in tool_pane_text(app))
        tools = app.screen.query_one("#tools")
        tools.focus()
        # The summary's "line 1 column 60", then the input's two lines.
        await pilot.press("ctrl+f", *"LINE", "enter")
        assert len(tools.matches) == 3 and tools.border_subtitle.startswith("search 'LINE': 1/3")
        await pilot.press("right_square_bracket")
        assert tools.border_subtitle.startswith("search 'LINE': 2/3")
        await pilot.press("p")  # the raw view holds them as well
        assert len(tools.matches) == 3


@pytest.mark.parametrize(("opens", "box"), [(("slash", "/"), "#filter"), (("ctrl+f", None), "#search")])
async def test_keys_typed_at_once_after_opening_a_box_are_typed_into_it(opens, box):
    """All queued before the box takes focus, as a fast typist or a paste sends them: none is a command
    (the `c` of `block` used to resume, its `k` to move the cursor)."""
    from textual import events

    app = live_app("http_529")
    async with app.run_test(size=(100, 30)) as pilot:
        await frames(pilot)
        for key, char in [opens, ("b", "b"), ("l", "l"), ("o", "o"), ("c", "c"), ("k", "k"), ("t", "t")]:
            app.post_message(events.Key(key, char))
        await wait_for(pilot, lambda: app.screen.query_one(box).value == "blockt")
        assert app.theme == "textual-dark" and app.screen.focused is app.screen.query_one(box)
