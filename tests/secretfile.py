"""A session file streamwatch did not write: made by hand, holding every kind of secret in every place a
session can hold one, none of it redacted. What streamwatch reads from it must show none of them."""

from __future__ import annotations

import json
from pathlib import Path

from tests import streams as s

URL_KEY = "sk-ant-api03-UrlKey7Qm2Vx9Lp4Rt6Yw8Ab"
HEADER_KEY = "sk-ant-api03-HdrKey3Nb5Mc7Xz1Kj2Hg4Cd"
BEARER = "swtest-bearer-Zq8Wn4Vb6Tr2Ys1Ef"
"""Not key-shaped: only the `authorization` header it came in says it is a secret."""
PROMPT_KEY = "sk-ant-api03-PrmKey5Df7Gh9Jk1Lz3Xc5Gh"
FIELD_SECRET = "hunter2-field-Secret99"
"""The value of a secret-named field of the request body, shaped like nothing."""
ANSWER_KEY = "sk-ant-api03-AnsKey2Po4Iu6Yt8Re0Wq2Ij"
"""In the answer's text, split across two chunks."""
ERROR_KEY = "sk-ant-api03-ErrKey9Mn8Bv7Cx6Za5Sd4Kl"
COOKIE = "swtest-cookie-Hx4Jp7Lr2Qs9Tv"

SECRETS = (URL_KEY, HEADER_KEY, BEARER, PROMPT_KEY, FIELD_SECRET, ANSWER_KEY, ERROR_KEY, COOKIE)
NAME = "20261201-100000-live-5ec2e75a.jsonl"
PROMPT = f"why does my key {PROMPT_KEY} fail?"


MARKS = {secret: (secret.removeprefix("sk-ant-api03-")[:8], secret[-8:]) for secret in SECRETS}
"""What of each secret no other text holds: its start after its shape's prefix (a table cell cut short
keeps it), and its end (what a secret cut in two leaves)."""


def leaked(text: str | bytes) -> list[str]:
    """The secrets found in `text`, whole or in part (see `MARKS`)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [secret for secret, marks in MARKS.items() if any(mark in text for mark in marks)]


def write(folder: Path) -> Path:
    request = {
        "method": "POST",
        "url": f"https://api.anthropic.com/v1/messages?beta=true&key={URL_KEY}",
        "headers": {"x-api-key": HEADER_KEY, "authorization": f"Bearer {BEARER}", "content-type": "application/json",
                    "anthropic-version": "2023-06-01"},
        "body": {"model": "claude-sonnet-4-6", "max_tokens": 64, "stream": True,
                 "metadata": {"user_id": "u1", "api_key": FIELD_SECRET},
                 "messages": [{"role": "user", "content": PROMPT}]},
    }
    header = {"streamwatch": "session", "version": 1, "id": "5ec2e75a", "started": "2026-12-01T10:00:00.000+00:00",
              "source": "live", "request": request}
    answer = f"Your key {ANSWER_KEY} and token {BEARER} were echoed. "
    body = b"".join([s.message_start(), *s.text_block(0, answer, piece=len(answer))])
    cut = body.index(ANSWER_KEY.encode()) + 20
    error = f"peer closed connection; the request sent x-api-key {ERROR_KEY}"
    lines = [
        header,
        [0.2, "response", {"status": 200, "headers": {"content-type": "text/event-stream", "request-id": "req_5ec2",
                                                      "set-cookie": f"session={COOKIE}"}}],
        [0.3, "chunk", body[:cut].decode()],
        [0.4, "chunk", body[cut:].decode()],
        [0.9, "end", {"kind": "transport_error", "error": {"type": "RemoteProtocolError", "message": error},
                      "sdk": {"raised": f"httpx2.RemoteProtocolError: {error}", "chain": [error], "events": 3,
                              "stop_reason": None, "message_stop": False, "silent": False, "seen": error}}],
        [0.9, "stopped", {"why": f"not retried: {error}"}],
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NAME
    path.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    assert len(leaked(path.read_bytes())) == len(SECRETS), "the file holds every secret, unredacted"
    return path
