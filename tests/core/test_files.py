"""What a name in the file system turns out to be never hurts: no FIFO blocks, no device is read, no
link is followed where it is the danger, no file is read past the size it had when opened."""

import errno
import os
import tracemalloc

import pytest

from streamwatch.core.diagnose import End
from streamwatch.core.files import Refused, open_regular
from streamwatch.core.playback import Follower
from streamwatch.core.recording import SessionError, SessionWriter, load_session
from tests import sessions, streams as s


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


def test_a_session_is_never_appended_to_through_a_link(tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me\n")
    (tmp_path / "s.jsonl").symlink_to(elsewhere)
    with pytest.raises(Refused, match="symbolic link"):
        SessionWriter.reopen(tmp_path / "s.jsonl")
    assert elsewhere.read_text() == "keep me\n"


def test_a_followed_file_is_read_a_bounded_piece_per_poll(tmp_path, monkeypatch):
    monkeypatch.setattr(Follower, "POLL_BYTES", 4096)
    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)
    writer.response(200, {}, 0.1)
    follower = Follower(writer.path)
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
