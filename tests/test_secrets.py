"""No secret on disk or on screen, and never at the cost of the data: real runs through the SDK against
local servers, checked by grepping every byte under STREAMWATCH_HOME and everything printed."""

import itertools
import json
import threading

import pytest

from streamwatch.cli import main
from streamwatch.core.live import LiveRun, request_body
from streamwatch.core.recorder import Hook
from streamwatch.core.recording import load_session
from streamwatch.mock import MockServer
from tests import streams as s
from tests.stub import Canned, StubServer

KEY = "swtest-secrets-key-Qm7Vx2Lp9R"
"""Long enough to be scrubbed by value, and not key-shaped: only the run's own secrets can find it."""
SHAPED = "sk-ant-admin01-Wq3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xc-Vb"
"""A key this run does not know: only its shape can find it."""


pytestmark = pytest.mark.usefixtures("home")  # a data folder of each test's own (tests/conftest.py)


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def saved(home):
    """Every byte of every file streamwatch left in its folder."""
    return b"".join(path.read_bytes() for path in sorted(home.rglob("*")) if path.is_file())


def sse(text):
    """A complete answer whose text arrives in one delta, so a secret in it is whole on the wire."""
    return [s.message_start(), *s.text_block(0, text, piece=len(text)), s.message_delta("end_turn"), s.message_stop()]


@pytest.mark.parametrize("key", ["e", "any"])
def test_a_short_key_leaves_the_json_and_the_session_valid_and_the_answer_unchanged(capsys, home, monkeypatch, key):
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    with MockServer(time_scale=0) as server:
        expected = LiveRun(request_body(prompt="a short key"), base_url=server.base_url,
                           headers={"x-streamwatch-scenario": "ok"}, save=False).run().verdict.text
        code, out, err = run_cli(capsys, "run", "--json", "--base-url", server.base_url, "--scenario", "ok",
                                 "--prompt", "a short key")
    assert code == 0, err
    verdict = json.loads(out)
    assert verdict["complete"] and verdict["termination"] == "message_stop"
    assert key in expected, "the answer holds the key, so scrubbing the key by value would change it"
    assert verdict["text"] == expected
    (path,) = (home / "sessions").iterdir()
    lines = path.read_bytes().splitlines()
    assert all(json.loads(line) is not None for line in lines), "every line is JSON"
    session = load_session(path)
    assert session.skipped == [] and session.header["request"]["headers"]["authorization"] == "[redacted]"
    assert session.header["request"]["headers"]["anthropic-version"] == "2026-10-21"
    code, out, _ = run_cli(capsys, "analyze", path, "--json")
    assert code == 0 and json.loads(out)["text"] == expected


