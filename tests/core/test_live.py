"""The live runner against the mock server: what it records, what it reports, what the SDK raised."""

import json
import socket
import threading
import time
import zlib

import httpx2
import pytest

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.live import (
    LOOPBACK_KEY,
    LiveError,
    LiveRun,
    cause_chain,
    describe_exception,
    is_loopback,
    request_body,
)
from streamwatch.core.recorder import Hook
from streamwatch.core.recording import load_session
from streamwatch.core.report import live_status
from streamwatch.core.sources import analyze
from streamwatch.mock import MockServer
from tests import streams
from tests.stub import Canned, StubServer

TIME_SCALE = 0.05
KEY = "swtest-live-key-7Q2xN9fVb4"
"""Distinctive, and unlike `sk-ant-...`, so only the run's own redaction can keep it off disk."""


@pytest.fixture(scope="module")
def server():
    with MockServer(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture(autouse=True)
def isolated(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))


class Recorder(Hook):
    def __init__(self):
        self.calls = []
        self.events = []

    def on_request(self, method, url):
        self.calls.append(("request", method, url))

    def on_response(self, state):
        self.calls.append(("response", state.status))

    def on_events(self, state, events):
        if events:
            assert state.events[-len(events):] == events
        self.events.extend(events)


def live(server, scenario, *, hooks=(), save=True, time_scale=None, **options):
    headers = {"x-streamwatch-scenario": scenario, "x-streamwatch-fail-always": "1"}
    if time_scale is not None:
        headers["x-streamwatch-time-scale"] = str(time_scale)
    return LiveRun(
        request_body(prompt=f"live test {scenario}"),
        base_url=server.base_url,
        headers=headers,
        save=save,
        hooks=hooks,
        **options,
    )


def test_complete_stream_is_observed_chunk_by_chunk_and_saved(server):
    recorder = Recorder()
    run = live(server, "ok", hooks=[recorder], api_key=KEY)
    result = run.run()
    verdict = result.verdict
    assert verdict.complete and verdict.termination == "message_stop" and verdict.stop_reason == "end_turn"
    assert recorder.calls[0] == ("request", "POST", f"{server.base_url}/v1/messages")
    assert recorder.calls[1:] == [("response", 200)]
    assert [e.seq for e in recorder.events] == list(range(1, verdict.event_count + 1))
    assert verdict.sdk["raised"] is None and verdict.sdk["message_stop"] and not verdict.sdk["silent"]
    assert verdict.sdk["stop_reason"] == "end_turn"
    assert verdict.sdk["seen"].startswith("no exception")

    session = load_session(result.session_path)
    assert session.skipped == [] and session.header["source"] == "live"
    request = session.header["request"]
    assert request["method"] == "POST" and request["url"].endswith("/v1/messages")
    assert request["headers"]["authorization"] == "[redacted]"
    assert request["headers"]["x-streamwatch-scenario"] == "ok"
    assert request["body"]["stream"] is True and request["body"]["model"] == "claude-sonnet-4-6"
    assert b"".join(data for _, data in session.latest.chunks) == b"".join(e.sse.raw for e in result.state.events)
    replayed = analyze(session.latest, run.stall_threshold).verdict(session=str(result.session_path))
    assert replayed.to_dict() == verdict.to_dict()
    assert run.recording.chunks == session.latest.chunks


def test_key_is_used_but_never_written(server, tmp_path):
    run = live(server, "drop_abrupt", api_key=KEY)
    result = run.run()
    assert result.verdict.termination == "transport_error"
    files = [p for p in (tmp_path / "home").rglob("*") if p.is_file()]
    assert files == [result.session_path]
    assert KEY.encode() not in result.session_path.read_bytes()
    assert run.redact(f"Bearer {KEY}") == "Bearer [redacted]"


