"""Fixtures every kind of test shares."""

import functools
import os
import resource
import socket
import threading

import httpcore2
import pytest

FIFO_GUARD_SECONDS = 20


@pytest.fixture(autouse=True, scope="session")
def one_tls_context():
    """Every client the tests make talks plain HTTP to 127.0.0.1, yet each would build a TLS context and read
    the CA bundle into it (45 ms of CPU, two per run: a tenth of the suite's time): one is built and shared."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpcore2, "default_ssl_context", functools.cache(httpcore2.default_ssl_context))
        yield


@pytest.fixture
def no_credentials(tmp_path, monkeypatch):
    """No API key or token from the environment, and HOME in tmp_path: no test reaches a real account
    or writes to the real home."""
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.fixture
def home(no_credentials, tmp_path, monkeypatch):
    """A data folder of the test's own (STREAMWATCH_HOME), no credentials: what a fresh user has."""
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def memory_cap():
    """At most 512 MB more address space for the test: a regression that reads an endless file
    (`/dev/zero`) fails with MemoryError instead of taking the machine's memory."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + (512 << 20), hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture
def fifo(tmp_path):
    """A FIFO maker. Should a regression open one to read (which waits for a writer for ever), a guard
    opens it to write after FIFO_GUARD_SECONDS and closes it: the reader gets an empty file and the test
    fails on what it asserts instead of hanging."""
    made = []

    def make(path):
        os.mkfifo(path)
        made.append(path)
        return path

    def release():
        for path in made:
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass  # nobody is waiting on it: nothing to release

    guard = threading.Timer(FIFO_GUARD_SECONDS, release)
    guard.daemon = True
    guard.start()
    yield make
    guard.cancel()


@pytest.fixture
def unix_socket():
    """A maker of listening sockets' names in the file system (each bound from its folder, as a
    socket's path must be short), closed after the test."""
    servers = []

    def make(path):
        server = socket.socket(socket.AF_UNIX)
        servers.append(server)
        where = os.getcwd()
        os.chdir(path.parent)
        try:
            server.bind(path.name)
        finally:
            os.chdir(where)
        return path

    yield make
    for server in servers:
        server.close()
