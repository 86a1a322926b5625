"""`streamwatch stats` as a user runs it: the table, --by, --since, --json, and bad input in one line."""

import json

import pytest

from streamwatch.cli import main
from streamwatch.core.catalog import Catalog, summarize
from streamwatch.core.index import SessionIndex
from streamwatch.core.stats import count, parse_since
from streamwatch.mock import MockServer
from tests import fleet, sessions


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "home"


def run(capsys, *argv):
    code = main(["stats", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_has_a_row_per_group_and_the_total(home, capsys):
    made = fleet.write_fleet(home / "sessions", 300)
    code, out, err = run(capsys, "--by", "model")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["MODEL", "STREAMS", "COMPLETE", "ERROR", "EOF", "TRANSPORT", "TIMEOUT", "HTTP", "CANCEL",
                                "STALLED", "MAX", "STALL", "TTFB", "p50/p95", "TTFT", "p50/p95", "TOK/S", "p50",
                                "RETRIES", "RESUMES", "REPAID", "TOK"]
    assert sorted(line.split()[0] for line in lines[1:4]) == sorted(fleet.MODELS)
    counted = [m for m in made if m.outcome is not None]
    assert lines[4].split()[:2] == ["all", str(len(counted))]
    assert lines[5] == f"not counted: {len(made) - len(counted)} unfinished (no end record, its writer gone), 2 unreadable"
    assert len({len(line) for line in lines[:5]}) == 1  # aligned


def test_json_is_the_stats_of_the_listed_sessions(home, capsys):
    fleet.write_fleet(home / "sessions", 120)
    code, out, _ = run(capsys, "--json", "--by", "day", "--since", "2026-11-22")
    assert code == 0 and out.count("\n") == 1
    data = json.loads(out)
    assert data == json.loads(json.dumps(count(Catalog().summaries(), "day", parse_since("2026-11-22")).to_dict()))
    assert data["since"] == "2026-11-22T00:00:00+00:00" and [g["group"] for g in data["groups"]] == [
        "2026-11-22", "2026-11-23", "2026-11-24"]


def test_no_sessions_says_so(home, capsys):
    assert run(capsys) == (0, "no saved sessions\n", "")


@pytest.mark.parametrize(("argv", "said"), [
    (["--by", "colour"], "cannot group by 'colour': choose one of sdk, model, source, client, upstream, day"),
    (["--since", "last week"], "--since 'last week' is not a date (2026-11-22) or a time (2026-11-22T09:30)"),
    (["--by", "\x1b[2Jmodel"], "cannot group by '\\x1b[2Jmodel'"),
])
def test_bad_input_is_one_line_and_exit_2(home, capsys, argv, said):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"streamwatch: error: {said}") and "\x1b" not in err


def test_hostile_group_names_reach_the_terminal_escaped(home, capsys):
    sessions.write(home / "sessions", "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00",
                   model="claude\x1b]0;pwned\x07")
    code, out, _ = run(capsys, "--by", "model")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert out.splitlines()[1].startswith("claude\\x1b]0;pwned\\x07")


@pytest.mark.parametrize(("on_failure", "counted"), [("resume", "resumes"), ("retry", "retries")])
def test_a_recovered_run_is_in_the_index_when_it_ends_as_its_file_reads(home, capsys, no_credentials, on_failure,
                                                                       counted):
    """Written by the run's own hook, from its live states: the row a re-read of the file gives, wait included."""
    with MockServer(time_scale=0.05) as server:
        code = main(["run", "--base-url", server.base_url, "--scenario", "drop_eof", "--prompt", "stats",
                     "--on-failure", on_failure, "--json"])
    capsys.readouterr()
    assert code == 0
    (name, (_, threshold, row)), = SessionIndex(home / "sessions").rows().items()
    status = row.path.stat()
    assert row == summarize(row.path, status.st_size, status.st_mtime, threshold)
    assert row.attempts == 2 and row.waited > 0 and getattr(row.facts, counted) == 1
    assert row.facts.repaid_input_tokens > 0 and row.facts.repaid_bytes > 0


def test_a_session_sent_to_a_url_with_a_password_is_listed_counted_and_replayable(home, capsys, no_credentials):
    """Its URL is recorded `http://[redacted]@host`, which Python's URL parser takes for a broken IPv6
    host: `sessions`, `stats` and the home screen's list used to stop there with an internal error."""
    with MockServer(time_scale=0.01) as server:
        base = server.base_url
        assert main(["run", "--base-url", base.replace("http://", "http://bob:hunter2hunter2@"), "--prompt", "stats",
                     "--json"]) == 0
    capsys.readouterr()
    for argv in (["sessions"], ["sessions", "--json"], ["stats"], ["stats", "--by", "upstream", "--json"]):
        assert main(argv) == 0, argv
        out, err = capsys.readouterr()
        assert err == "" and "hunter2" not in out
    [summary] = Catalog().summaries()
    shown = base.replace("http://", "http://[redacted]@")
    assert summary.facts.stream and summary.facts.upstream == shown
    # Read again, the URL keeps its scheme (it lost it, so the curl export could not be run) and the
    # file streamwatch wrote is exported as it is, with no note of a secret in it.
    assert main(["export", "--format", "curl", str(summary.path)]) == 0
    out, err = capsys.readouterr()
    assert f"'{shown}/v1/messages'" in out and err == ""
    assert main(["export", "--format", "jsonl", str(summary.path)]) == 0
    out, err = capsys.readouterr()
    assert out == summary.path.read_text() and err == ""
