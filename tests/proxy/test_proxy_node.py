"""The official Node SDK (@anthropic-ai/sdk) through the proxy: it sees what it sees directly.

Runs only where `node` is on the PATH and STREAMWATCH_NODE_SDK_DIR names a folder whose node_modules
holds @anthropic-ai/sdk (`npm install @anthropic-ai/sdk` there); nothing is installed here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.proxy.conftest import Proxy

SDK_DIR = Path(os.environ.get("STREAMWATCH_NODE_SDK_DIR", "/nonexistent"))
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (SDK_DIR / "node_modules" / "@anthropic-ai" / "sdk").is_dir(),
    reason="needs node and STREAMWATCH_NODE_SDK_DIR with @anthropic-ai/sdk installed",
)

SCRIPT = """
import Anthropic from "@anthropic-ai/sdk";
const client = new Anthropic({ maxRetries: 0, apiKey: "test-key" });
try {
  const stream = client.messages.stream({ model: process.env.MODEL, max_tokens: 256,
    messages: [{ role: "user", content: "Hello from Node" }], }, { headers: { "x-streamwatch-fail-always": "1" } });
  let text = "";
  stream.on("text", (piece) => { text += piece; });
  const message = await stream.finalMessage();
  console.log(JSON.stringify({ stop_reason: message.stop_reason, text }));
} catch (error) {
  console.log(JSON.stringify({ raised: `${error.constructor.name}: ${error.message}` }));
}
"""


def node_stream(base_url: str, model: str) -> dict:
    env = {**os.environ, "ANTHROPIC_BASE_URL": base_url, "MODEL": model}
    env.pop("ANTHROPIC_API_KEY", None)
    done = subprocess.run(["node", "--input-type=module", "-e", SCRIPT], cwd=SDK_DIR, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("model", ["mock-ok", "mock-drop_eof", "mock-drop_abrupt"])
def test_the_node_sdk_sees_through_the_proxy_what_it_sees_directly(mock, proxy: Proxy, fixed_ids, model) -> None:
    direct = node_stream(mock.base_url, model)
    proxied = node_stream(proxy.url, model)

    assert proxied == direct
    assert ("raised" in proxied) == (model != "mock-ok")
    [session] = proxy.sessions()
    assert session.header["client"].startswith("Anthropic/JS ")
    assert session.header["source"] == "proxy" and session.latest.ending["kind"] in ("eof", "transport_error")
