"""What a name in the file system turns out to be never hurts: no FIFO blocks, no device is read, no
link is followed where it is the danger, no file is read past the size it had when opened."""

import errno
import os
import re
import stat
import tracemalloc

import pytest

from streamwatch.core.catalog import UNREADABLE, Cancelled, Catalog
from streamwatch.core.diagnose import End
from streamwatch.core.files import Refused, copy_private, create_private, open_regular
from streamwatch.core.playback import Follower, replay_attempts
from streamwatch.core.recording import (
    SessionError,
    SessionWriter,
    load_session,
    session_files,
    sessions_dir,
)
from streamwatch.core.sources import analyze_input
from tests import sessions
from tests import streams as s


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_anything_but_a_regular_file_is_refused_by_what_it_is(tmp_path, fifo, unix_socket, memory_cap):
    pipe = fifo(tmp_path / "pipe.jsonl")
    (tmp_path / "dir.jsonl").mkdir()
    cases = {
        pipe: "a FIFO (named pipe)",
        tmp_path / "dir.jsonl": "a directory",
        unix_socket(tmp_path / "sock.jsonl"): "a socket",
        "/dev/zero": "a character device",
    }
    for path, kind in cases.items():
        with pytest.raises(Refused) as refused:
            open_regular(path)
        assert refused.value.strerror == f"it is {kind}, not a regular file"
        with pytest.raises(SessionError) as unreadable:
            load_session(path)
        assert str(unreadable.value) == f"cannot read {path}: it is {kind}, not a regular file"


def test_a_link_is_followed_to_a_regular_file_only_and_not_at_all_where_refused(tmp_path, fifo, memory_cap):
    regular = sessions.write(tmp_path, "real.jsonl", "2026-11-22T10:00:00+00:00")
    (tmp_path / "to-real.jsonl").symlink_to(regular)
    (tmp_path / "to-zero.jsonl").symlink_to("/dev/zero")
    (tmp_path / "to-pipe.jsonl").symlink_to(fifo(tmp_path / "pipe"))
    assert load_session(tmp_path / "to-real.jsonl").latest.ending["kind"] == "eof"
    with pytest.raises(SessionError, match="it is a character device, not a regular file$"):
        load_session(tmp_path / "to-zero.jsonl")
    with pytest.raises(SessionError, match="it is a FIFO"):
        load_session(tmp_path / "to-pipe.jsonl")
    with pytest.raises(SessionError, match="it is a symbolic link, not a regular file$"):
        load_session(tmp_path / "to-real.jsonl", follow=False)


def test_a_file_growing_while_read_is_read_as_big_as_it_was_when_opened(tmp_path):
    path = sessions.write(tmp_path, "growing.jsonl", "2026-11-22T10:00:00+00:00")
    before = path.read_bytes()
    with open_regular(path) as file:
        with path.open("ab") as writer:
            writer.write(b'[9.0,"chunk","more"]\n' * 1000)
        assert b"".join(file.lines()) == before


