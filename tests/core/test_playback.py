import json
import os
import socket
import subprocess
import sys
import zlib

import pytest

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.playback import Follower, Player, SessionPlayer
from streamwatch.core.recording import (
    RECORDING_CUT,
    Recording,
    Session,
    SessionError,
    SessionLoader,
    SessionWriter,
    apply_record,
    load_session,
    parse_session,
    process_facts,
)
from streamwatch.core.sources import analyze
from tests import sessions
from tests import streams as s


def recording(times):
    chunks = s.complete_text("one two three")
    rec = Recording(request={})
    rec.response(200, {}, 0.1)
    for t, chunk in zip(times, chunks, strict=True):
        rec.chunk(chunk, t)
    rec.end(End.EOF, times[-1])
    return rec, chunks


TIMES = [0.5, 0.6, 0.7, 8.7, 8.8, 8.9, 9.0, 9.1, 9.2]


def one_attempt(rec, speed=1.0):
    return SessionPlayer(Session(path=None, header={}, attempts=[rec]), stall_threshold=5.0, speed=speed)


def test_plays_at_the_recorded_pace_and_shows_the_stall_counting():
    rec, chunks = recording(TIMES)
    player = one_attempt(rec)
    player.tick(100.0)
    player.tick(100.65)
    assert len(player.state.events) == 2
    player.tick(107.0)
    assert len(player.state.events) == 3
    assert player.state.silence(player.position) > 6.0
    assert player.state.termination is None
    player.tick(109.3)
    assert player.finished and player.state.complete
    assert [st.after_event for st in player.state.stalls] == [3]


def test_speed_pause_step_and_jumps():
    rec, chunks = recording(TIMES)
    player = one_attempt(rec, speed=10.0)
    player.tick(0.0)
    player.tick(0.1)
    assert len(player.state.events) == 3
    player.toggle()
    player.tick(5.0)
    assert len(player.state.events) == 3
    player.step()
    assert len(player.state.events) == 4 and not player.playing
    player.to_end()
    assert player.finished and len(player.state.events) == len(chunks)
    player.to_start()
    assert len(player.state.events) == 0 and not player.finished
    assert player.to_next_anomaly()
    assert [a.code for a in player.state.anomalies] == ["stall"]
    assert len(player.state.events) == 4
    player.faster()
    assert player.speed is None
    player.slower()
    player.slower()
    assert player.speed == 5.0


def at_max_speed(player, now=0.0):
    """Frames at `now` until the player has finished: at max speed each frame feeds what its CPU budget
    allows, which on a loaded machine may be nothing."""
    for _ in range(1000):
        player.tick(now)
        if player.finished:
            break
    return player


def test_replay_ends_in_the_same_verdict_as_analysis():
    rec, _ = recording(TIMES)
    player = at_max_speed(one_attempt(rec, speed=None))
    assert player.finished
    assert player.state.verdict().to_dict() == rec.replay_into(StreamState()).verdict().to_dict()


def test_follower_sees_a_file_grow_and_end(tmp_path):
    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)
    writer.response(200, {}, 0.1)
    follower = Follower(writer.path)
    follower.loader.load()
    player = Player(follower.session.latest, stall_threshold=5.0, live=True)
    chunks = s.complete_text("followed")
    for i, chunk in enumerate(chunks[:4]):
        writer.chunk(chunk, 0.2 + i * 0.01)
    assert follower.poll()
    player.tick(1.0)
    assert len(player.state.events) == 4 and not follower.ended
    line = b'[0.25,"chunk",' + json.dumps(chunks[4].decode()).encode() + b"]\n"
    with open(writer.path, "ab") as handle:
        handle.write(line[:10])
        handle.flush()
        assert not follower.poll()
        handle.write(line[10:])
    assert follower.poll()
    for i, chunk in enumerate(chunks[5:]):
        writer.chunk(chunk, 0.3 + i * 0.01)
    writer.end(End.EOF, 0.5)
    follower.poll()
    player.tick(1.1)
    assert follower.ended and player.finished and player.state.complete
    assert follower.session.skipped == []
    assert player.state.text == "followed"


