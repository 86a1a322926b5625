"""`streamwatch export`: a saved session as jsonl, sse, curl, har or a Markdown support report."""

import gzip
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from streamwatch.cli import main
from streamwatch.core.diagnose import End
from streamwatch.core.recording import SessionWriter
from streamwatch.mock import MockServer
from tests import streams as s

SCENARIOS = ("ok", "drop_eof", "drop_abrupt", "error_stream", "http_529", "max_tokens")
VERDICT_KEYS = ("complete", "termination", "stop_reason", "error", "event_count", "blocks", "text", "usage")
"""What a body alone carries of a verdict: the status, timing, stalls and how the SDK ended are the session's."""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A session per scenario and a retried one, recorded from the embedded server at full speed."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch, MockServer(time_scale=0) as server:
        for name in [name for name in os.environ if name.startswith("ANTHROPIC_")]:
            patch.delenv(name)
        patch.setenv("STREAMWATCH_HOME", str(home))
        sessions = {}
        for scenario in SCENARIOS:  # every request fails as its scenario says, a replay of it too
            sessions[scenario] = _record(server.base_url, scenario, "--fail-always")
        sessions["retried"] = _record(server.base_url, "drop_abrupt", "--on-failure", "retry")
        yield {"home": home, "server": server, "sessions": sessions}


def _record(base_url, scenario, *extra):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["run", "--headless", "--json", "--base-url", base_url, "--scenario", scenario,
              "--prompt", f"export test {scenario} {' '.join(extra)}", *extra])
    return Path(json.loads(out.getvalue())["session"])


@pytest.fixture(autouse=True)
def home(no_credentials, recorded, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(recorded["home"]))
    return recorded["home"]


def export(capsysbinary, *args):
    code = main(["export", *map(str, args)])
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


def verdict(capsysbinary, *args):
    code = main(["analyze", "--json", *map(str, args)])
    out, _ = capsysbinary.readouterr()
    return code, json.loads(out)


# ----- jsonl --------------------------------------------------------------------------------------


def test_jsonl_is_the_session_file_itself(capsysbinary, recorded):
    path = recorded["sessions"]["retried"]
    code, out, err = export(capsysbinary, path, "--format", "jsonl")
    assert code == 0 and out == path.read_bytes() and err == ""


# ----- sse ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sse_is_the_body_that_analyze_reads_back_to_the_same_verdict(capsysbinary, recorded, tmp_path,
                                                                      scenario):
    session = recorded["sessions"][scenario]
    code, body, err = export(capsysbinary, session, "--format", "sse")
    assert code == 0
    capture = tmp_path / "body.sse"
    capture.write_bytes(body)
    _, original = verdict(capsysbinary, session)
    extra = []
    if original["termination"] == "transport_error":
        assert "--curl-exit 18" in err and err.count("\n") == 1
        extra = ["--curl-exit", "18"]
    else:
        assert err == ""
    code, again = verdict(capsysbinary, capture, *extra)
    assert {key: again[key] for key in VERDICT_KEYS if key != "error"} == {
        key: original[key] for key in VERDICT_KEYS if key != "error"
    }
    assert (again["error"] or {}).get("type") == (original["error"] or {}).get("type") or extra
    assert [a["code"] for a in again["anomalies"]] == [a["code"] for a in original["anomalies"]]
    assert code == (0 if original["complete"] else 1)


def written(path, end, chunks=(), status=200):
    """A one-attempt session whose body is `chunks` and that ended as `end` says."""
    request = {"method": "POST", "url": "http://h/v1/messages", "headers": {}, "body": {"model": "m"}}
    with SessionWriter(path, {"streamwatch": "session", "version": 1, "request": request}) as writer:
        if status is not None:
            writer.response(status, {"content-type": "text/event-stream"}, 0.1)
        for number, chunk in enumerate(chunks):
            writer.chunk(chunk, 0.2 + number / 100)
        writer.end(*end)
    return path


