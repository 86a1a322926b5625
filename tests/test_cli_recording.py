"""A session another process is still recording, as every reader shows it: `sessions`, `analyze`, `stats`,
`latest`; the recorder is a real `streamwatch run` in a silent stall (keepalive_only: pings, no content)."""

import json
import os
import signal
import time

import pytest

import streamwatch.tui.launch
from streamwatch.cli import EXIT_RECORDING
from streamwatch.core.diagnose import End
from streamwatch.core.index import SessionIndex
from streamwatch.core.recording import SessionWriter
from streamwatch.mock import MockServer
from tests import sessions as saved
from tests.test_cli_run import chunk_lines, headless_run, run_cli, sessions, wait_for

pytestmark = pytest.mark.usefixtures("home")  # a data folder of each test's own (tests/conftest.py)


@pytest.fixture
def recorder(home):
    """`streamwatch run --headless` in another process, stalled (its content comes after 200 s) once its
    file holds the response head and a first event; killed when the test ends."""
    with MockServer(time_scale=10) as server:
        process = headless_run(home, server, "--scenario", "keepalive_only", "--prompt", "still going")
        try:
            wait_for(lambda: sessions(home) and chunk_lines(sessions(home)[0]) >= 1)
            yield process, sessions(home)[0]
        finally:
            process.kill()
            process.wait(10)


def listed(capsys):
    code, out, err = run_cli(capsys, "sessions", "--json")
    assert code == 0 and err == ""
    return {row["file"]: row for row in json.loads(out)}


def models_list(folder, seconds_later: float):
    """What a proxy records for `GET /v1/models` through it: not a stream, and newer than the stalled one."""
    header = saved.header("2026-11-22T10:00:00+00:00", "proxy", "claude-sonnet-4-6", "m0d31s")
    header["request"] = {"method": "GET", "url": "http://127.0.0.1:9/v1/models", "headers": {}, "body": {}}
    path = folder / "20261122-100000-proxy-m0d31s.jsonl"
    with SessionWriter(path, header) as writer:
        writer.response(200, {"content-type": "application/json"}, 0.1)
        writer.chunk(b'{"data": [], "has_more": false}', 0.1)
        writer.end(End.EOF, 0.1)
    later = time.time() + seconds_later
    os.utime(path, (later, later))
    return path


def test_a_stalled_session_reads_as_recording_by_its_pid_until_its_writer_is_killed(capsys, home, recorder):
    process, path = recorder
    row = listed(capsys)[path.name]
    assert (row["badge"], row["recording"], row["complete"], row["termination"]) == ("RECORDING", process.pid, None, None)
    code, out, _ = run_cli(capsys, "sessions")
    assert code == 0 and "RECORDING" in out and "ABNORMAL" not in out
    assert "s so far" in out  # its Took is what it holds so far, not a whole stream's

    code, out, err = run_cli(capsys, "analyze", str(path))
    assert code == EXIT_RECORDING == 75 and err == ""
    assert out == (f"{path} is still being recorded (by pid {process.pid}): no verdict yet; follow it with "
                   f"`streamwatch attach {path}`\n")
    code, out, _ = run_cli(capsys, "analyze", "--json", str(path))
    assert code == 75 and json.loads(out) == {"path": str(path), "recording": process.pid}

    code, out, _ = run_cli(capsys, "stats", "--json")
    counts = json.loads(out)
    assert (counts["recording"], counts["unfinished"], counts["total"]["streams"]) == (1, 0, 0)
    code, out, _ = run_cli(capsys, "stats")
    assert out.endswith("not counted: 1 still being recorded\n")

    for fmt in ("report", "har"):  # formats that state a verdict wait for one; a report titled it a broken stream
        code, out, err = run_cli(capsys, "export", "--format", fmt, str(path))
        assert (code, out) == (75, "") and err.startswith(f"streamwatch: {path} is still being recorded (by pid ")
    code, out, _ = run_cli(capsys, "export", "--format", "sse", str(path))
    assert code == 0 and out.startswith("event: message_start")

    # Nothing about it was kept in the index while it was being recorded: its verdict was not one.
    assert path.name not in SessionIndex(home / "sessions").rows()

    process.send_signal(signal.SIGKILL)
    process.wait(10)
    size = path.stat().st_size
    row = listed(capsys)[path.name]
    assert path.stat().st_size == size  # the file did not change: the catalog asked about its writer again
    assert (row["badge"], row["recording"], row["termination"]) == ("ABNORMAL cancelled", None, "cancelled")
    code, out, _ = run_cli(capsys, "analyze", str(path))
    assert code == 1 and "recording process stopped before the stream ended" in out
    code, out, _ = run_cli(capsys, "stats", "--json")
    assert (json.loads(out)["recording"], json.loads(out)["unfinished"]) == (0, 1)
    assert path.name in SessionIndex(home / "sessions").rows()


def test_latest_passes_over_a_newer_model_list_for_the_stalled_stream_and_says_so(capsys, home, recorder, monkeypatch):
    process, path = recorder
    models = models_list(home / "sessions", seconds_later=60)
    passed = f"streamwatch: latest is {path.name}, the newest stream: passed over 1 newer file that is not a stream " \
             "(a model list, a token count)\n"
    code, out, err = run_cli(capsys, "analyze", "latest")
    assert code == 75 and out.startswith(f"{path} is still being recorded") and err == passed

    opened = []
    monkeypatch.setattr(streamwatch.tui.launch, "run_app", lambda feed, *options: opened.append(feed) or 0)
    code, _, err = run_cli(capsys, "attach", "latest")
    assert code == 0 and [(f.kind, f.session_path) for f in opened] == [("attach", path)]
    assert err == f"streamwatch: latest is {path.name}, the newest session still being recorded: " \
                  "passed over 1 newer file that is not being recorded\n"

    code, _, err = run_cli(capsys, "replay", "latest")
    assert code == 0 and [(f.kind, f.session_path) for f in opened[1:]] == [("attach", path)]
    assert err == passed + f"streamwatch: {path} is still being recorded (by pid {process.pid}): following it live, " \
                           "as `streamwatch attach` does\n"
    code, _, err = run_cli(capsys, "replay", models.name)
    assert code == 0 and err == "" and (opened[-1].kind, opened[-1].session_path) == ("replay", models)


def test_attach_latest_takes_the_stalled_session_over_a_newer_finished_stream(capsys, home, recorder, monkeypatch):
    _, path = recorder
    newer = saved.write(home / "sessions", "20261122-100000-live-d0n3.jsonl", "2026-11-22T10:00:00+00:00")
    later = time.time() + 60
    os.utime(newer, (later, later))
    opened = []
    monkeypatch.setattr(streamwatch.tui.launch, "run_app", lambda feed, *options: opened.append(feed) or 0)
    run_cli(capsys, "attach", "latest")
    code, _, err = run_cli(capsys, "analyze", "latest")
    assert [f.session_path for f in opened] == [path]
    assert code == 0 and err == ""  # analyze takes the newest stream, the finished one
