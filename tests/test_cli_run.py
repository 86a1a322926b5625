"""`streamwatch run`, `demo` and `mock` against the mock server, in-process and as real processes."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

import streamwatch.core.resume
from streamwatch.cli import main
from streamwatch.core.live import LiveRun, request_body
from streamwatch.core.recording import load_session
from streamwatch.mock import SCENARIOS, MockServer
from tests import streams
from tests.stub import Canned, StubServer

TIME_SCALE = 0.05
"""Scenario durations shrink twentyfold: the 8 s stall lasts 0.4 s, pings come every 0.15 s."""
THRESHOLD = "0.2"
KEY = "swtest-cli-key-Zr8Kq3LmW5"
"""Distinctive, and unlike `sk-ant-...`, so only the run's own redaction can keep it off disk."""
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():
    with MockServer(time_scale=TIME_SCALE) as running:
        yield running


pytestmark = pytest.mark.usefixtures("home")  # a data folder of each test's own (tests/conftest.py)


def clean_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    return env | {"STREAMWATCH_HOME": str(home), "PYTHONPATH": str(ROOT)}


def headless_run(home, server, *args):
    """`streamwatch run --headless ARGS` against `server` in a process of its own, its output dropped."""
    return subprocess.Popen(
        [sys.executable, "-m", "streamwatch.cli", "run", "--headless", "--base-url", server.base_url, *args],
        env=clean_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, server, scenario, *extra):
    prompt = () if "--request" in extra else ("--prompt", f"cli test {scenario}")
    code, out, err = run_cli(
        capsys, "run", "--headless", "--json", "--base-url", server.base_url, "--scenario", scenario,
        "--stall-threshold", THRESHOLD, *prompt, *extra,
    )
    assert out.count("\n") == 1, out
    return code, json.loads(out), err


def sessions(home):
    folder = home / "sessions"
    return sorted(folder.iterdir()) if folder.exists() else []


def block(verdict, kind):
    return next(b for b in verdict["blocks"] if b["type"] == kind)


def check_ok(v):
    assert v["complete"] and v["termination"] == "message_stop" and v["stop_reason"] == "end_turn"
    assert v["error"] is None and len(v["text"].split()) >= 300
    assert [a for a in v["anomalies"] if a["code"] != "stall"] == [], "only a loaded machine could add a stall"


def check_tool_big(v):
    assert v["complete"] and v["stop_reason"] == "tool_use"
    assert block(v, "tool_use")["json_valid"] is True


def check_thinking(v):
    assert v["complete"] and [b["type"] for b in v["blocks"]] == ["thinking", "text"]


def check_stall(v):
    assert v["complete"] and v["stop_reason"] == "end_turn"
    # The scenario's stall is the longest (a loaded machine may pause the stream past the threshold too).
    stall = max(v["stalls"], key=lambda s: s["seconds"])
    assert stall["pings"] == 0 and stall["after_event"] > 3 and stall["seconds"] >= 8 * TIME_SCALE * 0.9


def check_pinged_wait(seconds):
    def check(v):
        assert v["complete"]
        longest = max(v["stalls"], key=lambda s: s["seconds"])  # a loaded machine may add a wait before the head
        assert longest["after_event"] == 1 and longest["pings"] >= 2 and longest["seconds"] >= seconds * TIME_SCALE * 0.9

    return check


def check_buffered(v):
    """That the first byte came with the last is checked where the hold is long beside the client's own work on
    the burst (the burst test): here a loaded machine would blur it."""
    assert v["complete"]
    assert v["timing"]["ttfb"] >= 100 * 0.03 * TIME_SCALE, "the first byte waited for the whole answer"
    assert "burst" not in [a["code"] for a in v["anomalies"]], "a burst needs 1 s of silence before it"


def check_drop_eof(v):
    assert not v["complete"] and v["termination"] == "eof" and v["stop_reason"] is None
    tool = block(v, "tool_use")
    assert tool["complete"] is False and tool["json_valid"] is False
    assert v["sdk"]["raised"] is None and v["sdk"]["silent"] is True
    assert v["sdk"]["seen"].startswith("no exception, stop_reason=None")


