"""The mock's bytes on the wire, timing and lifecycle, read with plain httpx."""

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import anthropic
import httpx
import httpx2
import pytest

from streamwatch.mock import MockServer

FRAME = re.compile(r"event: (\w+)\ndata: (\{[^\n]*\})\n\n")


@pytest.fixture
def http(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url) as client:
        yield client


def body(prompt: str, **fields: Any) -> dict[str, Any]:
    return {
        "model": "mock-ok",
        "max_tokens": 4096,
        "stream": True,
        "messages": [{"role": "user", "content": prompt}],
        **fields,
    }


def frames(raw: str) -> list[tuple[str, dict[str, Any]]]:
    """Split a whole SSE body into (event name, data), asserting nothing else is in it."""
    matches = list(FRAME.finditer(raw))
    assert "".join(m[0] for m in matches) == raw
    return [(m[1], json.loads(m[2])) for m in matches]


def timed_chunks(
    http: httpx.Client, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> list[tuple[float, bytes]]:
    start = time.monotonic()
    with http.stream("POST", "/v1/messages", json=payload, headers=headers) as response:
        return [(time.monotonic() - start, chunk) for chunk in response.iter_raw()]


@pytest.mark.parametrize("scenario", ["ok", "tool_big", "thinking"])
def test_stream_framing_and_headers_match_the_api(
    http: httpx.Client, prompt: str, scenario: str
) -> None:
    response = http.post("/v1/messages", json=body(prompt, model=f"mock-{scenario}"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["request-id"].startswith("req_mock_")
    events = frames(response.text)
    assert all(name == data["type"] for name, data in events)
    assert [name for name, _ in events[:2]] == ["message_start", "ping"]
    assert [name for name, _ in events[-2:]] == ["message_delta", "message_stop"]
    assert all(json.dumps(data, separators=(",", ":")) in response.text for _, data in events)


def test_tool_input_streams_as_many_deltas_starting_with_an_empty_one(
    http: httpx.Client, prompt: str
) -> None:
    response = http.post("/v1/messages", json=body(prompt, model="mock-tool_big", max_tokens=16_000))

    deltas = [
        data["delta"]["partial_json"]
        for _, data in frames(response.text)
        if data["type"] == "content_block_delta" and data["delta"]["type"] == "input_json_delta"
    ]
    assert deltas[0] == ""
    assert len(deltas) > 100
    assert len(json.loads("".join(deltas))["content"]) > 35_000


def test_thinking_has_one_signature_delta_just_before_its_stop(
    http: httpx.Client, prompt: str
) -> None:
    response = http.post("/v1/messages", json=body(prompt, model="mock-thinking"))

    block = [data for _, data in frames(response.text) if data.get("index") == 0]
    kinds = [data["delta"]["type"] for data in block if data["type"] == "content_block_delta"]
    assert kinds[-1] == "signature_delta"
    assert kinds.count("signature_delta") == 1
    assert block[-1]["type"] == "content_block_stop"


def test_drop_eof_ends_cleanly_inside_the_tool_json(http: httpx.Client, prompt: str) -> None:
    response = http.post("/v1/messages", json=body(prompt, model="mock-drop_eof"))

    events = frames(response.text)
    last = events[-1][1]
    assert last["type"] == "content_block_delta"
    assert last["delta"]["type"] == "input_json_delta"
    names = {name for name, _ in events}
    assert names.isdisjoint({"message_delta", "message_stop"})
    assert sum(1 for name, _ in events if name == "content_block_stop") == 1


@pytest.mark.parametrize(
    ("scenario", "error_type"),
    [("error_overloaded", "overloaded_error"), ("error_stream", "api_error")],
)
def test_error_event_follows_some_text_and_ends_the_body(
    http: httpx.Client, prompt: str, scenario: str, error_type: str
) -> None:
    response = http.post("/v1/messages", json=body(prompt, model=f"mock-{scenario}"))

    events = frames(response.text)
    name, error = events[-1]
    assert name == "error"
    assert error["error"]["type"] == error_type
    assert error["request_id"] == response.headers["request-id"]
    assert sum(1 for name, _ in events if name == "content_block_delta") > 10


@pytest.mark.parametrize(
    ("scenario", "status", "error_type"),
    [("http_529", 529, "overloaded_error"), ("http_429", 429, "rate_limit_error")],
)
def test_http_errors_have_the_api_error_body_and_retry_headers(
    http: httpx.Client, prompt: str, scenario: str, status: int, error_type: str
) -> None:
    response = http.post("/v1/messages", json=body(prompt, model=f"mock-{scenario}"))

    assert response.status_code == status
    assert response.json() == {
        "type": "error",
        "error": {"type": error_type, "message": response.json()["error"]["message"]},
        "request_id": response.headers["request-id"],
    }
    assert response.headers["retry-after"] == "1"
    assert 0 < int(response.headers["retry-after-ms"]) < 1000


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model": None}, "model: Field required"),
        ({"messages": None}, "messages: Field required"),
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"max_tokens": "9"}, "max_tokens: Input should be a valid int"),
        ({"messages": []}, "messages: at least one message is required"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
        ({"model": "mock-nonsense"}, "Unknown streamwatch scenario 'nonsense'"),
    ],
)
def test_bad_requests_get_400_invalid_request_error(
    http: httpx.Client, prompt: str, fields: dict[str, Any], message: str
) -> None:
    payload = {k: v for k, v in body(prompt, **fields).items() if v is not None}

    response = http.post("/v1/messages", json=payload)

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["message"].startswith(message)


