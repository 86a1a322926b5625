import datetime
import json
import os

import pytest

from streamwatch.core.catalog import UNREADABLE, Catalog, render_sessions
from streamwatch.core.diagnose import End
from streamwatch.core.recording import SessionWriter
from tests import sessions
from tests import streams as s

UTC = datetime.UTC


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "sessions"


def test_no_folder_means_no_sessions(folder):
    assert Catalog().summaries() == []
    assert render_sessions([]) == "no saved sessions yet"


def test_sessions_are_newest_first_by_recorded_start_not_by_mtime_or_name(folder):
    paths = sessions.write_sample(folder)
    listed = Catalog().summaries()
    assert [x.path for x in listed] == paths
    assert os.stat(paths[0]).st_mtime < os.stat(paths[-1]).st_mtime


def test_each_summary_replays_the_file_through_the_core(folder):
    sessions.write_sample(folder)
    complete, eof, http, error, corrupt = Catalog().summaries()
    assert (complete.badge, complete.complete, complete.stop_reason) == ("COMPLETE end_turn", True, "end_turn")
    assert (complete.source, complete.model, complete.id) == ("demo", "claude-sonnet-4-6", "a1b2c3d4")
    assert complete.events == len(s.complete_text()) and complete.attempts == 1
    assert complete.started == "2026-11-22T09:15:00.000+00:00"
    assert complete.size == complete.path.stat().st_size
    assert (eof.badge, eof.termination, eof.model) == ("ABNORMAL eof", "eof", "claude-opus-4-1")
    assert (http.badge, http.http_status, http.events) == ("HTTP 529", 529, 0)
    assert (error.badge, error.attempts) == ("ABNORMAL error_event", 2)
    assert error.duration == pytest.approx(1.0 + 0.3 + 6 * 0.05 + 0.01)
    assert error.waited == pytest.approx(0.78) and complete.waited == 0.0
    assert corrupt.badge == UNREADABLE


def test_a_redirect_followed_within_an_attempt_is_not_counted_as_another(folder):
    folder.mkdir(parents=True)
    writer = SessionWriter(folder / "redirect.jsonl", sessions.header("2026-11-22T10:00:00.000+00:00", "live", "m", "r"))
    writer.response(307, {"location": "http://127.0.0.1:9/v1/messages"}, 0.1)
    writer.end(End.EOF, 0.11)
    writer.attempt({"method": "POST", "url": "http://127.0.0.1:9/v1/messages", "body": {}}, 0.12)
    writer.response(200, {"content-type": "text/event-stream"}, 0.3)
    for i, chunk in enumerate(s.complete_text()):
        writer.chunk(chunk, 0.4 + i * 0.01)
    writer.end(End.EOF, 0.6)
    writer.close()
    (summary,) = Catalog().summaries()
    assert (summary.badge, summary.attempts) == ("COMPLETE end_turn", 1)


def test_a_corrupt_file_is_listed_unreadable_with_the_reason(folder):
    sessions.write_sample(folder)
    corrupt = Catalog().summaries()[-1]
    assert corrupt.path.name == sessions.CORRUPT and not corrupt.readable
    assert corrupt.error == "this file is not a streamwatch session file (no session header on line 1)"
    assert corrupt.size == 25 and corrupt.events == 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "no session header"),
        (b'{"streamwatch":"session","version":99}\n', "written by a newer streamwatch"),
        (b"\x00\xff\xfe binary", "no session header"),
        (b"[" * 100_000 + b"\n", "no session header"),
    ],
    ids=["empty", "newer", "binary", "deep-header"],
)
def test_no_kind_of_damage_stops_the_listing(folder, content, reason):
    sessions.write(folder, "20261122-100000-live-good.jsonl", "2026-11-22T10:00:00+00:00")
    (folder / "20261101-000000-live-bad.jsonl").write_bytes(content)
    good, bad = Catalog().summaries()
    assert good.readable and good.badge == "COMPLETE end_turn"
    assert bad.badge == UNREADABLE and reason in bad.error


