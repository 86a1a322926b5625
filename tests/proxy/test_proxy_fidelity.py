"""What the app sees through the proxy when the stream goes wrong is what it sees without it, and the
session says how the stream ended: a cut stays a cut, a clean early end stays clean, a hang-up
closes upstream, a compressed body passes as it came, an unreachable upstream is a 502."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import zlib
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import pytest

from streamwatch.core.playback import replay_attempts
from streamwatch.server import BackgroundServer
from tests import streams
from tests.proxy.conftest import WAIT_SECONDS, Capture, Proxy

FAIL_ALWAYS = {"x-streamwatch-fail-always": "1"}


def ask(base_url: str, model: str, capture: Capture | None = None, **options: Any) -> Any:
    """Stream one request with the SDK's helper: its final message, or the exception it raised."""
    http_client = anthropic.DefaultHttpxClient(transport=capture or Capture())
    with anthropic.Anthropic(base_url=base_url, api_key="test-key", max_retries=0, http_client=http_client) as client:
        try:
            with client.messages.stream(model=model, max_tokens=1024, extra_headers=FAIL_ALWAYS,
                                        messages=[{"role": "user", "content": "What breaks?"}], **options) as stream:
                return stream.get_final_message()
        except Exception as exc:
            return exc


def test_an_upstream_cut_mid_body_is_a_cut_for_the_app_too(mock, proxy: Proxy, fixed_ids) -> None:
    direct = ask(mock.base_url, "mock-drop_abrupt")
    capture = Capture()
    proxied = ask(proxy.url, "mock-drop_abrupt", capture)

    assert isinstance(direct, httpx2.RemoteProtocolError)
    assert type(proxied) is type(direct) and str(proxied) == str(direct)
    [session] = proxy.sessions()
    assert session.latest.ending["kind"] == "transport_error"
    assert session.latest.ending["error"]["type"] == "httpx.RemoteProtocolError"
    assert b"".join(data for _, data in session.latest.chunks) == bytes(capture.bodies[0])
    assert replay_attempts(session, 8.0).attempts[0].verdict.termination == "transport_error"


def test_a_clean_early_end_upstream_ends_cleanly_for_the_app_too(mock, proxy: Proxy, fixed_ids) -> None:
    direct = ask(mock.base_url, "mock-drop_eof")
    proxied = ask(proxy.url, "mock-drop_eof")

    assert direct.stop_reason is None and proxied == direct
    [session] = proxy.sessions()
    assert session.latest.ending["kind"] == "eof"
    verdict = replay_attempts(session, 8.0).attempts[0].verdict
    assert verdict.termination == "eof" and not verdict.complete


