import json
import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.recording import Chunks, Recording, SessionError, SessionWriter, load_session, sessions_dir
from tests import streams as s


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def request():
    return {
        "method": "POST",
        "url": "http://127.0.0.1:9/v1/messages",
        "headers": {"authorization": "[redacted]", "anthropic-version": "2026-10-21"},
        "body": {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "hi"}]},
    }


def write_session(chunks, end=End.EOF, error=None):
    writer = SessionWriter.create("live", request())
    writer.response(200, {"content-type": "text/event-stream", "request-id": "req_1"}, 0.2)
    for i, chunk in enumerate(chunks):
        writer.chunk(chunk, 0.3 + i * 0.01)
    writer.end(end, 0.3 + len(chunks) * 0.01, error)
    writer.close()
    return writer.path


def test_round_trip_replays_to_the_same_verdict_as_live(home):
    body = b"".join(s.complete_text("café 😀 done"))
    split = body.index("é".encode()) + 1
    chunks = [body[:split], body[split:]]
    path = write_session(chunks)
    live = StreamState()
    live.response(200, {"content-type": "text/event-stream", "request-id": "req_1"})
    for i, chunk in enumerate(chunks):
        live.chunk(chunk, 0.3 + i * 0.01)
    live.end(End.EOF, 0.32)
    session = load_session(path)
    assert session.skipped == []
    assert [data for _, data in session.latest.chunks] == chunks
    assert '"chunk64"' in path.read_text()
    replayed = session.latest.replay_into(StreamState())
    assert replayed.verdict().to_dict() == live.verdict().to_dict()
    assert replayed.text == "café 😀 done"


def test_every_chunk_reads_back_as_it_came_whatever_its_bytes(home):
    """A chunk's line is written by hand, not by json.dumps: each is still the strict JSON the reader
    takes, with its bytes and time as they were (quotes, backslashes, control characters, U+2028,
    non-ASCII text, and bytes that are not UTF-8, kept as chunk64)."""
    chunks = [
        b'data: {"text":"say \\"hi\\"\\n"}\n\n',
        bytes(range(32)) + b'"\\\x7f',
        "line\u2028separator, café, 😀, \ud7ff".encode(),
        b"\xff\xfe half a character: \xe2\x82",
        b"",
    ]
    path = write_session(chunks)
    session = load_session(path)
    assert session.skipped == []
    assert session.latest.chunks == [(round(0.3 + i * 0.01, 6), data) for i, data in enumerate(chunks)]
    records = [json.loads(line) for line in path.read_bytes().split(b"\n")[1:-1]]
    assert [kind for _, kind, _ in records] == ["response", "chunk", "chunk", "chunk", "chunk64", "chunk", "end"]


def test_files_are_private_and_live_under_streamwatch_home(home):
    path = write_session(s.complete_text())
    assert path.parent == home / "sessions" == sessions_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    header = load_session(path).header
    assert header["version"] == 1 and header["source"] == "live" and header["pid"] == os.getpid()


def test_records_of_the_wrong_shape_are_skipped_and_said_not_trusted(home):
    path = write_session(s.complete_text("one two three four"))
    lines = path.read_bytes().split(b"\n")
    header, *records = [line for line in lines if line]
    bad = [
        b'[NaN, "chunk", "x"]',
        b'[1e999, "chunk", "x"]',
        b'[0.2, "end", {"kind": "transport_error", "error": "a string"}]',
        b'[0.2, "end", {"kind": ["eof"]}]',
        b'[0.2, "end", {"kind": "eof", "sdk": "raised?"}]',
        b'[0.2, "stopped", {"why": ["cancelled"]}]',
        b'[0.2, "chunks", "a kind nobody writes, with a text payload"]',
        b'[0.2, "annotation", {"from": "a later streamwatch"}]',
    ]
    path.write_bytes(b"\n".join([header, *bad, *records]) + b"\n")
    session = load_session(path)
    assert session.skipped == [
        "line 2: not valid JSON (NaN is not a JSON number)",
        "line 3: its time is not a number of seconds from 0 to 10000000",
        "line 4: end.error is not an object; left out",
        "line 5: end.kind is missing or not one of eof, transport_error, timeout, cancelled; end left out",
        "line 6: end.sdk is not an object; left out",
        "line 7: stopped.why is missing or not text; stopped left out",
        "line 8: a record of unknown kind 'chunks' whose payload is not an object",
    ]
    assert session.latest.stopped is None
    assert session.latest.replay_into(StreamState()).verdict().complete


