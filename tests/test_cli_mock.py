"""`streamwatch mock`: where it listens, what it says about it, and its options' rules."""

import pytest

import streamwatch.mock
from streamwatch.cli import main


@pytest.fixture(autouse=True)
def home(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def served(monkeypatch):
    """Run `mock` without serving: the addresses it would serve on."""
    addresses = []
    monkeypatch.setattr(streamwatch.mock, "serve", lambda sock, **options: addresses.append(sock.getsockname()))
    return addresses


@pytest.mark.parametrize("scale", ["inf", "1e308", "nan", "-1", "1001"])
def test_a_time_scale_outside_0_to_1000_is_one_line(capsys, served, scale):
    with pytest.raises(SystemExit) as exited:
        main(["mock", "--port", "0", "--time-scale", scale])
    err = capsys.readouterr().err

    assert exited.value.code == 2 and served == []
    assert err.count("\n") == 1 and "--time-scale" in err and ("must be from 0 to 1000" in err or "not a number" in err)
