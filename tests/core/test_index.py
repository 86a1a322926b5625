"""The session index: what a listing reads again (counted, never timed), and how it recovers."""

import os
import sqlite3
import stat

import pytest

from streamwatch.cli import main
from streamwatch.core import index as index_module
from streamwatch.core.catalog import Catalog, summarize
from streamwatch.core.diagnose import End
from streamwatch.core.index import INDEX_NAME, SessionIndex
from streamwatch.core.recorder import Recorder
from tests import sessions
from tests import streams as s


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The data folder's sessions folder, which has the index."""
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "sessions"


def listed(folder):
    """A listing as a new process makes it: nothing in memory, only the files and the index."""
    return Catalog().summaries()


def test_a_second_process_lists_every_session_from_the_index_without_reading_a_file(folder, counted):
    sessions.write_sample(folder)
    first = listed(folder)
    assert len(counted) == 5 and (folder.parent / INDEX_NAME).is_file()
    counted.clear()
    assert listed(folder) == first and counted == []
    assert [x.path.name for x in first][-1] == sessions.CORRUPT  # an unreadable file is remembered too


def test_a_file_added_grown_or_removed_by_hand_is_all_that_is_read_again(folder, counted):
    paths = sessions.write_sample(folder)
    listed(folder)
    counted.clear()
    sessions.write(folder, "20261123-000000-live-new.jsonl", "2026-11-23T00:00:00+00:00", source="proxy")
    with paths[1].open("ab") as out:
        out.write(b'[9.0,"chunk","event: ping\\ndata: {\\"type\\":\\"ping\\"}\\n\\n"]\n')
    paths[2].unlink()
    again = listed(folder)
    assert sorted(counted) == sorted(["20261123-000000-live-new.jsonl", paths[1].name])
    assert again[0].source == "proxy" and paths[2] not in [x.path for x in again]
    assert paths[2].name not in SessionIndex(folder).rows()
    counted.clear()
    assert listed(folder) == again and counted == []