def check_drop_abrupt(v):
    assert v["termination"] == "transport_error"
    assert v["error"]["type"] == "httpx2.RemoteProtocolError" and "incomplete chunked read" in v["error"]["message"]
    assert v["sdk"]["raised"].startswith("httpx2.RemoteProtocolError") and not v["sdk"]["silent"]


def check_error_event(error_type):
    def check(v):
        assert v["termination"] == "error_event" and v["error"]["type"] == error_type
        assert v["sdk"]["raised"].startswith("anthropic.APIStatusError")

    return check


def check_http(status, error_type, exception):
    def check(v):
        assert v["termination"] == "http_error" and v["http_status"] == status
        assert v["error"]["type"] == error_type and v["event_count"] == 0
        assert v["sdk"]["raised"].startswith(f"anthropic.{exception}: Error code: {status}")

    return check


def check_max_tokens(v):
    assert v["complete"] and v["stop_reason"] == "max_tokens"


EXPECTED = {
    "ok": check_ok,
    "tool_big": check_tool_big,
    "thinking": check_thinking,
    "max_tokens": check_max_tokens,
    "stall": check_stall,
    "slow_first_token": check_pinged_wait(6),
    "keepalive_only": check_pinged_wait(20),
    "buffered": check_buffered,
    "drop_eof": check_drop_eof,
    "drop_abrupt": check_drop_abrupt,
    "error_overloaded": check_error_event("overloaded_error"),
    "error_stream": check_error_event("api_error"),
    "http_529": check_http(529, "overloaded_error", "OverloadedError"),
    "http_429": check_http(429, "rate_limit_error", "RateLimitError"),
}


def test_every_scenario_is_covered():
    assert set(EXPECTED) == set(SCENARIOS)


@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_run_json_verdict_per_scenario(capsys, server, home, scenario):
    extra = ("--max-tokens", "40") if scenario == "max_tokens" else ()
    code, verdict, err = run_json(capsys, server, scenario, *extra)
    EXPECTED[scenario](verdict)
    assert code == (0 if verdict["complete"] else 1) and err == ""
    [path] = sessions(home)
    assert verdict["session"] == str(path)
    assert load_session(path).header["source"] == "live"


def test_buffered_stream_arrives_as_a_burst_when_the_silence_is_long_enough(capsys):
    with MockServer(time_scale=0.3) as slow:
        code, verdict, _ = run_json(capsys, slow, "buffered")
    assert code == 0 and verdict["complete"]
    assert verdict["timing"]["ttfb"] >= 0.9 * verdict["timing"]["duration"], "the first byte came with the last"
    burst = [a for a in verdict["anomalies"] if a["code"] == "burst"]
    assert len(burst) == 1 and "buffering proxy" in burst[0]["message"]


@pytest.mark.parametrize("scenario", ["drop_eof", "keepalive_only"])
def test_analyze_of_the_saved_session_gives_the_same_verdict(capsys, server, home, scenario):
    _, live_verdict, _ = run_json(capsys, server, scenario)
    code, out, _ = run_cli(capsys, "analyze", "--json", "--stall-threshold", THRESHOLD, live_verdict["session"])
    assert code == (0 if live_verdict["complete"] else 1)
    assert json.loads(out) == live_verdict


def test_headless_output_shows_events_stalls_and_the_sdk_outcome(capsys, home):
    with MockServer(time_scale=0.2) as slow:  # a 1.6 s stall: the live note has 1.1 s to show, even under load
        code, out, err = run_cli(
            capsys, "run", "--headless", "--base-url", slow.base_url, "--scenario", "stall", "--stall-threshold", "0.5"
        )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("streamwatch run: claude-sonnet-4-6 (scenario stall) · POST http://127.0.0.1:")
    assert lines[1].startswith("HTTP 200 · request-id req_")
    assert re.match(r"#1 +\d+\.\d{3}s? +\+\d+\.\d{3} +message_start", lines[2])
    stalled = [line for line in lines if line.endswith("!! STALL")]
    assert len(stalled) == 1 and " content_block_delta " in stalled[0]
    assert any(line.startswith("  .. STALLED ") for line in lines), "no live note while the stall went on"
    assert "Verdict: COMPLETE end_turn" in out
    assert "Your code would have seen: no exception, " in out
    assert f"Session: {sessions(home)[0]}" in out


