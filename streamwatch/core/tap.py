"""The SDK side of a live run: the HTTP client the official SDK sends through, tapped.

Importing the SDK (`anthropic`, with `httpx2` under it) takes about a second and thousands of
modules, so nothing imports this module until a request is about to be built (`LiveRun._client`):
the screens that send nothing (home, replay, attach) and `analyze` never load the SDK.

Every transport is wrapped by `TapTransport`, which hands the request, the response head and every
body chunk to its `LiveRun` (core/live.py) the moment they arrive, below the SDK's own content
decoding. The TLS context (loading the certificate store costs ~20 ms of CPU) is made once per
process and shared by every client, as one long-lived SDK client would share it; the SDK's own
set-up probe gets a client that never connects and loads none.
"""

from __future__ import annotations

import functools
import json
import socket
import ssl
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import anthropic
import httpx2
from anthropic._utils._httpx import get_environment_proxies

if TYPE_CHECKING:
    from streamwatch.core.live import LiveRun


@functools.cache
def tls_context(trust_env: bool) -> ssl.SSLContext:
    """The TLS context the SDK's default client would build (`SSL_CERT_FILE`/`SSL_CERT_DIR` honoured
    when the environment is trusted), made once per process."""
    return httpx2.create_ssl_context(trust_env=trust_env)


def tapped_http_client(run: LiveRun, trust_env: bool) -> httpx2.Client:
    """The SDK's default client shape (limits, redirects, keep-alive, env proxies), every transport tapped.

    Loopback targets never go through a proxy, so a run against 127.0.0.1 stays on 127.0.0.1.
    """
    options: dict[str, Any] = {
        "limits": anthropic.DEFAULT_CONNECTION_LIMITS,
        "socket_options": _SOCKET_OPTIONS,
        "verify": tls_context(trust_env),
    }
    proxies = get_environment_proxies() if trust_env else {}
    mounts: dict[str, httpx2.BaseTransport | None] = {
        pattern: None if url is None else TapTransport(httpx2.HTTPTransport(proxy=url, **options), run)
        for pattern, url in proxies.items()
    }
    return httpx2.Client(
        transport=TapTransport(httpx2.HTTPTransport(**options), run),
        mounts=mounts,
        follow_redirects=True,
        trust_env=trust_env,
    )


def idle_http_client() -> httpx2.Client:
    """A client for the SDK's set-up probe (where the environment points, which credentials it
    holds): it never sends, so it builds no connection pool and loads no certificates."""
    return httpx2.Client(transport=_Idle(), trust_env=False)


class _Idle(httpx2.BaseTransport):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        raise RuntimeError("the SDK's set-up probe does not send")


class TapTransport(httpx2.BaseTransport):
    """Wraps the SDK's transport: reports the request, the response head and every body chunk."""

    def __init__(self, inner: httpx2.BaseTransport, run: LiveRun) -> None:
        self._inner = inner
        self._run = run

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self._run._begin(request, _request_json(request))
        try:
            response = self._inner.handle_request(request)
        except BaseException as exc:
            self._run._ended(exc)
            raise
        self._run._response(response)
        response.stream = self._run._stream = TapStream(response.stream, self._run)
        return response

    def close(self) -> None:
        self._inner.close()


class TapStream(httpx2.SyncByteStream):
    """The response body as the SDK reads it, every chunk reported before the SDK sees it.

    When the SDK closes the body before its end (it raises on `event: error`), the rest is left
    open for the run to read after the SDK is done, so the session holds all the server sent.
    """

    def __init__(self, inner: Any, run: LiveRun) -> None:
        self._inner = inner
        self._run = run
        self._reader: Iterator[bytes] | None = None
        self._finished = False
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        self._reader = self._read()
        return self._reader

    def _read(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            try:
                data = next(chunks)
            except StopIteration:
                self._finished = True
                self._run._ended(None)
                return
            except GeneratorExit:
                raise
            except BaseException as exc:
                self._finished = True
                self._run._ended(exc)
                raise
            self._run._chunk(data)
            yield data

    def close(self) -> None:
        if self._finished or self._run.cancelled:
            self._close_inner()

    def settle(self, drain: bool) -> None:
        if drain and not self._finished:
            try:
                for _ in self._reader if self._reader is not None else self:
                    pass
            except (Exception, KeyboardInterrupt):
                pass
        self._close_inner()

    def _close_inner(self) -> None:
        if not self._closed:
            self._closed = True
            self._inner.close()


def _request_json(request: httpx2.Request) -> Any:
    try:
        return json.loads(request.content)
    except (ValueError, httpx2.RequestNotRead):
        return None


def _socket_options() -> list[tuple[int, int, int]]:
    """TCP keep-alive as the SDK's default client sets it, so long silent streams behave the same."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPINTVL", 60), ("TCP_KEEPCNT", 5), ("TCP_KEEPIDLE", 60)):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


_SOCKET_OPTIONS = _socket_options()
