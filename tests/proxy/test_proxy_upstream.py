"""How the proxy reaches its upstream: https verified against the certificates it trusts, one
connection kept for the next request, a body sized by content-length or by the connection's end,
and an upstream behind the environment's proxy reached through it."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest

from streamwatch.core.playback import replay_attempts
from streamwatch.server import BackgroundServer
from tests import streams
from tests.proxy.conftest import WAIT_SECONDS

EVENTS = streams.complete_text("Through the proxy, every byte as it came.")
BODY = b"".join(EVENTS)
REQUEST = {"model": "claude-sonnet-4-6", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


class Streaming(BaseHTTPRequestHandler):
    """Answers every POST with the event stream, chunked, one chunk per event, and keeps the connection."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.server.peers.append(self.client_address)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in EVENTS:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def https_upstream(certificate: tuple[Path, Path]) -> Iterator[tuple[str, list[Any]]]:
    """An https server on a free loopback port: its URL and the client address of every request it answered."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Streaming)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.peers = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", server.peers  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_an_https_upstream_streams_through_on_one_kept_connection(
    start_proxy, https_upstream, certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    url, peers = https_upstream
    proxy = start_proxy(url)
    with httpx2.Client() as client:
        answers = [client.post(proxy.url + "/v1/messages", json=REQUEST) for _ in range(2)]

    assert [answer.content for answer in answers] == [BODY, BODY]
    assert len(peers) == 2 and peers[0] == peers[1]
    for session in proxy.sessions(2):
        assert replay_attempts(session, 8.0).complete


def test_an_https_upstream_whose_certificate_is_not_trusted_is_a_502_naming_it(
    start_proxy, https_upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    url, peers = https_upstream
    proxy = start_proxy(url)
    with httpx2.Client() as client:
        answer = client.post(proxy.url + "/v1/messages", json=REQUEST)

    assert answer.status_code == 502 and peers == []
    message = answer.json()["error"]["message"]
    assert message.startswith(f"streamwatch proxy: cannot reach {url}: httpx.ConnectError") and "CERTIFICATE_VERIFY_FAILED" in message
    [session] = proxy.sessions()
    verdict = replay_attempts(session, 8.0).attempts[0].verdict
    assert verdict.termination == "http_error" and verdict.error["message"] == message


class Canned:
    """An upstream on a raw socket: reads one request, answers with `answer`'s bytes, closes."""

    def __init__(self, answer: bytes) -> None:
        self._answer = answer
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._sock.accept()
        with connection:
            got = b""
            while b"\r\n\r\n" not in got:
                got += connection.recv(65536)
            head, _, body = got.partition(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            while len(body) < length:
                body += connection.recv(65536)
            connection.sendall(self._answer)
        self._sock.close()

    def join(self) -> None:
        self._thread.join(WAIT_SECONDS)


def test_a_body_shorter_than_its_content_length_is_a_cut_for_the_app_too(start_proxy) -> None:
    upstream = Canned(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n%s"
                      % (len(BODY), BODY[:400]))
    proxy = start_proxy(upstream.url)
    with httpx2.Client() as client, pytest.raises(httpx2.RemoteProtocolError) as raised:
        client.post(proxy.url + "/v1/messages", json=REQUEST)
    upstream.join()

    assert f"received 400 bytes, expected {len(BODY)}" in str(raised.value)
    [session] = proxy.sessions()
    assert session.latest.ending["kind"] == "transport_error"
    assert session.latest.ending["error"] == {
        "type": "httpx.RemoteProtocolError",
        "message": f"peer closed connection without sending complete message body: received 400 bytes, expected {len(BODY)}",
    }
    assert b"".join(data for _, data in session.latest.chunks) == BODY[:400]


def test_a_body_without_length_ends_cleanly_where_upstream_closes(start_proxy) -> None:
    upstream = Canned(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n" + BODY)
    proxy = start_proxy(upstream.url)
    with httpx2.Client() as client:
        answer = client.post(proxy.url + "/v1/messages", json=REQUEST)
    upstream.join()

    assert answer.content == BODY
    [session] = proxy.sessions()
    assert session.latest.ending["kind"] == "eof"
    assert replay_attempts(session, 8.0).complete


class ForwardProxy:
    """An HTTP proxy on loopback that answers every request itself, keeping its target and host."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        self.asked.append((scope["raw_path"].decode(), dict(scope["headers"])[b"host"].decode()))
        body = json.dumps({"type": "message", "content": []}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def test_an_upstream_behind_the_environment_s_proxy_is_reached_through_it(start_proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    forward = ForwardProxy()
    with BackgroundServer(forward) as server:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", server.url)
        proxy = start_proxy("http://api.streamwatch.invalid")
        with httpx2.Client(trust_env=False) as client:  # the app itself goes to the proxy straight
            answer = client.post(proxy.url + "/v1/messages", json={"model": "m"})
        proxy.wait()

    assert answer.status_code == 200 and answer.json()["type"] == "message"
    assert forward.asked == [("http://api.streamwatch.invalid/v1/messages", "api.streamwatch.invalid")]