def test_headless_output_calls_out_the_sdks_silence(capsys, server):
    code, out, _ = run_cli(capsys, "run", "--headless", "--base-url", server.base_url, "--scenario", "drop_eof")
    assert code == 1
    assert "Verdict: ABNORMAL eof" in out
    assert "!! Your code would have seen: no exception, stop_reason=None" in out


def test_api_key_is_sent_but_appears_nowhere_under_streamwatch_home(capsys, monkeypatch, server, home):
    seen = []
    original = httpx2.HTTPTransport.handle_request

    def spy(transport, request):
        seen.append(request.headers.get("authorization"))
        return original(transport, request)

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", spy)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    for scenario in ("ok", "drop_abrupt", "http_529"):
        code, out, err = run_cli(
            capsys, "run", "--headless", "--base-url", server.base_url, "--scenario", scenario, "--stall-threshold", "1"
        )
        assert KEY not in out + err
    assert seen == [f"Bearer {KEY}"] * 3
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {p.name for p in files} - {p.name for p in sessions(home)} == {"index.sqlite3"}
    for path in files:
        assert KEY.encode() not in path.read_bytes()
    for path in sessions(home):
        assert load_session(path).header["request"]["headers"]["authorization"] == "[redacted]"
    assert len(sessions(home)) == 3


def test_missing_key_for_a_remote_target_is_one_line_and_sends_nothing(capsys, monkeypatch, home):
    def no_network(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", no_network)
    for extra in ((), ("--base-url", "https://llm-gateway.example.com")):
        code, out, err = run_cli(capsys, "run", "--headless", *extra)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith("streamwatch: error: no API key")
        assert "ANTHROPIC_API_KEY" in err and "streamwatch demo" in err
    assert sessions(home) == []


def test_no_save_writes_nothing(capsys, server, home):
    code, verdict, _ = run_json(capsys, server, "ok", "--no-save")
    assert code == 0 and verdict["session"] is None
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))


@pytest.mark.parametrize("command", [("run", "--headless", "--scenario", "ok"), ("demo", "ok", "--json")])
def test_a_session_folder_that_cannot_be_made_is_one_line_before_anything_is_sent(capsys, tmp_path, monkeypatch,
                                                                                   command):
    in_the_way = tmp_path / "not-a-folder"
    in_the_way.write_text("a file where the sessions should go")
    monkeypatch.setenv("STREAMWATCH_HOME", str(in_the_way))
    code, out, err = run_cli(capsys, *command)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"streamwatch: error: cannot save sessions under {in_the_way}: {in_the_way}: ")
    assert "--no-save" in err


def test_request_file_is_sent_as_written(capsys, server, home, tmp_path):
    path = tmp_path / "request.json"
    tools = [{"name": "write_file", "description": "Write a file", "input_schema": {"type": "object"}}]
    body = {"model": "claude-opus-4-7", "max_tokens": 2000, "tools": tools,
            "messages": [{"role": "user", "content": "Write the notes file."}]}
    path.write_text(json.dumps(body))
    code, verdict, _ = run_json(capsys, server, "tool_big", "--request", path)
    assert code == 0 and verdict["stop_reason"] == "tool_use"
    sent = load_session(Path(verdict["session"])).header["request"]["body"]
    assert sent == body | {"stream": True}


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("{not json", "is not valid JSON"), ('{"messages": "hi"}', "no `messages` list")],
)
def test_bad_request_file_is_one_line_exit_2(capsys, tmp_path, content, message):
    path = tmp_path / "request.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run_cli(capsys, "run", "--headless", "--request", path)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--prompt", ""], "the prompt is empty"),
    (["--prompt", " \n "], "the prompt is empty"),
    (["--model", ""], "the model name is empty"),
    (["--stall-threshold", "1e999"], "at most 86400 (a day)"),
])
def test_an_empty_prompt_or_model_or_an_endless_threshold_is_one_line_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) if argv[0] == "--stall-threshold" else contextlib.nullcontext() as exited:
        code = main(["run", "--headless", "--scenario", "ok", *argv])
    out, err = capsys.readouterr()
    assert (exited.value.code if exited else code) == 2
    assert out == "" and err.count("\n") == 1 and message in err