def test_a_key_in_an_error_body_is_scrubbed_from_the_file_and_everything_printed(capsys, home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    error = {"type": "error", "error": {"type": "authentication_error",
                                        "message": f"invalid x-api-key {KEY}; an admin key ({SHAPED}) cannot call this"}}
    refused = Canned(401, {"content-type": "application/json", "request-id": "req_refused_1"}, [json.dumps(error).encode()])
    with StubServer([refused]) as stub:
        code, out, err = run_cli(capsys, "run", "--json", "--base-url", stub.base_url, "--prompt", "hi")
        code_text, text_out, text_err = run_cli(capsys, "run", "--headless", "--base-url", stub.base_url, "--prompt", "hi")
    assert code == code_text == 1
    verdict = json.loads(out)
    assert verdict["http_status"] == 401 and "[redacted]" in verdict["sdk"]["raised"]
    assert verdict["error"]["message"] == "invalid x-api-key [redacted]; an admin key ([redacted]) cannot call this"
    assert "req_refused_1" in text_out, "a harmless header is shown as it came"
    for secret in (KEY, SHAPED):
        assert secret not in out + err + text_out + text_err
        assert secret.encode() not in saved(home)


def test_base_url_credentials_and_query_stay_off_disk_and_screen(capsys, home):
    with StubServer([Canned(chunks=sse("The gateway says hello."))]) as stub:
        url = stub.base_url.replace("://", "://user:pass@") + "/x?key=SECRET"
        runs = [run_cli(capsys, "run", "--headless", "--base-url", url, "--prompt", "hi"),
                run_cli(capsys, "run", "--json", "--base-url", url, "--prompt", "hi")]
    assert stub.requests == 2 and [code for code, _, _ in runs] == [0, 0]
    printed = "".join(out + err for _, out, err in runs)
    assert f"POST {stub.base_url.replace('://', '://[redacted]@')}/x?key=[redacted]" in printed
    for secret in ("pass", "SECRET"):
        assert secret not in printed
        assert secret.encode() not in saved(home)


def test_long_base_url_credentials_are_scrubbed_where_the_server_echoes_them(capsys, home):
    password, query = "pw-7Hs93KdLmPq2", "qv-Zr8Kq3LmW5x"
    with StubServer([Canned(chunks=sse(f"The gateway echoes {password} and {query}."))]) as stub:
        url = stub.base_url.replace("://", f"://user:{password}@") + f"/x?key={query}"
        code, out, err = run_cli(capsys, "run", "--json", "--base-url", url, "--prompt", "hi")
    assert code == 0 and json.loads(out)["text"] == "The gateway echoes [redacted] and [redacted]."
    for secret in (password, query):
        assert secret not in out + err
        assert secret.encode() not in saved(home)


def test_custom_headers_are_recorded_by_name_with_their_values_redacted(capsys, home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_CUSTOM_HEADERS", "X-Custom-Auth: hunter2hunter2\nX-Gateway-Tenant: acme-prod")
    headers = {"content-type": "text/event-stream", "request-id": "req_harmless_1", "retry-after": "7",
               "content-encoding": "identity", "set-cookie": "session=abc123def456"}
    with StubServer([Canned(200, headers, sse("Your credential hunter2hunter2 was accepted."))]) as stub:
        code, out, err = run_cli(capsys, "run", "--json", "--base-url", stub.base_url, "--prompt", "hi")
    assert code == 0, err
    (path,) = (home / "sessions").iterdir()
    session = load_session(path)
    sent = session.header["request"]["headers"]
    assert sent["x-custom-auth"] == sent["x-gateway-tenant"] == "[redacted]"
    assert sent["x-stainless-lang"] == "python" and sent["anthropic-version"] == "2026-10-21"
    assert session.latest.headers.items() >= {**headers, "set-cookie": "[redacted]"}.items()
    assert json.loads(out)["text"] == "Your credential [redacted] was accepted."
    for secret in ("hunter2hunter2", "acme-prod", "abc123def456"):
        assert secret not in out + err
        assert secret.encode() not in saved(home)


class Reads(Hook):
    """Counts the body reads the run has taken in, for a server that sends the next chunk only then."""

    def __init__(self):
        self.count = 0
        self.changed = threading.Condition()

    def on_events(self, state, events):
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for(self, number):
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= number, timeout=60), "the run stopped reading"


def test_a_secret_echoed_across_reads_never_reaches_the_file_in_pieces(capsys, home):
    """Split at every point of the run's key, in the middle of a key-shaped one, and one read per byte
    around both (tests/core/test_redact.py splits a body at every point and pair of points). The key is
    short, but long enough to be scrubbed by value: every run builds an SDK client, which takes time."""
    key = "swk-Qm7Vx2Lp9"
    text = f"The server echoes {key} and {SHAPED} back."
    body = b"".join(sse(text))
    spans = [range(body.index(secret.encode()), body.index(secret.encode()) + len(secret)) for secret in (key, SHAPED)]
    splits = [[point] for point in spans[0][1:]] + [[spans[1].start + len(spans[1]) // 2]]
    splits.append([point for span in spans for point in range(span.start - 2, span.stop + 2)])
    reads = Reads()
    cuts = [[body[a:b] for a, b in itertools.pairwise([0, *points, len(body)])] for points in splits]
    canned = [Canned(chunks=chunks, after_chunk=lambda number: reads.wait_for(number + 1)) for chunks in cuts]
    with StubServer(canned) as stub:
        for chunks in cuts:
            reads.count = 0
            result = LiveRun(request_body(prompt="echo"), base_url=stub.base_url, api_key=key, hooks=[reads]).run()
            assert reads.count == len(chunks), "each chunk arrived in a read of its own"
            recorded = b"".join(data for _, data in load_session(result.session_path).latest.chunks)
            clean = body.replace(key.encode(), b"[redacted]").replace(SHAPED.encode(), b"[redacted]")
            assert recorded == clean, [len(chunk) for chunk in chunks]
            assert result.verdict.complete and result.verdict.text == "The server echoes [redacted] and [redacted] back."
    code, out, _ = run_cli(capsys, "analyze", result.session_path, "--json")
    assert code == 0 and json.loads(out)["text"] == "The server echoes [redacted] and [redacted] back."
    assert key.encode() not in saved(home) and SHAPED.encode() not in saved(home)
