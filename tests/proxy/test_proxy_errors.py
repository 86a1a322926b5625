"""Whatever goes wrong in one exchange stays in that exchange: the request goes on as the bytes that came,
a fault of the proxy's own is a recorded flow and an API-shaped answer, and nothing is logged to the terminal."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from streamwatch.core.playback import replay_attempts
from streamwatch.core.recorder import Recorder
from streamwatch.protocol import TIME_SCALE_HEADER
from streamwatch.proxy.upstream import Upstream
from streamwatch.server import BackgroundServer


class Echo:
    """An upstream that answers with the raw request headers it received."""

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        body = json.dumps({name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body.encode()})


def test_a_non_ascii_header_goes_upstream_as_the_bytes_that_came(start_proxy, caplog: pytest.LogCaptureFixture) -> None:
    with BackgroundServer(Echo()) as upstream:
        proxy = start_proxy(upstream.url)
        with httpx2.Client() as client:
            answer = client.post(proxy.url + "/v1/messages", content=b'{"model":"m"}',
                                 headers=[(b"x-user", "José".encode())])
        proxy.wait()

    assert answer.status_code == 200
    assert answer.json()["x-user"].encode("latin-1") == "José".encode()
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


def test_a_fault_of_the_proxy_s_own_is_a_recorded_502_not_a_traceback(
    start_proxy, mock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Upstream, *args: Any) -> None:
        raise RuntimeError("the proxy broke")

    monkeypatch.setattr(Upstream, "send", broken)
    proxy = start_proxy(mock.base_url)
    with httpx2.Client() as client:
        answer = client.get(proxy.url + "/v1/models")

    assert answer.status_code == 502
    assert answer.json()["type"] == "error" and "the proxy broke" in answer.json()["error"]["message"]
    [session] = proxy.sessions()
    verdict = replay_attempts(session, 8.0).attempts[0].verdict
    assert verdict.termination == "transport_error" and "the proxy broke" in verdict.error["message"]
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


def test_a_non_ascii_header_is_recorded_and_shown_as_the_user_wrote_it(start_proxy) -> None:
    with BackgroundServer(Echo()) as upstream:
        proxy = start_proxy(upstream.url)
        with httpx2.Client() as client:
            client.post(proxy.url + "/v1/messages", content=b'{"model":"m"}',
                        headers=[(b"user-agent", "agent-José/1.0".encode()), (b"x-stainless-lang", b"caf\xe9")])
        [session] = proxy.sessions()
        [flow] = proxy.flows

    assert session.latest.request["headers"]["user-agent"] == "agent-José/1.0"
    assert session.latest.request["headers"]["x-stainless-lang"] == "café"  # not UTF-8: read as latin-1
    assert flow.client_text == "agent-José/1.0 (café)" and session.header["client"] == flow.client_text


@pytest.mark.parametrize("request_bytes", [
    b"NOT HTTP AT ALL\r\n\r\n",
    b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-user: a\x01b\r\ncontent-length: 2\r\n\r\n{}",
], ids=["not-http", "control-byte-in-a-header"])
def test_a_request_the_server_cannot_parse_gets_an_api_shaped_400_goes_nowhere_and_is_not_logged(
    start_proxy, mock, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    proxy = start_proxy(mock.base_url)
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(request_bytes)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/json" in head.lower()
    error = json.loads(body)
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert "not valid HTTP/1.1" in error["error"]["message"] and "control byte" in error["error"]["message"]
    assert proxy.flows == []
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


def test_a_chunk_the_proxy_fails_to_record_ends_the_flow_as_its_fault_and_cuts_the_app(
    start_proxy, mock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunk = Recorder.chunk
    calls = []

    def failing(self: Recorder, data: bytes, t: float | None = None) -> Any:
        calls.append(data)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return chunk(self, data, t)

    monkeypatch.setattr(Recorder, "chunk", failing)
    proxy = start_proxy(mock.base_url)
    # A stream with 8 s of silence early on: the app is still reading when the chunk fails to be recorded
    # (a turn of the loop after it was passed on), however loaded the machine.
    with httpx2.Client() as client, pytest.raises(httpx2.RemoteProtocolError):
        client.post(proxy.url + "/v1/messages", json={"model": "mock-stall", "max_tokens": 50, "stream": True,
                                                      "messages": [{"role": "user", "content": "hi"}]},
                    headers={TIME_SCALE_HEADER: "1"})

    [session] = proxy.sessions()
    assert session.latest.ending["kind"] == "transport_error"
    assert session.latest.ending["error"] == {"type": "proxy_error", "message": "OSError: [Errno 28] No space left on device"}
    assert [r for r in caplog.records if r.name.startswith(("uvicorn", "asyncio"))] == []
