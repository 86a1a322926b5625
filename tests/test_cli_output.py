"""Where a command's text goes: a terminal that cannot encode a character, a reader that goes away."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamwatch.core.recording import load_session
from streamwatch.core.sources import analyze
from streamwatch.mock import MockServer
from tests import sessions
from tests import streams as s

ROOT = Path(__file__).resolve().parents[1]


COMPLETE = sessions.SAMPLE[0][0]
"""A session whose report holds a `·`."""


@pytest.fixture
def home(no_credentials, tmp_path):
    home = tmp_path / "home"
    sessions.write_sample(home / "sessions")
    return home


def env(home: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "PYTHONIOENCODING"))}
    return clean | {"STREAMWATCH_HOME": str(home), "PYTHONPATH": str(ROOT), **extra}


def streamwatch(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamwatch.cli", *args], timeout=60, **options)


@pytest.mark.parametrize(("args", "shown"), [
    (["analyze", COMPLETE], b"HTTP 200 \\xb7 14 events \\xb7 "),
    (["sessions"], b"ABNORMAL error_event \\u21bb2"),
])
def test_a_terminal_that_cannot_encode_a_character_gets_its_escape(home, args, shown):
    result = streamwatch(*args, capture_output=True, env=env(home, PYTHONIOENCODING="ascii"))
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.isascii() and shown in result.stdout


LONG_MODEL = "claude-sonnet-4-6-with-a-name-longer-than-any-table-cell"
"""A group name the stats table shortens with `…`."""


@pytest.mark.parametrize("encoding", ["ascii", "utf-8"])
def test_tables_keep_their_columns_whatever_the_terminal_can_encode(home, encoding):
    sessions.write(home / "sessions", "20261122-100000-live-10e9a0de.jsonl", "2026-11-22T10:00:00.000+00:00",
                   model=LONG_MODEL)
    listed = streamwatch("sessions", capture_output=True, env=env(home, PYTHONIOENCODING=encoding))
    head, *rows = listed.stdout.decode(encoding).splitlines()
    files = [row for row in rows if row.endswith(".jsonl")]
    assert "\\u2026" in listed.stdout.decode(encoding) if encoding == "ascii" else "…" in files[0]
    assert len(files) == 6 and {row.rindex(" ") + 1 for row in files} == {head.index("FILE")}

    stats = streamwatch("stats", "--by", "model", capture_output=True, env=env(home, PYTHONIOENCODING=encoding))
    *table, _ = stats.stdout.decode(encoding).splitlines()
    assert any(line.startswith(LONG_MODEL[:20]) for line in table) and len({table_width(line) for line in table}) == 1


def table_width(line: str) -> int:
    from streamwatch.core.table import width

    return width(line)


def test_a_hostile_report_on_an_ascii_terminal_is_escaped_once(tmp_path, home):
    path = tmp_path / "evil.sse"
    path.write_bytes(b"".join(s.complete_text("x")).replace(b'"end_turn"', b'"end_turn \\u001b]0;PWNED\\u0007 \\u00b7"'))
    result = streamwatch("analyze", str(path), capture_output=True, env=env(home, PYTHONIOENCODING="ascii"))
    assert result.returncode == 0
    assert b"Verdict: COMPLETE end_turn \\x1b]0;PWNED\\x07 \\xb7\n" in result.stdout


@pytest.mark.parametrize("args", [["analyze", COMPLETE], ["analyze", COMPLETE, "--json"], ["sessions"],
                                  ["sessions", "--json"], *(["export", COMPLETE, "--format", name]
                                                            for name in ("sse", "jsonl", "report", "har", "curl"))])
def test_a_closed_output_ends_the_command_quietly_with_141(home, args):
    """As `streamwatch analyze SESSION | head -1` once head has gone: no traceback, no complaint at exit."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = streamwatch(*args, stdout=write, stderr=subprocess.PIPE, env=env(home))
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (141, b"")


def test_the_mock_logs_plain_lines_on_a_terminal(home):
    """Its log passes the output guard too, so it must not colour what the guard would show escaped."""
    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "streamwatch.cli", "mock", "--port", "0"],
                               stdin=child, stdout=child, stderr=child, env=env(home))
    os.close(child)
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while b"Started server process" not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([main], [], [], 0.5)[0]:
                seen += os.read(main, 4096)
        while not seen.endswith(b"\n"):
            seen += os.read(main, 4096)
    finally:
        process.terminate()
        process.wait(10)
        os.close(main)
    line = seen[seen.index(b"Started server process"):].split(b"\n")[0]
    assert b"\\x1b" not in seen and b"\x1b" not in seen and line.startswith(b"Started server process [")


def test_a_live_run_whose_output_closes_stops_and_says_so_in_its_session(no_credentials, tmp_path):
    """`streamwatch run --headless | head -1`: the run stops quietly, and its session blames the closed
    output, not the network."""
    with MockServer(time_scale=1.0) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamwatch.cli", "run", "--headless", "--base-url", server.base_url,
             "--scenario", "ok", "--prompt", "head -1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(tmp_path),
        )
        try:
            first = process.stdout.readline()
            process.stdout.close()
            status = process.wait(30)
            err = process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()
            process.stderr.close()
    assert first.startswith(b"streamwatch run: ") and (status, err) == (141, b"")
    [path] = (tmp_path / "sessions").iterdir()
    session = load_session(path)
    closed = "the output (stdout) was closed"
    assert session.latest.ending["kind"] == "cancelled"
    assert session.latest.ending["error"] == {"type": "stopped_locally", "message": closed}
    assert session.latest.stopped is None  # it asked for no recovery: there is none to say stopped
    verdict = analyze(session.latest, 5.0).verdict()
    assert verdict.termination == "cancelled" and closed in verdict.explanation
    assert "proxy" not in verdict.explanation and "network" not in verdict.explanation
    assert verdict.sdk["seen"].startswith("nothing more: the run was stopped locally after it got ")