@pytest.mark.parametrize(("end", "says", "curl_exit"), [
    ((End.CANCELLED, 0.5), "attempt 1 ended cancelled", "28"),
    ((End.TIMEOUT, 0.5, {"type": "httpx2.ReadTimeout", "message": "timed out"}), "attempt 1 ended timeout", None),
])
def test_sse_of_a_stream_that_did_not_end_by_itself_says_how_it_ended_and_how_analyze_reads_it_so(
        capsysbinary, tmp_path, end, says, curl_exit):
    path = written(tmp_path / "stopped.jsonl", end, s.complete_text("Stopped half way.")[:5])
    code, body, err = export(capsysbinary, path, "--format", "sse")
    assert code == 0 and err.startswith(f"streamwatch: note: {says}") and err.count("\n") == 1
    _, original = verdict(capsysbinary, path)
    capture = tmp_path / "body.sse"
    capture.write_bytes(body)
    if curl_exit is None:
        assert "no `--curl-exit`" in err and "clean early end" in err
    else:
        assert f"--curl-exit {curl_exit}" in err
        _, again = verdict(capsysbinary, capture, "--curl-exit", curl_exit)
        assert again["termination"] == original["termination"] == end[0].value


def test_sse_of_an_attempt_with_no_response_is_refused(capsysbinary, tmp_path):
    path = written(tmp_path / "refused.jsonl", (End.TRANSPORT_ERROR, 0.5, {"type": "httpx2.ConnectError",
                                                                         "message": "refused"}), status=None)
    code, out, err = export(capsysbinary, path, "--format", "sse", "-o", tmp_path / "out.sse")
    assert code == 2 and out == b"" and not (tmp_path / "out.sse").exists()
    assert err == "streamwatch: error: attempt 1 got no response: nothing to export as sse\n"


def test_sse_of_a_gzip_body_is_decoded(capsysbinary, tmp_path):
    path = tmp_path / "gzip.jsonl"
    body = b"".join(s.complete_text("Compressed on the wire."))
    packed = gzip.compress(body)
    with SessionWriter(path, {"streamwatch": "session", "version": 1, "request": {}}) as writer:
        writer.response(200, {"content-type": "text/event-stream", "content-encoding": "gzip"}, 0.1)
        writer.chunk(packed[:20], 0.2)
        writer.chunk(packed[20:], 0.3)
        writer.end(End.EOF, 0.4)
    code, out, _ = export(capsysbinary, path, "--format", "sse")
    assert code == 0 and out == body
    capture = tmp_path / "out.sse"
    capture.write_bytes(out)
    assert verdict(capsysbinary, capture)[1]["text"] == "Compressed on the wire."


def test_sse_takes_the_last_attempt_unless_told_another(capsysbinary, recorded):
    path = recorded["sessions"]["retried"]
    _, last, _ = export(capsysbinary, path, "--format", "sse")
    _, first, _ = export(capsysbinary, path, "--format", "sse", "--attempt", "1")
    _, second, _ = export(capsysbinary, path, "--format", "sse", "--attempt", "2")
    assert last == second != first
    assert b"message_stop" in last and b"message_stop" not in first


# ----- curl ---------------------------------------------------------------------------------------


def run_script(script, tmp_path, key="swtest-export-key-5c8Lq"):
    env = {"PATH": os.environ["PATH"], "ANTHROPIC_API_KEY": key, "HOME": str(tmp_path)}
    return subprocess.run(["bash", "-c", script], capture_output=True, env=env, cwd=tmp_path, timeout=60)


def test_curl_replays_the_request_and_gets_the_same_failure(capsysbinary, recorded, tmp_path):
    session = recorded["sessions"]["drop_eof"]
    code, script, _ = export(capsysbinary, session, "--format", "curl")
    assert code == 0
    text = script.decode()
    assert '-H "Authorization: Bearer $ANTHROPIC_API_KEY"' in text  # as the SDK sent it, in double quotes
    assert "curl -N " in text and "x-streamwatch-scenario: drop_eof" in text and "anthropic-version" in text
    assert "[redacted]" not in text.split("\n", 2)[2], "a redacted value was sent as if it were one"
    result = run_script(text, tmp_path)
    assert result.returncode == 0, result.stderr
    capture = tmp_path / "again.sse"
    capture.write_bytes(result.stdout)
    _, original = verdict(capsysbinary, session)
    _, again = verdict(capsysbinary, capture)
    assert (again["termination"], again["complete"]) == (original["termination"], original["complete"]) == ("eof", False)


