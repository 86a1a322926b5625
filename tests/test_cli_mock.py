"""`streamwatch mock`: where it listens, what it says about it, and its options' rules.

Requests go to loopback only. A wildcard host is bound on a free port for a moment but never served
(serve is replaced), so no request from elsewhere is ever answered.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import anthropic
import httpx
import pytest

import streamwatch.mock
from streamwatch.cli import main
from tests.test_server import needs_ipv6

ROOT = Path(__file__).resolve().parents[1]
SERVING = re.compile(r"streamwatch mock: serving the mock Messages API on (\S+) \(Ctrl-C to stop\); try `streamwatch run "
                     r"--headless --base-url (\S+) --scenario drop_eof`")


pytestmark = pytest.mark.usefixtures("home")  # a data folder of each test's own (tests/conftest.py)


@pytest.fixture
def served(monkeypatch):
    """Run `mock` without serving: the addresses it would serve on."""
    addresses = []
    monkeypatch.setattr(streamwatch.mock, "serve", lambda sock, **options: addresses.append(sock.getsockname()))
    return addresses


def mock_lines(capsys, served, host):
    code = main(["mock", "--host", host, "--port", "0"])
    out, err = capsys.readouterr()
    assert code == 0 and out == ""
    [address] = served
    return address[1], err.splitlines()


@pytest.mark.parametrize(
    ("host", "bound", "local"),
    [
        ("", "http://0.0.0.0", "http://127.0.0.1"),
        ("0", "http://0.0.0.0", "http://127.0.0.1"),
        ("0.0.0.0", "http://0.0.0.0", "http://127.0.0.1"),
        pytest.param("::", "http://[::]", "http://[::1]", marks=needs_ipv6),
        pytest.param("[::]", "http://[::]", "http://[::1]", marks=needs_ipv6),
    ],
)
def test_a_wildcard_host_prints_the_address_bound_and_warns_that_other_machines_can_use_it(
    capsys, served, host, bound, local
):
    port, lines = mock_lines(capsys, served, host)

    serving, warning = lines
    assert SERVING.fullmatch(serving).groups() == (f"{bound}:{port}", f"{local}:{port}")
    assert warning.startswith("streamwatch mock: WARNING: listening on every network interface, so other machines")
    assert port != 0


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", r"http://127\.0\.0\.1"),
        ("localhost", r"http://(127\.0\.0\.1|\[::1\])"),
        pytest.param("::1", r"http://\[::1\]", marks=needs_ipv6),
    ],
)
def test_a_loopback_host_prints_its_url_and_no_warning(capsys, served, host, url):
    port, lines = mock_lines(capsys, served, host)

    [serving] = lines
    bound, local = SERVING.fullmatch(serving).groups()
    assert re.fullmatch(f"{url}:{port}", bound) and local == bound


def test_a_host_that_cannot_be_listened_on_is_one_line(capsys, served):
    code = main(["mock", "--host", "a" * 70 + "\x1b[31m", "--port", "0"])
    out, err = capsys.readouterr()

    assert code == 2 and out == "" and served == []
    assert err == f"streamwatch: error: cannot listen on {'a' * 70}\\x1b[31m:0: not a valid host name\n"


@needs_ipv6
def test_the_mock_serves_on_ipv6_loopback(capsys, home):
    process = subprocess.Popen(
        [sys.executable, "-m", "streamwatch.cli", "mock", "--host", "::1", "--port", "0", "--time-scale", "0.01"],
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        bound, local = SERVING.fullmatch(process.stderr.readline().strip()).groups()
        assert bound == local and bound.startswith("http://[::1]:")
        assert "WARNING" not in process.stderr.readline()
        code = main(["run", "--headless", "--json", "--no-save", "--base-url", bound, "--scenario", "http_429"])
        assert code == 1 and json.loads(capsys.readouterr().out)["http_status"] == 429
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.mark.parametrize("scale", ["inf", "1e308", "nan", "-1", "1001"])
def test_a_time_scale_outside_0_to_1000_is_one_line(capsys, served, scale):
    with pytest.raises(SystemExit) as exited:
        main(["mock", "--port", "0", "--time-scale", scale])
    err = capsys.readouterr().err

    assert exited.value.code == 2 and served == []
    assert err.count("\n") == 1 and "--time-scale" in err and ("must be from 0 to 1000" in err or "not a number" in err)


@pytest.mark.parametrize("require_key", [True, False])
def test_require_key_answers_a_request_without_a_key_with_the_api_s_401(require_key):
    flags = ["--require-key"] if require_key else []
    process = subprocess.Popen(
        [sys.executable, "-m", "streamwatch.cli", "mock", "--port", "0", "--time-scale", "0.01", *flags],
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        _, local = SERVING.fullmatch(process.stderr.readline().strip()).groups()
        body = {"model": "mock-ok", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        bare = httpx.post(f"{local}/v1/messages", json=body, timeout=10)
        keyed = anthropic.Anthropic(base_url=local, api_key="any", max_retries=0).messages.create(**body)

        assert bare.status_code == (401 if require_key else 200)
        assert (bare.json()["type"], bare.json().get("error", {}).get("type")) == (
            ("error", "authentication_error") if require_key else ("message", None)
        )
        assert keyed.stop_reason == "max_tokens"
    finally:
        process.terminate()
        process.communicate(timeout=10)
