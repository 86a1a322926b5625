"""Streams sent to an OpenTelemetry collector: a real OTLP/HTTP endpoint on loopback receives the
spans of `streamwatch demo`'s scenarios and of a backfill, decoded with opentelemetry-proto."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from streamwatch.cli import main
from streamwatch.export.otlp import OtlpUnavailable, traces_endpoint
from tests import sessions
from tests import streams as s
from tests.otlp_collector import Collector, Span, comparable, identity

ROOT = Path(__file__).resolve().parents[2]
FAST = ("--headless", "--time-scale", "0.05")
"""Twentyfold faster; stalls at the default 5 s threshold, which a loaded machine never reaches here."""
MODEL = "claude-sonnet-4-6"
PROMPT = "otlp test question: how do herons fish"
KEY = "swtest-otlp-key-Vq7Np2XcR9"


@pytest.fixture(autouse=True)
def home(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    return tmp_path / "home"


@pytest.fixture
def collector():
    with Collector() as running:
        yield running


def demo(capsys, collector: Collector, scenario: str, *extra: str) -> tuple[int, str]:
    code = main(["demo", scenario, *FAST, "--prompt", PROMPT, "--otlp", collector.url, *extra])
    return code, capsys.readouterr().err


def session_and_attempts(spans: list[Span]) -> tuple[Span, list[Span]]:
    """The one session span and its attempt spans, checked to be one trace: the session its root,
    each attempt its child."""
    (session,) = [span for span in spans if not span.parent]
    attempts = sorted((span for span in spans if span.parent), key=lambda span: span.start)
    assert {span.trace_id for span in spans} == {session.trace_id}
    assert all(span.parent == session.span_id for span in attempts)
    assert session.name == f"session chat {MODEL}" and session.kind == "INTERNAL"
    for attempt in attempts:
        assert attempt.name == f"chat {MODEL}" and attempt.kind == "CLIENT"
        assert session.start <= attempt.start <= attempt.end <= session.end
    return session, attempts


def test_a_complete_stream_is_one_genai_chat_span_under_its_session(capsys, collector) -> None:
    code, err = demo(capsys, collector, "ok")

    assert code == 0
    assert "warning" not in err, err
    session, (attempt,) = session_and_attempts(collector.wait_for(2))
    a = attempt.attributes
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "anthropic"
    assert "gen_ai.system" not in a
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == MODEL
    assert a["gen_ai.response.id"].startswith("msg_")
    assert a["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert a["gen_ai.request.max_tokens"] == 1024 and a["gen_ai.request.stream"] is True
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert a["server.address"] == "127.0.0.1" and isinstance(a["server.port"], int)
    assert a["http.response.status_code"] == 200 and "error.type" not in a
    assert a["streamwatch.termination"] == "message_stop" and a["streamwatch.complete"] is True
    assert 0 < a["streamwatch.ttfb"] <= a["streamwatch.ttft"] <= a["streamwatch.duration"]
    assert a["gen_ai.response.time_to_first_chunk"] == a["streamwatch.ttfb"]
    assert a["streamwatch.bytes"] > 1000 and a["streamwatch.events"] > 10 and a["streamwatch.stalls"] == 0
    assert a["streamwatch.source"] == "demo" and a["streamwatch.attempt.number"] == 1
    assert a["streamwatch.client"].startswith("anthropic-python ")
    assert a["streamwatch.session.file"].endswith(".jsonl")
    assert [name for name, _, _ in attempt.events] == ["streamwatch.end"]
    assert attempt.status == session.status == "UNSET"
    assert session.attributes["streamwatch.session.complete"] is True
    assert session.attributes["streamwatch.session.attempts"] == 1
    assert "gen_ai.usage.output_tokens" not in session.attributes  # counted once, on the attempt
    assert attempt.resource["service.name"] == "streamwatch"


def test_a_stream_cut_in_a_tool_call_is_an_error_span_with_its_anomalies(capsys, collector) -> None:
    code, _ = demo(capsys, collector, "drop_eof")

    assert code == 1
    session, (attempt,) = session_and_attempts(collector.wait_for(2))
    assert attempt.status == session.status == "ERROR"
    assert attempt.description == "an early end of the body (no message_stop)"
    assert attempt.attributes["error.type"] == "eof" and attempt.attributes["streamwatch.termination"] == "eof"
    assert "gen_ai.response.finish_reasons" not in attempt.attributes
    codes = [event["streamwatch.anomaly.code"] for event in attempt.events_named("streamwatch.anomaly")]
    assert "block_not_stopped" in codes
    assert attempt.events[-1][0] == "streamwatch.end"
    assert attempt.events_named("streamwatch.end")[0]["streamwatch.complete"] is False


def test_an_error_event_after_content_is_the_api_s_error_type(capsys, collector) -> None:
    demo(capsys, collector, "error_overloaded")

    _, (attempt,) = session_and_attempts(collector.wait_for(2))
    assert attempt.attributes["error.type"] == "overloaded_error"
    assert attempt.attributes["streamwatch.termination"] == "error_event"
    (error,) = attempt.events_named("streamwatch.error")
    assert error["error.type"] == "overloaded_error" and error["streamwatch.error.event"] > 1
    names = [name for name, _, _ in attempt.events]
    assert names.index("streamwatch.error") < names.index("streamwatch.end")
    assert attempt.attributes["gen_ai.usage.output_tokens"] >= 1


def test_an_http_529_is_an_error_span_with_its_status(capsys, collector) -> None:
    demo(capsys, collector, "http_529")

    _, (attempt,) = session_and_attempts(collector.wait_for(2))
    a = attempt.attributes
    assert a["http.response.status_code"] == 529 and a["error.type"] == "overloaded_error"
    assert a["streamwatch.termination"] == "http_error" and attempt.status == "ERROR"
    assert attempt.description.startswith("HTTP 529")


def test_a_stall_is_an_event_at_the_silence_with_its_length(capsys, collector) -> None:
    code, _ = demo(capsys, collector, "stall", "--stall-threshold", "0.2")  # its 8 s silence lasts 0.4 s

    assert code == 0
    _, (attempt,) = session_and_attempts(collector.wait_for(2))
    assert attempt.status == "UNSET" and attempt.attributes["streamwatch.stalls"] == 1
    (stall,) = attempt.events_named("streamwatch.stall")
    assert stall["streamwatch.stall.seconds"] > 0.2
    assert stall["streamwatch.stall.seconds"] == attempt.attributes["streamwatch.stall.longest"]
    when = next(t for name, t, _ in attempt.events if name == "streamwatch.stall")
    assert attempt.start < when < attempt.end


@pytest.mark.parametrize(("scenario", "how", "strategy"), [
    ("error_overloaded", "retry", "retry"),
    ("drop_abrupt", "resume", "user-turn"),
])
def test_a_recovered_session_is_one_trace_whose_attempts_link_to_what_they_replace(
    capsys, collector, scenario, how, strategy
) -> None:
    code, _ = demo(capsys, collector, scenario, "--on-failure", how)

    assert code == 0
    session, (first, second) = session_and_attempts(collector.wait_for(3))
    assert first.status == "ERROR" and second.status == "UNSET" and session.status == "UNSET"
    assert [first.attributes["streamwatch.attempt.number"], second.attributes["streamwatch.attempt.number"]] == [1, 2]
    assert second.attributes["streamwatch.attempt.reason"] == how
    assert second.attributes["streamwatch.attempt.strategy"] == strategy
    assert second.attributes["streamwatch.attempt.replaces"] == 1
    assert second.links == [(first.trace_id, first.span_id, {"streamwatch.link.reason": how})]
    assert session.attributes["streamwatch.session.attempts"] == 2
    assert session.attributes["streamwatch.on_failure"] == how
    assert first.end <= second.start


def test_a_backfill_sends_saved_sessions_as_the_live_run_did(capsys, collector, home) -> None:
    demo(capsys, collector, "drop_eof", "--on-failure", "retry")
    demo(capsys, collector, "ok")
    live = collector.wait_for(5)
    files = sorted(str(path) for path in (home / "sessions").iterdir())

    code = main(["export", "--format", "otlp", *files, "--otlp", collector.url])

    assert code == 0
    assert capsys.readouterr().err == f"streamwatch: 2 sessions sent to {collector.url}/v1/traces (5 spans)\n"
    backfilled = collector.wait_for(10)[5:]
    assert sorted(map(comparable, backfilled), key=repr) == sorted(map(comparable, live), key=repr)
    # The same trace, the same spans, at the times they were recorded: a backend takes them as one.
    assert sorted(map(identity, backfilled)) == sorted(map(identity, live))
    assert len({span.trace_id for span in live}) == 2 and len({span.span_id for span in live}) == 5
    retried = next(span for span in backfilled if span.attributes.get("streamwatch.attempt.number") == 2)
    assert retried.links[0][1] == next(span.span_id for span in live if span.attributes.get(
        "streamwatch.attempt.number") == 1 and span.trace_id == retried.trace_id)
    main(["export", "--format", "otlp", "latest", "--otlp", collector.url])
    again = collector.wait_for(12)[10:]
    _, (latest,) = session_and_attempts(again)
    assert latest.attributes["streamwatch.termination"] == "message_stop"  # the demo run last: ok
    assert sorted(map(identity, again)) == sorted(identity(span) for span in live if span.trace_id == latest.trace_id)


def test_no_prompt_or_answer_leaves_without_otel_content_and_both_do_with_it(capsys, collector) -> None:
    demo(capsys, collector, "ok")
    spans = collector.wait_for(2)
    sent = b"".join(collector.raw)
    assert PROMPT.encode() not in sent and b"herons" not in sent
    assert not any(key.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system_instructions"))
                   for span in spans for key in span.attributes)

    demo(capsys, collector, "ok", "--otel-content", "--system", "answer as a poet")
    _, (attempt,) = session_and_attempts(collector.wait_for(4)[2:])
    messages = json.loads(attempt.attributes["gen_ai.input.messages"])
    assert messages == [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]
    assert json.loads(attempt.attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "answer as a poet"}]
    (answer,) = json.loads(attempt.attributes["gen_ai.output.messages"])
    assert answer["role"] == "assistant" and answer["finish_reason"] == "end_turn"
    assert answer["parts"][0]["type"] == "text" and len(answer["parts"][0]["content"]) > 100


def test_the_content_of_a_cut_tool_call_is_its_partial_input(capsys, collector) -> None:
    demo(capsys, collector, "drop_eof", "--otel-content")
    _, (attempt,) = session_and_attempts(collector.wait_for(2))
    (answer,) = json.loads(attempt.attributes["gen_ai.output.messages"])
    call = answer["parts"][-1]
    assert call["type"] == "tool_call" and call["name"] == "write_file" and call["id"].startswith("toolu_")
    assert isinstance(call["arguments"], str) and call["arguments"].startswith("{")
    assert answer["finish_reason"] == "eof"


def test_no_credential_is_ever_sent(capsys, collector, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    code = main(["run", "--scenario", "ok", *FAST, "--otlp", collector.url, "--otel-content",
                 "--request", str(request_with_secrets(collector))])
    capsys.readouterr()

    assert code == 0
    collector.wait_for(2)
    sent = b"".join(collector.raw)
    assert KEY.encode() not in sent and b"sk-ant-" not in sent
    assert b"x-api-key" not in sent.lower() and b"authorization" not in sent.lower()
    assert not any("header" in key for span in collector.spans for key in span.attributes)


def request_with_secrets(collector: Collector) -> Path:
    """A request whose prompt holds a key-shaped string, which the recording redacts before anything reads it."""
    path = Path(os.environ["STREAMWATCH_HOME"]).parent / "request.json"
    path.write_text(json.dumps({"model": MODEL, "max_tokens": 256, "messages": [
        {"role": "user", "content": "my key is sk-ant-api03-" + "z" * 40}]}))
    return path


def test_the_standard_variables_are_read_as_the_specification_says(capsys, collector, monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout-api")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=payments")

    code = main(["demo", "ok", *FAST])
    capsys.readouterr()

    assert code == 0
    assert collector.wait_for(2)[0].resource["service.name"] == "checkout-api"
    assert collector.headers[0]["x-team"] == "payments"


def test_endpoints() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}
    assert traces_endpoint(None, env) == "http://collector:4318/v1/traces"
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://tempo:4318/otlp/traces"
    assert traces_endpoint(None, env) == "http://tempo:4318/otlp/traces"
    assert traces_endpoint(None, {}) is None
    assert traces_endpoint("http://127.0.0.1:4318", {}) == "http://127.0.0.1:4318/v1/traces"
    assert traces_endpoint("http://127.0.0.1:4318/v1/traces", {}) == "http://127.0.0.1:4318/v1/traces"
    assert traces_endpoint("http://127.0.0.1:4318/?tenant=a", {}) == "http://127.0.0.1:4318/v1/traces?tenant=a"
    with pytest.raises(OtlpUnavailable, match=r"http:// or https:// URL \(OTLP/HTTP\), not 'ftp://x'$"):
        traces_endpoint("ftp://x", {})
    grpc = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    with pytest.raises(OtlpUnavailable, match="protocol asked for is grpc: streamwatch sends http/protobuf only"):
        traces_endpoint(None, grpc)
    assert traces_endpoint("http://collector:4318", grpc) == "http://collector:4318/v1/traces"


def free_port() -> int:
    """A loopback port nothing listens on: a collector that is not running."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_dead_collector_costs_one_warning_and_the_run_goes_on(home) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OTEL_"))}
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "streamwatch.cli", "demo", "ok", *FAST, "--otlp", f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, env=env | {"STREAMWATCH_HOME": str(home), "PYTHONPATH": str(ROOT)},
        timeout=120,
    )

    assert done.returncode == 0 and "COMPLETE end_turn" in done.stdout
    assert done.stderr.splitlines() == [
        f"streamwatch: warning: the OpenTelemetry collector at http://127.0.0.1:{port}/v1/traces did not take "
        "the spans (not running, or it refused them): streams are recorded as usual, spans are dropped"
    ]
    assert len(list((home / "sessions").iterdir())) == 1


