"""The recorder every source drives: without the SDK it records what the SDK tap records, its hooks
all hear every call in order (one that raises is dropped, the recording goes on), and a replay of
the saved session fires the same hooks with the same events and verdicts the live run fired."""

import json
import threading

import pytest

from streamwatch.core.diagnose import End
from streamwatch.core.live import LiveRun, request_body
from streamwatch.core.playback import replay_attempts
from streamwatch.core.recorder import Hook, Recorder
from streamwatch.core.recording import load_session
from streamwatch.core.recovery import Recovery, RecoveryObserver
from streamwatch.mock import MockServer
from tests import streams as s
from tests.stub import Canned, StubServer

pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated")

KEY = "swtest-recorder-key-Zr8Wq3Lm5"
THRESHOLD = 2.0


@pytest.fixture(autouse=True)
def isolated(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))


def echoing_chunks():
    """A complete answer that echoes the key, its text delta cut in the middle of the key."""
    start, delta, stop = s.text_block(0, f"Echo {KEY} back, whole.", piece=100)
    cut = delta.index(KEY.encode()) + len(KEY) // 2
    return [s.message_start(), start, delta[:cut], delta[cut:], stop, s.message_delta("end_turn"), s.message_stop()]


class Calls(RecoveryObserver):
    """Every call a hook gets, as plain facts; a chunk that completed no event is left out (a live
    read the scrubber held back completes none, and the bytes are recorded with the next one)."""

    def __init__(self):
        self.calls = []
        self.reads = 0
        self.changed = threading.Condition()

    def on_attempt(self, attempt):
        self.calls.append(("attempt", attempt.number, attempt.reason.value))

    def on_request(self, method, url):
        self.calls.append(("request", method, url))

    def on_response(self, state):
        self.calls.append(("response", state.status))

    def on_events(self, state, events):
        if events:
            self.calls.append(("events", [(e.seq, e.type, e.sse.raw) for e in events]))
        with self.changed:
            self.reads += 1
            self.changed.notify_all()

    def on_attempt_end(self, attempt):
        verdict = attempt.verdict
        self.calls.append(("attempt_end", attempt.number, verdict.termination, verdict.complete, verdict.text))

    def on_session_end(self, log):
        self.calls.append(("session_end", len(log.attempts), log.stopped, log.answer().text, log.complete))

    def wait_for_reads(self, number):
        with self.changed:
            assert self.changed.wait_for(lambda: self.reads >= number, timeout=10), "the run stopped reading"


def records(path):
    """A session file's records without their times, and its header without what names the file."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    header = {k: v for k, v in lines[0].items() if k not in ("id", "started")}
    return header, [record[1:] for record in lines[1:]]


def test_a_recorder_driven_without_the_sdk_records_what_the_sdk_tap_records(tmp_path):
    chunks = echoing_chunks()
    calls = Calls()
    with StubServer([Canned(chunks=chunks, after_chunk=lambda number: calls.wait_for_reads(number + 1))]) as stub:
        run = LiveRun(request_body(prompt="echo"), base_url=stub.base_url, api_key=KEY, hooks=[calls],
                      directory=tmp_path, stall_threshold=THRESHOLD)
        live = run.run()
    assert calls.reads == len(chunks), "each chunk arrived in a read of its own"
    sent = live.recording.request

    client = records(live.session_path)[0]["client"]
    fake = Recorder(stall_threshold=THRESHOLD, directory=tmp_path, header={"client": client})
    fake.redactor.add([KEY])
    headers = [(name, f"Bearer {KEY}" if name == "authorization" else value) for name, value in sent["headers"].items()]
    fake.request("POST", sent["url"], headers, sent["body"])
    fake.response(200, live.recording.headers.items())
    for chunk in chunks:
        fake.chunk(chunk)
    fake.end(End.EOF, sdk=live.recording.ending["sdk"])

    assert fake.session_path != live.session_path
    assert records(fake.session_path) == records(live.session_path)
    assert KEY.encode() not in fake.session_path.read_bytes()
    assert [data for _, data in fake.recording.chunks] == [data for _, data in live.recording.chunks]
    assert fake.recording.headers == live.recording.headers
    assert {**fake.recording.ending, "t": None} == {**live.recording.ending, "t": None}
    verdict = fake.state.verdict(session=str(live.session_path)).to_dict()
    expected = live.verdict.to_dict()
    for facts in (verdict, expected):
        facts.pop("timing")
    assert verdict == expected
    assert verdict["complete"] and verdict["text"] == "Echo [redacted] back, whole."


def test_every_hook_hears_every_call_in_order_and_one_that_raises_is_dropped(tmp_path):
    class Breaks(Hook):
        def __init__(self):
            self.calls = 0

        def on_events(self, state, events):
            self.calls += 1
            raise ValueError("a broken exporter")

    first, broken, last = Calls(), Breaks(), Calls()
    recorder = Recorder(stall_threshold=THRESHOLD, hooks=[first, broken, last], directory=tmp_path)
    recorder.request("POST", "http://127.0.0.1:9/v1/messages", [("content-type", "application/json")], {})
    recorder.response(200, [("content-type", "text/event-stream")])
    for chunk in s.complete_text():
        recorder.chunk(chunk)
    recorder.end(End.EOF)

    assert first.calls == last.calls
    assert [call[0] for call in first.calls] == ["request", "response", *["events"] * len(s.complete_text())]
    assert broken.calls == 1, "dropped after it raised: it hears nothing more"
    assert recorder.hooks.failures == ["Breaks.on_events raised ValueError: a broken exporter; dropped"]
    assert recorder.state.verdict().complete
    session = load_session(recorder.session_path)
    assert b"".join(data for _, data in session.latest.chunks) == b"".join(s.complete_text())


def merged(calls):
    """The calls with the events of consecutive reads together: a read the scrubber holds (a content
    delta that might begin a secret, core/redact.py) is told live with the read that lets it go, and
    in a replay as the chunk it was recorded as, at the time it came."""
    out = []
    for call in calls:
        if call[0] == "events" and out and out[-1][0] == "events":
            out[-1] = ("events", out[-1][1] + call[1])
        else:
            out.append(call)
    return out


def test_a_replayed_session_fires_the_hooks_the_live_run_fired(request):
    body = request_body(prompt=request.node.name, model="claude-sonnet-4-5")
    live = Calls()
    with MockServer(time_scale=0.02) as server:
        recovery = Recovery(body, base_url=server.base_url, headers={"x-streamwatch-scenario": "drop_eof"},
                            on_failure="resume", hooks=[live], stall_threshold=THRESHOLD)
        last = recovery.run()
    assert last.number == 2 and recovery.complete

    replayed = Calls()
    log = replay_attempts(load_session(last.run.session_path), THRESHOLD, hooks=[replayed])

    assert merged(replayed.calls) == merged(live.calls)
    kinds = [call[0] for call in live.calls]
    assert kinds[:3] == ["attempt", "request", "response"] and kinds[-2:] == ["attempt_end", "session_end"]
    assert kinds.count("attempt") == kinds.count("attempt_end") == 2 and "events" in kinds
    assert live.calls[-1] == ("session_end", 2, None, recovery.answer().text, True)
    assert log.answer().text == recovery.answer().text