class Silent:
    """An upstream that sends the response head and two events, then nothing, until its client leaves."""

    def __init__(self) -> None:
        self.left = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for data in (streams.message_start(), streams.block_start(0, {"type": "text", "text": ""})):
            await send({"type": "http.response.body", "body": data, "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass
        self.left.set()


def test_an_app_that_hangs_up_mid_stream_closes_the_upstream_request(start_proxy) -> None:
    upstream = Silent()
    with BackgroundServer(upstream) as server:
        proxy = start_proxy(server.url)
        client = anthropic.Anthropic(base_url=proxy.url, api_key="test-key", max_retries=0)
        with client:
            stream = client.messages.create(model="claude-sonnet-4-6", max_tokens=10, stream=True,
                                            messages=[{"role": "user", "content": "hi"}])
            assert next(iter(stream)).type == "message_start"
            stream.close()
        assert upstream.left.wait(WAIT_SECONDS)
        [session] = proxy.sessions()
    ending = session.latest.ending
    assert ending["kind"] == "cancelled" and "client closed its connection" in ending["error"]["message"]
    assert replay_attempts(session, 8.0).attempts[0].verdict.termination == "cancelled"


class Gzipped:
    """An upstream that gzips its event stream as it goes, one flush per event (as a gateway does)."""

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"text/event-stream"), (b"content-encoding", b"gzip")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        packer = zlib.compressobj(wbits=31)
        for data in streams.complete_text("Compressed, yet every piece arrives as it is made."):
            piece = packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": packer.flush()})


def test_a_gzip_body_passes_as_it_came_and_is_decoded_for_the_verdict(start_proxy) -> None:
    with BackgroundServer(Gzipped()) as server:
        direct_capture, capture = Capture(), Capture()
        direct = ask(server.url, "claude-sonnet-4-6", direct_capture)
        proxy = start_proxy(server.url)
        proxied = ask(proxy.url, "claude-sonnet-4-6", capture)
        [session] = proxy.sessions()

    assert proxied == direct and proxied.content[0].text == "Compressed, yet every piece arrives as it is made."
    assert bytes(capture.bodies[0]) == bytes(direct_capture.bodies[0])
    assert bytes(capture.bodies[0])[:2] == b"\x1f\x8b"
    assert session.latest.headers["content-encoding"] == "gzip"
    verdict = replay_attempts(session, 8.0).attempts[0].verdict
    assert verdict.complete and verdict.body["encoding"] == "gzip"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BadGateway:
    """A real gateway's 502."""

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        body = json.dumps({"type": "error", "error": {"type": "api_error", "message": "bad gateway"}}).encode()
        await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def test_an_unreachable_upstream_is_a_502_the_sdk_takes_for_the_api_s_own(start_proxy) -> None:
    with BackgroundServer(BadGateway()) as server:
        real = ask(server.url, "claude-sonnet-4-6")
    upstream = f"http://127.0.0.1:{closed_port()}"
    proxy = start_proxy(upstream)

    proxied = ask(proxy.url, "claude-sonnet-4-6")

    assert isinstance(real, anthropic.InternalServerError)
    assert type(proxied) is type(real) and proxied.status_code == 502
    assert proxied.body["error"]["message"].startswith(f"streamwatch proxy: cannot reach {upstream}: httpx.ConnectError")
    [session] = proxy.sessions()
    verdict = replay_attempts(session, 8.0).attempts[0].verdict
    assert verdict.termination == "http_error" and verdict.http_status == 502
    assert verdict.error["message"] == proxied.body["error"]["message"]


@pytest.mark.parametrize("method, path", [("GET", "/v1/models?limit=2"), ("POST", "/v1/files"),
                                          ("DELETE", "/v1/messages/batches/msgbatch_1")])
def test_any_method_and_path_is_forwarded_and_recorded(mock, proxy: Proxy, method: str, path: str) -> None:
    content = b"--b\r\nContent-Disposition: form-data; name=file\r\n\r\nhello\r\n--b--\r\n" if method == "POST" else b""
    headers = {"content-type": "multipart/form-data; boundary=b"} if content else {}
    with httpx2.Client() as client:
        direct = client.request(method, mock.base_url + path, content=content, headers=headers)
        proxied = client.request(method, proxy.url + path, content=content, headers=headers)

    assert proxied.status_code == direct.status_code
    assert len(proxied.headers.get_list("date")) == len(direct.headers.get_list("date")) == 1
    assert set(proxied.json()) == set(direct.json())
    assert proxied.json().get("error", {}).get("type") == direct.json().get("error", {}).get("type")
    [session] = proxy.sessions()
    assert session.header["path"] == path.replace("limit=2", "limit=[redacted]")
    assert session.latest.request["method"] == method and session.latest.request["body"] == {}
    assert session.header["request_body"] == ("none" if not content else
                                              f"multipart/form-data; boundary=b, {len(content)} bytes: not recorded")
    assert session.latest.status == proxied.status_code


def test_many_streams_at_once_are_each_recorded_whole_and_apart(mock, proxy: Proxy) -> None:
    async def one(client: anthropic.AsyncAnthropic, number: int) -> str:
        text = ""
        async with client.messages.stream(model="mock-ok", max_tokens=200 + number,
                                          messages=[{"role": "user", "content": f"stream {number}"}]) as stream:
            async for piece in stream.text_stream:
                text += piece
        return text

    async def all_of_them() -> list[str]:
        async with anthropic.AsyncAnthropic(base_url=proxy.url, api_key="test-key", max_retries=0) as client:
            return list(await asyncio.gather(*(one(client, number) for number in range(20))))

    texts = asyncio.run(all_of_them())

    assert len(set(texts)) == 20

    sessions = proxy.sessions(20)
    by_tokens = {session.latest.request["body"]["max_tokens"]: session for session in sessions}
    assert sorted(by_tokens) == [200 + number for number in range(20)]
    for number, text in enumerate(texts):
        log = replay_attempts(by_tokens[200 + number], 8.0)
        assert log.complete and log.attempts[0].state.text == text
        assert by_tokens[200 + number].latest.request["body"]["messages"][0]["content"] == f"stream {number}"


class Mute:
    """An upstream that takes the request and never answers it, until its client leaves."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.left = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        self.asked.set()
        while (await receive())["type"] != "http.disconnect":
            pass
        self.left.set()


def test_stopping_the_proxy_records_a_flow_still_waiting_for_upstream_and_answers_its_app(start_proxy) -> None:
    upstream = Mute()
    with BackgroundServer(upstream) as server:
        proxy = start_proxy(server.url)
        answers: list[httpx2.Response] = []
        asking = threading.Thread(target=lambda: answers.append(httpx2.post(proxy.url + "/v1/messages", json={})))
        asking.start()
        assert upstream.asked.wait(WAIT_SECONDS)
        proxy.server.stop()
        asking.join(WAIT_SECONDS)
        assert upstream.left.wait(WAIT_SECONDS)

    [answer] = answers
    assert answer.status_code == 502
    assert answer.json()["error"] == {"type": "api_error", "message": "streamwatch proxy: the proxy was stopped"}
    [session] = proxy.sessions()
    assert session.latest.status is None
    assert session.latest.ending["kind"] == "cancelled"
    assert session.latest.ending["error"]["message"] == "the proxy was stopped"