def test_a_backfill_to_a_dead_collector_fails_in_one_line(capsys, home, collector) -> None:
    demo(capsys, collector, "ok")
    code = main(["export", "--format", "otlp", "latest", "--otlp", f"http://127.0.0.1:{free_port()}"])

    assert code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("streamwatch: error: the OpenTelemetry collector at http://127.0.0.1:")
    assert line.endswith("/v1/traces did not take the spans (not running, or it refused them)")


@pytest.fixture
def without_the_extra(monkeypatch):
    """The otel extra not installed: importing any opentelemetry module fails."""
    import opentelemetry.sdk.trace  # noqa: F401 (so every name below is in sys.modules to hide)

    for name in [name for name in sys.modules if name == "opentelemetry" or name.startswith("opentelemetry.")]:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("command", [
    ["demo", "ok", *FAST, "--otlp", "http://127.0.0.1:4318"],
    ["export", "--format", "otlp", "latest", "--otlp", "http://127.0.0.1:4318"],
])
def test_without_the_extra_asking_for_spans_says_what_to_install(capsys, without_the_extra, command) -> None:
    assert main(command) == 2
    assert capsys.readouterr().err == (
        "streamwatch: error: sending to OpenTelemetry needs the otel extra: pip install 'streamwatch[otel]'\n")


