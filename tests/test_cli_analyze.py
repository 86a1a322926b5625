import gzip
import json
import subprocess
import sys

import pytest

from streamwatch.cli import main
from streamwatch.core.diagnose import End
from streamwatch.core.recording import SessionWriter
from tests import sessions
from tests import streams as s

HEAD_200 = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"request-id: req_011CZ\r\ntransfer-encoding: chunked\r\n\r\n"
)
BODY_529 = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}'


def analyze(capsys, *args):
    code = main(["analyze", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def verdict_of(capsys, path, *extra):
    code, out, err = analyze(capsys, path, "--json", *extra)
    assert out.count("\n") == 1
    return code, json.loads(out)


def test_complete_curl_n_capture_exits_0(tmp_path, capsys):
    path = write(tmp_path, "ok.sse", b"".join(s.complete_text("All done.")))
    code, verdict = verdict_of(capsys, path)
    assert code == 0
    assert verdict["complete"] and verdict["termination"] == "message_stop" and verdict["text"] == "All done."
    assert verdict["stalls"] == [] and verdict["timing"]["duration"] is None and verdict["session"] is None


def test_seed_case_with_curl_i_head_exits_1(tmp_path, capsys):
    tool = s.tool_block(1, "write_file", {"path": "a.py", "content": "print(1)\n" * 3000}, stop=False)
    body = b"".join([s.message_start(), *s.text_block(0, "Writing it now."), *tool[:-5]])
    path = write(tmp_path, "seed.txt", HEAD_200 + body)
    code, verdict = verdict_of(capsys, path)
    assert code == 1
    assert verdict["termination"] == "eof" and verdict["http_status"] == 200
    assert verdict["blocks"][1] | {"chars": 0} == {
        "index": 1, "type": "tool_use", "complete": False, "name": "write_file", "json_valid": False, "chars": 0}
    assert "inside tool_use `write_file`" in verdict["explanation"]


def test_curl_i_529_and_bare_json_error_body(tmp_path, capsys):
    head = b"HTTP/2 529 \r\ncontent-type: application/json\r\nretry-after: 12\r\n\r\n"
    code, verdict = verdict_of(capsys, write(tmp_path, "529.txt", head + BODY_529))
    assert code == 1
    assert (verdict["termination"], verdict["http_status"], verdict["error"]["type"]) == (
        "http_error", 529, "overloaded_error")
    assert "12 s" in verdict["explanation"]
    code, verdict = verdict_of(capsys, write(tmp_path, "529.json", BODY_529))
    assert code == 1
    assert (verdict["termination"], verdict["http_status"]) == ("http_error", None)


def test_proxy_connect_head_is_skipped(tmp_path, capsys):
    data = b"HTTP/1.1 200 Connection established\r\n\r\n" + HEAD_200 + b"".join(s.complete_text())
    code, verdict = verdict_of(capsys, write(tmp_path, "proxied.txt", data))
    assert code == 0 and verdict["http_status"] == 200


def test_error_event_and_cut_mid_event(tmp_path, capsys):
    body = b"".join([s.message_start(), *s.text_block(0, "Half of it")[:-1], s.error("api_error", "Internal")])
    code, verdict = verdict_of(capsys, write(tmp_path, "err.sse", body))
    assert code == 1 and verdict["termination"] == "error_event" and verdict["error"]["type"] == "api_error"
    cut = body[: body.rindex(b"event: error") + 30]
    code, verdict = verdict_of(capsys, write(tmp_path, "cut.sse", cut))
    assert code == 1 and verdict["termination"] == "eof"
    assert verdict["event_count"] == cut.count(b"\n\n")
    assert "incomplete_event" in [a["code"] for a in verdict["anomalies"]]


def test_crlf_capture(tmp_path, capsys):
    body = b"".join(s.complete_text()).replace(b"\n", b"\r\n")
    code, verdict = verdict_of(capsys, write(tmp_path, "crlf.sse", body))
    assert code == 0


def test_session_file_verdict_names_the_session_and_uses_timing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path))
    writer = SessionWriter.create("live", {"method": "POST", "url": "u", "headers": {}, "body": {}})
    writer.response(200, {}, 0.1)
    chunks = s.complete_text()
    for i, chunk in enumerate(chunks):
        writer.chunk(chunk, 0.5 + (7.0 if i == 3 else 0.0) + i * 0.01)
    writer.end(End.EOF, 8.0)
    writer.close()
    code, verdict = verdict_of(capsys, writer.path)
    assert code == 0 and verdict["session"] == str(writer.path)
    assert [st["after_event"] for st in verdict["stalls"]] == [3]
    code, verdict = verdict_of(capsys, writer.path, "--stall-threshold", "10")
    assert verdict["stalls"] == []


