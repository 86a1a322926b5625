"""The official Python SDK through the proxy to the embedded mock: it reads the very bytes a direct
connection gives it, and each exchange is recorded as a proxied session."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest

from streamwatch.core.playback import replay_attempts
from tests.proxy.conftest import AsyncCapture, Capture, Proxy

REQUEST: dict[str, Any] = {
    "model": "mock-thinking",
    "max_tokens": 2048,
    "messages": [{"role": "user", "content": "Through the proxy, please."}],
}


def sync_read(base_url: str, mode: str) -> tuple[bytes, str]:
    capture = Capture()
    client = anthropic.Anthropic(base_url=base_url, api_key="test-key", max_retries=0,
                                 http_client=anthropic.DefaultHttpxClient(transport=capture))
    with client:
        if mode == "create":
            text = "".join(event.delta.text for event in client.messages.create(stream=True, **REQUEST)
                           if event.type == "content_block_delta" and event.delta.type == "text_delta")
        else:
            with client.messages.stream(**REQUEST) as stream:
                text = stream.get_final_text()
    return bytes(capture.bodies[0]), text


def async_read(base_url: str, mode: str) -> tuple[bytes, str]:
    async def read() -> tuple[bytes, str]:
        capture = AsyncCapture()
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key="test-key", max_retries=0,
                                          http_client=anthropic.DefaultAsyncHttpxClient(transport=capture))
        async with client:
            if mode == "create":
                text = ""
                async for event in await client.messages.create(stream=True, **REQUEST):
                    if event.type == "content_block_delta" and event.delta.type == "text_delta":
                        text += event.delta.text
            else:
                async with client.messages.stream(**REQUEST) as stream:
                    text = await stream.get_final_text()
        return bytes(capture.bodies[0]), text

    return asyncio.run(read())


@pytest.mark.parametrize("read", [sync_read, async_read], ids=["sync", "async"])
@pytest.mark.parametrize("mode", ["create", "stream"])
def test_the_sdk_reads_through_the_proxy_exactly_what_it_reads_directly(read, mode, mock, proxy: Proxy,
                                                                       fixed_ids) -> None:
    direct, direct_text = read(mock.base_url, mode)
    proxied, proxied_text = read(proxy.url, mode)

    assert proxied == direct and proxied_text == direct_text and len(direct_text) > 1000
    [session] = proxy.sessions()
    recording = session.latest
    assert b"".join(data for _, data in recording.chunks) == proxied
    assert session.header["source"] == "proxy"
    sdk = "AsyncAnthropic" if read is async_read else "Anthropic"
    assert session.header["client"] == f"{sdk}/Python {anthropic.__version__}"
    assert session.header["path"] == "/v1/messages" and session.header["upstream"] == mock.base_url
    assert recording.request["body"]["model"] == "mock-thinking"
    assert recording.headers["request-id"] == "req_mock_fixed"
    log = replay_attempts(session, 8.0)
    assert log.complete and log.attempts[0].state.text == proxied_text
