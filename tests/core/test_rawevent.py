"""The raw view's text of one event: all of a small one, the start of a big one and how much is left."""

from streamwatch.core.diagnose import StreamState
from streamwatch.core.rawevent import raw_event
from tests import streams as s


def events(*chunks: bytes):
    state = StreamState()
    state.chunk(b"".join(chunks), 0.25)
    return state.events


def test_a_small_event_is_shown_whole_and_its_json_laid_out():
    view = raw_event(events(s.ping())[0])
    assert view.title == "Event #1 · ping · t=0.250s"
    assert view.wire == 'event: ping\ndata: {"type":"ping"}\n\n'
    assert view.parsed == '{\n  "type": "ping"\n}' and view.hidden == 0 and view.cut is None
    hostile = raw_event(events(b"data: \x1b[31mnot json\n\n")[0])
    assert hostile.wire == "data: \\x1b[31mnot json\n\n" and hostile.parsed == "(not JSON)"


def test_a_big_event_shows_its_start_cut_on_a_whole_character_and_says_how_much_is_left():
    big = s.delta(0, {"type": "text_delta", "text": "é" * 5000})
    view = raw_event(events(big)[0], limit=1001)
    assert view.wire.startswith("event: content_block_delta\ndata: {") and "\ufffd" not in view.wire
    assert view.hidden == len(big) - len(view.wire.encode())
    assert view.cut == f"… {view.hidden / 1024:.1f} KB more of this event not shown: w writes all of it to a file"
    assert view.parsed.startswith('{\n  "type": "content_block_delta",\n  "index": 0,\n  "delta": {\n')
    assert view.parsed.endswith("éé\n…") and len(view.parsed) < 1100


def test_a_big_event_that_is_not_json_says_so():
    view = raw_event(events(b"data: " + b"x" * 5000 + b"\n\n")[0], limit=100)
    assert view.parsed == "(not JSON)" and view.hidden == 5008 - 100
