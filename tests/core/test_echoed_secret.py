"""A secret the model writes back (a key it was shown in the prompt) comes in pieces, a few characters
per content delta, as every stream splits a long word, and the reads may cut anywhere. It is recorded
and shown `[redacted]`, never in pieces that read back whole: in the session file, the text a view
shows, and a replay of the file; and an answer with no secret is recorded as it came."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from streamwatch.core.diagnose import End
from streamwatch.core.playback import replay_attempts
from streamwatch.core.recorder import Recorder
from streamwatch.core.recording import SessionWriter, load_session
from streamwatch.core.redact import REDACTED
from tests import streams as s

KNOWN = "swtest-echo-Zr8Wq3Lm5Xt7Pk2N"
"""The request's own key: the model is shown it, and repeats it."""
SHAPED = "sk-ant-api03-Hq7Vd2Rt9Yc4Lm8Bn6Jw"
"""A key nobody told the recorder of: its shape gives it away."""
URL = "https://api.example/v1/messages"


def record(tmp_path, reads: list[bytes]) -> Recorder:
    """A session whose request carries KNOWN, its body read in `reads` a second apart."""
    recorder = Recorder(stall_threshold=30.0, directory=tmp_path)
    recorder.request("POST", URL, [("x-api-key", KNOWN), ("content-type", "application/json")],
                     {"model": "m", "messages": [{"role": "user", "content": "repeat my key"}]})
    recorder.response(200, [("content-type", "text/event-stream")])
    for n, data in enumerate(reads):
        recorder.chunk(data, float(n + 1))
    recorder.end(End.EOF, t=float(len(reads) + 1))
    recorder.finish()
    return recorder


def answer(text: str, piece: int) -> list[bytes]:
    return [s.message_start(), *s.text_block(0, text, piece), s.message_delta("end_turn"), s.message_stop()]


def pieces_of(secret: str) -> list[str]:
    """Every run of 4 characters of the secret past a key's public prefix."""
    rest = secret.removeprefix("sk-ant-api03-")
    return [rest[i:i + 4] for i in range(len(rest) - 3)]


def test_a_known_key_written_three_characters_a_delta_is_recorded_and_shown_redacted(tmp_path) -> None:
    recorder = record(tmp_path, answer(f"Your key is {KNOWN}, keep it safe.", piece=3))

    saved = recorder.session_path.read_bytes()
    assert [p for p in pieces_of(KNOWN) if p.encode() in saved] == []
    assert recorder.state.text == f"Your key is {REDACTED}, keep it safe."
    replayed = replay_attempts(load_session(recorder.session_path), 30.0)
    assert replayed.attempts[-1].state.text == recorder.state.text


def test_a_key_shaped_secret_nobody_named_is_redacted_across_deltas_too(tmp_path) -> None:
    recorder = record(tmp_path, answer(f"Found it: {SHAPED}\nDone.", piece=5))

    saved = recorder.session_path.read_bytes()
    assert [p for p in pieces_of(SHAPED) if p.encode() in saved] == []
    assert recorder.state.text == f"Found it: {REDACTED}\\nDone.".replace("\\n", "\n")


def test_every_event_is_still_recorded_at_the_time_it_came(tmp_path) -> None:
    reads = answer(f"a {SHAPED} b", piece=4)
    recorder = record(tmp_path, reads)

    session = load_session(recorder.session_path)
    assert [event.type for event in recorder.state.events] == [json.loads(r.split(b"data: ")[1])["type"] for r in reads]
    times = [t for t, _ in session.latest.chunks]
    assert times == sorted(times) and set(times) == {float(n + 1) for n in range(len(reads))}


def test_an_answer_with_no_secret_is_recorded_as_it_came_each_read_at_its_time(tmp_path) -> None:
    reads = answer("This is s plain answer, sk is a word and so is b; nothing here is a key.", piece=2)
    recorder = record(tmp_path, reads)

    recorded: dict[float, bytes] = {}
    for t, data in load_session(recorder.session_path).latest.chunks:  # a held delta's read may go in two parts
        recorded[t] = recorded.get(t, b"") + data
    assert recorded == {float(n + 1): data for n, data in enumerate(reads)}


@settings(max_examples=60, deadline=None)
@given(
    before=st.text(st.sampled_from("abc s.\n"), max_size=12),
    secret=st.sampled_from([KNOWN, SHAPED]),
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=40),
    cuts=st.lists(st.floats(0, 1, exclude_min=True, exclude_max=True), max_size=30),
)
def test_a_secret_split_anywhere_across_deltas_and_reads_is_never_recorded_in_pieces(tmp_path_factory, before, secret,
                                                                                    sizes, cuts) -> None:
    text = f"{before} {secret} after"
    deltas, at = [], 0
    for size in sizes:
        if at < len(text):
            deltas.append(text[at:at + size])
            at += size
    if at < len(text):
        deltas.append(text[at:])
    events = [s.message_start(), s.block_start(0, {"type": "text", "text": ""}),
              *[s.delta(0, {"type": "text_delta", "text": d}) for d in deltas], s.block_stop(0),
              s.message_delta("end_turn"), s.message_stop()]
    body = b"".join(events)
    points = sorted({int(len(body) * cut) for cut in cuts} - {0})
    reads = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    recorder = record(tmp_path_factory.mktemp("echo"), reads)

    saved = recorder.session_path.read_bytes()
    assert [p for p in pieces_of(secret) if p.encode() in saved] == []
    assert recorder.state.text == f"{before} {REDACTED} after"


