"""The command line on names that are not regular files: one line and exit 2, or a listing that says
what they are, never a hang (each command runs in a subprocess with a timeout) and never an endless
read (and with a memory limit)."""

import os
import resource
import stat
import subprocess
import sys

import pytest

from tests import sessions
from tests import streams as s

TIMEOUT = 60
MEMORY = 2 << 30


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def streamwatch(*args, cwd=None, env=None):
    result = subprocess.run(
        [sys.executable, "-m", "streamwatch.cli", *map(str, args)],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=env, preexec_fn=limited,
    )
    return result.returncode, result.stdout, result.stderr


@pytest.fixture
def env(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    environment.update(
        STREAMWATCH_HOME=str(tmp_path / "home"), STREAMWATCH_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path)
    )
    return environment


@pytest.fixture
def folder(tmp_path):
    """The saved sessions: one good session, older than a FIFO, a link to /dev/zero and a folder."""
    folder = tmp_path / "home" / "sessions"
    sessions.write(folder, "20261122-100000-live-good.jsonl", "2026-11-22T10:00:00+00:00")
    os.mkfifo(folder / "20261123-100000-live-pipe.jsonl")
    (folder / "20261124-100000-live-zero.jsonl").symlink_to("/dev/zero")
    (folder / "20261125-100000-live-dir.jsonl").mkdir()
    for name in ("20261123-100000-live-pipe.jsonl", "20261124-100000-live-zero.jsonl"):
        os.utime(folder / name, (2e9, 2e9), follow_symlinks=False)
    return folder


def test_sessions_lists_what_each_name_is_without_opening_it(env, folder):
    code, out, err = streamwatch("sessions", env=env)
    assert code == 0 and err == ""
    assert out.count("unreadable") == 6 and "COMPLETE end_turn" in out
    assert "20261123-100000-live-pipe.jsonl: unreadable: it is a FIFO (named pipe), not a regular file" in out
    assert "20261124-100000-live-zero.jsonl: unreadable: it is a symbolic link, not a regular file" in out
    assert "20261125-100000-live-dir.jsonl: unreadable: it is a directory, not a regular file" in out


def test_latest_is_the_newest_regular_file(env, folder):
    code, out, err = streamwatch("analyze", "latest", "--json", env=env)
    assert code == 0 and '"complete": true' in out and err == ""


@pytest.mark.parametrize("command", ["analyze", "replay", "attach"])
def test_a_fifo_a_device_or_a_link_to_one_named_by_the_user_is_one_line(env, tmp_path, unix_socket, command):
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")
    unix_socket(tmp_path / "sock.jsonl")
    cases = {
        "pipe.jsonl": "a FIFO (named pipe)", "zero.jsonl": "a character device",
        "/dev/zero": "a character device", "sock.jsonl": "a socket",
    }
    for name, kind in cases.items():
        code, out, err = streamwatch(command, name, env=env, cwd=tmp_path)
        assert (code, out) == (2, "")
        assert err == f"streamwatch: error: cannot read {name}: it is {kind}, not a regular file\n"


def test_a_link_the_user_made_to_a_capture_is_followed(env, tmp_path):
    (tmp_path / "capture.sse").write_bytes(b"".join(s.complete_text("linked")))
    (tmp_path / "link.sse").symlink_to(tmp_path / "capture.sse")
    code, out, err = streamwatch("analyze", "link.sse", "--json", env=env, cwd=tmp_path)
    assert code == 0 and '"text": "linked"' in out


def test_a_symlinked_sessions_folder_is_refused_in_one_line_and_left_alone(env, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "sessions").symlink_to(elsewhere)
    code, out, err = streamwatch("sessions", env=env)
    assert (code, out) == (2, "")
    assert err == (
        f"streamwatch: error: not reading the sessions folder {tmp_path / 'home' / 'sessions'}: "
        "it is a symbolic link, not a folder\n"
    )
    code, out, err = streamwatch("run", "--headless", "--scenario", "ok", "--time-scale", "0", env=env)
    assert code == 2 and err.count("\n") == 1 and "it is a symbolic link, not a folder" in err
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755 and list(elsewhere.iterdir()) == []


def test_a_request_file_or_a_config_that_is_a_fifo_is_one_line(env, tmp_path):
    os.mkfifo(tmp_path / "request.json")
    code, out, err = streamwatch("run", "--headless", "--request", tmp_path / "request.json", env=env)
    assert (code, out) == (2, "")
    fifo_words = "it is a FIFO (named pipe), not a regular file"
    assert err == f"streamwatch: error: cannot read {tmp_path / 'request.json'}: {fifo_words}\n"
    (tmp_path / "config").mkdir()
    os.mkfifo(tmp_path / "config" / "config.toml")
    code, out, err = streamwatch("sessions", env=env)
    assert code == 2 and err.count("\n") == 1 and "config.toml: it is a FIFO (named pipe)" in err
