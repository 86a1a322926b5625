"""The proxy's own HTTP/1.1 server, as apps and tools other than the SDKs talk to it: requests pipelined
on one connection, an HTTP/1.0 client, `expect: 100-continue`, HEAD, an absolute-form target, and a
client that reads slower than upstream sends."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from streamwatch.server import BackgroundServer
from tests.proxy.conftest import WAIT_SECONDS

MODELS = b"GET /v1/models HTTP/1.1\r\nhost: proxy\r\n\r\n"


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def answers(data: bytes) -> list[tuple[bytes, bytes]]:
    """(head, body) of each response in `data`, bodies de-chunked or by content-length."""
    found = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
        fields = {name.lower(): value for name, value in fields.items()}
        if b"content-length" in fields:
            length = int(fields[b"content-length"])
            body, data = data[:length], data[length:]
        elif fields.get(b"transfer-encoding") == b"chunked":
            body = b""
            while True:
                size, _, data = data.partition(b"\r\n")
                n = int(size, 16)
                body, data = body + data[:n], data[n + 2:]
                if n == 0:
                    break
        else:
            body, data = data, b""
        found.append((head, body))
    return found


def test_requests_pipelined_on_one_connection_are_each_answered_in_turn_and_recorded(mock, proxy) -> None:
    count_tokens = json.dumps({"model": "mock-ok", "messages": [{"role": "user", "content": "hi"}]}).encode()
    second = (b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\n"
              b"content-length: %d\r\nconnection: close\r\n\r\n%b" % (len(count_tokens), count_tokens))
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(MODELS + second)
        got = answers(read_all(sock))

    assert [head.split(b"\r\n")[0] for head, _ in got] == [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK"]
    assert json.loads(got[0][1])["data"] and "input_tokens" in json.loads(got[1][1])
    assert [session.header["path"] for session in proxy.sessions(2)] == ["/v1/models", "/v1/messages/count_tokens"]


def test_an_http_1_0_client_gets_the_body_until_the_connection_closes(mock, proxy) -> None:
    body = json.dumps({"model": "mock-ok", "max_tokens": 64, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%b"
                     % (len(body), body))
        head, _, rest = read_all(sock).partition(b"\r\n\r\n")

    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding" not in head.lower()
    assert b"connection: close" in head.lower()
    assert rest.rstrip().endswith(b'data: {"type":"message_stop"}')
    assert proxy.sessions()[0].latest.ending["kind"] == "eof"


def test_expect_100_continue_is_answered_before_the_body_is_sent(mock, proxy) -> None:
    body = json.dumps({"model": "mock-ok", "messages": [{"role": "user", "content": "hi"}]}).encode()
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n" % len(body))
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            interim += sock.recv(1)
        sock.sendall(body)
        final = read_all(sock)

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert final.startswith(b"HTTP/1.1 200") and b"input_tokens" in final


def test_a_head_request_gets_the_head_alone_and_the_connection_goes_on(mock, proxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(b"HEAD /v1/models HTTP/1.1\r\nhost: proxy\r\n\r\n" + MODELS.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n"))
        data = read_all(sock)

    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 ") and rest.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(answers(rest)[0][1])["data"]


def test_an_absolute_form_target_is_forwarded_to_its_path(mock, proxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(b"GET http://api.example/v1/models HTTP/1.1\r\nhost: api.example\r\nconnection: close\r\n\r\n")
        data = read_all(sock)

    assert data.startswith(b"HTTP/1.1 200 OK")
    assert proxy.sessions()[0].header["path"] == "/v1/models"


class Firehose:
    """An upstream that sends `total` bytes as fast as its client takes them, counting what it handed over."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/octet-stream")]})
        piece = bytes(range(256)) * 256
        while self.sent < self.total:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            self.sent += len(piece)
        await send({"type": "http.response.body", "body": b""})


