"""The floor of any proxy on this machine: a raw TCP relay that passes bytes both ways and parses nothing.

bench/proxy.py runs it in a process of its own, as it runs `streamwatch proxy`, and measures the
latency it adds per event in the same run: what is left over it is the proxy's own work (HTTP,
recording, analysis), not the extra hop through the kernel and another process.

Run: python bench/_relay.py UPSTREAM_URL   (prints `export ANTHROPIC_BASE_URL=...` on stderr)
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any
from urllib.parse import urlsplit

try:
    import uvloop
except ImportError:  # the proxy runs on uvloop where it is installed; so does its floor
    uvloop = None


class Pipe(asyncio.Protocol):
    """One side of a relayed connection: what it reads, its peer writes (what came before the peer was
    connected, once it is)."""

    def __init__(self, peer: Pipe | None = None) -> None:
        self.peer = peer
        self.transport: Any = None
        self.early: list[bytes] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.peer is None:
            self.early.append(data)
        else:
            self.peer.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


async def relay(upstream: str) -> None:
    parts = urlsplit(upstream)
    loop = asyncio.get_running_loop()

    class Client(Pipe):
        """A client's connection, linked to an upstream connection of its own."""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            loop.create_task(self.link())

        async def link(self) -> None:
            _, self.peer = await loop.create_connection(lambda: Pipe(self), parts.hostname, parts.port)
            self.peer.transport.write(b"".join(self.early))

    server = await loop.create_server(Client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"export ANTHROPIC_BASE_URL=http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if uvloop is not None:
        uvloop.run(relay(sys.argv[1]))
    else:
        asyncio.run(relay(sys.argv[1]))
