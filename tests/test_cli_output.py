"""Where a command's text goes: a terminal that cannot encode a character, a reader that goes away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_a_hostile_report_on_an_ascii_terminal_is_escaped_once(tmp_path, home):
    path = tmp_path / "evil.sse"
    path.write_bytes(b"".join(s.complete_text("x")).replace(b'"end_turn"', b'"end_turn \\u001b]0;PWNED\\u0007 \\u00b7"'))
    result = streamwatch("analyze", str(path), capture_output=True, env=env(home, PYTHONIOENCODING="ascii"))
    assert result.returncode == 0
    assert b"Verdict: COMPLETE end_turn \\x1b]0;PWNED\\x07 \\xb7\n" in result.stdout


@pytest.mark.parametrize("args", [["analyze", COMPLETE], ["analyze", COMPLETE, "--json"], ["sessions"],
                                  ["sessions", "--json"]])
def test_a_closed_output_ends_the_command_quietly_with_141(home, args):
    """As `streamwatch analyze SESSION | head -1` once head has gone: no traceback, no complaint at exit."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = streamwatch(*args, stdout=write, stderr=subprocess.PIPE, env=env(home))
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (141, b"")