def test_a_file_rewritten_with_the_same_size_is_read_again(folder, counted):
    path = sessions.write(folder, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00", model="claude-aaaa-1")
    listed(folder)
    counted.clear()
    data = path.read_bytes().replace(b"claude-aaaa-1", b"claude-bbbb-1")
    path.write_bytes(data)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert [x.model for x in listed(folder)] == ["claude-bbbb-1"] and len(counted) == 1


@pytest.mark.parametrize("damage", ["deleted", "garbage", "other schema", "truncated"])
def test_an_index_missing_corrupt_or_of_another_schema_is_made_again_from_the_files(folder, counted, damage):
    sessions.write_sample(folder)
    first = listed(folder)
    index = folder.parent / INDEX_NAME
    if damage == "deleted":
        index.unlink()
    elif damage == "garbage":
        index.write_bytes(b"not a database at all " * 100)
    elif damage == "truncated":
        index.write_bytes(index.read_bytes()[:1000])
    else:
        with sqlite3.connect(index) as db:
            db.execute("UPDATE meta SET value = '0:name'")
    counted.clear()
    catalog = Catalog()
    assert catalog.summaries() == first and catalog.warning is None
    assert len(counted) == 5
    counted.clear()
    assert listed(folder) == first and counted == []


def test_another_stall_threshold_reads_the_files_again(folder, counted):
    sessions.write_sample(folder)
    listed(folder)
    counted.clear()
    Catalog(stall_threshold=0.01).summaries()
    assert len(counted) == 5


def test_a_read_only_data_folder_is_listed_from_the_files_with_one_line_saying_so(folder, counted):
    sessions.write_sample(folder)
    folder.parent.chmod(0o500)
    try:
        if os.access(folder.parent, os.W_OK):
            pytest.skip("running as a user who may write anywhere (the next test fakes it)")
        catalog = Catalog()
        assert [x.badge for x in catalog.summaries()][0] == "COMPLETE end_turn"
        assert catalog.warning == (f"the session index {folder.parent / INDEX_NAME} cannot be used (Permission "
                                   "denied): reading every session file")
        assert len(counted) == 5 and not (folder.parent / INDEX_NAME).exists()
    finally:
        folder.parent.chmod(0o700)


def test_an_index_that_cannot_be_written_is_read_around_with_one_line_saying_so(folder, counted, monkeypatch, capsys):
    """As on a full disk or a read-only mount: SQLite refuses every write."""
    sessions.write_sample(folder)
    real = sqlite3.connect
    monkeypatch.setattr(index_module.sqlite3, "connect",
                        lambda path, **options: real(f"file:{path}?mode=ro", uri=True, **options))
    catalog = Catalog()
    assert len(catalog.summaries()) == 5 and len(counted) == 5
    assert catalog.warning == (f"the session index {folder.parent / INDEX_NAME} cannot be used (attempt to write a "
                               "readonly database): reading every session file")
    assert catalog.summaries() == catalog.summaries() and len(counted) == 5  # kept in memory meanwhile
    capsys.readouterr()
    assert main(["sessions"]) == 0
    out, err = capsys.readouterr()
    assert err == f"streamwatch: warning: {catalog.warning}\n" and "COMPLETE end_turn" in out


def test_a_link_at_the_index_s_name_is_never_opened(folder, tmp_path, counted):
    sessions.write_sample(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"")
    (folder.parent / INDEX_NAME).symlink_to(elsewhere)
    catalog = Catalog()
    assert len(catalog.summaries()) == 5
    assert "is not a regular file; not opened" in catalog.warning
    assert elsewhere.read_bytes() == b""


def test_the_index_is_private_as_the_sessions_are(folder):
    sessions.write_sample(folder)
    listed(folder)
    assert stat.S_IMODE((folder.parent / INDEX_NAME).stat().st_mode) == 0o600


def test_a_reader_is_not_blocked_by_a_writer_and_a_writer_gives_up_rather_than_wait_long(folder, counted):
    sessions.write_sample(folder)
    first = listed(folder)
    holder = sqlite3.connect(folder.parent / INDEX_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert len(SessionIndex(folder).rows()) == 5  # WAL: the reader reads while the writer writes
        assert SessionIndex(folder, timeout=0.01).store([]) is True  # nothing to write: no lock taken
        row = (1, 5.0, first[0])
        assert SessionIndex(folder, timeout=0.01).store([row]) is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert SessionIndex(folder, timeout=0.01).store([row]) is True


def record(folder, chunks, end=End.EOF):
    """A session recorded through the recorder, as the proxy records one, to its end."""
    recorder = Recorder(stall_threshold=5.0, directory=folder, source="proxy",
                        header={"client": "Anthropic/Python 2.14.0", "upstream": "https://gateway.example"})
    recorder.request("POST", "https://gateway.example/v1/messages",
                     [("content-type", "application/json"), ("x-stainless-lang", "python"),
                      ("x-stainless-package-version", "2.14.0")],
                     {"model": "claude-sonnet-4-6", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    recorder.response(200, [("content-type", "text/event-stream")])
    for chunk in chunks:
        recorder.chunk(chunk)
    recorder.end(end)
    recorder.finish()
    return recorder.session_path


def test_a_session_the_recorder_saved_is_in_the_index_when_it_ends_as_a_read_of_its_file_gives_it(folder, counted):
    folder.mkdir(parents=True)
    paths = [record(folder, s.complete_text()), record(folder, s.complete_text()[:4])]
    rows = SessionIndex(folder).rows()
    assert sorted(rows) == sorted(path.name for path in paths)
    summaries = listed(folder)
    assert counted == []
    for summary in summaries:
        status = summary.path.stat()
        assert summary == summarize(summary.path, status.st_size, status.st_mtime, 5.0)
    assert {x.badge for x in summaries} == {"COMPLETE end_turn", "ABNORMAL eof"}
    facts = summaries[0].facts
    assert (facts.sdk, facts.upstream, facts.ended) == ("python 2.14.0", "https://gateway.example", True)


def test_a_session_still_being_written_is_read_again_as_it_grows(folder, counted):
    path = sessions.write(folder, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00",
                          chunks=[s.message_start(), *s.text_block(0, "half an answer")[:3]])
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))
    (before,) = listed(folder)
    assert before.facts.ended is False
    with path.open("ab") as out:
        out.write(lines[-1])
    (after,) = listed(folder)
    assert after.facts.ended is True and counted == [path.name, path.name]


def test_text_that_is_not_utf_8_goes_into_the_index_and_comes_back_the_same(folder, counted):
    """A lone surrogate, from a JSON escape in the file or an undecodable byte in its name."""
    name = os.fsdecode(b"20261122-100000-live-\x9b.jsonl")
    path = sessions.write(folder, "plain.jsonl", "2026-11-22T10:00:00+00:00", model="claude-MODEL", prompt="lone PROMPT")
    path.write_bytes(path.read_bytes().replace(b"MODEL", b"\\udc9b").replace(b"PROMPT", b"\\ud800"))
    path.rename(folder / name)
    first = listed(folder)
    assert first[0].model == "claude-\udc9b" and first[0].path.name == name
    counted.clear()
    catalog = Catalog()
    assert catalog.summaries() == first and counted == []
    os.unlink(folder / name)
    assert catalog.summaries() == [] and SessionIndex(folder).rows() == {}
