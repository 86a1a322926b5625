"""Faults on real traffic (`streamwatch proxy --fault SPEC`): the spec grammar, which requests a fault
picks, what it does to a body however the body is chunked, and, through the proxy to the embedded
mock, that the official SDK sees what it sees from the matching embedded scenario, with the session
marked as injected wherever its verdict is shown."""

from __future__ import annotations

import asyncio
import json
import threading
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2
import pytest

from streamwatch import cli
from streamwatch.core.catalog import Catalog
from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.playback import SessionPlayer, replay_attempts
from streamwatch.core.report import live_status
from streamwatch.core.sse import SSEDecoder
from streamwatch.mock import MockServer
from streamwatch.mock.events import (
    TextBlock,
    ToolUseBlock,
    Usage,
    block_events,
    message_delta,
    message_start,
    message_stop,
    ping,
    sse,
)
from streamwatch.protocol import TIME_SCALE_HEADER
from streamwatch.proxy.faults import Faults, parse_fault
from streamwatch.server import BackgroundServer, StreamCut
from tests.proxy.conftest import WAIT_SECONDS, Proxy, Running

# ----- the spec grammar ---------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "label"), [
    ("cut:events=40", "injected: cut after 40 events"),
    ("cut:bytes=5000", "injected: cut after 5000 bytes"),
    ("end:tool_use", "injected: clean end inside the next tool_use block"),
    ("end:events=12", "injected: clean end after 12 events"),
    ("error:overloaded_error", "injected: overloaded_error event after the first content"),
    ("error:api_error,events=1", "injected: api_error event after 1 event"),
    ("stall:30", "injected: 30 s stall (silent) after the first content"),
    ("stall:30,pings", "injected: 30 s stall (with a ping every 3 s) after the first content"),
    ("stall:0.5,pings=0.1,events=4", "injected: 0.5 s stall (with a ping every 0.1 s) after 4 events"),
    ("status:529", "injected: HTTP 529 overloaded_error, retry-after 1 s (upstream not contacted)"),
    ("status:429,retry-after=7", "injected: HTTP 429 rate_limit_error, retry-after 7 s (upstream not contacted)"),
    ("status:500", "injected: HTTP 500 api_error (upstream not contacted)"),
    ("buffer", "injected: whole answer buffered, sent at once"),
    ("buffer@every", "injected: whole answer buffered, sent at once"),
    ("cut:events=3@nth=2@model=claude-*@path=/v1/messages", "injected: cut after 3 events"),
    ("end:events=1@fraction=0.2,seed=7", "injected: clean end after 1 event"),
])
def test_a_good_spec_reads_as_the_fault_it_names(spec: str, label: str) -> None:
    assert parse_fault(spec).plan.label == label


@pytest.mark.parametrize(("spec", "says"), [
    ("", "no fault named ''"),
    ("chop:events=3", "no fault named 'chop' (one of cut, end, error, stall, status, buffer)"),
    ("cut", "cut needs one of events=N and bytes=N (cut:events=N or cut:bytes=N)"),
    ("cut:events=3,bytes=4", "cut needs one of events=N and bytes=N"),
    ("cut:events=-1", "events must be a whole number from 0, not '-1'"),
    ("cut:events=٣", "events must be a whole number from 0"),
    ("cut:events=3,events=4", "events is given twice"),
    ("end:tool_use=2", "end needs one of events=N and tool_use"),
    ("end:events=2,loud", "'loud' is not an argument of end (end:events=N or end:tool_use)"),
    ("error", "error needs an error type first (error:TYPE[,events=N])"),
    ("error:oops", "no error type 'oops' (one of api_error, authentication_error"),
    ("stall:0", "a stall must be a number of seconds above 0 and up to 86400, not '0'"),
    ("stall:nan", "a stall must be a number of seconds above 0"),
    ("stall:5,pings=inf", "pings must be a number of seconds above 0"),
    ("status:418", "no API error with status '418' (one of 400, 401"),
    ("status:529,retry-after=soon", "retry-after must be a whole number from 0, not 'soon'"),
    ("buffer:all", "'all' is not an argument of buffer"),
    ("buffer@nth=0", "nth must be a whole number from 1, not '0'"),
    ("buffer@nth=2@fraction=0.5", "@nth and @fraction do not go together"),
    ("buffer@fraction=1.5", "fraction must be a number above 0 and up to 1, not '1.5'"),
    ("buffer@fraction=0.5,salt=3", "a fraction takes only a seed after it (@fraction=F,seed=N)"),
    ("buffer@model=a@model=b", "@model is given twice"),
    ("buffer@host=x", "no selector '@host=x' (@every, @nth=N"),
    ("buffer@model=", "no selector '@model='"),
])
def test_a_bad_spec_is_one_line_naming_it_and_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_fault(spec)

    message = str(raised.value)
    assert message.startswith(f"bad fault {spec!r}: ") and says in message and "\n" not in message