def test_attach_to_a_compressed_session_decodes_each_event_as_its_bytes_are_written(tmp_path):
    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)
    writer.response(200, {"content-type": "text/event-stream", "content-encoding": "gzip"}, 0.1)
    follower = Follower(writer.path)
    follower.loader.load()
    player = Player(follower.session.latest, stall_threshold=5.0, live=True)
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    chunks = s.complete_text("compressed and followed")
    for i, chunk in enumerate(chunks):
        writer.chunk(compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH), 0.2 + i * 0.01)
        follower.poll()
        player.tick(1.0 + i)
        assert len(player.state.events) == i + 1
    writer.chunk(compressor.flush(), 0.4)
    writer.end(End.EOF, 0.4)
    follower.poll()
    player.tick(20.0)
    assert player.finished and player.state.complete and player.state.text == "compressed and followed"


def resumed(tmp_path, **options):
    return load_session(sessions.write_resumed(tmp_path, **options))


# Attempt 1: ten chunks from 0.35 s to 0.80 s, its end at 0.81 s; attempt 2 asked for at 2.81 s (gap 2 s),
# fourteen chunks from 3.16 s to 3.81 s, its end at 3.82 s (a 6 s silence delays the later ones).
def test_a_session_plays_each_attempt_in_turn_with_the_gap_between_them(tmp_path):
    player = SessionPlayer(resumed(tmp_path), stall_threshold=5.0)
    assert (player.total, player.attempt.number, player.duration) == (2, 1, 3.82)
    player.tick(100.0)
    player.tick(100.6)
    assert player.attempt.number == 1 and len(player.state.events) == 5 and player.next_in is None
    player.tick(101.5)
    assert player.attempt.finished and player.attempt.verdict.termination == "eof"
    assert player.next_in == pytest.approx(1.31) and not player.finished
    assert player.state.text == sessions.FIRST_DRAFT and len(player.log.attempts) == 1
    player.tick(102.85)
    assert player.attempt.number == 2 and player.position == pytest.approx(0.04)
    assert len(player.state.events) == 0 and not player.attempt.finished
    assert player.attempt.base is not None and player.attempt.answer.text == sessions.FIRST_DRAFT
    player.tick(110.0)
    assert player.finished and player.log.complete
    assert player.log.answer().text == sessions.RESUMED_ANSWER and player.log.answer().seams == [40]
    assert player.elapsed >= player.duration


def test_speed_scales_the_gap_and_max_skips_it(tmp_path):
    player = SessionPlayer(resumed(tmp_path, gap=30.0), stall_threshold=5.0, speed=10.0)
    player.tick(0.0)
    player.tick(0.5)
    assert player.attempt.number == 1 and player.next_in == pytest.approx(30.81 - 5.0)
    player.tick(3.6)
    assert player.attempt.number == 2
    fastest = at_max_speed(SessionPlayer(resumed(tmp_path, name="fastest.jsonl", gap=30.0), 5.0, speed=None))
    assert fastest.finished and fastest.log.complete


def test_at_max_speed_a_pause_holds_where_a_key_left_the_replay(tmp_path):
    player = at_max_speed(SessionPlayer(resumed(tmp_path, stall_after=2), stall_threshold=5.0, speed=None))
    assert player.finished
    assert player.to_previous_anomaly() == 2 and player.attempt.number == 1
    player.tick(1.0)
    player.tick(2.0)
    assert player.attempt.number == 1 and player.player.finished and not player.finished
    player.toggle()
    assert at_max_speed(player, 3.0).finished


