"""Fixtures the core's tests share."""

import pytest

from streamwatch.core import catalog as catalog_module


@pytest.fixture
def counted(monkeypatch):
    """The names of the files the catalog replayed through the core, in order (a listing's reads, counted)."""
    calls: list[str] = []
    real = catalog_module.load_session

    def load(path, **options):
        calls.append(path.name)
        return real(path, **options)

    monkeypatch.setattr(catalog_module, "load_session", load)
    return calls