def test_a_bad_spec_on_the_command_line_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["proxy", "--headless", "--fault", "cut:events=40", "--fault", "cut:evnts=4"])

    err = capsys.readouterr().err
    assert status == cli.EXIT_BAD_INPUT
    assert err.splitlines() == ["streamwatch: error: bad fault 'cut:evnts=4': cut needs one of events=N and bytes=N "
                                "(cut:events=N or cut:bytes=N)"]


# ----- which requests a fault picks ---------------------------------------------------------------


@dataclass
class Request:
    model: str | None = "claude-sonnet-4-6"
    path: str = "/v1/messages"
    stream: bool = True


def picks(faults: Faults, requests: list[Request]) -> list[str | None]:
    return [None if (plan := faults.plan(request)) is None else plan.label for request in requests]


def test_a_fault_picks_every_streaming_request_and_an_answered_status_any_request() -> None:
    requests = [Request(), Request(stream=False), Request(path="/v1/messages/count_tokens", stream=False)]

    assert picks(Faults.parse(["end:events=3"]), requests) == ["injected: clean end after 3 events", None, None]
    assert picks(Faults.parse(["cut:bytes=10"]), requests) == ["injected: cut after 10 bytes"] * 3
    assert all(picks(Faults.parse(["status:529"]), requests))


def test_nth_counts_only_the_requests_its_other_selectors_let_through() -> None:
    faults = Faults.parse(["buffer@nth=2@model=claude-opus-*@path=/v1/*"])
    requests = [Request(model="claude-opus-4-5"), Request(), Request(model="claude-opus-4-5", path="/v1/messages?beta=true"),
                Request(model="claude-opus-4-5"), Request(model=None)]

    assert picks(faults, requests) == [None, None, "injected: whole answer buffered, sent at once", None, None]


def test_a_seeded_fraction_picks_the_same_requests_every_time() -> None:
    requests = [Request() for _ in range(400)]

    first = picks(Faults.parse(["buffer@fraction=0.2,seed=7"]), requests)
    again = picks(Faults.parse(["buffer@fraction=0.2,seed=7"]), requests)
    other = picks(Faults.parse(["buffer@fraction=0.2,seed=8"]), requests)

    assert first == again and first != other
    assert 40 <= sum(label is not None for label in first) <= 120


def test_the_first_fault_that_picks_wins_and_every_fault_counts_each_request() -> None:
    faults = Faults.parse(["status:529@nth=1", "end:events=5@nth=2", "buffer"])

    assert picks(faults, [Request()] * 3) == [
        "injected: HTTP 529 overloaded_error, retry-after 1 s (upstream not contacted)",
        "injected: clean end after 5 events",
        "injected: whole answer buffered, sent at once",
    ]


def test_an_armed_fault_takes_the_next_request_it_picks_once_before_the_others() -> None:
    faults = Faults.parse(["buffer"])

    label = faults.arm("cut:events=2@model=claude-haiku-*")

    assert faults.armed == [label]
    assert picks(faults, [Request(), Request(model="claude-haiku-4-5"), Request(model="claude-haiku-4-5")]) == [
        "injected: whole answer buffered, sent at once", label, "injected: whole answer buffered, sent at once",
    ]
    assert faults.armed == []
    with pytest.raises(ValueError, match="bad fault 'cut:nope'"):
        faults.arm("cut:nope")