def test_reading_a_session_takes_memory_for_its_records_not_for_copies_of_the_file(tmp_path):
    piece = s.delta(0, {"type": "text_delta", "text": "lorem ipsum " * 80}) * 16
    path = sessions.write(tmp_path, "big.jsonl", "2026-11-22T10:00:00+00:00", chunks=[piece] * 1500, step=0.001)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        session = load_session(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    held = sum(len(data) for _, data in session.latest.chunks)
    assert held > 0.9 * size
    assert peak < 1.3 * size  # the records, and a line at a time: not the file, then its lines, then the records


def test_latest_and_the_list_take_regular_files_only_and_never_open_anything_else(home, fifo, unix_socket, memory_cap):
    folder = home / "sessions"
    good = sessions.write(folder, "20261122-100000-live-good.jsonl", "2026-11-22T10:00:00+00:00")
    fifo(folder / "20261123-100000-live-pipe.jsonl")
    (folder / "20261124-100000-live-zero.jsonl").symlink_to("/dev/zero")
    (folder / "20261125-100000-live-dir.jsonl").mkdir()
    (folder / "20261126-100000-live-link.jsonl").symlink_to(good)
    unix_socket(folder / "20261127-100000-live-sock.jsonl")
    for name in ("20261123-100000-live-pipe.jsonl", "20261124-100000-live-zero.jsonl"):
        os.utime(folder / name, (2e9, 2e9), follow_symlinks=False)
    assert session_files() == [good]
    assert Catalog().latest() == (good, None)
    listed = {summary.path.name.split("-")[-1]: summary for summary in Catalog().summaries()}
    assert listed["good.jsonl"].badge == "COMPLETE end_turn"
    reasons = {name: summary.error for name, summary in listed.items() if summary.badge == UNREADABLE}
    assert reasons == {
        "pipe.jsonl": "it is a FIFO (named pipe), not a regular file: not opened",
        "zero.jsonl": "it is a symbolic link, not a regular file: not opened",
        "dir.jsonl": "it is a directory, not a regular file: not opened",
        "link.jsonl": "it is a symbolic link, not a regular file: not opened",
        "sock.jsonl": "it is a socket, not a regular file: not opened",
    }


def test_a_symlinked_sessions_folder_is_refused_and_its_target_left_as_it_was(home, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    sessions.write(elsewhere, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00")
    elsewhere.chmod(0o755)
    home.mkdir()
    (home / "sessions").symlink_to(elsewhere)
    with pytest.raises(Refused, match="symbolic link, not a folder"):
        sessions_dir()
    with pytest.raises(OSError, match="symbolic link"):
        SessionWriter.create("live", {"headers": {}})
    refused = f"not reading the sessions folder {home / 'sessions'}: it is a symbolic link, not a folder"
    with pytest.raises(SessionError, match=f"^{re.escape(refused)}$"):
        Catalog().summaries()
    with pytest.raises(SessionError, match=f"^{re.escape(refused)}$"):
        Catalog().latest()
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
    assert [p.name for p in elsewhere.iterdir()] == ["20261122-100000-live-a.jsonl"]


@pytest.mark.skipif(os.geteuid() != 0, reason="making a folder another user's takes root")
def test_a_sessions_folder_of_another_user_is_refused_even_as_root(home):
    folder = home / "sessions"
    sessions.write(folder, "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00")
    folder.chmod(0o777)
    os.chown(folder, 4321, 4321)
    with pytest.raises(Refused, match=r"it belongs to user id 4321, not to you \(0\)"):
        sessions_dir()
    with pytest.raises(SessionError, match="^not reading the sessions folder .*: it belongs to user id 4321"):
        Catalog().summaries()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777


def test_a_session_is_never_appended_to_through_a_link(tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me\n")
    (tmp_path / "s.jsonl").symlink_to(elsewhere)
    with pytest.raises(Refused, match="symbolic link"):
        SessionWriter.reopen(tmp_path / "s.jsonl")
    assert elsewhere.read_text() == "keep me\n"


def test_an_export_never_writes_over_a_file_or_through_a_link(tmp_path):
    source = sessions.write(tmp_path / "sessions", "s.jsonl", "2026-11-22T10:00:00+00:00")
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "precious"
    target.write_text("precious\n")
    target.chmod(0o644)
    (out / "s.jsonl").symlink_to(target)
    (out / "s-1.jsonl").write_text("an earlier export\n")
    exported = copy_private(source, out)
    assert exported == out / "s-2.jsonl"
    assert exported.read_bytes() == source.read_bytes()
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    assert target.read_text() == "precious\n" and stat.S_IMODE(target.stat().st_mode) == 0o644
    assert (out / "s-1.jsonl").read_text() == "an earlier export\n"
    assert copy_private(source, source.parent) == source


def test_a_new_private_file_is_not_made_through_a_dangling_link(tmp_path):
    (tmp_path / "x.json").symlink_to(tmp_path / "would-be-made")
    path, fd = create_private(tmp_path, "x.json")
    os.close(fd)
    assert path == tmp_path / "x-1.json" and not (tmp_path / "would-be-made").exists()


def test_a_followed_file_is_read_a_bounded_piece_per_poll(tmp_path, monkeypatch):
    monkeypatch.setattr(Follower, "POLL_BYTES", 4096)
    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)
    writer.response(200, {}, 0.1)
    follower = Follower(writer.path)
    follower.loader.load()
    for i in range(200):
        writer.chunk(s.ping(), 0.2 + i * 0.01)
    writer.end(End.EOF, 3.0)
    polls = 0
    while follower.poll():
        polls += 1
    assert polls > 1 and follower.ended and len(follower.session.latest.chunks) == 200


def test_a_followed_fifo_is_refused(tmp_path, fifo):
    with pytest.raises(SessionError, match="it is a FIFO"):
        Follower(fifo(tmp_path / "pipe.jsonl"))


def test_a_missing_file_is_still_said_missing(tmp_path):
    with pytest.raises(FileNotFoundError) as missing:
        open_regular(tmp_path / "nothing")
    assert missing.value.errno == errno.ENOENT


@pytest.mark.parametrize("options", [{}, {"stall_after": 3, "complete": False, "stopped": "attempts used up"}])
def test_a_session_played_as_it_is_read_gives_the_attempts_a_replay_gives(tmp_path, options):
    path = sessions.write_resumed(tmp_path, **options)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(path.read_bytes().rsplit(b'"end"', 1)[0].rsplit(b"\n", 1)[0] + b"\n")
    for whole in (path, cut):
        replayed = replay_attempts(load_session(whole), 5.0).verdict()
        session, log = analyze_input(whole, 5.0)
        assert log.verdict() == replayed and len(session.attempts) == 2


def test_analyzing_a_session_takes_memory_for_its_state_not_for_its_recording_too(tmp_path):
    deltas = [s.delta(0, {"type": "text_delta", "text": f"word{i} and more "}) for i in range(30_000)]
    chunks = [s.message_start(), s.block_start(0, {"type": "text", "text": ""}),
              *[b"".join(deltas[i : i + 2]) for i in range(0, len(deltas), 2)], s.block_stop(0),
              s.message_delta("end_turn"), s.message_stop()]
    path = sessions.write(tmp_path, "s.jsonl", "2026-11-22T10:00:00+00:00", chunks=chunks, step=0.001)
    tracemalloc.start()
    try:
        _, log = analyze_input(path, 5.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert log.complete and len(log.current.state.events) == 30_005
    # The events (their wire bytes, once) and the answer: not the recording, nor the data again.
    assert peak < 2.5 * path.stat().st_size


def test_listing_is_given_up_in_the_middle_of_a_big_file_when_asked(home):
    path = sessions.write(home / "sessions", "20261122-100000-live-a.jsonl", "2026-11-22T10:00:00+00:00",
                          chunks=[s.ping()] * 5000)
    asked = []

    def cancelled():
        asked.append(1)
        return len(asked) > 10

    with pytest.raises(Cancelled):
        Catalog().summaries(cancelled)
    assert len(asked) == 11
    catalog = Catalog()
    assert [summary.path for summary in catalog.summaries()] == [path]
