"""One Messages request through the official Python SDK, watched byte by byte as it streams: the SDK tap.

`LiveRun` sends the request with `anthropic.Anthropic` (so the key, base URL, headers and errors
are the user's own) with `max_retries=0`, so every attempt is visible, and consumes the raw events of
`messages.create(stream=True)` to the end as an application would (never the SDK's quadratic
`MessageStream` accumulation). The events are read through the SDK's own `Stream` with `cast_to=object`:
its SSE decoder, its `json.loads` of each event and its `event: error` and status handling, so it
raises exactly what it raises for an application, but it hands over each event's JSON instead of
building a pydantic model of it, which cost a quarter of the SDK's time per event and never raises
(the SDK builds its models loosely: data that fits no model is handed over as it is). The run needs
only each event's `type` and a message_delta's `stop_reason`. Underneath, a tap on the SDK's httpx2 transport (core/tap.py; the SDK is
imported only when a request is about to be built, so what sends nothing never loads it) sees the request, the
response head and every body chunk the moment it arrives, and hands each to a `Recorder`
(core/recorder.py), which redacts it, times it and fans it out: the session file, the in-memory
`Recording`, the `StreamState`, the hooks. When the SDK is done, the end record says how the body
ended and what the SDK raised, verbatim with its cause chain, or that it raised nothing. What is
left here is what only the SDK source knows: building the client, the tap, cancelling by shutting
the socket, reading what the SDK left unread, and what it raised.

Nothing here prints. `run()` blocks on the calling thread and calls the hooks on that thread;
`cancel()` may be called from any thread: it shuts the connection's socket, so a blocked read
returns at once, and the run ends as `cancelled` (with why, when the caller says: the end record's
error is then `{"type": "stopped_locally", "message": why}`). A KeyboardInterrupt during `run()`
counts as a cancel.

No secret reaches the session file, the state or the verdict: the recorder redacts every fact
where it enters (see core/recorder.py); the SDK's own key and token, and the base URL as written,
are taught to its `Redactor` when the client is built. What the SDK itself reads is left as it came.

A run made with `follows=<an earlier run>` is another attempt of the same session: it is recorded by
the earlier run's recorder, so its request is appended to that session file as an `attempt` record
(with the `link` facts: why it was made), its times are on that session's clock, and the same hooks
hear of it. Its `now()`, `state` and `recording` are still its own.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamwatch.core.diagnose import DEFAULT_STALL_THRESHOLD, End, StreamState, Verdict
from streamwatch.core.events import count_text
from streamwatch.core.files import read_regular
from streamwatch.core.recorder import Hook, Hooks, Recorder
from streamwatch.core.recording import Recording, home_dir, sessions_dir
from streamwatch.core.redact import JSON
from streamwatch.core.transport import (
    NO_HOST,
    NOT_HTTP,
    cause_chain,
    describe_exception,
    exception_name,
    host_problem,
    is_loopback,
    url_problem,
)

if TYPE_CHECKING:
    import anthropic
    import httpx2

    from streamwatch.core.tap import TapStream

DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_MAX_TOKENS = 1024
DEFAULT_PROMPT = "Explain in three short paragraphs why streaming responses can fail halfway through."
CONNECT_TIMEOUT = 5.0
LOOPBACK_KEY = "streamwatch-loopback-no-key"
"""Sent to loopback targets when the user has no key: the embedded mock needs none."""


class LiveError(Exception):
    """A request that cannot be sent as asked (the message is one line, for the user)."""


@dataclass
class LiveResult:
    state: StreamState
    verdict: Verdict
    session_path: Path | None
    cancelled: bool
    recording: Recording | None
    """The last attempt as the session file holds it, kept in memory even with `save=False`."""


def request_body(
    *,
    model: str | None = None,
    max_tokens: int | None = None,
    prompt: str | None = None,
    system: str | None = None,
    request_file: Path | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """A Messages request body: from a JSON file, or a one-turn prompt; flags override the file.
    LiveError for an empty prompt or model name (the API refuses the one, the other names nothing);
    `notes` gets a line for what of the file is not sent as it is (its `"stream": false`)."""
    if prompt is not None and not prompt.strip():
        raise LiveError("the prompt is empty: the API refuses a message with no text")
    if model is not None and not model.strip():
        raise LiveError("the model name is empty")
    if request_file is None:
        body: dict[str, Any] = {"messages": [{"role": "user", "content": prompt or DEFAULT_PROMPT}]}
    else:
        body = _read_request_file(request_file)
        if prompt is not None:
            body["messages"] = [{"role": "user", "content": prompt}]
    if body.pop("stream", None) is False and notes is not None:
        notes.append(f'{request_file} asks for "stream": false; it is streamed: streamwatch watches streams')
    if model is not None or "model" not in body:
        body["model"] = model or DEFAULT_MODEL
    if max_tokens is not None or "max_tokens" not in body:
        body["max_tokens"] = max_tokens or DEFAULT_MAX_TOKENS
    if system is not None:
        body["system"] = system
    return body


def _read_request_file(path: Path) -> dict[str, Any]:
    try:
        text = read_regular(path).decode("utf-8")
    except OSError as exc:
        raise LiveError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LiveError(f"{path} is not UTF-8 text") from None
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise LiveError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise LiveError(f"{path} must hold a JSON object (a Messages API request body)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise LiveError(f"{path} has no `messages` list of message objects")
    return body


def sdk_outcome(
    raised: BaseException | None, events: int, stop_reason: str | None, message_stop: bool, cancelled: bool,
    why: str | None = None,
) -> dict[str, Any]:
    """What the application's own code got from the SDK, and the line that tells the user; `why` a
    cancel came, when not from the user."""
    silent = raised is None and not message_stop and not cancelled
    if cancelled:
        # `events` are those the SDK handed the app's code, which may be fewer than the stream brought
        seen = f"nothing more: the run was stopped locally after it got {count_text(events, 'event')} ({why})" if why else (
            f"nothing more: you cancelled after it got {count_text(events, 'event')}"
        )
        if raised is not None:
            seen += f" (the SDK then raised {describe_exception(raised)})"
    elif raised is not None:
        seen = describe_exception(raised) + (f" (after {count_text(events, 'event')})" if events else " (before any event)")
    elif message_stop:
        seen = f"no exception, {count_text(events, 'event')}, stop_reason={stop_reason}"
    else:
        seen = (
            f"no exception, stop_reason={stop_reason}: after {count_text(events, 'event')} the SDK ended iteration "
            "as if the answer were finished"
        )
    return {
        "raised": None if raised is None else describe_exception(raised),
        "chain": [] if raised is None else cause_chain(raised),
        "events": events,
        "stop_reason": stop_reason,
        "message_stop": message_stop,
        "silent": silent,
        "seen": seen,
    }


def sdk_client() -> str:
    """The client a live run's session names (its header's `client`): the SDK and its version."""
    import anthropic

    return f"anthropic-python {anthropic.__version__}"


class LiveRun:
    """One request, one session file (unless `save=False`), one verdict."""

    def __init__(
        self,
        body: Mapping[str, Any],
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        stall_threshold: float = DEFAULT_STALL_THRESHOLD,
        save: bool = True,
        source: str = "live",
        directory: Path | None = None,
        hooks: Hooks | Iterable[Hook] = (),
        follows: LiveRun | None = None,
        link: Mapping[str, Any] | None = None,
        on_failure: str | None = None,
        continues: Mapping[str, Any] | None = None,
    ) -> None:
        """`on_failure`: what the run was told to do if the stream broke, said in the session header;
        `continues`: the earlier session this one goes on from, said there too (core/recording.py).

        With `follows`, the run is recorded by the earlier run's recorder (its clock, file and hooks):
        `stall_threshold`, `save`, `source`, `directory`, `hooks` and `on_failure` are that run's."""
        self.body = dict(body)
        self.stall_threshold = stall_threshold
        self._base_url = base_url
        self._api_key = api_key
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._save = save
        self._directory = directory
        self._follows = follows
        self._link = dict(link or {})
        if follows is not None:
            self._recorder = follows._recorder
        else:
            header: dict[str, Any] = {"client": sdk_client()}
            if continues:
                header["continues"] = dict(continues)
            self._recorder = Recorder(
                stall_threshold=stall_threshold, hooks=hooks, save=save, source=source, directory=directory,
                header=header if on_failure is None else {**header, "on_failure": on_failure},
            )
        self._redactor = self._recorder.redactor
        self._before = self._recorder.recording
        """The recorder's attempt before this run's: until it changes, this run has sent nothing."""
        self._own: tuple[StreamState, Recording | None, Path | None] | None = None
        """This run's state, recording and file, once it has finished (the recorder moves on)."""
        self._waiting = StreamState(stall_threshold) if follows is not None else self._recorder.state
        self._sent = False
        self._stream: TapStream | None = None
        self._ending: tuple[End, float | None, dict[str, Any] | None] | None = None
        self._network: Any = None
        self._cancelled = threading.Event()
        self._cancel_why: str | None = None
        self._lock = threading.Lock()

    # ----- the public surface -----------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def state(self) -> StreamState:
        """The stream's state (the last request's, after a redirect): fresh until the request is sent."""
        if self._own is not None:
            return self._own[0]
        return self._recorder.state if self._recorded else self._waiting

    @property
    def recording(self) -> Recording | None:
        """The stream as the session file holds it, kept in memory even with `save=False`; None until sent."""
        if self._own is not None:
            return self._own[1]
        return self._recorder.recording if self._recorded else None

    @property
    def session_path(self) -> Path | None:
        if self._own is not None:
            return self._own[2]
        return self._recorder.session_path if self._recorded else None

    @property
    def _recorded(self) -> bool:
        """The recorder holds this run's request (its attempt is the recorder's current one)."""
        return self._sent and self._recorder.recording is not self._before

    def now(self) -> float | None:
        """Seconds since the current attempt was sent (None before it is), on the state's clock."""
        return self._recorder.now() if self._sent else None

    def redact(self, value: JSON) -> JSON:
        """A text or a JSON value as it may be shown: this run's secrets and anything key-shaped in
        its strings replaced (see `Redactor.value`: a JSON value keeps its structure)."""
        return self._redactor.value(value)

    def cancel(self, why: str | None = None) -> None:
        """Stop the run from any thread: the connection is shut, the session records `cancelled`, and
        `why` when it is not the user who stopped it (`the output (stdout) was closed`)."""
        if why is not None and not self.cancelled:
            self._cancel_why = why
        self._cancelled.set()
        self._shut_socket()

    def stop(self, why: str) -> None:
        """Note, after the run, why recovery does not go on from it: in its recording and its file."""
        if self.recording is not None:
            self._recorder.stop(why)

    def preflight(self) -> None:
        """LiveError now if the request could not be sent (no key for a remote target, a bad base URL),
        or its session could not be saved."""
        self._client().close()
        self._check_folder()

    def reach(self) -> None:
        """LiveError now if the target does not take a connection within CONNECT_TIMEOUT (a mock that
        has stopped, a host that is gone). Not checked when the environment sends the request through
        a proxy: the proxy decides."""
        from anthropic._utils._httpx import get_environment_proxies

        client = self._client()
        url = client.base_url
        client.close()
        if not is_loopback(url) and get_environment_proxies():
            return
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            socket.create_connection((url.host, port), timeout=CONNECT_TIMEOUT).close()
        except OSError as exc:
            why = exc.strerror or str(exc) or type(exc).__name__
            raise LiveError(f"cannot reach {self._redactor.url(str(url).rstrip('/'))}: {why}") from None

    def run(self) -> LiveResult:
        """Send the request and consume the stream to its end; LiveError before sending if it cannot be."""
        import anthropic

        client = self._client()
        raised: BaseException | None = None
        events = 0
        stop_reason: str | None = None
        message_stop = False
        with client:
            self._check_folder()
            try:
                created = client.messages.create(
                    model=self.body["model"],
                    max_tokens=self.body["max_tokens"],
                    messages=self.body["messages"],
                    stream=True,
                    extra_body={k: v for k, v in self.body.items() if k not in ("model", "max_tokens", "messages")},
                    extra_headers=self._headers,
                )
                # The SDK's own Stream on the same response, yielding each event's JSON as it parsed it
                # instead of a model built from it (which never raises: see the module doc).
                for event in anthropic.Stream(cast_to=object, response=created.response, client=client):
                    events += 1
                    kind = event.get("type") if isinstance(event, dict) else None
                    if kind == "message_delta":
                        delta = event.get("delta")
                        stop_reason = delta.get("stop_reason") if isinstance(delta, dict) else None
                    elif kind == "message_stop":
                        message_stop = True
            except KeyboardInterrupt:
                self._cancelled.set()
            except Exception as exc:
                raised = exc
            finally:
                self._settle_stream()
        if not self._sent and raised is not None:
            raise LiveError(
                self._redactor.message(f"the SDK refused the request before sending it: {describe_exception(raised)}")
            )
        return self._finish(sdk_outcome(raised, events, stop_reason, message_stop, self.cancelled, self._cancel_why))

    def _check_folder(self) -> None:
        """LiveError if the sessions folder cannot be made: said before sending, not taken for a failure
        of the stream (the session file is made when the request goes out)."""
        if not self._save or self._follows is not None or self._directory is not None:
            return
        try:
            sessions_dir()
        except OSError as exc:
            why = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
            raise LiveError(
                f"cannot save sessions under {home_dir()}: {why}; set STREAMWATCH_HOME to a folder you can "
                "write, or use --no-save"
            ) from None

    # ----- building the client ----------------------------------------------------------------

    def _client(self) -> anthropic.Anthropic:
        """The SDK client as the user's environment configures it, on a tapped HTTP client.

        The SDK is imported here, when a request is about to be built: what sends nothing (the home,
        replay and attach screens, `analyze`) never pays the second its import takes."""
        import anthropic
        import httpx2

        from streamwatch.core.tap import idle_http_client, tapped_http_client

        asked = self._base_url if self._base_url is not None else os.environ.get("ANTHROPIC_BASE_URL")
        problem = url_problem(asked) if asked else None
        if problem in (NOT_HTTP, NO_HOST):
            raise LiveError(f"not an http:// or https:// base URL: {self._redactor.url(asked.strip())}")
        if problem:  # before the SDK's parser, which takes an unclosed IPv6 bracket for a bad port
            raise LiveError(f"not a usable base URL ({problem}): {self._redactor.url(asked.strip())}")
        try:
            probe = anthropic.Anthropic(
                base_url=self._base_url, api_key=self._api_key, max_retries=0, http_client=idle_http_client()
            )
        except httpx2.InvalidURL as exc:
            raise LiveError(self._redactor.message(f"not a usable base URL: {' '.join(str(exc).split())}")) from None
        except (anthropic.AnthropicError, ValueError, TypeError) as exc:
            message = " ".join(str(exc).split())
            raise LiveError(
                self._redactor.message(f"the Anthropic SDK cannot be set up from your environment: {message}")
            ) from None
        with probe:
            base_url = probe.base_url
            has_credentials = any(c is not None for c in (probe.api_key, probe.auth_token, probe.credentials))
        if base_url.scheme not in ("http", "https") or not base_url.host:
            raise LiveError(f"not an http:// or https:// base URL: {self._redactor.url(str(base_url).rstrip('/'))}")
        bad_host = host_problem(base_url.host)
        if bad_host:
            raise LiveError(f"not a usable base URL ({bad_host}): {self._redactor.url(str(base_url).rstrip('/'))}")
        loopback = is_loopback(base_url)
        api_key = self._api_key
        if not has_credentials:
            if not loopback:
                raise LiveError(
                    f"no API key to call {self._redactor.url(str(base_url))}: set ANTHROPIC_API_KEY (or "
                    "ANTHROPIC_AUTH_TOKEN), or run `streamwatch demo` to watch a stream from the built-in mock server"
                )
            api_key = LOOPBACK_KEY
        client = anthropic.Anthropic(
            base_url=self._base_url,
            api_key=api_key,
            max_retries=0,
            timeout=httpx2.Timeout(self._timeout, connect=CONNECT_TIMEOUT) if self._timeout else anthropic.NOT_GIVEN,
            http_client=tapped_http_client(self, trust_env=not loopback),
        )
        self._redactor.add([client.api_key, client.auth_token])
        # The base URL as written: the SDK appends its path to a query, so a query value is whole only here.
        self._redactor.learn(self._base_url or os.environ.get("ANTHROPIC_BASE_URL"))
        return client

    # ----- what the tap reports (on the run's thread) -----------------------------------------

    def _begin(self, request: httpx2.Request, body: Any) -> None:
        """A request goes out: this run's (another attempt of the session when it follows a run), or
        one the SDK makes by itself after it (a redirect), which ends the one before."""
        link = self._link
        if self.recording is not None:
            self._settle_stream()
            self._end(None)
            link = {}
        self._ending = None
        self._sent = True
        request.extensions = {**request.extensions, "trace": self._trace}
        self._recorder.request(
            request.method, str(request.url), request.headers.multi_items(), body, link=link
        )

    def _trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: keep the newest network stream, so `cancel()` can shut its socket."""
        stream = info.get("return_value")
        if name.endswith((".connect_tcp.complete", ".start_tls.complete")) and hasattr(stream, "get_extra_info"):
            with self._lock:
                self._network = stream
            if self.cancelled:
                self._shut_socket()

    def _shut_socket(self) -> None:
        with self._lock:
            stream = self._network
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _response(self, response: httpx2.Response) -> None:
        self._recorder.response(response.status_code, response.headers.multi_items())

    def _chunk(self, data: bytes) -> None:
        self._recorder.chunk(data)

    def _ended(self, exc: BaseException | None) -> None:
        """The body ended (or the request failed): how and when, recorded once the SDK is done."""
        t = self._recorder.t()
        if self.cancelled or isinstance(exc, KeyboardInterrupt):
            self._cancelled.set()
            kind = End.CANCELLED
        elif exc is None:
            kind = End.EOF
        elif _is_timeout(exc):
            kind = End.TIMEOUT
        else:
            kind = End.TRANSPORT_ERROR
        error = self._cancel_error()
        if exc is not None and kind != End.CANCELLED:
            error = {"type": exception_name(exc), "message": str(exc)}
        self._ending = (kind, t, error)

    def _cancel_error(self) -> dict[str, Any] | None:
        """The end record's error for a cancel that says why (none for one the user asked for)."""
        why = self._cancel_why if self.cancelled else None
        return None if why is None else {"type": "stopped_locally", "message": why}

    def _settle_stream(self) -> None:
        """Read what the SDK left unread (after it raised on an `event: error`), then close the body."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.settle(drain=not self.cancelled)

    # ----- the end ----------------------------------------------------------------------------

    def _finish(self, sdk: dict[str, Any]) -> LiveResult:
        self._end(sdk)
        self._own = (self.state, self.recording, self.session_path)
        verdict = self.state.verdict(session=str(self.session_path) if self.session_path else None)
        return LiveResult(self.state, verdict, self.session_path, self.cancelled, self.recording)

    def _end(self, sdk: dict[str, Any] | None) -> None:
        """Close this run's attempt in the recorder: how the body ended (a body the SDK left open ends
        now, `cancelled` or `eof`), with what the SDK raised (`sdk`), when it is done."""
        if self.recording is None:
            return
        kind, t, error = self._ending or (End.CANCELLED if self.cancelled else End.EOF, None, self._cancel_error())
        self._recorder.end(kind, error, sdk=sdk, t=t)


def _is_timeout(exc: BaseException) -> bool:
    """httpx2's timeout (the SDK is loaded: an exception came from sending)."""
    import httpx2

    return isinstance(exc, httpx2.TimeoutException)