def test_a_body_that_is_not_json_gets_400(http: httpx.Client) -> None:
    response = http.post("/v1/messages", content=b"{not json")

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_stall_is_total_silence_mid_stream(http: httpx.Client, prompt: str) -> None:
    # A 0.4 s stall: the schedule is absolute, so a late write before it shortens the silence.
    scale = {"x-streamwatch-time-scale": "0.05"}
    chunks = timed_chunks(http, body(prompt, model="mock-stall"), scale)

    gaps = [(later[0] - earlier[0], earlier) for earlier, later in pairwise(chunks)]
    longest, before = max(gaps)
    assert longest >= 0.3
    assert b"content_block_delta" in before[1]
    assert b"message_stop" in chunks[-1][1]


def test_keepalive_only_sends_pings_long_before_any_content(
    server: MockServer, http: httpx.Client, prompt: str
) -> None:
    chunks = timed_chunks(http, body(prompt, model="mock-keepalive_only"))

    first_content = next(at for at, chunk in chunks if b"content_block_start" in chunk)
    early = b"".join(chunk for at, chunk in chunks if at < first_content)
    assert first_content >= 20.0 * server.time_scale
    assert early.count(b"event: ping") >= 5
    assert b"content_block" not in early


def test_buffered_holds_everything_back_then_bursts(
    server: MockServer, http: httpx.Client, prompt: str
) -> None:
    chunks = timed_chunks(http, body(prompt, model="mock-buffered"))

    first_at = chunks[0][0]
    assert chunks[0][1].startswith(b"event: message_start")
    assert first_at > 100 * 0.03 * server.time_scale
    assert chunks[-1][0] - first_at < first_at / 2


def test_time_scale_header_overrides_the_server_scale(prompt: str) -> None:
    with MockServer(time_scale=1.0) as slow, httpx.Client(base_url=slow.base_url) as http:
        start = time.monotonic()
        response = http.post(
            "/v1/messages",
            json=body(prompt, model="mock-keepalive_only"),
            headers={"x-streamwatch-time-scale": "0.001"},
        )

        assert time.monotonic() - start < 1.0
        assert frames(response.text)[-1][0] == "message_stop"


def test_stopping_the_server_cuts_open_streams_at_once(prompt: str) -> None:
    server = MockServer(time_scale=1.0).start()
    client = anthropic.Anthropic(base_url=server.base_url, api_key="test-key", max_retries=0)
    with client.messages.stream(
        model="mock-keepalive_only",
        max_tokens=100,
        messages=[{"role": "user", "content": prompt}],
    ) as stream:
        assert next(iter(stream)).type == "message_start"
        start = time.monotonic()
        server.stop()

        assert time.monotonic() - start < 2.0
        with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
            stream.get_final_message()


def test_serve_runs_in_the_foreground_until_ctrl_c(prompt: str) -> None:
    command = (
        "import socket; from streamwatch.mock import serve; sock = socket.create_server(('127.0.0.1', 0)); "
        "print(sock.getsockname()[1], flush=True); serve(sock, time_scale=0.01)"
    )
    process = subprocess.Popen([sys.executable, "-c", command], stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{int(process.stdout.readline())}"
        response = httpx.post(f"{url}/v1/messages", json=body(prompt))
        process.send_signal(signal.SIGINT)

        assert frames(response.text)[-1][0] == "message_stop"
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
