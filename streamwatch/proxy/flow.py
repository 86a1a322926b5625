"""One proxied HTTP exchange: `Flow`, the facts the proxy knows once a request's head and body are in.

A flow is made before anything is sent upstream; its facts are set once (the `fault` label and the
`recorder` right after, before anyone is told of the flow; `fault_fired` when the fault fires), and `done` turns True when the
recording has ended and the hooks have heard `on_attempt_end` and `on_session_end`. Everything shown
of the request is redacted by the flow's recorder's `Redactor` (which learnt the request's secrets
first): the path's query values, the upstream's user-info. `client` describes the app that sent it,
from the headers the official SDKs send, and `client_text` says it on one line for the session file.
What the stream did is the recorder's: `flow.recorder.state` (a `StreamState`), `.recording`,
`.session_path`.
"""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from streamwatch.core.recorder import Recorder
from streamwatch.core.redact import Redactor


@dataclass(eq=False)
class Flow:
    id: str
    started: datetime.datetime
    """Wall-clock time (UTC) the request was in."""
    method: str
    path: str
    """The path and query the client asked for, redacted."""
    client: dict[str, str | None]
    """`user_agent`, `lang` (x-stainless-lang), `package_version` (x-stainless-package-version),
    `address` ("ip:port"); None where the request did not say."""
    model: str | None
    stream: bool
    upstream: str
    """The base URL it is forwarded to, redacted."""
    fault: str | None = None
    """The label of a fault armed for this flow on purpose, if one was."""
    fault_fired: bool = False
    """That fault has fired (changed what the client got): until it does, the flow is an ordinary one."""
    done: bool = False
    recorder: Recorder = field(init=False, repr=False)
    """Set before the flow is announced (`on_flow`); `hooks_for(flow)` is called before it is."""

    @property
    def client_text(self) -> str | None:
        return client_text(self.client)


def make_flow(
    redactor: Redactor,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: Any,
    upstream: str,
    address: str | None,
) -> Flow:
    """The flow of a request as the proxy received it (`path` with its query, `body` as parsed:
    None when it is not JSON); `redactor` must have learnt the request's secrets."""
    named = {name.lower(): redactor.text(value) for name, value in headers}
    model = body.get("model") if isinstance(body, dict) else None
    base = upstream.rstrip("/")
    return Flow(
        id=uuid.uuid4().hex[:8],
        started=datetime.datetime.now(datetime.UTC),
        method=method,
        path=redactor.url(base + path).removeprefix(redactor.url(base)),
        client={
            "user_agent": named.get("user-agent"),
            "lang": named.get("x-stainless-lang"),
            "package_version": named.get("x-stainless-package-version"),
            "address": address,
        },
        model=model if isinstance(model, str) else None,
        stream=isinstance(body, dict) and body.get("stream") is True,
        upstream=redactor.url(base),
    )


def client_text(client: dict[str, str | None]) -> str | None:
    """The client on one line: its user-agent (`Anthropic/Python 2.14.0`, `curl/8.5.0`), with the SDK's
    language and version after it when the user-agent does not already say that version
    (`my-agent/2.0 (python 2.14.0)`); the SDK facts alone without a user-agent; None if nothing is known."""
    agent, lang, version = client.get("user_agent"), client.get("lang"), client.get("package_version")
    sdk = " ".join(part for part in (lang, version) if part) or None
    if not agent:
        return sdk
    if sdk is None or (version and version in agent):
        return agent
    return f"{agent} ({sdk})"


def request_body(content: bytes, content_type: str | None) -> tuple[dict[str, Any], Any, str | None]:
    """A request body as the session records it: (the JSON object, or `{}`; the body as parsed, None
    when it is not JSON; for a body that is not a JSON object, what it was, in a few words). Any
    other body (a file upload, nothing at all for a GET) is forwarded as it came and not recorded."""
    try:
        parsed = json.loads(content) if content else None
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        return parsed, parsed, None
    if not content:
        return {}, None, "none"
    kind = "JSON, not an object" if parsed is not None else (content_type or "no content-type")
    return {}, parsed, f"{kind}, {len(content)} bytes: not recorded"
