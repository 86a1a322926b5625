"""Crafted or damaged session files never crash a command, and every command says what it skipped.

Every field of every record kind is given every JSON type (tests/crafted.py), every kind of line is
damaged in every way JSON readers disagree on, then hypothesis puts generated values anywhere and
lines that are not JSON at all. Each file goes through `analyze` (text and --json), `sessions` (text
and --json: the home screen's summaries), and the replay and attach feeds, played as the run screen
plays them. Only a first line that is not a session header makes a file unreadable.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
from collections import defaultdict
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamwatch import cli
from streamwatch.core.recording import SessionError, load_session
from streamwatch.core.report import attempt_line, live_status, recovery_lines
from streamwatch.core.safe import one_line
from streamwatch.tui.launch import attach_feed, replay_feed
from tests import crafted

BOUNDED = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
"""Few enough examples for a loaded 2-core CI, the same ones on every run."""
UNREADABLE_ONLY_BY = {(0,), (0, "streamwatch"), (0, "version")}
"""The fields whose damage makes a file unreadable: the header line and what makes it a header (or
`DAMAGE` anywhere in it: then the line is not read at all)."""
_PARSER = cli.build_parser()


def strict_json(text: str) -> object:
    """JSON as any other program reads it: no NaN or Infinity."""
    def refuse(token: str) -> None:
        raise ValueError(f"{token} in the output")

    return json.loads(text, parse_constant=refuse)


def command(*args: str) -> tuple[int, str, str]:
    """`streamwatch ARGS`: its exit status, stdout and stderr (the parser made once: it is slow to make)."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.object(cli, "build_parser", lambda: _PARSER):
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def play(feed, keys: bool) -> None:
    """Drive a replay or an attach as the run screen does: the clock, then (`keys`) the keys that move it."""
    player = feed.player
    for now in (0.0, 0.6, 2.5, 1e8):
        if feed.follower is not None:
            with contextlib.suppress(SessionError):
                feed.poll()
        player.tick(now)
        feed.follow_live()
        live_status(player.state, player.position)
        feed.outcome()
        _ = feed.is_replay, feed.awaits_attempt
        if feed.loader is not None and not feed.loader.done:
            feed.loader.load()  # what the run screen's worker does, once its first frame is drawn
    for key in (player.step, player.to_next_anomaly, player.to_previous_anomaly) if keys else ():
        key()
    player.to_end()
    log = feed.log
    log.verdict()
    recovery_lines(log)
    for attempt in log.attempts:
        attempt_line(attempt)
        attempt.to_dict()
        _ = attempt.answer