def test_a_record_nested_too_deeply_is_skipped_not_fatal(folder):
    path = sessions.write(folder, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00")
    with path.open("ab") as out:
        out.write(b"[" * 100_000 + b"\n")
    summary = Catalog().summaries()[0]
    assert summary.readable and summary.skipped == 1 and summary.badge == "COMPLETE end_turn"


def test_an_unreadable_file_is_listed_with_the_reason(folder):
    sessions.write(folder, "20261122-100000-live-good.jsonl", "2026-11-22T10:00:00+00:00")
    (folder / "20261101-000000-live-dir.jsonl").mkdir()
    listed = Catalog().summaries()
    assert [x.badge for x in listed] == ["COMPLETE end_turn", UNREADABLE]
    assert "is a directory" in listed[1].error.lower()


def test_damaged_lines_are_counted_but_the_session_is_still_summarized(folder):
    path = sessions.write(folder, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00")
    with path.open("ab") as out:
        out.write(b"not json\n[0.9,\"chunk\"")
    summary = Catalog().summaries()[0]
    assert summary.readable and summary.skipped == 2 and summary.badge == "COMPLETE end_turn"
    assert render_sessions([summary]).splitlines()[-1] == (
        "20261122-100000-live-a.jsonl: 2 damaged lines skipped (streamwatch analyze lists them)")


def test_a_session_cut_before_its_end_record_is_abnormal(folder):
    path = sessions.write(folder, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00",
                          chunks=[s.message_start(), *s.text_block(0, "half an answer")[:3]])
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))
    summary = Catalog().summaries()[0]
    assert summary.badge == "ABNORMAL cancelled" and summary.complete is False


def test_relisting_replays_only_files_that_changed(folder, counted):
    paths = sessions.write_sample(folder)
    catalog = Catalog()
    first = catalog.summaries()
    assert len(counted) == 5
    counted.clear()
    assert catalog.summaries() == first and counted == []
    sessions.write(folder, "20261123-000000-live-new.jsonl", "2026-11-23T00:00:00+00:00", source="proxy")
    with paths[1].open("ab") as out:
        out.write(b'[9.0,"chunk","event: ping\\ndata: {\\"type\\":\\"ping\\"}\\n\\n"]\n')
    listed = catalog.summaries()
    assert sorted(counted) == sorted(["20261123-000000-live-new.jsonl", paths[1].name])
    assert listed[0].source == "proxy" and len(listed) == 6
    paths[2].unlink()
    assert paths[2] not in [x.path for x in catalog.summaries()]


def test_to_dict_is_the_json_shape(folder):
    sessions.write_sample(folder)
    complete, *_, corrupt = Catalog().summaries()
    data = complete.to_dict()
    assert list(data) == ["path", "file", "id", "started", "source", "client", "scenario", "prompt", "model", "badge",
                          "complete", "termination", "stop_reason", "http_status", "duration", "waited", "size",
                          "events", "attempts", "skipped", "error", "fault", "fault_unfired", "recording"]
    assert data["path"] == str(complete.path) and data["file"] == complete.path.name
    assert json.loads(json.dumps(data)) == data
    assert corrupt.to_dict()["badge"] == UNREADABLE and corrupt.to_dict()["error"]


def test_each_row_says_what_was_asked_the_scenario_or_the_prompt_s_start(folder):
    sessions.write_sample(folder)
    sessions.write(folder, "20261123-080000-demo-5ce7a210.jsonl", "2026-11-23T08:00:00+00:00", source="demo",
                   model="mock-drop_eof")
    sessions.write(folder, "20261123-070000-live-b1.jsonl", "2026-11-23T07:00:00+00:00",
                   prompt="  Two\nlines,\tand a tab  " + "long " * 20)
    drop, blocks, *listed, _ = Catalog().summaries()
    assert [row.columns()[2] for row in (drop, blocks, *listed)] == [
        "drop_eof", "Two lines, and a tab long long long lon…", "Explain in three short paragraphs why s…",
        "Write the quarterly report to report.md", "Summarize this log", "hi"]
    assert blocks.to_dict()["prompt"] == "Two lines, and a tab long long long lon…"


def test_took_is_the_streaming_time_with_the_wait_before_a_resume_apart(folder):
    """Attempt 1 streams 0.81 s; the user presses c 50 s later; attempt 2 streams 1.01 s."""
    path = sessions.write_resumed(folder, gap=50.0)
    summary, = Catalog().summaries()
    assert summary.path == path and summary.duration == pytest.approx(51.82)
    assert summary.waited == pytest.approx(50.0)
    assert summary.columns()[5] == "1.8s (+50s wait)"
    assert summary.to_dict()["waited"] == pytest.approx(50.0)
    assert "1.8s (+50s wait)" in render_sessions([summary])