def test_truncated_and_corrupt_files_recover_every_intact_line(home):
    path = write_session(s.complete_text("one two three four"))
    lines = path.read_bytes().split(b"\n")
    lines[4] = b'[0.5, "chunk", "ev'
    damaged = b"\n".join(lines[:-2]) + b"\n" + lines[-2][: len(lines[-2]) // 2]
    path.write_bytes(damaged)
    session = load_session(path)
    assert session.skipped == [
        "line 5: not valid JSON",
        f"line {len(lines) - 1}: truncated ({len(lines[-2]) // 2} bytes, the writer stopped mid-line)",
    ]
    assert len(session.latest.chunks) == len(s.complete_text("one two three four")) - 1
    assert session.latest.ending is None
    verdict = session.latest.replay_into(StreamState()).verdict()
    assert verdict.event_count == 9
    assert verdict.termination == "message_stop"
    del session.latest.chunks[-1]
    verdict = session.latest.replay_into(StreamState()).verdict()
    assert verdict.termination == "cancelled"
    assert "the recording process stopped before the stream ended" in verdict.explanation


def test_unreadable_files_are_one_line_errors(tmp_path):
    not_session = tmp_path / "x.jsonl"
    not_session.write_text('{"hello": 1}\n')
    with pytest.raises(SessionError, match="not a streamwatch session file"):
        load_session(not_session)
    newer = tmp_path / "newer.jsonl"
    newer.write_text('{"streamwatch": "session", "version": 99}\n')
    with pytest.raises(SessionError, match="newer streamwatch"):
        load_session(newer)
    with pytest.raises(SessionError, match="cannot read"):
        load_session(tmp_path / "missing.jsonl")


def test_attempts_are_kept_apart(home):
    writer = SessionWriter.create("live", request())
    writer.response(529, {}, 0.1)
    writer.chunk(b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', 0.1)
    writer.end(End.EOF, 0.1)
    writer.attempt(request(), 2.0, reason="retry")
    writer.response(200, {}, 2.2)
    for i, chunk in enumerate(s.complete_text()):
        writer.chunk(chunk, 2.3 + i * 0.01)
    writer.end(End.EOF, 2.5)
    writer.close()
    session = load_session(writer.path)
    assert [a.status for a in session.attempts] == [529, 200]
    assert session.attempts[1].started_t == 2.0
    second = session.attempts[1].replay_into(StreamState()).verdict()
    assert second.complete and second.timing["ttfb"] == pytest.approx(0.3)


def test_sigkill_while_recording_loses_no_finished_chunk(home, tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        from streamwatch.core.recording import SessionWriter
        writer = SessionWriter.create("live", {"method": "POST", "url": "u", "headers": {}, "body": {}})
        print(writer.path, flush=True)
        i = 0
        while True:
            writer.chunk(('data: {"type":"ping","n":%d}\\n\\n' % i).encode(), i * 0.001)
            print(i, flush=True)
            i += 1
            time.sleep(0.001)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    path = proc.stdout.readline().strip()
    confirmed = -1
    while confirmed < 200:
        confirmed = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    session = load_session(path)
    received = [json.loads(data[6:].split(b"\n")[0])["n"] for _, data in session.latest.chunks]
    assert received == list(range(len(received)))
    assert len(received) > confirmed
    assert all(reason.endswith("mid-line)") for reason in session.skipped)


def test_each_field_is_read_as_its_type_or_left_out_and_said(home):
    path = write_session(s.complete_text("one two")[:-1], End.TRANSPORT_ERROR, {"type": "ReadError", "message": "reset"})
    header, *records = path.read_bytes().splitlines()
    header = json.loads(header)
    header.update(pid=10**30, host=["devbox"], started={"at": 0},
                  continues={"session": "ab12cd34", "file": "x.jsonl", "attempt": 0, "reason": "retry"})
    header["request"]["headers"]["x-count"] = 3
    records[-1] = json.dumps([0.4, "end", {"kind": "transport_error", "error": {"message": "no type"},
                                           "sdk": {"events": 10**400, "seen": "it raised", "chain": {"a": 1}}}]).encode()
    records[1:1] = [b'[0.25, "chunk", "\\ud800"]', b'[0.25, "response", {"status": 200, "status": 201}]',
                    b'[0.1, "chunk", ""]', b'[0.3, "response", {"status": 99999}]']
    path.write_bytes(b"\n".join([json.dumps(header).encode(), *records]) + b"\n")
    session = load_session(path)
    assert session.skipped == [
        "line 1: header.started is not text; left out",
        "line 1: header.pid is not a whole number from 1 to 2147483647; left out",
        "line 1: header.host is not text; left out",
        "line 1: header.continues.attempt is not a whole number from 1 to 9007199254740992; left out",
        "line 1: header.request.headers['x-count'] is not text; left out",
        "line 3: chunk text holds a lone surrogate: it is not bytes a stream sent",
        "line 4: not valid JSON (an object has the key 'status' twice)",
        "line 5: its time 0.1 s goes back before the record before it; read as 0.2 s",
        "line 6: response.status is missing or not a whole number from 100 to 999; response left out",
        "line 14: end.error.type is missing or not text; end.error left out",
        "line 14: end.sdk.chain is not a list of texts; left out",
        "line 14: end.sdk.events is not a whole number from 0 to 9007199254740992; left out",
    ]
    assert "pid" not in session.header and session.header["source"] == "live"
    assert session.header["continues"] == {"session": "ab12cd34", "file": "x.jsonl", "reason": "retry"}
    assert session.latest.ending == {"kind": "transport_error", "sdk": {"seen": "it raised"}, "t": 0.4}
    assert session.latest.chunks[0] == (0.2, b"")
    verdict = session.latest.replay_into(StreamState()).verdict()
    assert verdict.termination == "transport_error" and verdict.error is None


def test_a_recordings_chunks_read_as_the_list_of_them_whatever_was_let_go():
    chunks = Chunks([(0.5, b"one"), (None, b""), (0.7, b"three")])
    assert chunks == [(0.5, b"one"), (None, b""), (0.7, b"three")] and len(chunks) == 3
    assert chunks[-1] == (0.7, b"three") and chunks[1:] == [(None, b""), (0.7, b"three")]
    chunks.append((0.9, b"four"))
    del chunks[:2]  # what a file played as it is read lets go
    assert list(chunks) == [(0.7, b"three"), (0.9, b"four")] and chunks[0] == (0.7, b"three")
    del chunks[-1]
    chunks.append((1.0, b"five"))
    assert chunks == [(0.7, b"three"), (1.0, b"five")]
    assert Recording(request={}, chunks=[(0.1, b"x")]).chunks == Chunks([(0.1, b"x")])