def test_faults_armed_from_many_threads_each_take_exactly_one_request() -> None:
    faults = Faults()
    threads = [threading.Thread(target=lambda: [faults.arm("end:events=1") for _ in range(50)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(label is not None for label in picks(faults, [Request()] * 500)) == 400


# ----- what a fault does to a body ----------------------------------------------------------------

TOOL_JSON = '{"path": "notes/a.txt", "content": "' + "many words of content " * 20 + '"}'


def body() -> bytes:
    """A tool_use answer of 20 events, a ping second."""
    events = [message_start("msg_1", "claude-sonnet-4-6", 12), ping(),
              *block_events(0, TextBlock("A few words of text before the tool call.")),
              *block_events(1, ToolUseBlock("toolu_1", "write_file", TOOL_JSON)),
              message_delta("tool_use", None, Usage(12, 40)), message_stop()]
    return b"".join(sse(event) for event in events)


BODY = body()


def pieces(size: int) -> list[bytes]:
    return [BODY[i:i + size] for i in range(0, len(BODY), size)]


CHUNKINGS = [1, 7, 100, len(BODY)]


async def _from(chunks: list[bytes], then: BaseException | None = None) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    if then is not None:
        raise then


def apply(spec: str, chunks: list[bytes], then: BaseException | None = None,
          fired: Callable[[], None] = lambda: None) -> tuple[bytes, BaseException | None]:
    """What the client gets from the fault over an upstream body sent as `chunks` (then raising `then`);
    `fired` is called if the fault fires."""

    async def run() -> tuple[bytes, BaseException | None]:
        out = bytearray()
        try:
            async for piece in parse_fault(spec).plan.body(_from(chunks, then), fired):
                out += piece
        except Exception as exc:
            return bytes(out), exc
        return bytes(out), None

    return asyncio.run(run())


def state_of(data: bytes, raised: BaseException | None) -> StreamState:
    state = StreamState()
    state.response(200, {"content-type": "text/event-stream"})
    state.chunk(data, 0.0)
    state.end(End.TRANSPORT_ERROR if raised else End.EOF, 0.0)
    return state


def events_of(data: bytes) -> list[str]:
    return [json.loads(event.data)["type"] for event in SSEDecoder().feed(data)]


def test_cut_after_n_events_sends_them_and_half_the_next_however_the_body_is_chunked() -> None:
    outputs = {apply("cut:events=5", pieces(size)) for size in CHUNKINGS}

    [(data, raised)] = {(data, type(raised)) for data, raised in outputs}
    state = state_of(data, raised)
    assert raised is StreamCut and len(state.events) == 5 and state.incomplete is not None
    whole = SSEDecoder().feed(BODY)
    assert len(data) == whole[5].offset + len(whole[5].raw) // 2 and BODY.startswith(data)


def test_cut_after_0_events_cuts_the_first_one() -> None:
    data, raised = apply("cut:events=0", pieces(7))

    assert isinstance(raised, StreamCut) and 0 < len(data) < BODY.index(b"\n\n") and BODY.startswith(data)


def test_cut_after_n_bytes_sends_exactly_n() -> None:
    for size in CHUNKINGS:
        data, raised = apply("cut:bytes=300", pieces(size))
        assert data == BODY[:300] and isinstance(raised, StreamCut)


@pytest.mark.parametrize("size", CHUNKINGS)
def test_a_clean_end_after_n_events_ends_there_without_an_error(size: int) -> None:
    data, raised = apply("end:events=7", pieces(size))

    assert raised is None and events_of(data) == events_of(BODY)[:7] and BODY.startswith(data)


@pytest.mark.parametrize("size", CHUNKINGS)
def test_a_clean_end_inside_the_next_tool_use_comes_after_its_first_piece_of_json(size: int) -> None:
    data, raised = apply("end:tool_use", pieces(size))

    state = state_of(data, raised)
    assert raised is None and state.termination.value == "eof"
    tool = state.blocks[1]
    assert tool.type == "tool_use" and not tool.complete and 0 < len(tool.json_text) < len(TOOL_JSON)
    assert TOOL_JSON.startswith(tool.json_text)


@pytest.mark.parametrize("size", CHUNKINGS)
def test_an_error_event_goes_after_the_first_content_and_ends_the_body(size: int) -> None:
    data, raised = apply("error:overloaded_error", pieces(size))

    assert raised is None
    assert events_of(data) == ["message_start", "ping", "content_block_start", "content_block_delta", "error"]
    error = json.loads(SSEDecoder().feed(data)[-1].data)
    assert error["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert error["request_id"].startswith("req_injected_")


def test_a_body_that_ends_before_the_point_goes_through_as_it_came() -> None:
    for spec in ("cut:events=20", "end:events=20", "end:events=40", "error:api_error,events=30", "stall:60,events=50", "cut:bytes=99999"):
        assert apply(spec, pieces(7)) == (BODY, None)
    tool_free = BODY[: BODY.index(b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1")]
    assert apply("end:tool_use", [tool_free]) == (tool_free, None)


def test_a_body_that_breaks_before_the_cut_point_sends_what_came_and_breaks_the_same_way() -> None:
    broken = BODY[: BODY.index(b"\n\n", 400) - 10]
    boom = httpx2.ReadError("reset")

    assert apply("cut:events=3", [broken], then=boom) == (broken, boom)
    assert apply("buffer", pieces(7)[:-3], then=boom) == (b"".join(pieces(7)[:-3]), boom)


def fires(spec: str, chunks: list[bytes], then: BaseException | None = None) -> bool:
    """Whether the fault fires on an upstream body sent as `chunks` (then raising `then`)."""
    fired: list[bool] = []
    apply(spec, chunks, then, lambda: fired.append(True))
    return fired == [True]


def test_a_fault_fires_only_where_it_changes_what_the_client_gets() -> None:
    tool_free = BODY.replace(b"input_json_delta", b"text_delta")
    short = BODY[: BODY.index(b"\n\n", 400) + 2]
    boom = httpx2.ReadError("reset")

    for spec in ("cut:events=3", "cut:bytes=100", "end:events=3", "end:tool_use", "error:overloaded_error",
                 "stall:0.01", "stall:0.01,events=0", "buffer"):
        assert fires(spec, pieces(7)), spec
    for spec in ("cut:events=500", "cut:bytes=100000", "end:events=500", "error:api_error,events=500",
                 "stall:0.01,events=500"):
        assert not fires(spec, pieces(7)), spec
    assert not fires("end:tool_use", [tool_free])
    assert not fires("cut:events=40", [short]) and not fires("cut:events=40", [short], then=boom)
    assert not fires("buffer", [BODY]) and fires("buffer", pieces(7)[:-3], then=boom)


def test_buffer_sends_the_whole_body_in_one_piece() -> None:
    async def run() -> list[bytes]:
        return [piece async for piece in parse_fault("buffer").plan.body(_from(pieces(7)), lambda: None)]

    assert asyncio.run(run()) == [BODY]


def test_a_plan_that_reads_the_body_asks_upstream_for_identity_bytes_and_a_status_sends_nothing() -> None:
    headers = [("Accept-Encoding", "gzip, deflate"), ("x-api-key", "k")]

    assert parse_fault("cut:events=3").plan.upstream_headers(headers) == [("x-api-key", "k"), ("accept-encoding", "identity")]
    status, answer_headers, data = parse_fault("status:429,retry-after=7").plan.response()
    assert status == 429 and ("retry-after", "7") in answer_headers and ("retry-after-ms", "7000") in answer_headers
    assert json.loads(data)["error"]["type"] == "rate_limit_error"
    assert parse_fault("cut:events=3").plan.response() is None


# ----- through the proxy, against the embedded mock -----------------------------------------------


@pytest.fixture
def start(start_proxy: Callable[..., Proxy], mock: MockServer) -> Callable[..., Proxy]:
    return lambda *specs: start_proxy(mock.base_url, Faults.parse(specs))


@pytest.fixture
def ask(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Stream one request with the SDK's helper (each test its own conversation, so a mock scenario's
    fault fires): the final message, or what was raised."""
    prompt = f"Break {request.node.name}, please."

    def ask(base_url: str, model: str, **options: Any) -> Any:
        with anthropic.Anthropic(base_url=base_url, api_key="test-key", max_retries=0) as client:
            try:
                with client.messages.stream(model=model, max_tokens=1024, **options,
                                            messages=[{"role": "user", "content": prompt}]) as stream:
                    return stream.get_final_message()
            except Exception as exc:
                return exc

    return ask


def seen(result: Any) -> tuple[Any, ...]:
    """What the app sees, as far as it can tell one failure from another (not ids, not the exact text)."""
    if isinstance(result, anthropic.APIStatusError):
        headers = result.response.headers
        return (type(result), result.status_code, result.body["error"]["type"], result.body["error"]["message"],
                "retry-after" in headers, "retry-after-ms" in headers)
    if isinstance(result, Exception):
        chain = [type(result), type(result.__cause__)]
        return (*chain, str(result))
    return ("message", result.stop_reason)


def assert_marked(proxy: Proxy, label: str) -> None:
    """The flow, its session file, its replayed verdict, analyze and sessions all say it was injected."""
    [flow] = proxy.wait()
    [session] = proxy.sessions()
    assert flow.fault == label and session.header["fault"] == label
    assert flow.fault_fired and session.latest.ending["fault_fired"] is True
    verdict = replay_attempts(session, 5.0).attempts[0].verdict
    assert verdict.fault == label and verdict.explanation.startswith("INJECTED by the streamwatch proxy")
    replay = SessionPlayer(session, 5.0, speed=None)
    replay.to_end()
    assert replay.state.verdict().explanation == verdict.explanation
    if not replay.state.complete:
        assert live_status(replay.state, 0.0)[1].startswith("ABNORMAL INJECTED ")
    [summary] = Catalog(proxy.directory).summaries()
    assert summary.fault == label and summary.badge.endswith(" (injected)")


@pytest.mark.parametrize(("spec", "proxied", "scenario"), [
    ("cut:events=12", "mock-ok", "mock-drop_abrupt"),
    ("cut:bytes=3000", "mock-ok", "mock-drop_abrupt"),
    ("end:events=12", "mock-ok", "mock-drop_eof"),
    ("end:tool_use", "mock-tool_big", "mock-drop_eof"),
    ("error:overloaded_error", "mock-ok", "mock-error_overloaded"),
    ("error:api_error", "mock-ok", "mock-error_stream"),
    ("status:529", "mock-ok", "mock-http_529"),
    ("status:429", "mock-ok", "mock-http_429"),
    ("buffer", "mock-ok", "mock-buffered"),
])
def test_the_sdk_sees_through_the_proxy_what_the_matching_scenario_shows_it(
    start: Callable[..., Proxy], mock: MockServer, ask: Callable[..., Any], spec: str, proxied: str, scenario: str
) -> None:
    proxy = start(spec)

    through = ask(proxy.url, proxied)
    direct = ask(mock.base_url, scenario)

    assert seen(through) == seen(direct)
    assert_marked(proxy, parse_fault(spec).plan.label)
    if spec.startswith("cut:"):
        [session] = proxy.sessions()
        verdict = replay_attempts(session, 5.0).attempts[0].verdict
        label = parse_fault(spec).plan.label
        assert verdict.error == {"type": "connection cut", "message": f"the proxy cut the connection ({label})"}
        assert "StreamCut" not in session.path.read_text() + verdict.explanation


def test_a_clean_end_inside_a_tool_call_leaves_the_partial_message_the_scenario_leaves(
    start: Callable[..., Proxy], mock: MockServer, ask: Callable[..., Any]
) -> None:
    through = ask(start("end:tool_use").url, "mock-tool_big")
    direct = ask(mock.base_url, "mock-drop_eof")

    assert through.stop_reason is direct.stop_reason is None
    assert through.content[0].text == direct.content[0].text
    assert through.content[1].type == direct.content[1].type == "tool_use"
    assert through.content[1].name == direct.content[1].name


def test_a_status_fault_never_reaches_the_upstream_and_the_analysis_says_so(
    start: Callable[..., Proxy], ask: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    proxy = start("status:529")

    raised = ask(proxy.url, "mock-ok")

    assert isinstance(raised, anthropic.OverloadedError) and raised.request_id.startswith("req_injected_")
    [flow] = proxy.wait()
    assert cli.main(["analyze", str(flow.recorder.session_path)]) == cli.EXIT_ABNORMAL
    report = capsys.readouterr().out
    assert "Verdict: ABNORMAL http_error (overloaded_error) [INJECTED]" in report
    assert "INJECTED by the streamwatch proxy (HTTP 529 overloaded_error" in report
    cli.main(["analyze", "--json", str(flow.recorder.session_path)])
    assert json.loads(capsys.readouterr().out)["fault"] == parse_fault("status:529").plan.label


def chunk_times(proxy: Proxy) -> list[tuple[float, bytes]]:
    [session] = proxy.sessions()
    return [(t, data) for t, data in session.latest.chunks]


@pytest.mark.parametrize("spec", ["stall:0.6", "stall:0.6,pings=0.2"])
def test_a_stall_holds_the_stream_that_long_then_the_answer_completes(
    start: Callable[..., Proxy], mock: MockServer, ask: Callable[..., Any], spec: str
) -> None:
    proxy = start(spec)

    through = ask(proxy.url, "mock-ok")
    direct = ask(mock.base_url, "mock-stall")

    assert seen(through) == seen(direct) and through.content[0].text == direct.content[0].text
    times = chunk_times(proxy)
    first_delta = next(i for i, (_, data) in enumerate(times) if b"content_block_delta" in data)
    stalled_at, after = times[first_delta][0], times[first_delta + 1:]
    resumed = next(i for i, (_, data) in enumerate(after) if data != sse(ping()))
    assert [data for _, data in after[:resumed]] == ([sse(ping())] * 2 if "pings" in spec else [])
    # The rest waited out the 0.6 s stall; the two times are read at slightly different points of a
    # chunk's way through the proxy, so a loaded machine may shift them by a few milliseconds.
    assert after[resumed][0] - stalled_at >= 0.55
    assert_marked(proxy, parse_fault(spec).plan.label)


def test_after_a_stall_the_rest_keeps_its_pace_not_a_burst_blamed_on_a_buffering_proxy(
    start: Callable[..., Proxy], ask: Callable[..., Any]
) -> None:
    """What upstream sent during the stall comes as it came, the stall later: released at once at the
    stall's end it was one burst, which the verdict took for the mark of a buffering proxy."""
    proxy = start("stall:1.2")

    assert ask(proxy.url, "mock-ok", extra_headers={TIME_SCALE_HEADER: "1"}).stop_reason == "end_turn"
    [session] = proxy.sessions()
    verdict = replay_attempts(session, 5.0).attempts[0].verdict
    assert [a.code for a in verdict.anomalies if a.code == "burst"] == []
    times = [t for t, data in chunk_times(proxy) if data != sse(ping())]
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    assert gaps[-1] >= 1.1 and gaps[len(gaps) // 2] >= 0.015  # one stall; the rest ~30 ms apart as the mock paces


def test_a_buffered_answer_arrives_in_one_piece(start: Callable[..., Proxy], ask: Callable[..., Any]) -> None:
    proxy = start("buffer")

    assert ask(proxy.url, "mock-ok").stop_reason == "end_turn"
    [(_, data)] = chunk_times(proxy)
    assert data.endswith(sse(message_stop()))


def test_a_request_the_fault_does_not_pick_passes_untouched_and_unmarked(
    start: Callable[..., Proxy], ask: Callable[..., Any]
) -> None:
    proxy = start("cut:events=3@nth=2")

    first = ask(proxy.url, "mock-ok")
    second = ask(proxy.url, "mock-ok")

    assert first.stop_reason == "end_turn" and isinstance(second, httpx2.RemoteProtocolError)
    flows = proxy.wait(2)
    assert [flow.fault for flow in flows] == [None, "injected: cut after 3 events"]
    assert "fault" not in proxy.sessions(2)[0].header


class GzipWhenAsked:
    """An upstream that gzips its event stream when the request accepts gzip, as servers do; it keeps
    the accept-encoding each request sent."""

    def __init__(self) -> None:
        self.asked: list[str | None] = []

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        accepts = dict(scope["headers"]).get(b"accept-encoding")
        self.asked.append(None if accepts is None else accepts.decode())
        packer = zlib.compressobj(wbits=31) if accepts and b"gzip" in accepts else None
        headers = [(b"content-type", b"text/event-stream")] + ([(b"content-encoding", b"gzip")] if packer else [])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for event in SSEDecoder().feed(BODY):
            data = event.raw if packer is None else packer.compress(event.raw) + packer.flush(zlib.Z_SYNC_FLUSH)
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": packer.flush() if packer else b""})


def test_a_fault_counts_the_events_of_a_body_the_upstream_would_have_compressed(
    start_proxy: Callable[..., Proxy], ask: Callable[..., Any]
) -> None:
    upstream = GzipWhenAsked()
    with BackgroundServer(upstream) as server:
        assert ask(server.url, "claude-sonnet-4-6").stop_reason == "tool_use"
        proxy = start_proxy(server.url, Faults.parse(["cut:events=5"]))
        raised = ask(proxy.url, "claude-sonnet-4-6")

    assert isinstance(raised, httpx2.RemoteProtocolError)
    assert upstream.asked == ["gzip, deflate", "identity"]
    [session] = proxy.sessions()
    assert "content-encoding" not in session.latest.headers
    assert len(replay_attempts(session, 5.0).attempts[0].state.events) == 5




@dataclass
class Whole:
    """An upstream that sends its event stream in one piece, with a content-length or chunked."""

    sized: bool

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while (await receive()).get("more_body"):
            pass
        length = [(b"content-length", b"%d" % len(BODY))] if self.sized else []
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream"), *length]})
        await send({"type": "http.response.body", "body": BODY})


@pytest.mark.parametrize("spec", ["end:events=5", "end:tool_use"])
def test_a_fault_that_changes_a_body_upstream_sent_with_a_length_reaches_the_app_as_from_a_chunked_one(
    start_proxy: Callable[..., Proxy], ask: Callable[..., Any], spec: str
) -> None:
    """A clean early end under upstream's content-length: passed on, it would leave the app waiting for
    the bytes the fault took away."""
    seen_through = []
    for upstream in (Whole(sized=False), Whole(sized=True)):
        with BackgroundServer(upstream) as server:
            proxy = start_proxy(server.url, Faults.parse([spec]))
            seen_through.append(seen(ask(proxy.url, "claude-sonnet-4-6", timeout=WAIT_SECONDS)))

    assert seen_through[1] == seen_through[0]
    assert proxy.sessions()[0].latest.ending["fault_fired"] is True

def test_a_stall_longer_than_the_app_s_read_timeout_times_it_out_as_the_stall_scenario_does(
    start: Callable[..., Proxy], mock: MockServer, ask: Callable[..., Any]
) -> None:
    proxy = start("stall:5")

    through = ask(proxy.url, "mock-ok", timeout=1.0)
    # 1.6 s of silence, and a ping every 0.6 s before and after it
    direct = ask(mock.base_url, "mock-stall", timeout=1.0, extra_headers={TIME_SCALE_HEADER: "0.2"})

    assert isinstance(direct, httpx2.ReadTimeout) and seen(through) == seen(direct)
    [session] = proxy.sessions()
    assert session.latest.ending["kind"] == "cancelled" and session.header["fault"] == "injected: 5 s stall (silent) after the first content"


def test_the_command_injects_each_fault_into_the_requests_it_picks_and_its_lines_say_so(
    run_proxy: Callable[..., Running], ask: Callable[..., Any]
) -> None:
    proxy = run_proxy("--upstream", "mock", "--headless", "--fault", "status:529@nth=1", "--fault", "cut:events=3@model=mock-ok")
    assert proxy.line_starting("streamwatch proxy: --fault cut:events=3@model=mock-ok: on purpose")
    fast = {"extra_headers": {TIME_SCALE_HEADER: "0.01"}}

    assert isinstance(ask(proxy.base_url, "mock-ok", **fast), anthropic.OverloadedError)
    assert isinstance(ask(proxy.base_url, "mock-ok", **fast), httpx2.RemoteProtocolError)
    assert ask(proxy.base_url, "mock-thinking", **fast).stop_reason == "end_turn"

    lines = [proxy.printed() for _ in range(3)]
    assert "  529  " in lines[0] and "HTTP 529 (injected)  fault: injected: HTTP 529 overloaded_error" in lines[0]
    assert lines[1].endswith("ABNORMAL transport_error (injected)  fault: injected: cut after 3 events")
    assert lines[2].endswith("COMPLETE end_turn")
    assert proxy.interrupt() == 0