HOSTILE_PROMPT = "it's $(touch pwned) `touch pwned2` \"$HOME\" \\ ${x}\nSTREAMWATCH_BODY\n\u202e\x1b[2J end"


def test_curl_quotes_everything_from_the_file_for_the_shell(capsysbinary, tmp_path):
    body = {"model": "claude-sonnet-4-6", "max_tokens": 5, "stream": True,
            "messages": [{"role": "user", "content": HOSTILE_PROMPT}]}
    header = {"streamwatch": "session", "version": 1, "request": {
        "method": "POST", "url": "http://127.0.0.1:9/v1/$(touch pwned3)/messages",
        "headers": {"x-streamwatch-custom": "a'b $(touch pwned4)", "authorization": "[redacted]",
                    "x-secret": "[redacted]"},
        "body": body,
    }}
    path = tmp_path / "hostile.jsonl"
    SessionWriter(path, header).close()
    code, script, _ = export(capsysbinary, path, "--format", "curl")
    assert code == 0 and script.isascii()
    assert "# left out, redacted in the session: x-secret" in script.decode()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "curl").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > args\ncat > body\n')
    (fake / "curl").chmod(0o700)
    result = run_script(f"PATH={fake}:$PATH\n" + script.decode(), tmp_path)
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.glob("pwned*")), "something in the file ran as a command"
    assert json.loads((tmp_path / "body").read_text()) == body
    args = (tmp_path / "args").read_text().splitlines()
    assert "x-streamwatch-custom: a'b $(touch pwned4)" in args and "Authorization: Bearer swtest-export-key-5c8Lq" in args
    assert "http://127.0.0.1:9/v1/$(touch pwned3)/messages" in args and "-N" in args


def test_curl_of_attempt_1_is_the_first_request(capsysbinary, recorded):
    path = recorded["sessions"]["retried"]
    _, first, _ = export(capsysbinary, path, "--format", "curl", "--attempt", "1")
    _, last, _ = export(capsysbinary, path, "--format", "curl")
    assert first.startswith(b"# attempt 1 of 2") and last.startswith(b"# attempt 2 of 2")


# ----- har ----------------------------------------------------------------------------------------