def test_auth_token_is_a_secret_too(server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", KEY)
    result = live(server, "ok").run()
    assert result.verdict.complete and KEY.encode() not in result.session_path.read_bytes()


def test_connection_refused_is_recorded_with_what_the_sdk_wrapped_it_in():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    result = LiveRun(request_body(), base_url=f"http://127.0.0.1:{port}").run()
    verdict = result.verdict
    assert verdict.termination == "transport_error" and verdict.http_status is None
    assert verdict.error["type"] == "httpx2.ConnectError"
    assert verdict.sdk["raised"] == "anthropic.APIConnectionError: Connection error."
    assert verdict.sdk["chain"][0].startswith("httpx2.ConnectError")
    assert load_session(result.session_path).latest.ending["kind"] == "transport_error"


@pytest.mark.parametrize("base_url", ["ftp://127.0.0.1/", "not a url", "http://"])
def test_base_url_must_be_http(base_url):
    with pytest.raises(LiveError, match="not an http:// or https:// base URL"):
        LiveRun(request_body(), base_url=base_url, api_key=KEY).run()


def test_loopback_target_without_a_key_gets_a_placeholder_that_is_never_written(server):
    result = live(server, "ok").run()
    assert result.verdict.complete
    assert LOOPBACK_KEY.encode() not in result.session_path.read_bytes()


def test_missing_key_for_a_remote_target_fails_before_any_request(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("a request was attempted")

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", no_network)
    for base_url in ("https://api.anthropic.com", "http://10.1.2.3:8080"):
        with pytest.raises(LiveError, match="ANTHROPIC_API_KEY.*streamwatch demo"):
            LiveRun(request_body(), base_url=base_url).run()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://gateway.example.com")
    with pytest.raises(LiveError, match="gateway.example.com"):
        LiveRun(request_body()).run()
    assert not (tmp_path / "home").exists()


def test_broken_sdk_configuration_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(LiveError, match="cannot be set up from your environment: Config file not found") as caught:
        LiveRun(request_body(), base_url="http://127.0.0.1:9").run()
    assert "\n" not in str(caught.value)


def test_silent_truncation_is_called_out(server):
    result = live(server, "drop_eof").run()
    verdict = result.verdict
    assert verdict.termination == "eof" and not verdict.complete
    sdk = verdict.sdk
    assert sdk["raised"] is None and sdk["silent"] and sdk["stop_reason"] is None and not sdk["message_stop"]
    assert sdk["seen"].startswith("no exception, stop_reason=None")
    assert sdk["events"] > 0


def test_abrupt_cut_records_the_raw_httpx2_error_and_its_chain(server):
    result = live(server, "drop_abrupt").run()
    verdict = result.verdict
    assert verdict.error["type"] == "httpx2.RemoteProtocolError"
    assert "incomplete chunked read" in verdict.error["message"]
    assert verdict.sdk["raised"].startswith("httpx2.RemoteProtocolError: peer closed connection")
    assert verdict.sdk["chain"][0].startswith("httpcore2.RemoteProtocolError")
    end = load_session(result.session_path).latest.ending
    assert end["kind"] == "transport_error" and end["sdk"] == verdict.sdk


def test_error_event_body_is_read_to_its_end_after_the_sdk_raised(server):
    result = live(server, "error_overloaded").run()
    assert result.state.ended == End.EOF
    assert result.verdict.termination == "error_event" and result.verdict.error["type"] == "overloaded_error"
    assert result.verdict.sdk["raised"].startswith("anthropic.APIStatusError: ")
    assert result.state.events[-1].type == "error"


def test_http_error_status_goes_through_the_tap(server):
    result = live(server, "http_529").run()
    verdict = result.verdict
    assert verdict.termination == "http_error" and verdict.http_status == 529
    assert verdict.error["type"] == "overloaded_error"
    assert verdict.sdk["raised"].startswith("anthropic.OverloadedError: Error code: 529")
    session = load_session(result.session_path)
    assert session.latest.status == 529 and b"overloaded_error" in session.latest.chunks[0][1]


def test_read_timeout_ends_as_timeout():
    silent = Canned(chunks=[streams.message_start(), *streams.text_block(0, "cut off in the mid")[:-1]], hang=True)
    with StubServer([silent]) as stub:
        result = LiveRun(request_body(), base_url=stub.base_url, save=False, timeout=1.0).run()
    verdict = result.verdict
    assert verdict.termination == "timeout" and verdict.error["type"] == "httpx2.ReadTimeout"
    assert verdict.sdk["raised"].startswith("httpx2.ReadTimeout")


def test_cancel_from_another_thread_stops_a_blocked_read(server):
    class CancelSoon(Hook):
        def on_response(self, state):
            threading.Timer(0.2, run.cancel).start()  # from another thread, while the read waits for content

    run = live(server, "keepalive_only", time_scale=1, hooks=[CancelSoon()])
    started = time.monotonic()
    result = run.run()
    assert time.monotonic() - started < 10, "the 20 s wait was not cut short"
    assert result.cancelled and result.verdict.termination == "cancelled"
    assert result.verdict.error is None
    assert result.verdict.sdk["seen"].startswith("nothing more: you cancelled")
    assert load_session(result.session_path).latest.ending["kind"] == "cancelled"


def test_no_save_writes_nothing_but_keeps_the_recording_in_memory(server, tmp_path):
    run = live(server, "ok", save=False)
    result = run.run()
    assert result.session_path is None and result.verdict.session is None
    assert not (tmp_path / "home").exists()
    replayed = run.recording.replay_into(StreamState(run.stall_threshold)).verdict()
    assert replayed.to_dict() == result.verdict.to_dict()


def test_request_body_from_flags_and_files(tmp_path):
    body = request_body(prompt="hi", model="m", max_tokens=7, system="sys")
    assert body == {"messages": [{"role": "user", "content": "hi"}], "model": "m", "max_tokens": 7, "system": "sys"}
    path = tmp_path / "req.json"
    tools = [{"name": "t", "input_schema": {"type": "object"}}]
    path.write_text(json.dumps({"model": "x", "max_tokens": 5, "stream": False, "tools": tools, "messages": [
        {"role": "user", "content": "q"}]}))
    body = request_body(request_file=path)
    assert body == {"model": "x", "max_tokens": 5, "tools": tools, "messages": [{"role": "user", "content": "q"}]}
    assert request_body(request_file=path, model="y")["model"] == "y"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{nope", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"model": "x"}', "no `messages` list"),
    ],
)
def test_bad_request_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "req.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LiveError, match=message) as caught:
        request_body(request_file=path)
    assert "\n" not in str(caught.value)


def test_loopback_detection():
    assert is_loopback("http://127.0.0.1:1234") and is_loopback("http://localhost/") and is_loopback("http://[::1]:9")
    assert not is_loopback("https://api.anthropic.com") and not is_loopback("http://10.0.0.1")


def test_exception_names_are_the_ones_to_catch():
    try:
        try:
            raise OSError("reset")
        except OSError as inner:
            raise httpx2.ReadError("boom") from inner
    except httpx2.ReadError as exc:
        assert describe_exception(exc) == "httpx2.ReadError: boom"
        assert cause_chain(exc) == ["OSError: reset"]


def gzip_per_event(events):
    """A gateway compressing the stream, flushing after every event as it comes."""
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    return [compressor.compress(e) + compressor.flush(zlib.Z_SYNC_FLUSH) for e in events] + [compressor.flush()]


GZIP_HEADERS = {"content-type": "text/event-stream", "content-encoding": "gzip"}


def test_a_compressed_stream_is_the_complete_answer_the_sdk_got():
    events = streams.complete_text("Compressed on the wire, whole in the SDK.")
    with StubServer([Canned(200, GZIP_HEADERS, gzip_per_event(events))]) as stub:
        result = LiveRun(request_body(prompt="gzip"), base_url=stub.base_url).run()
    verdict = result.verdict
    assert verdict.complete and verdict.termination == "message_stop"
    assert verdict.text == "Compressed on the wire, whole in the SDK." and verdict.event_count == len(events)
    assert verdict.sdk["raised"] is None and verdict.sdk["message_stop"]
    assert verdict.body["encoding"] == "gzip" and verdict.body["bytes"] == len(b"".join(events))
    recording = load_session(result.session_path).latest
    assert recording.headers["content-encoding"] == "gzip"
    assert b"".join(data for _, data in recording.chunks)[:2] == b"\x1f\x8b", "the wire bytes are recorded"
    assert analyze(recording, 5.0).verdict(session=str(result.session_path)).to_dict() == verdict.to_dict()


def test_a_corrupt_compressed_stream_is_what_the_sdk_raised_on():
    chunks = gzip_per_event(streams.complete_text("word " * 200))
    chunks[6] = b"\xff" * len(chunks[6])
    with StubServer([Canned(200, GZIP_HEADERS, chunks)]) as stub:
        verdict = LiveRun(request_body(prompt="corrupt"), base_url=stub.base_url, save=False).run().verdict
    assert verdict.sdk["raised"].startswith("httpx2.DecodingError")
    assert not verdict.complete and "undecodable_body" in [a["code"] for a in verdict.anomalies]


def test_a_delta_that_is_not_json_is_not_complete_and_the_sdk_raised_on_it():
    events = streams.complete_text("Hello world, all here.")
    events[4] = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":\n\n'
    with StubServer([Canned(chunks=events)]) as stub:
        result = LiveRun(request_body(prompt="bad json"), base_url=stub.base_url, save=False).run()
    verdict = result.verdict
    assert verdict.sdk["raised"].startswith("json.JSONDecodeError")
    assert verdict.termination == "message_stop" and not verdict.complete
    assert "Event #5 (content_block_delta, block 0) cannot be read" in verdict.explanation
    kind, words = live_status(result.state, 1.0)
    assert kind == "abnormal" and words.startswith("ABNORMAL message_stop · invalid_event_json at #5")


def test_runs_share_one_tls_context_and_the_sdk_probe_loads_none(server, monkeypatch):
    """Loading the certificate store costs ~20 ms of CPU: once per process, not twice per attempt."""
    import httpcore2

    made = []
    real = getattr(httpcore2.default_ssl_context, "__wrapped__", httpcore2.default_ssl_context)

    def counted(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(httpcore2, "default_ssl_context", counted)

    results = [live(server, "ok", save=False).run() for _ in range(3)]

    assert all(result.verdict.complete for result in results)
    assert len(made) <= 1