def test_a_request_file_asking_for_no_stream_is_streamed_and_says_so(capsys, server, home, tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"model": "claude-opus-4-7", "max_tokens": 100, "stream": False,
                                "messages": [{"role": "user", "content": "Hi."}]}))
    code, verdict, err = run_json(capsys, server, "ok", "--request", path)
    assert code == 0 and verdict["complete"]
    assert err == f'streamwatch: note: {path} asks for "stream": false; it is streamed: streamwatch watches streams\n'


def test_prompt_and_request_are_exclusive(capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        main(["run", "--prompt", "a", "--request", str(tmp_path / "x.json")])
    assert exited.value.code == 2


def test_run_with_a_scenario_and_no_base_url_uses_the_built_in_mock(capsys, home):
    code, out, _ = run_cli(capsys, "run", "--headless", "--json", "--scenario", "drop_abrupt", "--time-scale", "0.01")
    verdict = json.loads(out)
    assert code == 1 and verdict["termination"] == "transport_error"
    [path] = sessions(home)
    assert load_session(path).header["source"] == "demo" and "-demo-" in path.name


def test_demo_tour_plays_a_normal_stream_then_the_seed_failure(capsys, home):
    code, out, err = run_cli(capsys, "demo", "--time-scale", "0.01")
    assert code == 0 and err == ""
    first, second = out.split("== 2/2 drop_eof")
    assert first.startswith("== 1/2 ok") and "Verdict: COMPLETE end_turn" in first
    assert "Verdict: ABNORMAL eof" in second and "!! Your code would have seen: no exception" in second
    assert [load_session(p).header["source"] for p in sessions(home)] == ["demo", "demo"]


def test_demo_of_one_scenario_exits_as_run(capsys):
    code, out, _ = run_cli(capsys, "demo", "error_overloaded", "--headless", "--time-scale", "0.01")
    assert code == 1 and "Verdict: ABNORMAL error_event (overloaded_error)" in out


def test_demo_unknown_scenario_lists_the_valid_ones(capsys, home):
    code, out, err = run_cli(capsys, "demo", "drop_everything")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "unknown scenario 'drop_everything'" in err and all(name in err for name in SCENARIOS)
    assert sessions(home) == []


def test_mock_refuses_a_port_in_use(capsys):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        code, out, err = run_cli(capsys, "mock", "--port", busy.getsockname()[1])
    assert code == 2 and err.count("\n") == 1 and "cannot listen on 127.0.0.1:" in err


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_mock_command_serves_the_mock_and_names_the_port_it_got(capsys, home):
    process = subprocess.Popen(
        [sys.executable, "-m", "streamwatch.cli", "mock", "--port", "0", "--time-scale", "0.01"],
        env=clean_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        announcement = process.stderr.readline()
        url = re.search(r"serving the mock Messages API on (http://127\.0\.0\.1:(\d+))", announcement)
        assert url and url[2] != "0", announcement
        code, out, _ = run_cli(capsys, "run", "--headless", "--json", "--base-url", url[1], "--scenario", "http_429")
        assert code == 1 and json.loads(out)["http_status"] == 429
    finally:
        process.terminate()
        process.communicate(timeout=10)


def chunk_lines(path):
    return path.read_bytes().count(b',"chunk",')


def default_sigint():
    """In the child before exec: a shell may have started the tests with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


IDS = re.compile(rb"(msg|req|toolu)_mock_[0-9a-f]+")


def test_sigkill_mid_stream_leaves_every_received_chunk_on_disk(home):
    """The issue's requirement: kill a recording process with SIGKILL and load its file with every chunk."""
    with MockServer(time_scale=0.3) as server:  # 20 chunks in 0.4 s, the other 118 in 1 s more
        process = headless_run(home, server, "--scenario", "ok", "--prompt", "sigkill")
        try:
            wait_for(lambda: sessions(home) and chunk_lines(sessions(home)[0]) >= 20)
            process.kill()
            assert process.wait(10) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
        reference = LiveRun(
            request_body(prompt="sigkill"), base_url=server.base_url, save=False,
            headers={"x-streamwatch-scenario": "ok", "x-streamwatch-time-scale": "0.01"},
        ).run()
    [path] = sessions(home)
    session = load_session(path)
    assert all("truncated" in line for line in session.skipped) and len(session.skipped) <= 1
    recording = session.latest
    assert recording.status == 200 and recording.ending is None
    received = b"".join(data for _, data in recording.chunks)
    full = b"".join(data for _, data in reference.recording.chunks)
    assert 20 <= len(recording.chunks) and len(received) < len(full)
    assert IDS.sub(b"ID", full).startswith(IDS.sub(b"ID", received))
    code = main(["analyze", "--json", str(path)])
    assert code == 1


def test_ctrl_c_records_the_cancel_and_exits_130(home):
    with MockServer(time_scale=0.5) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamwatch.cli", "run", "--headless", "--base-url", server.base_url,
             "--scenario", "keepalive_only"],
            env=clean_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
        )
        try:
            wait_for(lambda: sessions(home) and chunk_lines(sessions(home)[0]) >= 2)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 130 and err == ""
    assert "Verdict: ABNORMAL cancelled" in out and "Your code would have seen: nothing more: you cancelled" in out
    [path] = sessions(home)
    session = load_session(path)
    assert session.skipped == [] and session.latest.ending["kind"] == "cancelled"


