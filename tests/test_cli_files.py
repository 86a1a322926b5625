"""The command line on names that are not regular files: one line and exit 2, or a listing that says
what they are, never a hang (each command runs in a subprocess with a timeout) and never an endless
read (and with a memory limit)."""

import os
import resource
import subprocess
import sys

import pytest

from tests import sessions, streams as s

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
