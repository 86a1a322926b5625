"""Fixtures every kind of test shares."""

import os

import pytest


@pytest.fixture
def no_credentials(tmp_path, monkeypatch):
    """No API key or token from the environment, and HOME in tmp_path: no test reaches a real account
    or writes to the real home."""
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