def test_step_jumps_and_next_anomaly_go_across_attempts(tmp_path):
    player = SessionPlayer(resumed(tmp_path, stall_after=2), stall_threshold=5.0)
    assert player.to_next_anomaly() and player.attempt.number == 1 and not player.playing
    assert [a.code for a in player.state.anomalies] == ["block_not_stopped"] and player.state.ended
    player.step()
    assert player.attempt.number == 2 and len(player.state.events) == 1
    assert player.elapsed == pytest.approx(3.16)
    assert player.to_next_anomaly() and player.attempt.number == 2
    assert [a.code for a in player.state.anomalies] == ["stall"] and len(player.state.events) == 3
    assert not player.to_next_anomaly() and not player.finished, "none left: the replay stays where it is"
    assert player.attempt.number == 2 and len(player.state.events) == 3
    assert player.to_previous_anomaly() == 2 and player.attempt.number == 1 and player.player.finished
    assert [a.code for a in player.state.anomalies] == ["block_not_stopped"] and not player.playing
    assert player.to_previous_anomaly() is None and player.attempt.number == 1
    player.to_start()
    assert player.attempt.number == 1 and len(player.state.events) == 0 and player.elapsed == 0
    assert len(player.log.attempts) == 1 and not player.attempt.finished
    player.to_end()
    assert player.finished and [a.verdict.termination for a in player.log.attempts] == ["eof", "message_stop"]
    assert player.log.attempts[1].repaid == {"strategy": "user-turn", "input_tokens": 60, "output_tokens": 0,
                                             "output_estimated": False, "total_tokens": 60}
    assert player.log.attempts[1].waited == pytest.approx(2.0)


def test_a_recording_without_an_end_replays_to_where_it_was_cut(tmp_path):
    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)
    writer.response(200, {}, 0.1)
    for i, chunk in enumerate(s.complete_text("killed")[:4]):
        writer.chunk(chunk, 0.2 + i * 0.01)
    writer.close()
    session = load_session(writer.path)
    player = SessionPlayer(session, stall_threshold=5.0)
    player.tick(0.0)
    player.tick(1.0)
    assert player.finished and player.state.verdict().to_dict() == analyze(session.latest, 5.0).verdict().to_dict()
    assert player.state.end_error == RECORDING_CUT


def test_a_follower_says_the_session_may_go_on_while_its_writer_runs(tmp_path):
    path = sessions.write_resumed(tmp_path, pid=os.getpid(), host=socket.gethostname(), complete=False)
    follower = Follower(path)
    follower.loader.load()
    assert follower.ended and follower.writer_running()
    assert not follower.over(complete=False) and follower.over(complete=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    finished = Follower(sessions.write_resumed(tmp_path, "gone.jsonl", pid=gone.pid, host=socket.gethostname()))
    assert finished.writer_running() is False and finished.over(complete=False)
    elsewhere_path = sessions.write_resumed(tmp_path, "elsewhere.jsonl", pid=os.getpid(), host="not-" + socket.gethostname())
    elsewhere = Follower(elsewhere_path)
    elsewhere.loader.load()
    assert elsewhere.writer_running() is None and elsewhere.over(complete=False)


@pytest.mark.skipif(not process_facts(), reason="needs /proc (Linux) to tell processes apart")
def test_a_follower_tells_a_reused_pid_and_another_pid_namespace_from_its_writer(tmp_path):
    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)
    writer.response(200, {}, 0.1)
    writer.close()
    header, *records = writer.path.read_text().splitlines()
    assert Follower(writer.path).writer_running() is True

    def variant(name, **changes):
        path = tmp_path / name
        path.write_text("\n".join([json.dumps({**json.loads(header), **changes}), *records]) + "\n")
        return Follower(path)

    reused = variant("reused.jsonl", pid_started=process_facts()["pid_started"] - 1)
    assert reused.writer_running() is False and reused.over(complete=False)
    contained = variant("contained.jsonl", pid_ns=process_facts()["pid_ns"] + 1, pid=2**22 + 7)
    assert contained.writer_running() is None


def test_a_followed_file_that_shrinks_is_said_lost_once_and_over(tmp_path):
    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)
    writer.response(200, {}, 0.1)
    for i, chunk in enumerate(s.complete_text("rotated")[:3]):
        writer.chunk(chunk, 0.2 + i * 0.01)
    follower = Follower(writer.path)
    follower.loader.load()
    writer.path.write_bytes(writer.path.read_bytes()[:40])
    with pytest.raises(SessionError, match="shrank to 40 bytes"):
        follower.poll()
    assert not follower.poll() and follower.over(complete=False)
    assert len(follower.session.latest.chunks) == 3