# ----- recovery: --on-failure, --max-attempts, --resume-strategy -------------------------------------

MODEL_FOR = {"prefill": "claude-sonnet-4-5", "user-turn": "claude-sonnet-4-6"}
CLEAN_FOR = {"drop_eof": "tool_big"}
"""The scenario that plays the same answer as a fault, without the fault (default: ok)."""
FIRST_ENDING = {
    "drop_eof": "eof", "drop_abrupt": "transport_error", "error_overloaded": "error_event",
    "error_stream": "error_event",
}
RECOVERY_FIELDS = {"number", "reason", "strategy", "replaces", "dropped", "waited", "repaid"}
deprecated_model = pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated")


@pytest.fixture(scope="module")
def fast():
    with MockServer(time_scale=0.02) as running:
        yield running


@pytest.fixture
def quick_backoff(monkeypatch):
    """Backoff waits of at most 10 ms, 20 ms, ...: a server's retry-after is still honoured in full."""
    monkeypatch.setattr(streamwatch.core.resume, "BACKOFF_BASE", 0.01)


def recover(capsys, base_url, scenario, prompt, *extra):
    code, out, err = run_cli(
        capsys, "run", "--headless", "--json", "--base-url", base_url, "--scenario", scenario,
        "--stall-threshold", THRESHOLD, "--prompt", prompt, *extra,
    )
    assert out.count("\n") == 1, out
    return code, json.loads(out), err


def clean_text(server, prompt, model, scenario="ok"):
    """The uninterrupted answer to the same request (played at once: time scale 0)."""
    headers = {"x-streamwatch-scenario": scenario, "x-streamwatch-time-scale": "0"}
    body = request_body(prompt=prompt, model=model)
    result = LiveRun(body, base_url=server.base_url, headers=headers, save=False).run()
    assert result.verdict.complete
    return result.verdict.text


@deprecated_model
@pytest.mark.parametrize("strategy", ["prefill", "user-turn"])
@pytest.mark.parametrize("scenario", ["drop_eof", "drop_abrupt", "error_overloaded", "error_stream"])
def test_resume_gives_exactly_the_uninterrupted_answer(capsys, fast, home, quick_backoff, scenario, strategy):
    prompt, model = f"recover {scenario} {strategy}", MODEL_FOR[strategy]
    code, v, err = recover(
        capsys, fast.base_url, scenario, prompt,
        "--on-failure", "resume", "--resume-strategy", strategy, "--model", model,
    )
    assert code == 0 and err == "" and v["complete"] and v["stopped"] is None
    assert v["text"] == clean_text(fast, prompt, model, CLEAN_FOR.get(scenario, "ok"))
    first, second = v["attempts"]
    assert first["reason"] == "first" and first["termination"] == FIRST_ENDING[scenario]
    assert (second["reason"], second["strategy"], second["replaces"]) == ("resume", strategy, 1)
    assert v["text"].startswith(first["text"]) and (v["text"] == first["text"]) == (scenario == "drop_eof")
    assert v["seams"] == [len(first["text"].rstrip())], "drop_eof's continuation is only the tool call, still a seam"
    [path] = sessions(home)
    assert [a.link.get("strategy") for a in load_session(path).attempts] == [None, strategy]