HAR_REQUIRED = {
    "log": {"version", "creator", "entries"},
    "creator": {"name", "version"},
    "entry": {"startedDateTime", "time", "request", "response", "cache", "timings"},
    "request": {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"},
    "response": {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL",
                 "headersSize", "bodySize"},
    "content": {"size", "mimeType"},
    "timings": {"send", "wait", "receive"},
    "postData": {"mimeType", "text"},
}


def check_har(archive):
    """The fields HTTP Archive 1.2 requires, with their types."""
    log = archive["log"]
    assert HAR_REQUIRED["log"] <= set(log) and log["version"] == "1.2"
    assert HAR_REQUIRED["creator"] <= set(log["creator"])
    for entry in log["entries"]:
        assert HAR_REQUIRED["entry"] <= set(entry)
        assert "T" in entry["startedDateTime"] and entry["startedDateTime"][-6] in "+-"
        request, response = entry["request"], entry["response"]
        assert HAR_REQUIRED["request"] <= set(request) and HAR_REQUIRED["response"] <= set(response)
        assert HAR_REQUIRED["postData"] <= set(request["postData"])
        assert HAR_REQUIRED["content"] <= set(response["content"])
        for pairs in (request["headers"], response["headers"], request["queryString"]):
            assert all(set(pair) >= {"name", "value"} and isinstance(pair["value"], str) for pair in pairs)
        assert isinstance(response["status"], int) and isinstance(response["content"]["size"], int)
        timings = entry["timings"]
        assert HAR_REQUIRED["timings"] <= set(timings) and all(timings[k] >= 0 for k in ("send", "wait", "receive"))
        assert all(value >= 0 or value == -1 for value in timings.values())
        assert entry["time"] == pytest.approx(sum(value for value in timings.values() if value > 0), abs=0.01)


def test_har_has_one_valid_entry_per_attempt(capsysbinary, recorded):
    path = recorded["sessions"]["retried"]
    code, out, _ = export(capsysbinary, path, "--format", "har")
    assert code == 0 and out.isascii()
    archive = json.loads(out)
    check_har(archive)
    entries = archive["log"]["entries"]
    assert len(entries) == 2
    _, body, _ = export(capsysbinary, path, "--format", "sse")
    assert entries[1]["response"]["content"]["text"].encode() == body
    assert entries[1]["response"]["status"] == 200 and entries[1]["timings"]["wait"] > 0
    assert json.loads(entries[0]["request"]["postData"]["text"])["messages"][0]["content"] == "export test drop_abrupt --on-failure retry"
    assert entries[0]["startedDateTime"] <= entries[1]["startedDateTime"]
    assert "attempt 2 (retry)" in entries[1]["comment"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_har_of_every_scenario_is_valid(capsysbinary, recorded, scenario):
    code, out, _ = export(capsysbinary, recorded["sessions"][scenario], "--format", "har")
    assert code == 0
    check_har(json.loads(out))


def test_har_of_a_request_without_a_response_and_a_body_that_is_not_utf8(capsysbinary, tmp_path):
    path = tmp_path / "odd.jsonl"
    with SessionWriter(path, {"streamwatch": "session", "version": 1, "started": "not a time", "request": {
        "method": "POST", "url": "http://h/v1/messages", "headers": {}, "body": {"model": "m"}}}) as writer:
        writer.end(End.TRANSPORT_ERROR, 0.5, {"type": "httpx2.ConnectError", "message": "refused"})
        writer.attempt({"method": "POST", "url": "http://h/v1/messages", "headers": {}, "body": {}}, 1.0,
                       reason="retry", replaces=1, strategy="retry")
        writer.response(200, {"content-type": "text/event-stream"}, 1.1)
        writer.chunk(b"\xff\xfe", 1.2)
        writer.end(End.EOF, 1.3)
    code, out, _ = export(capsysbinary, path, "--format", "har")
    archive = json.loads(out)
    check_har(archive)
    first, second = archive["log"]["entries"]
    assert first["response"]["status"] == 0 and first["timings"]["wait"] == 500
    assert second["response"]["content"] == {"size": 2, "mimeType": "text/event-stream", "text": "//4=",
                                             "encoding": "base64"}


# ----- report -------------------------------------------------------------------------------------


def test_report_of_the_broken_demo_stream_says_what_support_asks(capsysbinary, recorded):
    code, out, _ = export(capsysbinary, recorded["sessions"]["drop_eof"], "--format", "report")
    text = out.decode()
    assert code == 0 and text.startswith("# Broken stream: `ABNORMAL eof`")
    for expected in ("**request-id:** `req_", "**model:** `claude-sonnet-4-6`", "**client:** `anthropic-python ",
                     "**when:**", "**where:** ``inside tool_use `write_file` after", "**last event:** #",
                     "ending at byte ", "**so far:**", "`block_not_stopped`", "## Verdict",
                     "The body ended cleanly without message_stop", "authorization: [redacted]",
                     '"content": "export test drop_eof --fail-always"'):
        assert expected in text, expected


def test_report_lists_every_attempt_of_a_recovery(capsysbinary, recorded):
    path = recorded["sessions"]["retried"]
    _, last, _ = export(capsysbinary, path, "--format", "report")
    _, first, _ = export(capsysbinary, path, "--format", "report", "--attempt", "1")
    assert last.startswith(b"# Stream report: `COMPLETE end_turn`") and b"attempt 2 of 2" in last
    assert first.startswith(b"# Broken stream: `ABNORMAL transport_error`")
    for report in (first, last):
        assert b"## Recovery attempts" in report and b"attempt 2 (retry): COMPLETE" in report


HOSTILE = "# Owned\n[click](https://evil.example) <script>alert(1)</script> ``` ~~~ `x` https://evil.example/a \x1b[31m"


def test_report_keeps_every_string_from_the_file_inert_in_markdown_and_on_a_terminal(capsysbinary, tmp_path):
    path = tmp_path / "hostile.jsonl"
    body = {"model": HOSTILE, "messages": [{"role": "user", "content": HOSTILE * 40}]}
    chunks = [s.message_start(), *s.text_block(0, HOSTILE), *s.tool_block(1, HOSTILE, {"q": HOSTILE}, stop=False),
              s.error("overloaded_error", HOSTILE)]
    with SessionWriter(path, {"streamwatch": "session", "version": 1, "client": HOSTILE, "request": {
            "method": "POST", "url": "https://api.example/v1/messages", "headers": {HOSTILE: HOSTILE},
            "body": body}}) as writer:
        writer.response(200, {"request-id": HOSTILE, "content-type": "text/event-stream"}, 0.1)
        for i, chunk in enumerate(chunks):
            writer.chunk(chunk, 0.2 + i / 100)
        writer.end(End.EOF, 1.0)
    code, out, _ = export(capsysbinary, path, "--format", "report")
    text = out.decode()
    assert code == 0 and "\x1b" not in text and "\\x1b[31m" in text
    html = MarkdownIt("gfm-like").render(text)  # GitHub's flavour: bare URLs become links outside code
    assert html.count("<h1>") == 1 and "<h1>Broken stream" in html
    assert "<a " not in html and "<script>" not in html and "&lt;script&gt;" in html
    assert "more characters]" in text, "the long prompt is cut"


# ----- where it goes, and bad input ---------------------------------------------------------------


def test_o_writes_a_new_private_file_and_says_where(capsysbinary, recorded, tmp_path):
    target = tmp_path / "report.md"
    code, out, err = export(capsysbinary, "latest", "--format", "report", "-o", target)
    assert code == 0 and out == b"" and str(target) in err and err.count("\n") == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_text().startswith("# ")


def test_o_dash_is_stdout(capsysbinary, recorded, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = export(capsysbinary, "latest", "--format", "jsonl", "-o", "-")
    assert (code, err) == (0, "") and out == Path(recorded["sessions"]["retried"]).read_bytes()
    assert list(tmp_path.iterdir()) == []


def test_o_never_writes_over_a_file_or_through_a_link(capsysbinary, tmp_path):
    there = tmp_path / "there.md"
    there.write_text("keep me")
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "elsewhere.md")
    for target in (there, link):
        code, out, err = export(capsysbinary, "latest", "--format", "report", "-o", target)
        assert code == 2 and err.count("\n") == 1 and "not written over" in err
    assert there.read_text() == "keep me" and not (tmp_path / "elsewhere.md").exists()


NO_COLLECTOR = "http://127.0.0.1:9"
"""Where spans would go: a bad input sends none."""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl", "--format", "sse"], "no session file or saved session matches"),
        (["NOTSESSION", "--format", "har"], "is not a streamwatch session file"),
        (["NOTSESSION", "--format", "jsonl"], "is not a streamwatch session file"),
        (["NOTSESSION", "--format", "curl"], "is not a streamwatch session file"),
        (["FIFO", "--format", "report"], "FIFO"),
        (["NOTSESSION", "--format", "otlp", "--otlp", NO_COLLECTOR], "is not a streamwatch session file"),
        (["missing.jsonl", "--format", "otlp", "--otlp", NO_COLLECTOR], "no session file or saved session matches"),
        (["FIFO", "--format", "otlp", "--otlp", NO_COLLECTOR], "FIFO"),
        (["latest", "--format", "pdf"], "invalid choice: 'pdf'"),
        (["latest"], "the following arguments are required: --format"),
        (["latest", "--format", "har", "--attempt", "1"], "--attempt is for sse, curl and report"),
        (["latest", "--format", "curl", "--attempt", "9"], "there is no attempt 9"),
        (["latest", "--format", "curl", "--attempt", "0"], "must be 1 or more"),
        (["latest", "--format", "report", "--theme", "ansi"], "--theme means nothing to `streamwatch export`"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsysbinary, tmp_path, fifo, args, message):
    (tmp_path / "capture.sse").write_bytes(b"".join(s.complete_text()))
    fifo(tmp_path / "pipe.jsonl")
    names = {"NOTSESSION": str(tmp_path / "capture.sse"), "FIFO": str(tmp_path / "pipe.jsonl")}
    try:
        code = main(["export", *(names.get(arg, arg) for arg in args)])
    except SystemExit as exc:
        code = exc.code
    _, err = capsysbinary.readouterr()
    assert code == 2 and err.decode().count("\n") == 1 and message in err.decode(), err
