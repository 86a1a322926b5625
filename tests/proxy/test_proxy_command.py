"""`streamwatch proxy` as a user runs it: the line to paste, one line (or JSON object) per finished
flow, a loud warning off loopback, Ctrl-C that records the open streams, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import httpx2
import pytest

from streamwatch.cli import main
from streamwatch.core.recording import load_session

FAST = {"x-streamwatch-time-scale": "0.01"}


def stream(base_url: str, model: str, headers: dict[str, str] | None = None) -> str:
    with anthropic.Anthropic(base_url=base_url, api_key="sk-ant-api03-" + "q" * 40, max_retries=0) as client:
        with client.messages.stream(model=model, max_tokens=4096, messages=[{"role": "user", "content": "hi"}],
                                    extra_headers=headers or FAST) as events:
            return events.get_final_text()


def test_headless_prints_a_line_per_flow_and_ctrl_c_records_the_open_stream(run_proxy, tmp_path) -> None:
    proxy = run_proxy("--upstream", "mock")
    assert proxy.said[0].startswith("streamwatch proxy: listening on http://127.0.0.1:")
    assert proxy.base_url.startswith("http://127.0.0.1:")

    stream(proxy.base_url, "mock-ok")
    line = proxy.printed()
    assert f"  Anthropic/Python {anthropic.__version__}  POST /v1/messages  mock-ok  200  ttft " in line
    assert line.endswith("COMPLETE end_turn") and " events  " in line

    client = anthropic.Anthropic(base_url=proxy.base_url, api_key="test-key", max_retries=0)
    slow = client.messages.create(model="mock-keepalive_only", max_tokens=64, stream=True,
                                  messages=[{"role": "user", "content": "hi"}], extra_headers={"x-streamwatch-time-scale": "1"})
    events = iter(slow)
    assert next(events).type == "message_start"
    assert proxy.interrupt() == 0
    with pytest.raises(httpx2.RemoteProtocolError):
        for _ in events:
            pass
    client.close()
    assert proxy.printed().endswith("ABNORMAL cancelled")
    assert proxy.said[-1] == "streamwatch proxy: stopped after 2 flows"
    files = sorted((tmp_path / "sessions").iterdir())
    endings = [load_session(path).latest.ending for path in files]
    assert sorted(e["kind"] for e in endings) == ["cancelled", "eof"]
    assert {"type": "stopped_locally", "message": "the proxy was stopped"} in [e["error"] for e in endings]
    assert "q" * 40 not in "".join(path.read_text() for path in files)


def test_json_prints_the_analyze_verdict_of_each_flow_with_its_client_and_path(run_proxy) -> None:
    proxy = run_proxy("--upstream", "mock", "--json")

    text = stream(proxy.base_url, "mock-drop_eof")

    flow = json.loads(proxy.printed())
    assert flow["termination"] == "eof" and not flow["complete"] and flow["text"] == text
    assert flow["method"] == "POST" and flow["path"] == "/v1/messages" and flow["model"] == "mock-drop_eof"
    assert flow["client"]["user_agent"] == f"Anthropic/Python {anthropic.__version__}"
    assert flow["client"]["lang"] == "python" and flow["client"]["address"].startswith("127.0.0.1:")
    assert Path(flow["session"]).is_file()
    assert proxy.interrupt() == 0


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_non_streaming_answer_is_printed_complete(run_proxy, json_lines: bool) -> None:
    proxy = run_proxy("--upstream", "mock", *(["--json"] if json_lines else []))
    with anthropic.Anthropic(base_url=proxy.base_url, api_key="test-key", max_retries=0) as client:
        message = client.messages.create(model="mock-ok", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                                         extra_headers=FAST)
        client.messages.count_tokens(model="mock-ok", messages=[{"role": "user", "content": "hi"}])

    first, second = proxy.printed(), proxy.printed()
    if json_lines:
        assert [json.loads(line)["complete"] for line in (first, second)] == [True, True]
    else:
        assert first.endswith(f"OK {message.stop_reason}") and second.endswith("OK 200")
    assert proxy.interrupt() == 0


def test_the_upstream_s_password_is_never_shown(run_proxy) -> None:
    proxy = run_proxy("--upstream", "http://user:hunter2hunter2@127.0.0.1:9")

    assert "forwarding to http://[redacted]@127.0.0.1:9 and" in proxy.said[0]
    assert proxy.interrupt() == 0
    assert not any("hunter2" in line for line in proxy.said)


def test_listening_beyond_loopback_says_so_loudly(run_proxy) -> None:
    proxy = run_proxy("--upstream", "mock", "--listen", "0.0.0.0:0")

    warning = proxy.line_starting("streamwatch proxy: WARNING:")

    assert "listening on every network interface, so other machines can connect and send requests with the API keys" in warning
    assert "--listen 127.0.0.1:" in warning
    assert proxy.interrupt() == 0


def test_on_loopback_there_is_no_warning(run_proxy) -> None:
    proxy = run_proxy("--upstream", "mock")

    assert proxy.interrupt() == 0
    assert proxy.said[-1] == "streamwatch proxy: stopped after 0 flows"
    assert not any("WARNING" in line for line in proxy.said)


@pytest.mark.parametrize("options, said", [
    (["--listen", "8089"], "--listen takes HOST:PORT"),
    (["--listen", "127.0.0.1:99999"], "--listen takes HOST:PORT"),
    (["--listen", "192.0.2.1:0"], "cannot listen on 192.0.2.1:0"),
    (["--upstream", "api.anthropic.com"], "--upstream takes an http:// or https:// base URL"),
    (["--upstream", "ftp://example.com"], "--upstream takes an http:// or https:// base URL"),
    (["--upstream", "http://example.com:port"], "(malformed port: 'port' is not a number)"),
    (["--upstream", "http://[::1"], "--upstream 'http://[::1' is not a usable base URL (malformed address: no closing ']'"),
    (["--upstream", "http://api.example?x=1"], "--upstream takes an http:// or https:// base URL (no query)"),
    (["--upstream", f"http://{'a' * 64}.example"], "longer than 63 characters"),
    (["--upstream", "https://api..example"], "host name is empty or longer"),
])
def test_a_bad_listen_or_upstream_is_one_line_and_exit_2(options, said, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path))

    status = main(["proxy", *options])

    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and said in err and "Traceback" not in err


@pytest.mark.parametrize("upstream", ["ftp://bob:hunter2hunter2@example.com", f"https://bob:hunter2hunter2@{'a' * 64}.example"])
def test_a_refused_upstream_is_shown_without_its_password(upstream, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path))

    status = main(["proxy", "--upstream", upstream])

    err = capsys.readouterr().err
    assert status == 2 and "hunter2" not in err and "[redacted]@" in err