def test_a_continuation_that_only_calls_a_tool_still_has_its_seam_where_it_began(tmp_path, capsys):
    """The replay marks where attempt 2 took over at the end of the text; analyze says the same seam."""
    code, verdict = verdict_of(capsys, sessions.write_resumed(tmp_path, tool_call=True))
    assert code == 0 and verdict["complete"] and verdict["stop_reason"] == "tool_use"
    assert verdict["text"] == sessions.FIRST_DRAFT and verdict["seams"] == [len(sessions.FIRST_DRAFT)]


def test_a_resumed_session_is_every_attempt_and_the_stitched_answer(tmp_path, capsys):
    path = sessions.write_resumed(tmp_path)
    code, verdict = verdict_of(capsys, path)
    assert code == 0 and verdict["complete"] and verdict["termination"] == "message_stop"
    assert verdict["text"] == sessions.RESUMED_ANSWER and verdict["seams"] == [len(sessions.FIRST_DRAFT)]
    assert [(a["number"], a["reason"], a["strategy"], a["termination"]) for a in verdict["attempts"]] == [
        (1, "first", None, "eof"), (2, "resume", "user-turn", "message_stop")]
    assert verdict["attempts"][1]["waited"] == 2.0 and verdict["attempts"][1]["repaid"]["input_tokens"] == 60
    assert verdict["stopped"] is None and verdict["session"] == str(path)
    code, out, _ = analyze(capsys, path)
    assert code == 0 and out.startswith(f"streamwatch analyze (attempt 2 of 2): {path}\n")
    assert "Verdict: COMPLETE end_turn" in out
    assert out.endswith(
        "Attempts\n"
        "  attempt 1 (first): ABNORMAL eof · died inside text block 0 at 40 chars · 10 events · 1.3 KB\n"
        "  attempt 2 (resume, user-turn): COMPLETE end_turn · 14 events · 1.7 KB · 1.010s"
        " · re-paid 60 input and 0 output tokens\n"
        "Answer: 81 characters: attempt 1, then attempt 2 from character 40\n"
    )


def test_a_session_whose_last_attempt_broke_too_exits_1(tmp_path, capsys):
    code, verdict = verdict_of(capsys, sessions.write_resumed(tmp_path, complete=False))
    assert code == 1 and not verdict["complete"] and verdict["termination"] == "error_event"
    assert [a["termination"] for a in verdict["attempts"]] == ["eof", "error_event"]
    assert verdict["text"] == sessions.RESUMED_ANSWER


def test_readable_report_is_terminal_safe(tmp_path, capsys):
    body = b"".join(s.complete_text("evil \x1b]0;pwned\x07 \x1b[2J text\r"))
    code, out, err = analyze(capsys, write(tmp_path, "evil.sse", body))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    for section in ("Timeline", "Blocks", "Verdict: COMPLETE end_turn"):
        assert section in out