def test_auto_resumes_a_4_6_model_with_a_user_turn_at_once(capsys, fast, quick_backoff):
    prompt = "recover auto 4.6"
    code, v, _ = recover(capsys, fast.base_url, "drop_abrupt", prompt, "--on-failure", "resume")
    assert code == 0 and [a["strategy"] for a in v["attempts"]] == [None, "user-turn"]
    assert v["text"] == clean_text(fast, prompt, "claude-sonnet-4-6")


def test_auto_falls_back_to_a_user_turn_when_prefill_is_refused(capsys, fast, home, monkeypatch, quick_backoff):
    """A model auto takes for one that accepts prefill (an alias, a gateway's name) refuses it: HTTP 400."""
    monkeypatch.setattr(streamwatch.core.resume, "prefill_supported", lambda model: True)
    prompt = "recover refused prefill"
    code, v, _ = recover(capsys, fast.base_url, "error_overloaded", prompt, "--on-failure", "resume")
    assert code == 0 and v["complete"]
    first, refused, fallback = v["attempts"]
    assert (refused["strategy"], refused["http_status"], refused["error"]["type"]) == (
        "prefill", 400, "invalid_request_error")
    assert refused["repaid"]["input_tokens"] == 0
    assert (fallback["reason"], fallback["strategy"], fallback["replaces"]) == ("resume", "user-turn", 2)
    assert v["text"] == clean_text(fast, prompt, "claude-sonnet-4-6")
    assert v["seams"] == [len(first["text"].rstrip())]

    code, out, _ = run_cli(capsys, "analyze", "--json", "--stall-threshold", THRESHOLD, v["session"])
    analyzed = json.loads(out)
    assert code == 0 and len(load_session(Path(v["session"])).attempts) == 3
    for key in ("complete", "termination", "stop_reason", "event_count", "blocks", "usage", "error"):
        assert analyzed[key] == fallback[key], key
    assert (analyzed["text"], analyzed["seams"]) == (v["text"], v["seams"])
    assert [(a["strategy"], a["termination"]) for a in analyzed["attempts"]] == [
        (a["strategy"], a["termination"]) for a in v["attempts"]]


def test_http_529_is_retried_after_the_servers_retry_after(capsys, server):
    code, v, _ = recover(capsys, server.base_url, "http_529", "recover 529", "--on-failure", "retry")
    first, second = v["attempts"]
    assert code == 0 and v["complete"] and first["http_status"] == 529
    assert second["reason"] == "retry" and second["waited"] >= 1.0 * TIME_SCALE
    assert v["seams"] == [] and v["text"] == second["text"]


