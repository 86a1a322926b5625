"""Fixtures every kind of test shares."""

import functools
import os

import httpcore2
import pytest


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