def test_a_file_streamwatch_did_not_write_shows_an_echoed_key_redacted_and_says_it_changed(tmp_path) -> None:
    """Read again (core/recording.py `ReadRedaction`): an older or hand-made file, one event a chunk."""
    reads = answer(f"It is {SHAPED} indeed.", piece=6)
    writer = SessionWriter.create("live", {"method": "POST", "url": URL, "headers": {}, "body": {}}, directory=tmp_path)
    writer.response(200, {"content-type": "text/event-stream"}, 0.1)
    for n, data in enumerate(reads):
        writer.chunk(data, 0.2 + n / 100)
    writer.end(End.EOF, 1.0)
    writer.close()

    session = load_session(writer.path)
    shown = b"".join(data for _, data in session.latest.chunks)
    assert [p for p in pieces_of(SHAPED) if p.encode() in shown] == []
    assert replay_attempts(session, 30.0).attempts[-1].state.text == f"It is {REDACTED} indeed."
    assert session.redaction.changed
    assert sorted({t for t, _ in session.latest.chunks}) == [round(0.2 + n / 100, 6) for n in range(len(reads))]


def test_a_ping_or_a_comment_in_the_middle_of_a_key_does_not_let_its_pieces_through(tmp_path) -> None:
    """The API may send a ping anywhere (and SSE allows a comment line, and a delta of the block with no
    text, a citation, comes among its text): one between two pieces of a key is no end of the text,
    and the key is still recorded and shown whole `[redacted]`."""
    citation = s.delta(0, {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "a",
                                                                   "document_index": 0, "start_char_index": 0}})
    for secret in (KNOWN, SHAPED):
        for between in (s.ping(), b": keep-alive\n\n", citation):
            text = f"Your key is {secret}, keep it."
            pieces = [text[i:i + 3] for i in range(0, len(text), 3)]
            events = answer("", piece=3)[:2] + [s.delta(0, {"type": "text_delta", "text": p}) for p in pieces]
            events.insert(2 + 6, between)  # after "Your key is " and 6 characters of the key
            folder = tmp_path / f"{len(secret)}-{len(between)}"
            folder.mkdir()
            recorder = record(folder, [*events, s.block_stop(0), s.message_stop()])

            assert recorder.state.text == f"Your key is {REDACTED}, keep it."
            assert replay_attempts(load_session(recorder.session_path), 30.0).attempts[-1].state.text == recorder.state.text


def test_a_file_whose_reads_cut_the_events_anywhere_shows_an_echoed_key_redacted(tmp_path) -> None:
    """An older or hand-made file records a socket's reads, cut anywhere in the events: a delta whose
    start came in the read before still has its piece of the key cut out when it is read again."""
    body = b"".join(answer(f"Your key is {SHAPED}, keep it.", piece=3))
    writer = SessionWriter.create("proxy", {"method": "POST", "url": URL, "headers": {}, "body": {}}, directory=tmp_path)
    writer.response(200, {"content-type": "text/event-stream"}, 0.1)
    for n, at in enumerate(range(0, len(body), 97)):
        writer.chunk(body[at:at + 97], 0.2 + n / 100)
    writer.end(End.EOF, 1.0)
    writer.close()

    session = load_session(writer.path)
    assert replay_attempts(session, 30.0).attempts[-1].state.text == f"Your key is {REDACTED}, keep it."
    assert session.redaction.changed
    assert b"".join(data for _, data in session.latest.chunks).count(b"event: ") == body.count(b"event: ")


def test_a_known_key_glued_to_a_word_is_cut_out_of_the_deltas_after_its_first_characters(tmp_path) -> None:
    """A delta that ends with the first one or two characters of the key inside a word is not held
    (too common), but the deltas after it are still looked at with it: the rest of the key goes."""
    for n, (word, start) in enumerate([("Path x-", "sw"), ("key=x_", "s"), ("id 7", "sw")]):
        first, rest = word + start, KNOWN.removeprefix(start)
        folder = tmp_path / str(n)
        folder.mkdir()
        recorder = record(folder, [s.message_start(), s.block_start(0, {"type": "text", "text": ""}),
                                   *[s.delta(0, {"type": "text_delta", "text": p})
                                     for p in [first, rest[:10], rest[10:], " ok"]],
                                   s.block_stop(0), s.message_stop()])

        shown = [recorder.state.text, replay_attempts(load_session(recorder.session_path), 30.0).attempts[-1].state.text]
        assert [p for p in pieces_of(KNOWN) for text in shown if p in text] == []
        assert all(text.endswith(f"{REDACTED} ok") for text in shown)