@deprecated_model
def test_headless_recovery_shows_each_attempt_what_was_dropped_and_the_wait(capsys, fast, quick_backoff):
    code, out, err = run_cli(
        capsys, "run", "--headless", "--base-url", fast.base_url, "--scenario", "drop_eof",
        "--prompt", "recover headless", "--model", "claude-sonnet-4-5", "--on-failure", "resume",
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert sum(line.startswith("streamwatch run: claude-sonnet-4-5 (scenario drop_eof)") for line in lines) == 2
    first = r"  => attempt 1 \(first\): ABNORMAL eof · died inside tool_use `write_file`"
    assert any(re.match(first, line) for line in lines)
    header = lines.index("== attempt 2/3: resume (prefill), replacing attempt 1")
    assert re.match(r"   continues the \d+ characters of answer so far, as prefill$", lines[header + 1])
    assert lines[header + 2].startswith("   dropped: tool_use `write_file` (block 1): cut off after ")
    assert re.match(r"  \.\. waiting 0\.\d\d s before attempt 2: backoff with jitter$", lines[header + 3])
    assert sum(" .. " in line for line in lines) == 1, "one line for a short wait"
    assert "Summary of attempt 2: claude-sonnet-4-5 (scenario drop_eof)" in out
    assert "Verdict: COMPLETE tool_use" in out and "\nAttempts\n" in out
    assert re.search(r"\nAnswer: (\d+) characters: attempt 1, then attempt 2 from character \1\n", out)


TOOL_CALL_THEN_EOF = [
    streams.message_start(),
    *streams.text_block(0, "Writing the file now."),
    *streams.tool_block(1, "write_file", {"path": "notes.md", "content": "hello"}),
]


@pytest.mark.parametrize("json_output", [False, True])
def test_no_automatic_recovery_after_a_complete_tool_call(capsys, json_output):
    with StubServer([Canned(chunks=TOOL_CALL_THEN_EOF)]) as stub:
        code, out, err = run_cli(
            capsys, "run", "--headless", "--base-url", stub.base_url, "--on-failure", "resume",
            *(("--json",) if json_output else ()),
        )
        assert stub.requests == 1
    assert code == 1
    why = "attempt 1 broke after a complete tool call (`write_file`): your application may already have run it"
    if json_output:
        verdict = json.loads(out)
        assert verdict["stopped"].startswith(why) and len(verdict["attempts"]) == 1
        assert err.count("\n") == 1 and err.startswith(f"streamwatch: recovery stopped: {why}")
    else:
        assert f"  !! {why}" in out and f"Recovery stopped: {why}" in out and err == ""


def test_max_attempts_bounds_the_attempts(capsys, fast, home, quick_backoff):
    code, v, err = recover(
        capsys, fast.base_url, "drop_abrupt", "recover max", "--on-failure", "retry", "--max-attempts", "2",
        "--fail-always",
    )
    assert code == 1 and not v["complete"]
    assert [a["termination"] for a in v["attempts"]] == ["transport_error", "transport_error"]
    assert v["stopped"] == "no complete answer after 2 attempts, the most allowed"
    assert err == f"streamwatch: recovery stopped: {v['stopped']}\n"
    [path] = sessions(home)
    assert len(load_session(path).attempts) == 2
    code, out, _ = run_cli(capsys, "analyze", str(path))
    assert code == 1 and f"Recovery stopped: {v['stopped']}" in out


def test_on_failure_with_a_complete_answer_keeps_a_list_of_one_attempt(capsys, fast):
    code, v, _ = recover(capsys, fast.base_url, "ok", "recover nothing", "--on-failure", "resume")
    assert code == 0 and len(v["attempts"]) == 1 and v["seams"] == [] and v["stopped"] is None
    assert {k: a for k, a in v["attempts"][0].items() if k not in RECOVERY_FIELDS} == {
        k: a for k, a in v.items() if k not in ("attempts", "seams", "stopped")}
    _, plain, _ = run_json(capsys, fast, "ok")
    assert not {"attempts", "seams", "stopped"} & set(plain)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--max-attempts", "2"), "--max-attempts needs --on-failure retry or resume"),
        (("--on-failure", "retry", "--resume-strategy", "prefill"), "--resume-strategy needs --on-failure resume"),
    ],
)
def test_recovery_options_without_their_on_failure_are_one_line_exit_2(capsys, home, args, message):
    code, out, err = run_cli(capsys, "demo", "ok", *args)
    assert code == 2 and out == "" and err == f"streamwatch: error: {message}\n"
    assert sessions(home) == []


def test_a_view_that_breaks_is_one_warning_and_the_run_is_still_recorded(capsys, server, home, monkeypatch):
    from streamwatch.headless import HeadlessView

    def broken(self, state, events):
        raise RuntimeError("view bug")

    monkeypatch.setattr(HeadlessView, "on_events", broken)
    code, out, err = run_cli(capsys, "run", "--headless", "--base-url", server.base_url, "--scenario", "ok")
    assert code == 0
    assert err == "streamwatch: warning: a view stopped: HeadlessView.on_events raised RuntimeError: view bug; dropped\n"
    assert load_session(sessions(home)[0]).latest.ending["kind"] == "eof"


