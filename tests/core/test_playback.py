import json

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.playback import Follower, Player
from streamwatch.core.recording import Recording, SessionWriter
from tests import streams as s


def recording(times):
    chunks = s.complete_text("one two three")
    rec = Recording(request={})
    rec.response(200, {}, 0.1)
    for t, chunk in zip(times, chunks):
        rec.chunk(chunk, t)
    rec.end(End.EOF, times[-1])
    return rec, chunks


TIMES = [0.5, 0.6, 0.7, 8.7, 8.8, 8.9, 9.0, 9.1, 9.2]


def test_plays_at_the_recorded_pace_and_shows_the_stall_counting():
    rec, chunks = recording(TIMES)
    player = Player(rec, stall_threshold=5.0)
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
    player = Player(rec, stall_threshold=5.0, speed=10.0)
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


def test_replay_ends_in_the_same_verdict_as_analysis():
    rec, _ = recording(TIMES)
    player = Player(rec, stall_threshold=5.0, speed=None)
    player.tick(0.0)
    assert player.finished
    assert player.state.verdict().to_dict() == rec.replay_into(StreamState()).verdict().to_dict()


def test_follower_sees_a_file_grow_and_end(tmp_path):
    writer = SessionWriter.create("live", {"headers": {}}, directory=tmp_path)
    writer.response(200, {}, 0.1)
    follower = Follower(writer.path)
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