def test_a_session_still_being_read_plays_what_was_read_and_ends_only_once_it_is_all_read(tmp_path):
    path = sessions.write_resumed(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    whole = SessionPlayer(load_session(path), 5.0, speed=None)
    whole.to_end()
    session = parse_session(b"".join(lines[:6]), path)  # the header, attempt 1's head and its first chunks
    session.reading = True
    player = SessionPlayer(session, 5.0, speed=1.0)
    player.tick(0.0)
    player.tick(100.0)
    # The clock waits where the file was not read yet: no silence there, no stall, no end.
    assert player.elapsed == session.last_t and not player.state.anomalies
    player.to_end()
    assert not player.finished and player.state.ended is None and player.state.events
    for number, line in enumerate(lines[6:], start=7):
        apply_record(session, line[:-1], number)
    assert not player.finished  # all there, but not said to be
    session.reading = False
    player.to_end()
    assert player.finished and player.log.complete
    assert [a.verdict.explanation for a in player.log.attempts] == [a.verdict.explanation for a in whole.log.attempts]


def test_a_loader_reads_the_header_at_once_and_the_records_when_asked(tmp_path):
    path = sessions.write_resumed(tmp_path)
    loader = SessionLoader(path)
    assert loader.session.header["id"] == "5e55e55e" and loader.session.reading
    assert not loader.done and 0 < loader.progress < 1 and not loader.session.latest.chunks
    loader.load()
    assert loader.done and loader.progress == 1.0
    assert loader.session.attempts == load_session(path).attempts
    (tmp_path / "not.jsonl").write_text("hello\n")
    with pytest.raises(SessionError, match="not a streamwatch session file"):
        SessionLoader(tmp_path / "not.jsonl")


def test_a_replay_that_cannot_keep_up_holds_its_clock_at_what_it_has_shown_and_never_reads_as_a_stall(monkeypatch):
    """A session too big to feed in one frame's budget: the clock stands where the events shown stand,
    not where the wall clock is, so the status never says STALLED while events are still pouring in."""
    import itertools
    import types

    import streamwatch.core.playback as playback

    ticks = itertools.count()  # each look at the CPU clock finds a second gone: a frame feeds 64 chunks
    monkeypatch.setattr(playback, "time", types.SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    times = [0.01 * n for n in range(1, 400)]
    rec = Recording(request={})
    rec.response(200, {}, 0.0)
    rec.chunk(s.message_start(), 0.005)
    for t in times:
        rec.chunk(s.delta(0, {"type": "text_delta", "text": "x"}), t)
    rec.end(End.EOF, times[-1])
    player = one_attempt(rec)
    player.tick(100.0, budget=1.5)
    shown = []
    while not player.finished:
        player.tick(100.0 + 10 * (len(shown) + 1), budget=1.5)  # ten seconds of wall clock per frame
        shown.append(len(player.state.events))
        if not player.finished:
            assert player.state.silence(player.position) < 5.0, "events were waiting: not a stall"
            assert player.position == times[len(player.state.events) - 2]
    assert len(shown) > 3 and shown == sorted(shown)
    assert player.state.stalls == [] and player.state.complete is False


def test_to_the_end_with_a_deadline_answers_at_once_and_the_ticks_after_it_get_there_without_the_clock(tmp_path):
    player = SessionPlayer(load_session(sessions.write_resumed(tmp_path)), 5.0, speed=1.0)
    player.tick(0.0)
    player.to_end(deadline=0.0)  # long past: a key's time is up before anything is fed
    assert player.ending and not player.finished and player.attempt.number == 1
    for _ in range(100):  # each tick feeds its budget's worth; the clock stands still
        player.tick(0.0)
        if player.finished:
            break
    assert player.finished and not player.ending and player.log.complete and player.attempt.number == 2
    player.to_start()
    player.to_end(deadline=0.0)
    player.step()  # another playback key: the replay stays where that key puts it
    assert not player.ending and not player.finished