def test_a_key_right_after_a_json_escape_is_redacted_whole_or_in_pieces(tmp_path) -> None:
    """On the wire a tab is `\\t`, a control character `\\u0001`, and some servers write `<` as `\\u003c`:
    the letter ending the escape does not glue the key to a word."""
    token = "Zr8task-swt7Lm5Xt2Q"
    cases = [(f"Key\x01{SHAPED} ok", SHAPED, 40), (f"Key\x01{SHAPED} ok", SHAPED, 3), (f"Key:\t{KNOWN} ok", KNOWN, 3),
             (f"auth:\nBearer {token} ok", token, 4)]
    for n, (text, secret, piece) in enumerate(cases):
        folder = tmp_path / str(n)
        folder.mkdir()
        recorder = record(folder, answer(text, piece))
        assert recorder.state.text == text.replace(secret, REDACTED)
    folder = tmp_path / "go"
    folder.mkdir()
    recorder = record(folder, [r.replace(b"<", b"\\u003c") for r in answer(f"Key <{SHAPED}> ok", 40)])
    assert recorder.state.text == f"Key <{REDACTED}> ok"


def test_a_key_in_deltas_written_another_way_is_still_redacted(tmp_path) -> None:
    """A server that speaks the API may write its JSON with spaces (Python's json.dumps), its fields in
    another order (a pydantic model of the SDK's types: text before type, delta before index), a field
    after the text, or end its lines with CR alone: the deltas are still read as deltas."""
    def spaced(index: int, text: str) -> bytes:
        return s.event(json.loads(s.delta(index, {"type": "text_delta", "text": text}).split(b"data: ")[1])
                       ).replace(b'":', b'": ').replace(b',"', b', "')

    def reordered(index: int, text: str) -> bytes:
        return s.event({"delta": {"text": text, "type": "text_delta"}, "index": index, "type": "content_block_delta"})

    def text_first(index: int, text: str) -> bytes:
        return s.event({"type": "content_block_delta", "index": index, "delta": {"text": text, "type": "text_delta"}})

    def more(index: int, text: str) -> bytes:
        return s.delta(index, {"type": "text_delta", "text": text, "extra": None})

    def cr(index: int, text: str) -> bytes:
        return s.delta(index, {"type": "text_delta", "text": text}).replace(b"\n", b"\r")

    text = f"Your key is {SHAPED}, and {KNOWN}."
    for n, delta in enumerate([spaced, reordered, text_first, more, cr]):
        folder = tmp_path / str(n)
        folder.mkdir()
        recorder = record(folder, [s.message_start(), s.block_start(0, {"type": "text", "text": ""}),
                                   *[delta(0, text[i:i + 3]) for i in range(0, len(text), 3)], s.message_stop()])
        assert recorder.state.text == f"Your key is {REDACTED}, and {REDACTED}.", delta.__name__


def test_a_known_key_cut_short_by_max_tokens_or_a_dropped_stream_is_not_shown_in_part(tmp_path) -> None:
    """The text may end in the middle of the key (max_tokens, or the connection dropped): its first
    characters are as secret as the rest, and go `[redacted]` as a body's last bytes do (`MIN_SECRET`
    of them or more)."""
    events = [s.message_start(), *s.text_block(0, f"Your key is {KNOWN[:20]}", 3)]
    for n, reads in enumerate([[*events, s.message_delta("max_tokens"), s.message_stop()], events[:-1]]):
        folder = tmp_path / str(n)
        folder.mkdir()
        recorder = record(folder, reads)
        assert recorder.state.text == f"Your key is {REDACTED}"
        assert replay_attempts(load_session(recorder.session_path), 30.0).attempts[-1].state.text == recorder.state.text


def test_a_known_token_longer_than_the_text_looked_at_is_redacted_whole(tmp_path) -> None:
    """An auth token may be a JWT of a kilobyte: it is held and cut out as a short key is."""
    token = "eyJhbGciOiJSUzI1NiJ9." + "QWxhZGRpbjpvcGVuIHNlc2FtZQ" * 40 + ".c2lnbmF0dXJl"
    recorder = Recorder(stall_threshold=30.0, directory=tmp_path)
    recorder.request("POST", URL, [("authorization", f"Bearer {token}")], {"model": "m", "messages": []})
    recorder.response(200, [("content-type", "text/event-stream")])
    for n, data in enumerate(answer(f"It is {token} there.", piece=30)):
        recorder.chunk(data, float(n + 1))
    recorder.end(End.EOF, t=100.0)

    assert recorder.state.text == f"It is {REDACTED} there."
    assert "QWxhZGRpbjpvcGVuIHNlc2FtZQ" not in replay_attempts(load_session(recorder.session_path), 30.0).attempts[-1].state.text
