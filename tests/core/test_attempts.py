"""A saved session's attempts, read back as the live run knew them: what analyze, replay and attach show.

Each session is made by a real `Recovery` (the official SDK against the mock server, or a stub for what
the mock does not play) and saved; replaying the file must give back the attempts the live run had."""

import pytest

import streamwatch.core.resume
from streamwatch.core.attempts import AttemptLog, Reason, attempt_count
from streamwatch.core.diagnose import End
from streamwatch.core.live import request_body
from streamwatch.core.playback import replay_attempts
from streamwatch.core.recording import SessionWriter, load_session
from streamwatch.core.recovery import Recovery
from streamwatch.mock import MockServer
from tests import sessions
from tests import streams as s
from tests.stub import Canned, StubServer

pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated")

THRESHOLD = 5.0


@pytest.fixture(scope="module")
def server():
    with MockServer(time_scale=0.02) as running:
        yield running


@pytest.fixture(autouse=True)
def isolated(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(streamwatch.core.resume, "BACKOFF_BASE", 0.01)


def read_back(live: Recovery) -> AttemptLog:
    path = live.current.run.session_path
    assert path is not None
    return replay_attempts(load_session(path), THRESHOLD)


def assert_same_attempts(live: Recovery, replayed: AttemptLog) -> None:
    """Every attempt as the live run had it; times read back from the file may differ in the last digit."""
    assert len(replayed.attempts) == len(live.attempts)
    for was, read in zip(live.attempts, replayed.attempts, strict=True):
        facts = ("number", "reason", "strategy", "replaces", "dropped", "about", "base_parts", "repaid")
        assert {f: getattr(read, f) for f in facts} == {f: getattr(was, f) for f in facts}
        assert read.request == was.request and read.body == {**was.body, "stream": True}
        seen, recorded = was.verdict.to_dict(), read.verdict.to_dict()
        timing, recorded_timing = seen.pop("timing"), recorded.pop("timing")
        assert recorded == seen
        assert recorded_timing == pytest.approx(timing, abs=0.002)
    assert replayed.answer() == live.answer()
    assert replayed.complete == live.complete and replayed.stopped == live.stopped
    live_verdict, read_verdict = live.verdict(), replayed.verdict()
    for verdict in (live_verdict, read_verdict):
        verdict.pop("timing")
        for attempt in verdict["attempts"]:
            attempt.pop("timing")
            attempt.pop("waited")
    assert read_verdict == live_verdict


@pytest.mark.parametrize(
    ("scenario", "on_failure", "model", "reasons"),
    [
        ("drop_eof", "resume", "claude-sonnet-4-6", ["first", "resume"]),
        ("drop_eof", "resume", "claude-sonnet-4-5", ["first", "resume"]),
        ("drop_abrupt", "retry", "claude-sonnet-4-6", ["first", "retry"]),
        ("http_529", "retry", "claude-sonnet-4-6", ["first", "retry"]),
        ("error_overloaded", "resume", "claude-sonnet-4-6", ["first", "resume"]),
        ("ok", "resume", "claude-sonnet-4-6", ["first"]),
    ],
)
def test_a_recovered_session_reads_back_as_the_live_run_knew_it(server, request, scenario, on_failure, model, reasons):
    body = request_body(prompt=request.node.name, model=model)
    headers = {"x-streamwatch-scenario": scenario}
    live = Recovery(body, base_url=server.base_url, headers=headers, on_failure=on_failure, stall_threshold=THRESHOLD)
    live.run()
    replayed = read_back(live)
    assert [a.reason.value for a in replayed.attempts] == reasons and replayed.complete
    assert_same_attempts(live, replayed)
    assert replayed.attempts[-1].waited >= 0 and replayed.verdict()["session"] == str(live.current.run.session_path)


def test_resumes_that_break_too_read_back_with_every_seam(server, request):
    body = request_body(prompt=request.node.name, model="claude-sonnet-4-6")
    headers = {"x-streamwatch-scenario": "drop_abrupt", "x-streamwatch-fail-always": "1"}
    live = Recovery(body, base_url=server.base_url, headers=headers, on_failure="resume", stall_threshold=THRESHOLD)
    live.run()
    replayed = read_back(live)
    assert [part.attempt for part in replayed.answer().parts] == [1, 2, 3] and not replayed.complete
    assert live.stopped == "no complete answer after 3 attempts, the most allowed" == replayed.stopped
    assert_same_attempts(live, replayed)


BROKEN_TEXT = [s.message_start(), *s.text_block(0, "A first draft that breaks off in the mid")[:-1]]
REFUSAL = Canned(400, {"content-type": "application/json"}, [
    b'{"type":"error","error":{"type":"invalid_request_error",'
    b'"message":"This model does not support assistant message prefill."}}'])
COMPLETE = [s.message_start(), *s.text_block(0, "dle of it. Done."), s.message_delta("end_turn"), s.message_stop()]


def test_a_refused_prefill_then_a_user_turn_reads_back_with_why():
    with StubServer([Canned(chunks=BROKEN_TEXT), REFUSAL, Canned(chunks=COMPLETE)]) as stub:
        live = Recovery(request_body(model="claude-sonnet-4-5"), base_url=stub.base_url, on_failure="resume",
                        stall_threshold=THRESHOLD)
        live.run()
    replayed = read_back(live)
    assert [a.strategy for a in replayed.attempts] == [None, "prefill", "user-turn"]
    assert replayed.attempts[2].about.startswith("claude-sonnet-4-5 refused prefill (HTTP 400): continues the 40")
    assert replayed.answer().text == "A first draft that breaks off in the middle of it. Done."
    assert_same_attempts(live, replayed)


def test_a_redirect_is_the_same_attempt_going_on(tmp_path):
    writer = SessionWriter(tmp_path / "redirect.jsonl", sessions.header("2026-11-22T10:00:00+00:00", "live", "m", "r"))
    writer.response(307, {"location": "https://elsewhere.example/v1/messages"}, 0.1)
    writer.end(End.EOF, 0.11)
    writer.attempt({"method": "POST", "url": "https://elsewhere.example/v1/messages", "body": {}}, 0.12)
    writer.response(200, {"content-type": "text/event-stream"}, 0.3)
    for i, chunk in enumerate(s.complete_text("followed")):
        writer.chunk(chunk, 0.4 + i * 0.01)
    writer.end(End.EOF, 0.6)
    writer.close()
    session = load_session(writer.path)
    log = replay_attempts(session, THRESHOLD)
    assert len(session.attempts) == 2 and attempt_count(session.attempts) == 1
    assert [a.reason for a in log.attempts] == [Reason.FIRST] and log.complete
    assert log.current.request["url"] == "https://elsewhere.example/v1/messages"
    assert log.verdict() == log.current.verdict.to_dict() and log.answer().text == "followed"