def settled(read: Callable[[], int]) -> int:
    """`read()` once it has begun and then stopped growing (the same on 5 looks in a row, 20 ms apart)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while read() == 0 and time.monotonic() < deadline:
        threading.Event().wait(0.02)
    last, same = read(), 0
    while same < 5 and time.monotonic() < deadline:
        threading.Event().wait(0.02)
        now = read()
        same, last = (same + 1, last) if now == last else (0, now)
    return last


def test_a_client_that_reads_slowly_holds_upstream_back_and_still_gets_every_byte(start_proxy) -> None:
    upstream = Firehose(24 << 20)
    with BackgroundServer(upstream) as server:
        proxy = start_proxy(server.url)
        with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
            sock.sendall(b"GET /v1/files/big/content HTTP/1.1\r\nhost: proxy\r\nconnection: close\r\n\r\n")
            held = settled(lambda: upstream.sent)
            data = read_all(sock)

    assert held < 16 << 20, f"upstream sent {held >> 20} MB before the app read any: the proxy buffered it"
    body = answers(data)[0][1]
    assert len(body) == 24 << 20 and body == (bytes(range(256)) * 256) * 384
    session = proxy.sessions()[0]
    assert sum(len(piece) for piece in session.latest.body()) == 24 << 20 and session.latest.ending["kind"] == "eof"


@pytest.mark.parametrize("where", ["first", "pipelined behind a good one"])
def test_a_request_it_cannot_parse_is_a_400_after_the_answers_before_it(mock, proxy, where: str) -> None:
    bad = b"GET /v1/models HTTP/1.1\r\nhost: proxy\r\nx-bad: a\x01b\r\n\r\n"
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(bad if where == "first" else MODELS + bad)
        got = answers(read_all(sock))

    statuses = [head.split(b"\r\n")[0] for head, _ in got]
    assert statuses == ([b"HTTP/1.1 400 Bad Request"] if where == "first" else [b"HTTP/1.1 200 OK", b"HTTP/1.1 400 Bad Request"])
    assert json.loads(got[-1][1])["error"]["type"] == "invalid_request_error"


def test_a_request_with_a_body_asking_to_upgrade_to_h2c_is_answered_over_http_1_1(mock, proxy) -> None:
    """`curl --http2 -d ... http://...` asks to upgrade on a POST: the body is the request's, not the new
    protocol's, and the connection goes on with the next request."""
    body = json.dumps({"model": "mock-ok", "messages": [{"role": "user", "content": "hi"}]}).encode()
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.settimeout(WAIT_SECONDS)
        sock.sendall(b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: proxy\r\nconnection: Upgrade, HTTP2-Settings\r\n"
                     b"upgrade: h2c\r\nhttp2-settings: AAMAAABkAAQCAAAAAAIAAAAA\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % len(body))
        sock.sendall(body + MODELS.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n"))
        got = answers(read_all(sock))

    assert [head.split(b"\r\n")[0] for head, _ in got] == [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK"]
    assert "input_tokens" in json.loads(got[0][1]) and json.loads(got[1][1])["data"]
    assert proxy.sessions()[0].latest.request["body"]["model"] == "mock-ok"


def test_expect_100_continue_behind_a_pipelined_answer_comes_after_that_answer_not_inside_it(mock, proxy) -> None:
    stream = json.dumps({"model": "mock-ok", "max_tokens": 64, "stream": True,
                         "messages": [{"role": "user", "content": "hi"}]}).encode()
    count_tokens = json.dumps({"model": "mock-ok", "messages": [{"role": "user", "content": "hi"}]}).encode()
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                     b"\r\n%b" % (len(stream), stream))
        sock.sendall(b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n" % len(count_tokens))
        data = b""
        while interim not in data:
            data += sock.recv(65536)
        sock.sendall(count_tokens)
        data += read_all(sock)

    before, _, after = data.partition(interim)
    assert before.startswith(b"HTTP/1.1 200 OK") and before.endswith(b"0\r\n\r\n"), "the 100 went out inside the first answer"
    assert answers(before)[0][1].rstrip().endswith(b'data: {"type":"message_stop"}')
    assert after.startswith(b"HTTP/1.1 200 OK") and "input_tokens" in json.loads(answers(after)[0][1])


def test_an_http_1_0_client_that_asks_to_keep_alive_is_told_the_connection_stays_open(mock, proxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.0\r\nconnection: keep-alive\r\n\r\nGET /v1/models HTTP/1.0\r\n\r\n")
        got = answers(read_all(sock))

    assert len(got) == 2 and all(json.loads(body)["data"] for _, body in got)
    assert b"connection: keep-alive" in got[0][0].lower() and b"connection: close" in got[1][0].lower()


class Silent:
    """An upstream that never answers, counting the requests it got; each ends when its client goes."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.arrived = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        self.asked.append(scope["path"])
        self.arrived.set()
        while (await receive())["type"] != "http.disconnect":
            pass


def test_stopping_the_proxy_forwards_no_request_that_was_waiting_behind_the_ones_it_stopped(start_proxy) -> None:
    upstream = Silent()
    with BackgroundServer(upstream) as server:
        proxy = start_proxy(server.url)
        with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
            sock.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: proxy\r\ncontent-length: 2\r\n\r\n{}" + MODELS)
            assert upstream.arrived.wait(WAIT_SECONDS)
            proxy.server.stop()
            got = answers(read_all(sock))

    assert [head.split(b"\r\n")[0] for head, _ in got] == [b"HTTP/1.1 502 Bad Gateway"]
    assert upstream.asked == ["/v1/messages"]
    assert [flow.path for flow in proxy.flows] == ["/v1/messages"]


def test_an_app_told_to_tunnel_through_the_proxy_is_told_to_use_it_as_its_base_url(mock, proxy) -> None:
    """HTTPS_PROXY pointed at it makes an SDK send CONNECT: answered 405 with what to do, nothing forwarded."""
    with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
        sock.sendall(b"CONNECT api.anthropic.com:443 HTTP/1.1\r\nhost: api.anthropic.com:443\r\n\r\n")
        got = answers(read_all(sock))

    assert got[0][0].split(b"\r\n")[0] == b"HTTP/1.1 405 Method Not Allowed"
    message = json.loads(got[0][1])["error"]["message"]
    assert "ANTHROPIC_BASE_URL" in message and "HTTPS_PROXY" in message
    assert proxy.flows == []
