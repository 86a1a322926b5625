"""The options `streamwatch --help` shows before the command work on either side of it, or are refused."""

import json

import pytest

from streamwatch.cli import GLOBAL_OPTIONS, build_parser, main
from streamwatch.core.diagnose import End
from streamwatch.core.recording import SessionWriter
from tests import streams as s

COMMAND_ARGS = {
    None: [],
    "analyze": ["x.sse"],
    "run": ["--headless", "--base-url", "http://127.0.0.1:9"],
    "demo": ["--time-scale", "0", "ok"],
    "mock": [],
    "replay": ["latest"],
    "export": ["latest", "--format", "jsonl"],
    "attach": ["latest"],
    "sessions": [],
    "stats": ["--by", "model"],
    "proxy": ["--headless", "--listen", "127.0.0.1:0"],
}
"""Each command with what it needs besides the global options; should a regression let a command run,
it finds nothing to wait for (a closed port, a mock with no delays)."""
VALUES = {"--theme": ("ansi", "light"), "--stall-threshold": ("20", "3"),
          "--otlp": ("http://127.0.0.1:9", "http://127.0.0.1:8"), "--otel-content": None}
"""Two values of each option, the first given before or after the command, both when given in both
places; None for a flag, which takes none."""
PLACES = ("before", "after")


@pytest.fixture(autouse=True)
def home(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))


def commands():
    parser = build_parser()
    return [None, *parser._subparsers._group_actions[0].choices]


def argv(command, flag, value, place):
    rest = COMMAND_ARGS[command]
    given = [flag] if value is None else [flag, value]
    if command is None:
        return given
    return [*given, command, *rest] if place == "before" else [command, *rest, *given]


def test_every_command_is_covered():
    assert set(commands()) == set(COMMAND_ARGS)
    assert {option.flag for option in GLOBAL_OPTIONS} == set(VALUES)


def test_help_shows_the_global_options_before_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for flag in VALUES:
        assert flag in out.split("COMMAND")[0]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("option", GLOBAL_OPTIONS, ids=lambda option: option.flag)
@pytest.mark.parametrize("command", list(COMMAND_ARGS), ids=str)
def test_a_global_option_means_the_same_on_either_side_or_is_refused_on_both(
    capsys, monkeypatch, command, option, place
):
    import streamwatch.mock

    monkeypatch.setattr(streamwatch.mock, "serve", lambda *args, **kwargs: None)  # a regression ends, not serves
    value = None if VALUES[option.flag] is None else VALUES[option.flag][0]
    if command in option.used_by:
        args = build_parser().parse_args(argv(command, option.flag, value, place))
        expected = float(value) if option.flag == "--stall-threshold" else value is None or value
        assert getattr(args, option.dest) == expected
    else:
        code = main(argv(command, option.flag, value, place))
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1
        assert f"{option.flag} means nothing to `streamwatch {command}`" in err


@pytest.mark.parametrize("option", GLOBAL_OPTIONS, ids=lambda option: option.flag)
@pytest.mark.parametrize("command", [c for c in COMMAND_ARGS if c is not None], ids=str)
def test_given_in_both_places_the_value_after_the_command_wins(command, option):
    if command not in option.used_by or VALUES[option.flag] is None:
        pytest.skip(f"{command} refuses {option.flag}, or it is a flag, which takes no value")
    before, after = VALUES[option.flag]
    args = build_parser().parse_args([option.flag, before, command, *COMMAND_ARGS[command], option.flag, after])
    assert str(getattr(args, option.dest)).removesuffix(".0") == after


SCREENLESS = [["run", "--headless", "--base-url", "http://127.0.0.1:9"], ["run", "--json", "--scenario", "ok", "--time-scale", "0"],
              ["demo", "--headless", "--time-scale", "0", "ok"], ["demo", "--json", "--time-scale", "0", "ok"],
              ["proxy", "--headless", "--listen", "127.0.0.1:99999"],
              ["proxy", "--json", "--listen", "127.0.0.1:99999"]]
"""Invocations of commands that take --theme, made with an option that opens no screen (should a regression
let one run, it ends: a closed port, a mock with no delays, a port the proxy cannot listen on)."""


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("invocation", SCREENLESS, ids=" ".join)
def test_a_theme_where_no_screen_opens_is_refused_in_one_line(capsys, monkeypatch, invocation, place):
    import streamwatch.mock

    monkeypatch.setattr(streamwatch.mock, "serve", lambda *args, **kwargs: None)  # a regression ends, not serves
    theme = ["--theme", "ansi"]
    code = main([*theme, *invocation] if place == "before" else [*invocation, *theme])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"--theme means nothing to `streamwatch {' '.join(invocation[:2])}`: it opens no screen" in err


SCREEN_ARGS = COMMAND_ARGS | {"run": ["--base-url", "http://127.0.0.1:9"], "demo": ["--time-scale", "0", "ok"]}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("command", ["run", "demo", "replay", "attach", None], ids=str)
def test_a_theme_before_the_command_is_used_so_an_unknown_one_is_refused(capsys, monkeypatch, command, place):
    monkeypatch.setitem(COMMAND_ARGS, command, SCREEN_ARGS[command])
    code = main(argv(command, "--theme", "nosuch", place))
    err = capsys.readouterr().err
    assert code == 2 and "unknown theme 'nosuch'" in err and err.count("\n") == 1


@pytest.mark.parametrize("place", PLACES)
def test_a_stall_threshold_before_analyze_changes_its_verdict(capsys, tmp_path, place):
    writer = SessionWriter.create("live", {"method": "POST", "url": "u", "headers": {}, "body": {}}, directory=tmp_path)
    writer.response(200, {}, 0.1)
    for i, chunk in enumerate(s.complete_text()):
        writer.chunk(chunk, 0.5 + (7.0 if i == 3 else 0.0) + i * 0.01)
    writer.end(End.EOF, 8.0)
    writer.close()

    def stalls(*args):
        assert main(list(args)) == 0
        return json.loads(capsys.readouterr().out)["stalls"]

    assert len(stalls("analyze", str(writer.path), "--json")) == 1
    wide = ["--stall-threshold", "10"]
    at = ["analyze", str(writer.path), "--json"]
    assert stalls(*(wide + at if place == "before" else at + wide)) == []


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("command", ["replay", "attach"])
def test_replay_and_attach_take_the_stall_threshold_and_theme_from_before_the_command(
    monkeypatch, tmp_path, command, place
):
    import streamwatch.tui.launch as launch

    seen = {}
    path = tmp_path / "s.jsonl"
    SessionWriter(path, {"streamwatch": "session", "version": 1, "request": {}}).close()
    monkeypatch.setattr(launch, f"{command}_feed", lambda path, threshold, *rest: seen.setdefault("threshold", threshold))
    monkeypatch.setattr(launch, "run_app", lambda feed, theme, telemetry: seen.update(
        theme=theme, spans_to=telemetry.endpoint) and 0)
    options = ["--stall-threshold", "20", "--theme", "ansi", "--otlp", "http://127.0.0.1:9"]
    main(options + [command, str(path)] if place == "before" else [command, str(path), *options])
    assert seen == {"threshold": 20.0, "theme": "ansi", "spans_to": "http://127.0.0.1:9/v1/traces"}