def test_hostile_event_types_and_error_messages_stay_on_their_timeline_row(tmp_path, capsys):
    body = s.message_start() + s.event({"type": "evil\x1b[2J\nnext"}, name="evil") + s.event(
        {"type": "error", "error": {"type": "overloaded_error", "message": "one\ttwo\nthree \x1b]0;x\x07"}}
    )
    code, out, err = analyze(capsys, write(tmp_path, "hostile.sse", body))
    assert code == 1 and "\x1b" not in out and "\x07" not in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip().startswith("#")}
    assert "evil\\x1b[2J\\nnext" in rows["#2"]
    assert "overloaded_error: one two\\nthree \\x1b]0;x\\x07" in rows["#3"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("garbage.bin", b"\x00\x01 not a stream at all", "holds no SSE event, HTTP error response or Messages"),
        ("empty.sse", b"", "holds no SSE event"),
        ("other.json", b'{"type":"completion","content":[]}', "holds no SSE event"),
        ("fake.jsonl", b'{"streamwatch": "session", "version": 7}\n', "newer streamwatch"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, name, data, message):
    code, out, err = analyze(capsys, write(tmp_path, name, data))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("streamwatch: error:")


def test_missing_file_directory_and_bad_flag(tmp_path, capsys):
    for target in (tmp_path / "nope.sse", tmp_path):
        code, out, err = analyze(capsys, target)
        assert code == 2 and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", str(tmp_path), "--stall-threshold", "-1"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_installed_console_script(tmp_path):
    path = write(tmp_path, "seed.sse", b"".join([s.message_start(), *s.text_block(0, "cut")[:2]]))
    result = subprocess.run([sys.executable, "-m", "streamwatch.cli", "analyze", str(path), "--json"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and json.loads(result.stdout)["termination"] == "eof"
    result = subprocess.run([sys.executable, "-m", "streamwatch.cli", "analyze", str(tmp_path / "x")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_an_unknown_theme_is_refused_even_without_a_terminal(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path))
    code = main(["demo", "--theme", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown theme 'nope'" in err


def test_a_lone_surrogate_in_tool_input_is_counted_not_a_crash(tmp_path, capsys):
    """A JSON escape such as \\udc9b puts a lone surrogate in a string, which UTF-8 cannot encode."""
    start = s.block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {}})
    piece = {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"a": "\udc9b'}}
    delta = f"event: content_block_delta\ndata: {json.dumps(piece)}\n\n".encode()
    path = write(tmp_path, "surrogate.sse", s.message_start() + start + delta)
    code, out, err = analyze(capsys, path)
    assert code == 1 and err == ""
    assert "#3" in out and "json +10 B" in out and "inside tool_use `write_file` after 10 B of input JSON" in out


ANSWER = "The whole answer, as the SDK got it."
BODY = b"".join(s.complete_text(ANSWER))


def chunk_framed(data, size=64):
    """A body as `curl --raw` writes it: each piece after its hex size line, then the zero-size chunk."""
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_a_curl_i_capture_of_a_gzip_body_is_the_complete_answer(tmp_path, capsys):
    head = HEAD_200.replace(b"\r\n\r\n", b"\r\ncontent-encoding: gzip\r\n\r\n")
    code, verdict = verdict_of(capsys, write(tmp_path, "gzip.txt", head + gzip.compress(BODY)))
    assert code == 0 and verdict["complete"] and verdict["text"] == ANSWER and verdict["anomalies"] == []
    assert verdict["body"]["encoding"] == "gzip" and verdict["body"]["bytes"] == len(BODY)
    assert verdict["sdk"]["raised"] is None and verdict["sdk"]["message_stop"]


@pytest.mark.parametrize("head", [HEAD_200, b""], ids=["curl -i --raw", "curl --raw"])
def test_a_curl_raw_capture_keeps_its_chunk_framing_and_is_read_through_it(tmp_path, capsys, head):
    code, verdict = verdict_of(capsys, write(tmp_path, "raw.txt", head + chunk_framed(BODY)))
    assert code == 0 and verdict["complete"] and verdict["text"] == ANSWER and verdict["anomalies"] == []
    assert verdict["event_count"] == len(s.complete_text(ANSWER)) and verdict["body"]["chunked"]


def test_a_curl_raw_capture_without_its_last_chunk_was_cut(tmp_path, capsys):
    framed = chunk_framed(BODY)
    code, verdict = verdict_of(capsys, write(tmp_path, "raw-cut.txt", HEAD_200 + framed[: len(framed) // 2]))
    assert code == 1 and verdict["termination"] == "transport_error"
    assert verdict["sdk"]["points_to"] == "cut" and "incomplete chunked read" in verdict["sdk"]["raised"]


def test_a_delta_that_is_not_json_is_not_complete_and_exits_1(tmp_path, capsys):
    body = BODY.replace(b'"text":"The w"', b'"text":"The w"}')
    assert body != BODY
    code, verdict = verdict_of(capsys, write(tmp_path, "bad.sse", body))
    assert code == 1 and not verdict["complete"] and verdict["termination"] == "message_stop"
    assert "invalid_event_json" in [a["code"] for a in verdict["anomalies"]]
    assert verdict["sdk"]["raised"].startswith("json.JSONDecodeError")
    code, out, _ = analyze(capsys, write(tmp_path, "bad.sse", body))
    assert code == 1 and "Verdict: ABNORMAL message_stop (invalid_event_json)" in out


MID_EVENT = BODY[: BODY.index(b"event: content_block_stop") + 30]


def test_a_capture_ending_mid_event_gives_both_outcomes(tmp_path, capsys):
    code, verdict = verdict_of(capsys, write(tmp_path, "cut.sse", MID_EVENT))
    assert code == 1 and verdict["termination"] == "eof"
    sdk = verdict["sdk"]
    assert sdk["predicted"] and sdk["points_to"] is None and sdk["silent"] is None and sdk["raised"] is None
    assert sdk["if_clean"].startswith("no exception, stop_reason=None")
    assert sdk["if_cut"].startswith("httpx2.RemoteProtocolError") and "incomplete chunked read" in sdk["if_cut"]
    assert "raises NO error" in verdict["explanation"] and "if it was cut" in verdict["explanation"]
    assert "--curl-exit" in verdict["explanation"]
    code, out, _ = analyze(capsys, write(tmp_path, "cut.sse", MID_EVENT))
    assert "Your code would have seen: if the connection closed cleanly, no exception" in out


@pytest.mark.parametrize(
    ("curl_exit", "termination", "points_to", "raised", "silent"),
    [
        ("0", "eof", "clean", None, True),
        ("18", "transport_error", "cut", "httpx2.RemoteProtocolError", False),
        ("56", "transport_error", "cut", "httpx2.ReadError", False),
        ("28", "cancelled", None, None, None),
    ],
)
def test_curls_exit_status_says_which_end_it_was(tmp_path, capsys, curl_exit, termination, points_to, raised, silent):
    code, verdict = verdict_of(capsys, write(tmp_path, "cut.sse", MID_EVENT), "--curl-exit", curl_exit)
    assert code == 1 and verdict["termination"] == termination
    sdk = verdict["sdk"]
    assert sdk["curl_exit"] == int(curl_exit) and sdk["points_to"] == points_to and sdk["silent"] is silent
    assert (sdk["raised"] or "").startswith(raised or "")
    assert "A capture cannot tell" not in verdict["explanation"]


def test_curl_exit_is_for_captures_only(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path))
    path = sessions.write_resumed(tmp_path)
    code, out, err = analyze(capsys, path, "--curl-exit", "18")
    assert code == 2 and out == "" and err.count("\n") == 1 and "curl exit status is for raw captures" in err
    with pytest.raises(SystemExit) as exit:
        analyze(capsys, write(tmp_path, "ok.sse", BODY), "--curl-exit", "300")
    assert exit.value.code == 2 and "must be between 0 and 255" in capsys.readouterr().err


def test_a_non_streaming_answer_is_said_to_be_one(tmp_path, capsys):
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
               "content": [{"type": "text", "text": ANSWER}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 9, "output_tokens": 8}}
    code, verdict = verdict_of(capsys, write(tmp_path, "message.json", json.dumps(message).encode()))
    assert code == 1 and verdict["text"] == ANSWER and verdict["stop_reason"] == "end_turn"
    assert [a["code"] for a in verdict["anomalies"]] == ["not_a_stream"]
    assert verdict["explanation"].startswith("Not a stream: the body is a complete non-streaming Message")
    assert verdict["sdk"]["silent"] and verdict["sdk"]["events"] == 0


@pytest.mark.parametrize("command", [["analyze", "CAPTURE"], ["sessions"], ["sessions", "--json"]])
def test_a_bug_is_one_line_and_exit_70_never_a_traceback(tmp_path, capsys, monkeypatch, command):
    import streamwatch.cli
    import streamwatch.core.catalog

    def bug(*args, **kwargs):
        raise KeyError("type sk-ant-api03-abcdefghijklmnop")

    monkeypatch.setattr(streamwatch.cli, "render_report", bug)
    monkeypatch.setattr(streamwatch.core.catalog.Catalog, "summaries", bug)
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path))
    path = write(tmp_path, "c.sse", b"".join(s.complete_text()))
    code = main([str(path) if word == "CAPTURE" else word for word in command])
    out, err = capsys.readouterr()
    assert code == 70 and out == ""
    assert err == "streamwatch: error: internal error: KeyError: 'type [redacted]' (a bug in streamwatch)\n"