def test_without_the_extra_the_variable_alone_is_a_warning(capsys, without_the_extra, monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert main(["demo", "ok", *FAST]) == 0
    assert capsys.readouterr().err == (
        "streamwatch: warning: OTEL_EXPORTER_OTLP_ENDPOINT is set, but sending to OpenTelemetry needs the otel "
        "extra: pip install 'streamwatch[otel]'; running without sending spans\n")


@pytest.mark.parametrize(("command", "said"), [
    (["demo", "ok", "--otlp", "ftp://x"], "the OTLP endpoint must be an http:// or https:// URL"),
    (["demo", "ok", "--otel-content"], "--otel-content needs --otlp URL"),
    (["export", "--format", "otlp", "latest"], "--format otlp needs --otlp URL"),
    (["export", "--format", "sse", "a", "b"], "sse exports one session at a time"),
    (["export", "--format", "sse", "latest", "--otlp", "http://127.0.0.1:1"], "--otlp and --otel-content are for"),
])
def test_bad_options_are_one_line(capsys, command, said) -> None:
    assert main(command) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("streamwatch: error: ") and said in line


def test_a_backfilled_session_keeps_its_recorded_time_and_counts_cached_input(capsys, collector, tmp_path) -> None:
    start = s.event({"type": "message_start", "message": {
        "id": "msg_cached", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6-20261001",
        "content": [], "stop_reason": None,
        "usage": {"input_tokens": 4, "cache_read_input_tokens": 1800, "cache_creation_input_tokens": 120}}})
    path = sessions.write(tmp_path, "20261121-120000-live-0a1b2c3d.jsonl", "2026-11-21T12:00:00.000+00:00",
                          chunks=[start, *s.text_block(0, "Cached."), s.message_delta("end_turn", 9), s.message_stop()],
                          retry=True)

    assert main(["export", "--format", "otlp", str(path), "--otlp", collector.url]) == 0
    session, (first, second) = session_and_attempts(collector.wait_for(3))
    a = second.attributes
    assert a["gen_ai.usage.input_tokens"] == 4 + 1800 + 120
    assert a["gen_ai.usage.cache_read.input_tokens"] == 1800 and a["gen_ai.usage.cache_creation.input_tokens"] == 120
    assert a["gen_ai.response.model"] == "claude-sonnet-4-6-20261001" and a["gen_ai.response.id"] == "msg_cached"
    assert a["server.address"] == "api.anthropic.com" and a["server.port"] == 443
    assert first.attributes["http.response.status_code"] == 529 and first.attributes["error.type"] == "overloaded_error"
    assert "gen_ai.usage.input_tokens" not in first.attributes  # an HTTP error generated nothing
    noon = 1795262400 * 10**9  # 2026-11-21T12:00:00Z
    assert session.start == first.start == noon and first.end == noon + 220_000_000
    assert second.start == noon + 10**9 and second.links[0][1] == first.span_id
    assert session.end == second.end


def test_an_answer_asked_for_whole_is_a_complete_span_as_analyze_says(capsys, collector, tmp_path) -> None:
    message = {"id": "msg_whole", "type": "message", "role": "assistant", "model": MODEL,
               "content": [{"type": "text", "text": "A whole answer."}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 9, "output_tokens": 4}}
    path = sessions.write(tmp_path, "20261121-120000-proxy-0a1b2c3d.jsonl", "2026-11-21T12:00:00.000+00:00",
                          chunks=[json.dumps(message).encode()], content_type="application/json")
    assert main(["analyze", "--json", str(path)]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert (verdict["termination"], verdict["complete"]) == ("answered", True)

    assert main(["export", "--format", "otlp", str(path), "--otlp", collector.url]) == 0
    session, (attempt,) = session_and_attempts(collector.wait_for(2))
    assert attempt.attributes["streamwatch.termination"] == "answered" and attempt.attributes["streamwatch.complete"]
    assert "error.type" not in attempt.attributes and (session.status, attempt.status) == ("UNSET", "UNSET")
    (end,) = attempt.events_named("streamwatch.end")
    assert end["streamwatch.termination"] == "answered"


def test_a_retry_pressed_after_recovery_stopped_starts_a_session_span_linked_to_the_first(collector) -> None:
    from streamwatch.core.live import request_body
    from streamwatch.core.recovery import Recovery
    from streamwatch.export.otlp import Exporter
    from streamwatch.mock import MockServer
    from streamwatch.protocol import SCENARIO_HEADER, TOOL_BYTES_HEADER

    exporter = Exporter(traces_endpoint(collector.url))
    with MockServer(time_scale=0.05) as server:
        recovery = Recovery(request_body(prompt=PROMPT), hooks=[exporter.hook(source="live")], save=False,
                            base_url=server.base_url, headers={SCENARIO_HEADER: "drop_eof", TOOL_BYTES_HEADER: "2000"},
                            stall_threshold=5.0)
        recovery.run()
        recovery.retry()
    exporter.close()

    spans = collector.wait_for(4)
    first, later = sorted((span for span in spans if not span.parent), key=lambda span: span.start)
    (broken,) = [span for span in spans if span.parent == first.span_id]
    (retried,) = [span for span in spans if span.parent == later.span_id]
    assert later.links == [(first.trace_id, first.span_id, {"streamwatch.link.reason": "continued"})]
    assert retried.links == [(broken.trace_id, broken.span_id, {"streamwatch.link.reason": "retry"})]
    assert first.status == broken.status == "ERROR" and later.status == retried.status == "UNSET"
    assert later.attributes["streamwatch.session.attempts"] == 2


SCREEN_UP = """
import sys
from streamwatch.core.playback import replay_attempts
from streamwatch.core.recording import load_session
from streamwatch.export.otlp import Exporter
exporter = Exporter(sys.argv[2])
replay_attempts(load_session(sys.argv[1]), 5.0, [exporter.hook(source="live")])
exporter.flush()
exporter.close()
sys.stdout.write(f"{exporter.sent} {exporter.lost} {exporter.warning}")
"""


def test_a_dead_collector_writes_nothing_on_the_terminal_while_a_screen_may_be_up(tmp_path) -> None:
    """With a screen up, the warning waits in `warning` (said once the screen closes) and the SDK's own
    log lines and tracebacks reach neither stream (a process of its own: pytest would catch the logs)."""
    path = sessions.write(tmp_path, "20261121-120000-live-0a1b2c3d.jsonl", "2026-11-21T12:00:00.000+00:00")
    done = subprocess.run(
        [sys.executable, "-c", SCREEN_UP, str(path), f"http://127.0.0.1:{free_port()}/v1/traces"],
        capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(ROOT)}, timeout=120,
    )

    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("0 2 the OpenTelemetry collector at http://127.0.0.1:")


def test_a_collector_that_refuses_the_spans_costs_one_warning(capsys, collector) -> None:
    code, err = demo(capsys, collector, "ok", "--otlp", f"{collector.url}/elsewhere/v1/traces")  # answered 404

    assert code == 0 and collector.spans == []
    assert err.splitlines() == [
        f"streamwatch: warning: the OpenTelemetry collector at {collector.url}/elsewhere/v1/traces did not take the "
        "spans (not running, or it refused them): streams are recorded as usual, spans are dropped"
    ]