@pytest.mark.parametrize(("url", "named"), [
    ("http://[::1", "(malformed address: no closing ']' after the IPv6 address)"),
    ("http://[::1]x/", "(malformed address: 'x' after the IPv6 address is not a :port)"),
    ("http://[zz]/", "(malformed address: '[zz]' is not an IPv6 address)"),
    ("http://h:abc/", "(malformed port: 'abc' is not a number)"),
    ("http://h:1:2/", "(malformed port: '1:2' is not a number)"),
    ("http://[::1]:99999/", "(port out of range: 99999 is not from 1 to 65535)"),
    ("http://a b/", "(malformed host name: it holds ' ')"),
])
@pytest.mark.parametrize("given", ["--base-url", "ANTHROPIC_BASE_URL"])
def test_a_malformed_base_url_is_named_for_what_is_wrong_with_it_in_one_line(capsys, home, monkeypatch, url, named, given):
    if given == "ANTHROPIC_BASE_URL":
        monkeypatch.setenv(given, url)
    code, out, err = run_cli(capsys, "run", "--headless", *(["--base-url", url] if given == "--base-url" else []))
    assert code == 2 and out == ""
    assert err == f"streamwatch: error: not a usable base URL {named}: {url}\n"
    assert sessions(home) == []


@pytest.mark.parametrize("url", ["http://a..b/", f"http://{'a' * 64}.example/", f"https://{'abc.' * 70}example/"])
def test_a_host_name_no_resolver_takes_is_bad_input_not_a_network_failure(capsys, home, url):
    code, out, err = run_cli(capsys, "run", "--headless", "--base-url", url)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("streamwatch: error: not a usable base URL (") and "host name" in err
    assert sessions(home) == []


@pytest.mark.parametrize("timeout", ["1e-300", "0.001", "inf", "nan", "1e9"])
def test_a_timeout_no_request_could_meet_is_refused_before_sending(capsys, home, timeout):
    with pytest.raises(SystemExit) as exited:
        main(["run", "--headless", "--scenario", "ok", "--timeout", timeout])
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert "argument --timeout: must be from 0.01 to 86400 seconds" in err and err.count("\n") == 1
    assert sessions(home) == []


@pytest.mark.parametrize("command", [["demo"], ["demo", "ok"], ["run", "--scenario", "ok"]])
def test_a_stream_stopped_on_the_run_screen_exits_130_as_ctrl_c_does(command, home, monkeypatch):
    """The run screen's stop (q twice) cancels the stream: the same 130 as Ctrl-C without the screen,
    and a demo tour left in its first stream does not say it went well."""
    import streamwatch.cli
    import streamwatch.tui.launch

    def stop_while_streaming(feed, theme, telemetry):
        worker = threading.Thread(target=feed.live.run)
        worker.start()
        wait_for(lambda: sessions(home) and chunk_lines(sessions(home)[0]) >= 2)
        feed.live.cancel()
        worker.join()
        return 0

    monkeypatch.setattr(streamwatch.cli, "_wants_tui", lambda args: True)
    monkeypatch.setattr(streamwatch.tui.launch, "run_app", stop_while_streaming)
    assert main([*command, "--time-scale", "20"]) == 130
    [path] = sessions(home)
    assert load_session(path).latest.ending["kind"] == "cancelled"


def test_time_scale_paces_a_scenario_on_a_mock_of_your_own_and_means_nothing_without_one(capsys, server, home):
    """It was dropped without a word with --base-url: the mock played at its own pace."""
    code, verdict, _ = run_json(capsys, server, "ok", "--time-scale", "0.5")
    assert code == 0
    sent = load_session(Path(verdict["session"])).header["request"]["headers"]
    assert sent["x-streamwatch-time-scale"] == "0.5"
    code, out, err = run_cli(capsys, "run", "--headless", "--base-url", server.base_url, "--time-scale", "0.5")
    assert (code, out) == (2, "") and err == "streamwatch: error: --time-scale paces the mock's scenarios: it needs --scenario\n"
