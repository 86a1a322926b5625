"""Recovery across attempts, end to end: the official SDK against the mock server (or a stub for what
the mock does not play), one session file, stitched answers, waits, holds, skip and cancel."""

import threading
import time

import pytest

import streamwatch.core.resume
from streamwatch.core.diagnose import End
from streamwatch.core.live import LiveRun, request_body
from streamwatch.core.recorder import Recorder
from streamwatch.core.recording import SessionWriter, load_session
from streamwatch.core.recovery import (
    Part,
    Phase,
    Reason,
    Recovery,
    RecoveryError,
    RecoveryObserver,
)
from streamwatch.core.sources import analyze
from streamwatch.mock import MockServer
from tests import streams as s
from tests.stub import Canned, StubServer, overloaded

pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated")

TIME_SCALE = 0.02
KEY = "swtest-recovery-key-J4mPq8Rt2"
MODEL_FOR = {"prefill": "claude-sonnet-4-5", "user-turn": "claude-sonnet-4-6"}


@pytest.fixture(scope="module")
def server():
    with MockServer(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture(autouse=True)
def isolated(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(streamwatch.core.resume, "BACKOFF_BASE", 0.01)


class Log(RecoveryObserver):
    def __init__(self):
        self.calls = []
        self.waits = []

    def on_attempt(self, attempt):
        self.calls.append(("attempt", attempt.number, attempt.reason.value))

    def on_request(self, method, url):
        self.calls.append(("request",))

    def on_wait(self, wait):
        self.waits.append(wait)

    def on_attempt_end(self, attempt):
        self.calls.append(("end", attempt.number, attempt.verdict.termination))

    def on_hold(self, hold):
        self.calls.append(("hold", hold.attempt, hold.action.value))


def recovery(base_url, body, scenario=None, *, fail_always=False, **options):
    headers = {} if scenario is None else {"x-streamwatch-scenario": scenario}
    if fail_always:
        headers["x-streamwatch-fail-always"] = "1"
    return Recovery(body, base_url=base_url, headers=headers, **options)


def clean_text(server, body, scenario="ok"):
    """The uninterrupted answer to the same request (played at once: time scale 0)."""
    headers = {"x-streamwatch-scenario": scenario, "x-streamwatch-time-scale": "0"}
    result = LiveRun(body, base_url=server.base_url, headers=headers, save=False).run()
    assert result.verdict.complete
    return result.verdict.text


def test_a_resumed_answer_is_one_session_with_every_request_and_analyze_reads_it(server, request):
    body = request_body(prompt=request.node.name, model="claude-sonnet-4-5")
    log = Log()
    rec = recovery(server.base_url, body, "drop_eof", on_failure="resume", hooks=[log], api_key=KEY)
    last = rec.run()

    assert last.number == 2 and last.state.complete and rec.complete and rec.stopped is None
    assert [c[0] for c in log.calls] == ["attempt", "request", "end", "attempt", "request", "end"]
    assert rec.answer().text == clean_text(server, body, "tool_big")
    assert last.reason is Reason.RESUME and last.strategy == "prefill" and last.replaces == 1
    assert last.dropped and last.dropped[0].startswith("tool_use `write_file` (block 1): cut off")
    assert last.repaid == {"strategy": "prefill", "input_tokens": last.usage["input_tokens"],
                           "output_tokens": 0, "output_estimated": False, "total_tokens": last.usage["input_tokens"]}

    path = last.run.session_path
    assert path == rec.attempts[0].run.session_path
    session = load_session(path)
    assert session.skipped == [] and len(session.attempts) == 2
    first, second = session.attempts
    assert first.link == {} and first.request == session.header["request"]
    assert second.link == {"reason": "resume", "replaces": 1, "strategy": "prefill", "dropped": last.dropped}
    assert second.request == last.request and second.request["headers"]["authorization"] == "[redacted]"
    assert second.request["body"]["messages"][-1]["role"] == "assistant"
    assert second.started_t >= first.ending["t"]
    assert KEY.encode() not in path.read_bytes()
    for recorded, attempt in zip(session.attempts, rec.attempts, strict=True):
        replayed = analyze(recorded, attempt.run.stall_threshold).verdict()
        assert replayed.termination == attempt.verdict.termination and replayed.text == attempt.verdict.text


@pytest.mark.parametrize("strategy", ["prefill", "user-turn"])
def test_a_resume_that_breaks_too_is_resumed_from_the_whole_answer_so_far(server, request, strategy):
    body = request_body(prompt=request.node.name, model=MODEL_FOR[strategy])
    rec = recovery(server.base_url, body, "drop_abrupt", fail_always=True, on_failure="resume", save=False)
    last = rec.run()

    clean = clean_text(server, body)
    answer = rec.answer()
    assert len(rec.attempts) == 3 and not last.state.complete
    assert rec.stopped == "no complete answer after 3 attempts, the most allowed"
    assert [p.attempt for p in answer.parts] == [1, 2, 3] and answer.seams == sorted(answer.seams)
    assert clean.startswith(answer.text) and len(answer.text) > answer.seams[-1] > answer.seams[0] > 0
    messages = last.body["messages"]
    sent = messages[-1] if strategy == "prefill" else messages[-2]
    assert sent["role"] == "assistant"
    assert sent["content"][-1]["text"] == answer.text[: answer.seams[-1]].rstrip()


def test_a_retry_replaces_the_answer_and_repays_its_output(server, request):
    body = request_body(prompt=request.node.name)
    rec = recovery(server.base_url, body, "error_stream", on_failure="retry", save=False)
    last = rec.run()

    first = rec.attempts[0]
    assert last.number == 2 and last.reason is Reason.RETRY and last.strategy == "retry"
    assert last.body == body and rec.answer().parts == (Part(2, 0),) and rec.answer().seams == []
    assert rec.answer().text == clean_text(server, body)
    assert not first.state.usage_final and first.usage["output_tokens"] == 1, "message_start's placeholder"
    assert last.repaid["output_estimated"] and last.repaid["output_tokens"] >= len(first.state.text) // 4 > 1



def test_a_watcher_never_reads_a_later_attempt_s_clock_half_set(server, request, monkeypatch):
    """`now()` is read from other threads (stall watch, UI): while an attempt joins the session file it
    must already count from that attempt's request, not from 0 (a stall of the machine's uptime)."""
    seen = []
    reopen = SessionWriter.reopen

    def spy(path):
        seen.append(rec.current.run.now())
        return reopen(path)

    monkeypatch.setattr(SessionWriter, "reopen", spy)
    rec = recovery(server.base_url, request_body(prompt=request.node.name), "http_529", on_failure="retry")
    assert rec.run().state.complete
    assert len(seen) == 1 and 0 <= seen[0] < 1

def test_manual_resume_after_a_run_that_does_not_recover_by_itself(server, request):
    body = request_body(prompt=request.node.name, model="claude-sonnet-4-6")
    rec = recovery(server.base_url, body, "error_overloaded", save=False)
    assert rec.phase is Phase.BUSY
    first = rec.run()
    assert len(rec.attempts) == 1 and not first.state.complete and rec.stopped is None
    assert rec.phase is Phase.BROKEN

    last = rec.resume()

    assert last.state.complete and last.strategy == "user-turn"
    assert rec.answer().text == clean_text(server, body)
    with pytest.raises(RecoveryError, match="complete"):
        rec.retry()


def test_resume_continues_an_answer_cut_at_max_tokens_and_retry_says_it_would_stop_there_again(server, request):
    body = request_body(prompt=request.node.name, model="claude-sonnet-4-6", max_tokens=15)
    rec = recovery(server.base_url, body, "max_tokens", save=False)
    first = rec.run()
    assert first.state.complete and first.state.stop_reason == "max_tokens" and rec.phase is Phase.DONE
    with pytest.raises(RecoveryError, match="stopped at max_tokens: a retry would stop there again"):
        rec.retry()

    last = rec.resume()

    assert last.reason == "resume" and last.state.complete
    assert rec.answer().text.startswith(first.state.text) and rec.answer().seams == [len(first.state.text)]


def test_http_529_waits_as_long_as_the_server_asks(request):
    with MockServer(time_scale=0.1) as slow:
        body = request_body(prompt=request.node.name)
        log = Log()
        rec = recovery(slow.base_url, body, "http_529", on_failure="resume", hooks=[log], save=False)
        last = rec.run()

    asked = int(rec.attempts[0].state.headers["retry-after-ms"]) / 1000
    assert asked == pytest.approx(0.1)
    assert last.state.complete and last.reason is Reason.RETRY
    assert log.waits[0].seconds == asked and log.waits[0].why == "the server asked for it (retry-after-ms: 100)"
    assert log.waits[-1].left == 0 and not log.waits[-1].skipped
    assert last.waited >= asked
    assert last.repaid["output_tokens"] == 0


STREAM_WITH_A_TOOL_CALL = [
    s.message_start(),
    *s.text_block(0, "Let me write that file."),
    *s.tool_block(1, "write_file", {"path": "notes.md", "content": "hello"}),
]
"""It dies right after the tool call's content_block_stop: no message_delta, no message_stop."""


@pytest.mark.parametrize("on_failure", ["retry", "resume"])
def test_a_complete_tool_call_holds_recovery_until_the_user_says_so(on_failure):
    log = Log()
    with StubServer([Canned(chunks=STREAM_WITH_A_TOOL_CALL)]) as stub:
        rec = Recovery(request_body(), base_url=stub.base_url, on_failure=on_failure, hooks=[log], save=False)
        rec.run()
        assert stub.requests == 1
        hold = rec.hold
        assert hold is not None and hold.attempt == 1 and hold.action == on_failure
        assert [call["name"] for call in hold.tool_calls] == ["write_file"]
        assert "complete tool call (`write_file`)" in hold.reason and rec.stopped == hold.reason
        assert log.calls[-1] == ("hold", 1, on_failure)

        last = rec.proceed()
        assert stub.requests == 2 and last.number == 2 and last.reason == on_failure
        assert rec.hold is not None and rec.hold.attempt == 2
    if on_failure == "resume":
        assert stub.bodies[1]["messages"][-2]["content"] == [{"type": "text", "text": "Let me write that file."}]


def test_why_recovery_stopped_is_saved_after_the_attempt_even_if_the_file_went_away():
    class RemoveTheFile(RecoveryObserver):
        def on_attempt_end(self, attempt):
            if attempt.number == 2:
                attempt.run.session_path.unlink()

    with StubServer([Canned(chunks=STREAM_WITH_A_TOOL_CALL)]) as stub:
        rec = Recovery(request_body(), base_url=stub.base_url, on_failure="retry", hooks=[RemoveTheFile()])
        first = rec.run()
        session = load_session(first.run.session_path)
        assert session.latest.stopped == rec.stopped and rec.stopped.startswith("attempt 1 broke after a complete tool")
        second = rec.proceed()
        assert second.number == 2 and not second.run.session_path.exists()
        assert second.run.recording.stopped == rec.stopped and rec.stopped.startswith("attempt 2 broke")


def test_skip_ends_a_long_wait_from_another_thread():
    log = Log()
    complete = [s.message_start(), *s.text_block(0, "Done."), s.message_delta("end_turn"), s.message_stop()]
    with StubServer([overloaded(30_000), Canned(chunks=complete)]) as stub:
        rec = Recovery(request_body(), base_url=stub.base_url, on_failure="retry", hooks=[log])
        worker = threading.Thread(target=rec.run)
        started = time.monotonic()
        worker.start()
        wait_for(lambda: log.waits)
        assert rec.phase is Phase.WAITING and (rec.wait.before, rec.wait.seconds) == (2, 30)
        rec.skip_wait()
        worker.join(10)
    assert time.monotonic() - started < 5 and not worker.is_alive()
    assert log.waits[0].seconds == 30 and log.waits[-1].skipped
    assert rec.complete and stub.requests == 2 and rec.attempts[1].waited < 5
    assert rec.phase is Phase.DONE and rec.wait is None


def test_an_attempt_is_sending_from_its_plan_until_its_request_goes_out():
    seen = []

    class Watch(RecoveryObserver):
        def on_attempt(self, attempt):
            seen.append(("planned", attempt.number, rec.sending and rec.sending.number))

        def on_request(self, method, url):
            seen.append(("sent", rec.current.number, rec.sending))

    complete = [s.message_start(), *s.text_block(0, "Done."), s.message_delta("end_turn"), s.message_stop()]
    with StubServer([overloaded(10), Canned(chunks=complete)]) as stub:
        rec = Recovery(request_body(), base_url=stub.base_url, on_failure="retry", hooks=[Watch()], save=False)
        rec.run()
    assert seen == [("planned", 1, 1), ("sent", 1, None), ("planned", 2, 2), ("sent", 2, None)]
    assert rec.complete and rec.sending is None


def test_cancel_during_a_wait_sends_nothing_more():
    log = Log()
    with StubServer([overloaded(30_000)]) as stub:
        rec = Recovery(request_body(), base_url=stub.base_url, on_failure="retry", hooks=[log])
        worker = threading.Thread(target=rec.run)
        started = time.monotonic()
        worker.start()
        wait_for(lambda: log.waits)
        assert rec.pending is not None and rec.pending.number == 2
        rec.cancel()
        worker.join(10)
    assert time.monotonic() - started < 5 and not worker.is_alive()
    assert rec.cancelled and stub.requests == 1 and len(rec.attempts) == 1 and rec.pending is None
    assert rec.stopped == "cancelled before the next attempt was sent"
    assert not log.waits[-1].skipped and log.waits[-1].left == 0
    session = load_session(rec.current.run.session_path)
    assert len(session.attempts) == 1 and session.latest.stopped == rec.stopped


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_misuse_is_refused_in_one_line():
    rec = Recovery(request_body(), base_url="http://127.0.0.1:9", save=False)
    with pytest.raises(RecoveryError, match="no attempt has finished yet"):
        rec.resume()
    with pytest.raises(RecoveryError, match="nothing is waiting for confirmation"):
        rec.proceed()
    with pytest.raises(ValueError):
        Recovery(request_body(), strategy="retry")


@pytest.mark.parametrize(("source", "going_on_as"), [("proxy", "live"), ("live", "live"), ("demo", "demo")])
def test_a_retry_from_a_saved_session_is_streamwatch_s_own_request(server, request, source, going_on_as):
    """A proxied app's broken stream, retried from its replay, was filed as proxy traffic: `stats --by
    source` counted streamwatch's own request as the app's."""
    body = request_body(prompt=request.node.name)
    recorder = Recorder(stall_threshold=5.0, source=source)
    recorder.request("POST", server.base_url + "/v1/messages", [("x-streamwatch-scenario", "drop_abrupt")],
                     {**body, "stream": True})
    for chunk in LiveRun(body, base_url=server.base_url, headers={"x-streamwatch-scenario": "drop_abrupt"},
                         save=False).run().recording.chunks:
        recorder.chunk(bytes(chunk[1]))
    recorder.end(End.TRANSPORT_ERROR, {"type": "httpx.RemoteProtocolError", "message": "cut"})
    recorder.finish()

    again = Recovery.going_on(recorder.session_path, 5.0)
    last = again.retry()
    assert load_session(last.run.session_path).header["source"] == going_on_as