def check(path: Path, changed: set[tuple], keys: bool = True) -> int | None:
    """Every command but `sessions` on a file with the `changed` fields: none raises, each says what it
    skipped. How many lines `sessions` must say were skipped (None: that it is unreadable)."""
    try:
        session = load_session(path)
    except SessionError as exc:
        header_damaged = any(field[0] == 0 for field in changed) and "no session header on line 1: " in str(exc)
        assert changed & UNREADABLE_ONLY_BY or header_damaged
        code, out, err = command("analyze", str(path))
        assert code == 2 and err.startswith("streamwatch: error: ") and err.count("\n") == 1
        for open_feed in (lambda: replay_feed(path, 5.0, 1.0), lambda: attach_feed(path, 5.0)):
            with pytest.raises(SessionError):
                open_feed()
        return None
    said = [f"streamwatch: warning: {one_line(skipped)}" for skipped in session.skipped]
    code, out, err = command("analyze", str(path))
    assert code in (0, 1) and err.splitlines() == said and out.startswith("streamwatch analyze")
    code, out, err = command("analyze", "--json", str(path))
    assert code in (0, 1) and err.splitlines() == said and isinstance(strict_json(out), dict)
    play(replay_feed(path, 5.0, 1.0), keys)
    grown = path.with_suffix(".attached")
    lines = path.read_bytes().splitlines(keepends=True)
    grown.write_bytes(b"".join(lines[:len(lines) // 2]))
    feed = attach_feed(grown, 5.0)
    with grown.open("ab") as out_file:
        out_file.write(b"".join(lines[len(lines) // 2:]))
    play(feed, keys)
    assert feed.player.session.skipped == session.skipped
    return len(session.skipped)


def check_listing(folder: Path, skipped: dict[str, int | None]) -> None:
    """`sessions` lists every file, says which are unreadable and how many lines of the others were skipped."""
    env = {"STREAMWATCH_HOME": str(folder.parent), "STREAMWATCH_CONFIG_HOME": str(folder.parent / "config")}
    with mock.patch.dict(os.environ, env):
        code, out, err = command("sessions", "--json")
        assert code == 0 and err == ""
        listed = strict_json(out)
        code, text, err = command("sessions")
        assert code == 0 and err == ""
    assert {entry["file"]: None if entry["error"] else entry["skipped"] for entry in listed} == skipped
    for name, count in skipped.items():
        if count is None:
            assert f"{name}: unreadable: " in text
        elif count:
            assert f"{name}: {count} damaged line{'s' if count > 1 else ''} skipped" in text


def check_all(folder: Path, files: dict[str, tuple[list[bytes], set[tuple]]], keys: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    skipped = {}
    for name, (lines, changed) in files.items():
        path = folder / f"20261122-100000-live-{name}.jsonl"
        path.write_bytes(crafted.file_bytes(lines))
        skipped[path.name] = check(path, changed, keys)
    check_listing(folder, skipped)


def one_field_a_line(fields: list[tuple]) -> list[list[tuple]]:
    """The fields in groups with at most one field of each line: the lines are read one by one, so a
    group tries each of its fields as if alone."""
    by_line = defaultdict(list)
    for field in fields:
        by_line[field[0]].append(field)
    return [[field for field in group if field] for group in itertools.zip_longest(*by_line.values())]


def test_the_template_is_a_whole_session_read_without_a_skip(tmp_path):
    path = tmp_path / "template.jsonl"
    path.write_bytes(crafted.file_bytes(crafted.original()))
    session = load_session(path)
    assert session.skipped == [] and len(session.attempts) == 2
    assert set(crafted.KINDS) == {"header", "response", "chunk", "chunk64", "end", "stopped", "attempt", "annotation"}
    code, out, _ = command("analyze", str(path))
    assert code == 0 and "Attempts" in out


@pytest.mark.parametrize("value", sorted(crafted.VALUES))
def test_every_field_of_every_record_kind_given_every_json_type(tmp_path, value):
    raw = crafted.VALUES[value]
    fields = [field for field in crafted.KIND_FIELDS if not (raw is crafted.MISSING and field == (0,))]
    files = {
        f"{number}": (crafted.crafted([(field, raw) for field in group]), set(group))
        for number, group in enumerate(one_field_a_line(fields))
    }
    check_all(tmp_path / "sessions", files, keys=False)


@pytest.mark.parametrize("damage", sorted(crafted.DAMAGE))
def test_every_kind_of_line_damaged_as_json_readers_disagree(tmp_path, damage):
    raw = crafted.DAMAGE[damage]
    payloads = [(number, 2) for kind, number in crafted.KINDS.items() if kind != "header"]
    files = {
        "header": (crafted.crafted([((0, "id"), raw)]), {(0, "id")}),
        "records": (crafted.crafted([(field, raw) for field in payloads]), set(payloads)),
    }
    check_all(tmp_path / "sessions", files)


@BOUNDED
@given(st.lists(st.tuples(st.sampled_from(crafted.FIELDS), crafted.raw_json()), min_size=1, max_size=3))
def test_generated_values_anywhere(tmp_path_factory, changes):
    check_all(tmp_path_factory.mktemp("home") / "sessions",
              {"generated": (crafted.crafted(changes), {field for field, _ in changes})})


NOT_JSON = st.one_of(
    st.binary(max_size=80),
    st.sampled_from([
        b"\xff\xfe[0.5, \"chunk\", \"x\"]",
        b'[0.5, "chunk", "\xc3\x28"]',
        b'[0.5, "chunk", "\xed\xa0\x80"]',
        b'[0.5, "chunk", "ends mid-',
        b"[" * 100_000,
    ]),
)


@BOUNDED
@given(st.integers(0, len(crafted.TEMPLATE) - 1), NOT_JSON, st.booleans())
def test_lines_that_are_not_json_or_not_utf8(tmp_path_factory, number, data, insert):
    lines = crafted.original()
    if insert:
        lines.insert(number, data)
    else:
        lines[number] = data
    check_all(tmp_path_factory.mktemp("home") / "sessions", {"damaged": (lines, {(number,)})})
