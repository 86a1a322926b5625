"""Credentials pass through the proxy to upstream untouched and never reach the session file."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx2

from streamwatch.server import BackgroundServer
from tests import streams

API_KEY = "sk-ant-api03-" + "Kx7" * 20
TOKEN = "tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SECRETS = (API_KEY, TOKEN, "Kx7Kx7Kx7", "9f8e7d6c5b4a")


class Echo:
    """An upstream that keeps what it was sent, and answers with a stream that repeats the key."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.received.append(({k.decode(): v.decode() for k, v in scope["headers"]}, body))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        said = streams.text_block(0, f"Your key is {API_KEY} and your token {TOKEN}.", piece=200)
        for data in [streams.message_start(), *said, streams.message_delta("end_turn"), streams.message_stop()]:
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def test_keys_reach_upstream_and_the_app_but_never_the_session_file(start_proxy) -> None:
    echo = Echo()
    with BackgroundServer(echo) as server:
        proxy = start_proxy(server.url)
        body = ('{"model":"claude-sonnet-4-6","max_tokens":10,"stream":true,"messages":[{"role":"user",'
                f'"content":"my key is {API_KEY}, my token {TOKEN}"}}]}}').encode()
        headers = {"x-api-key": API_KEY, "authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
        with httpx2.Client() as client:
            answer = client.post(proxy.url + f"/v1/messages?key={TOKEN}", content=body, headers=headers)
        [flow] = proxy.wait()

    sent_headers, sent_body = echo.received[0]
    assert sent_headers["x-api-key"] == API_KEY and sent_headers["authorization"] == f"Bearer {TOKEN}"
    assert sent_body == body
    assert API_KEY in answer.text and TOKEN in answer.text
    written = flow.recorder.session_path.read_text()
    assert "[redacted]" in written
    for secret in SECRETS:
        assert secret not in written
        assert secret not in flow.path + flow.upstream + str(flow.client)


class EchoAuthorization:
    """An upstream that answers with the Authorization header it was sent (the one httpx made of the user-info)."""

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        authorization = dict(scope["headers"]).get(b"authorization", b"none").decode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps({"seen": authorization}).encode()})


def test_the_upstream_s_password_and_its_basic_credential_never_reach_the_file_or_the_screen(start_proxy) -> None:
    password = "hunter2hunter2"
    basic = base64.b64encode(f"user:{password}".encode()).decode()
    with BackgroundServer(EchoAuthorization()) as server:
        upstream = server.url
        proxy = start_proxy(upstream.replace("http://", f"http://user:{password}@"))
        with httpx2.Client() as client:
            answer = client.get(proxy.url + "/v1/models")
        [flow] = proxy.wait()

    assert answer.json() == {"seen": f"Basic {basic}"}
    assert proxy.app.shown_upstream == upstream.replace("http://", "http://[redacted]@")
    written = flow.recorder.session_path.read_text()
    assert password not in written and basic not in written


def test_secret_named_fields_of_the_body_reach_upstream_but_never_the_session_file(start_proxy) -> None:
    echo = Echo()
    with BackgroundServer(echo) as server:
        proxy = start_proxy(server.url)
        body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 10, "api_key": "hunter2-not-key-shaped",
                           "metadata": {"password": "pw", "token": "opaque-token-value"},
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        with httpx2.Client() as client:
            client.post(proxy.url + "/v1/messages", content=body, headers={"content-type": "application/json"})
        [session] = proxy.sessions()

    assert echo.received[0][1] == body
    recorded = session.latest.request["body"]
    assert recorded["api_key"] == recorded["metadata"]["password"] == recorded["metadata"]["token"] == "[redacted]"
    assert recorded["max_tokens"] == 10 and recorded["messages"] == [{"role": "user", "content": "hi"}]
    written = proxy.flows[0].recorder.session_path.read_text()
    assert "hunter2-not-key-shaped" not in written and "opaque-token-value" not in written
