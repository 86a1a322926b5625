"""A loopback HTTP server that answers each request with the next canned response, and counts them.

For what the mock server does not play: a stream that dies right after a complete tool call, an
error status with a long retry-after, a stream that goes silent for good. A response body is written
chunk by chunk and then the connection closes (HTTP/1.0), so a body without message_stop ends as a
clean EOF, unless the response hangs: then nothing more comes until the server stops.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Canned:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "text/event-stream"})
    chunks: list[bytes] = field(default_factory=list)
    after_chunk: Callable[[int], None] | None = None
    """Called once chunk i is sent, before the next: a test waits there until the client has read it,
    so every chunk arrives in a read of its own."""
    hang: bool = False
    """After the chunks, send nothing and keep the connection open until the server stops."""


def overloaded(retry_after_ms: int) -> Canned:
    body = json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    headers = {"content-type": "application/json", "retry-after-ms": str(retry_after_ms)}
    return Canned(529, headers, [body.encode()])


class StubServer:
    """`responses[i]` answers request i; the last one answers every later request."""

    def __init__(self, responses: list[Canned]) -> None:
        self.responses = responses
        self.bodies: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                stub.bodies.append(json.loads(self.rfile.read(length)))
                canned = stub.responses[min(len(stub.bodies), len(stub.responses)) - 1]
                self.send_response(canned.status)
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                for number, chunk in enumerate(canned.chunks):
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if canned.after_chunk is not None:
                        canned.after_chunk(number)
                if canned.hang:
                    stub._stopping.wait()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> int:
        return len(self.bodies)

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