def test_render_sessions_is_a_plain_aligned_table(folder):
    sessions.write_sample(folder)
    text = render_sessions(Catalog().summaries(), tz=UTC)
    lines = text.splitlines()
    assert lines[0].split() == ["STARTED", "SOURCE", "REQUEST", "MODEL", "VERDICT", "TOOK", "SIZE", "EVENTS",
                                "ATTEMPTS", "FILE"]
    assert lines[1].startswith("2026-11-22 09:15  demo    Explain in three short paragraphs why s…  sonnet-4-6  "
                               "COMPLETE end_turn")
    assert lines[1].endswith("20261122-091500-demo-a1b2c3d4.jsonl")
    assert len({line.index("20261") for line in lines[1:6]}) == 1
    assert lines[6] == (f"{sessions.CORRUPT}: unreadable: this file is not a streamwatch session file "
                        "(no session header on line 1)")


def test_render_sessions_shows_start_times_in_the_given_zone(folder):
    sessions.write_sample(folder)
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    assert render_sessions(Catalog().summaries(), tz=tokyo).splitlines()[1].startswith("2026-11-22 18:15")


def test_untrusted_header_text_cannot_reach_the_terminal(folder):
    sessions.write(folder, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00",
                   source="live\x1b[2J", model="claude\x1b]0;pwned\x07")
    text = render_sessions(Catalog().summaries(), tz=UTC)
    assert "\x1b" not in text and "\x07" not in text
    assert "live\\x1b[2J" in text and "claude\\x1b]0;pwned\\x07" in text


def test_a_huge_header_value_is_clipped_in_tables(folder):
    sessions.write(folder, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00", model="m" * 5000)
    line = render_sessions(Catalog().summaries(), tz=UTC).splitlines()[1]
    assert "m" * 39 + "…" in line and len(line) < 200


def test_a_header_without_a_start_time_sorts_by_its_file_name(folder):
    sessions.write(folder, "20261122-100000-live-a.jsonl", "not a time")
    sessions.write(folder, "20261122-110000-live-b.jsonl", "2026-11-22T11:00:00+00:00")
    sessions.write(folder, "20261122-120000-live-c.jsonl", "not a time either")
    listed = Catalog().summaries()
    assert [x.path.name[16:22] for x in listed] == ["live-c", "live-b", "live-a"]
    assert listed[0].columns()[0] == "not a time either"


@pytest.mark.parametrize("started", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_start_time_no_time_zone_can_show_is_listed_as_recorded(folder, started):
    sessions.write(folder, "20261122-100000-live-a.jsonl", started)
    summary = Catalog().summaries()[0]
    assert summary.readable and summary.columns(tz=UTC)[0] == started
    assert render_sessions([summary], tz=UTC).splitlines()[1].startswith(started)


def test_a_broken_connection_is_abnormal_transport_error(folder):
    sessions.write(folder, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00",
                   chunks=[s.message_start(), *s.text_block(0, "cut")[:2]], end=End.TRANSPORT_ERROR)
    summary = Catalog().summaries()[0]
    assert summary.badge == "ABNORMAL transport_error"


@pytest.mark.parametrize(("headers", "model", "scenario"), [
    ({"X-Streamwatch-Scenario": "drop_eof"}, "claude-sonnet-4-6", "drop_eof"),
    ({}, "mock-stall", "stall"),
    ({}, "claude-sonnet-4-6", None),
])
def test_the_embedded_server_s_scenario_is_in_the_summary(folder, headers, model, scenario):
    header = sessions.header("2026-11-22T09:15:00.000+00:00", "demo", model, "5ce7a210")
    header["request"]["headers"].update(headers)
    folder.mkdir(parents=True)
    with SessionWriter(folder / "20261122-091500-demo-5ce7a210.jsonl", header) as writer:
        writer.response(200, {"content-type": "text/event-stream"}, 0.3)
        writer.end(End.EOF, 0.4)
    [summary] = Catalog().summaries()
    assert summary.scenario == scenario and summary.to_dict()["scenario"] == scenario
