"""The flows screen as a user drives it, in front of real proxied streams.

The recording proxy runs on a free loopback port in front of the embedded mock, or in front of a
`Gate`: an upstream that sends each piece of its stream only when the test releases it, so a test
can look at a flow while it is still streaming. Clients are httpx in threads, as an app would be.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import itertools
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual import events
from textual.app import App
from textual.widgets import Input

from streamwatch import cli
from streamwatch.core.recording import load_session
from streamwatch.mock import MockServer
from streamwatch.protocol import SCENARIO_HEADER
from streamwatch.proxy.app import ProxyApp
from streamwatch.proxy.faults import Faults
from streamwatch.proxy.rows import FlowBook, FlowRow
from streamwatch.server import BackgroundServer
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.screens.flows import FaultPicker, FlowsScreen
from streamwatch.tui.screens.run import RunScreen
from streamwatch.tui.widgets.flowtable import FlowTable
from tests import streams as s
from tests.tui.conftest import FixedClock, on_screen, wait_for

pytestmark = pytest.mark.anyio

SDK_HEADERS = {"user-agent": "Anthropic/Python 0.75.0", "x-stainless-lang": "python",
               "x-stainless-package-version": "0.75.0"}
HEAD = {"request-id": "req_011Gate", "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49"}
UTC = datetime.UTC
QUESTIONS = itertools.count(1)


class Gate:
    """An upstream that answers 200 with an event stream and sends each piece only once `release`d;
    `finish` ends the body."""

    def __init__(self) -> None:
        self.pieces: queue.Queue[bytes | None] = queue.Queue()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"text/event-stream"), *((k.encode(), v.encode()) for k, v in HEAD.items())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        while (piece := await asyncio.to_thread(self.pieces.get)) is not None:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def release(self, *pieces: bytes) -> None:
        for piece in pieces:
            self.pieces.put(piece)

    def finish(self) -> None:
        self.pieces.put(None)


class Proxy:
    """The recording proxy in front of `upstream`, its rows in a FlowBook, sessions under `directory`."""

    def __init__(self, upstream: str, directory: Path) -> None:
        directory.mkdir(exist_ok=True)
        self.upstream = upstream
        self.book = FlowBook(stall_threshold=5.0)
        self.faults = Faults.parse([])
        self.app = ProxyApp(upstream, hooks_for=self.book.hooks_for, on_flow=self.book.on_flow, faults=self.faults,
                            directory=directory)
        self.server = self.app.server().start()
        self.clients: list[threading.Thread] = []

    def send(self, scenario: str | None = None, model: str = "claude-sonnet-4-5") -> None:
        """A streaming request from a Python SDK-like client, read to its end on a thread of its own."""
        # A question of its own: the mock plays a scenario's fault on a conversation's first request only.
        question = f"Question {next(QUESTIONS)}?"
        body = {"model": model, "max_tokens": 4096, "stream": True, "messages": [{"role": "user", "content": question}]}
        headers = {**SDK_HEADERS, **({SCENARIO_HEADER: scenario} if scenario else {})}

        def read() -> None:
            try:
                with httpx.stream("POST", self.server.url + "/v1/messages", json=body, headers=headers,
                                  timeout=30) as response:
                    for _ in response.iter_raw():
                        pass
            except httpx.HTTPError:
                pass  # a cut stream: the row says so

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        self.clients.append(thread)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer(time_scale=0.01) as running:
        yield running


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[str], Proxy]]:
    started: list[Proxy] = []

    def begin(upstream: str) -> Proxy:
        started.append(Proxy(upstream, tmp_path / "sessions"))
        return started[-1]

    yield begin
    for proxy in started:
        proxy.server.stop()


@pytest.fixture
def gate() -> Iterator[tuple[Gate, BackgroundServer]]:
    upstream = Gate()
    with BackgroundServer(upstream, name="gate") as server:
        yield upstream, server
        upstream.finish()


def flows_app(proxy: Proxy) -> StreamwatchApp:
    return StreamwatchApp(lambda app: FlowsScreen(
        proxy.book, listen=proxy.server.url, upstream=proxy.upstream, faults=proxy.faults, stall_threshold=5.0,
        clock=app.clock, tz=UTC,
    ))


def book_app(book: FlowBook) -> StreamwatchApp:
    """The flows screen over rows published by hand (no proxy), on a fixed clock."""
    return StreamwatchApp(lambda app: FlowsScreen(
        book, listen="http://127.0.0.1:8089", upstream="https://api.anthropic.com", faults=None,
        stall_threshold=5.0, clock=app.clock, tz=UTC,
    ), clock=FixedClock())


def table_lines(app: StreamwatchApp) -> list[str]:
    """The flows list as shown: its header, then one line per row."""
    table = app.screen.query_one(FlowTable)
    return [table.render_line(y).text.rstrip() for y in range(len(table.rows) + 1)]


def shown(app: StreamwatchApp) -> list[list[str]]:
    """Each row shown, split into its words."""
    return [line.split() for line in table_lines(app)[1:]]


def row_of(app: StreamwatchApp, index: int) -> FlowRow:
    return app.screen.query_one(FlowTable).rows[index]


def status_line(app: StreamwatchApp) -> str:
    return str(app.screen.query_one("#flows-status").render())


async def test_an_idle_proxy_says_how_to_point_an_app_at_it(start, mock):
    proxy = start(mock.base_url)
    app = flows_app(proxy)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: "export ANTHROPIC_BASE_URL" in on_screen(app))
        screen = on_screen(app)
        assert f"export ANTHROPIC_BASE_URL={proxy.server.url}" in screen
        assert mock.base_url in screen
        assert "0 flows" in status_line(app)


async def test_rows_come_newest_first_with_what_each_flow_did(start, mock):
    proxy = start(mock.base_url)
    app = flows_app(proxy)
    async with app.run_test(size=(120, 35)) as pilot:
        proxy.send("ok")
        await wait_for(pilot, lambda: len(shown(app)) == 1 and "COMPLETE" in table_lines(app)[1])
        proxy.send("http_529", model="claude-haiku-4-5")
        await wait_for(pilot, lambda: len(shown(app)) == 2 and "HTTP 529" in table_lines(app)[1])
        header, newest, oldest = table_lines(app)
        assert header.split() == ["Time", "Client", "Method", "Path", "Model", "HTTP", "TTFT", "Took", "Events",
                                  "Verdict"]
        assert newest.split()[1:] == ["python", "0.75.0", "POST", "/v1/messages", "haiku-4-5", "529", "-",
                                      newest.split()[8], "0", "HTTP", "529"]
        words = oldest.split()
        assert words[1:6] == ["python", "0.75.0", "POST", "/v1/messages", "sonnet-4-5"]
        assert words[6] == "200" and words[7].endswith("s") and words[7] != "-"
        events = int(words[9])
        assert events > 10 and words[10:] == ["COMPLETE", "end_turn"]
        path = row_of(app, 1).session_path
        assert path is not None and path.exists()
        assert "2 flows" in status_line(app)


async def test_a_streaming_row_counts_as_it_goes_then_shows_its_verdict(start, gate):
    upstream, server = gate
    proxy = start(server.url)
    app = flows_app(proxy)
    async with app.run_test(size=(120, 35)) as pilot:
        proxy.send()
        upstream.release(s.message_start(), *s.text_block(0, "Counting as it streams.", 6)[:3])
        await wait_for(pilot, lambda: shown(app) and shown(app)[0][-1] == "STREAMING" and shown(app)[0][-2] == "4")
        assert "1 streaming" in status_line(app)
        took = shown(app)[0][8]
        await wait_for(pilot, lambda: shown(app)[0][8] != took)  # the duration grows while it streams
        upstream.release(*s.text_block(0, "Counting as it streams.", 6)[3:], s.message_delta("end_turn"),
                         s.message_stop())
        upstream.finish()
        await wait_for(pilot, lambda: shown(app)[0][-2:] == ["COMPLETE", "end_turn"])
        assert shown(app)[0][-3] == "9"
        assert "streaming" not in status_line(app)


async def test_slash_filters_the_rows_and_escape_clears_it(start, mock):
    proxy = start(mock.base_url)
    app = flows_app(proxy)
    async with app.run_test(size=(120, 35)) as pilot:
        for scenario in ("ok", "drop_eof", "http_529"):
            proxy.send(scenario)
            await wait_for(pilot, lambda: len(shown(app)) == len(proxy.clients) and not row_of(app, 0).running)
        await pilot.press("slash", *"abnormal")
        await wait_for(pilot, lambda: len(shown(app)) == 1)
        assert shown(app)[0][-2:] == ["ABNORMAL", "eof"]
        assert "1 match 'abnormal'" in status_line(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(shown(app)) == 3)
        await pilot.press("slash", *"529")
        await wait_for(pilot, lambda: len(shown(app)) == 1)
        assert shown(app)[0][-2:] == ["HTTP", "529"]
        await pilot.press("enter", "escape")
        await wait_for(pilot, lambda: len(shown(app)) == 3)
        assert not app.screen.query_one("#flows-filter").display


async def test_a_filter_typed_fast_after_slash_keeps_every_letter(start, mock):
    """A fast typist's (or a terminal's) `/abnormal` arrives in one read: no letter goes to the list."""
    proxy = start(mock.base_url)
    app = flows_app(proxy)
    async with app.run_test(size=(120, 35)) as pilot:
        for scenario in ("ok", "drop_eof"):
            proxy.send(scenario)
            await wait_for(pilot, lambda: len(shown(app)) == len(proxy.clients) and not row_of(app, 0).running)
        for key, character in [("slash", "/"), *((letter, letter) for letter in "abnormal")]:
            app.post_message(events.Key(key, character))
        await wait_for(pilot, lambda: app.screen.query_one("#flows-filter", Input).value == "abnormal")
        await wait_for(pilot, lambda: len(shown(app)) == 1)
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(shown(app)) == 2)
        # In the box, / and f are text (they open the filter and the fault picker from the list).
        await pilot.press("slash", *"/v1/messages", "space", *"eof")
        await wait_for(pilot, lambda: app.screen.query_one("#flows-filter", Input).value == "/v1/messages eof")
        assert len(shown(app)) == 1 and isinstance(app.screen, FlowsScreen)


async def test_enter_follows_a_streaming_flow_on_the_run_screen_with_its_response_head(start, gate):
    upstream, server = gate
    proxy = start(server.url)
    app = flows_app(proxy)
    text = "The first words arrive. Then the rest of the answer follows them."
    pieces = s.text_block(0, text, 12)
    async with app.run_test(size=(120, 35)) as pilot:
        proxy.send()
        upstream.release(s.message_start(), *pieces[:3])
        await wait_for(pilot, lambda: shown(app) and shown(app)[0][-1] == "STREAMING")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        await wait_for(pilot, lambda: run.query_one("#text").text == text[:24])
        head = str(run.query_one("#head").render())  # the response head's line, under the status line
        assert all(fact in head for fact in ("HTTP 200", "req_011Gate", "requests 49/50"))
        assert "ATTACHED proxy" in on_screen(app)
        upstream.release(*pieces[3:4])
        await wait_for(pilot, lambda: run.query_one("#text").text == text[:36])
        upstream.release(*pieces[4:], s.message_delta("end_turn"), s.message_stop())
        upstream.finish()
        await wait_for(pilot, lambda: run.query_one("#text").text == text and "COMPLETE" in on_screen(app))
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowsScreen))
        assert app.is_running


async def test_enter_on_a_finished_flow_shows_how_it_ended_and_escape_comes_back(start, mock):
    proxy = start(mock.base_url)
    app = flows_app(proxy)
    async with app.run_test(size=(120, 35)) as pilot:
        proxy.send("http_529")
        await wait_for(pilot, lambda: shown(app) and not row_of(app, 0).running)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and "ABNORMAL HTTP 529" in on_screen(app))
        head = str(app.screen.query_one("#head").render())
        assert all(fact in head for fact in ("HTTP 529", "req_", "retry-after"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowsScreen))


async def test_f_arms_a_fault_for_the_next_request_whose_row_is_marked_injected(start, mock):
    proxy = start(mock.base_url)
    app = flows_app(proxy)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, FaultPicker))
        assert "cut after 2000 bytes" in on_screen(app)
        await pilot.press("tab", *"nonsense", "enter")
        await wait_for(pilot, lambda: "bad fault 'nonsense'" in on_screen(app))
        assert isinstance(app.screen, FaultPicker) and proxy.faults.armed == []
        await pilot.press("shift+tab", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowsScreen) and "ARMED" in status_line(app))
        assert "ARMED cut after 2000 bytes" in status_line(app)
        proxy.send("ok")
        await wait_for(pilot, lambda: shown(app) and not row_of(app, 0).running)
        assert table_lines(app)[1].startswith("⚑")
        assert shown(app)[0][-3:] == ["ABNORMAL", "transport_error", "(injected)"]
        assert "injected: cut after 2000 bytes" in str(app.screen.query_one("#flows-detail").render())
        assert "ARMED" not in status_line(app)
        proxy.send("ok")
        await wait_for(pilot, lambda: len(shown(app)) == 2 and not row_of(app, 0).running)
        assert not table_lines(app)[1].startswith("⚑") and shown(app)[0][-2:] == ["COMPLETE", "end_turn"]
        await pilot.press("slash", *"injected")
        await wait_for(pilot, lambda: len(shown(app)) == 1)


async def test_at_80_columns_columns_go_whole_and_the_verdict_and_path_stay(start, mock):
    proxy = start(mock.base_url)
    app = flows_app(proxy)
    async with app.run_test(size=(80, 24)) as pilot:
        proxy.send("drop_abrupt", model="claude-sonnet-4-5-20250929")
        await wait_for(pilot, lambda: shown(app) and not row_of(app, 0).running)
        header, row = table_lines(app)
        assert "Verdict" in header and "Path" in header and "Client" not in header
        assert row.endswith("ABNORMAL transport_error") and "/v1/messages" in row
        assert all(len(line) <= 80 for line in table_lines(app))


def fixed_rows() -> FlowBook:
    """Five flows as the list shows them, at fixed times, with the clock at 1000.0."""
    book = FlowBook(stall_threshold=5.0)
    start = datetime.datetime(2026, 12, 1, 9, 30, 0, tzinfo=UTC)

    def row(n: int, **facts: Any) -> FlowRow:
        base = dict(id=f"f{n:07d}", started=start + datetime.timedelta(seconds=7 * n), client="python 0.75.0",
                    method="POST", path="/v1/messages?beta=true", model="sonnet-4-5", sent=990.0 + n,
                    origin="Anthropic/Python 0.75.0 from 127.0.0.1:5100" + str(n), stall_threshold=5.0,
                    session_path=Path(f"/home/dev/.local/share/streamwatch/sessions/proxy-{n}.jsonl"))
        return FlowRow(**{**base, **facts})

    book.publish(row(0, running=False, status=200, ttft=0.41, duration=3.2, events=187, verdict="COMPLETE end_turn",
                     complete=True))
    book.publish(row(1, running=False, status=200, ttft=0.38, duration=1.9, events=64, verdict="ABNORMAL eof (injected)",
                     complete=False, fault="injected: clean end after 64 events"))
    book.publish(row(2, client="js 0.52.0", method="GET", path="/v1/models", model="-", running=False, status=200,
                     duration=0.12, verdict="OK", complete=True))
    book.publish(row(3, model="haiku-4-5", running=False, status=529, duration=0.05, verdict="HTTP 529",
                     complete=False))
    book.publish(row(4, status=200, ttft=0.52, events=41, verdict="STREAMING", quiet_since=999.0))
    return book


def test_the_flows_list(snap_compare):
    book = fixed_rows()
    app = book_app(book)
    assert snap_compare(app, terminal_size=(80, 24))


def test_the_proxy_command_shows_the_flows_and_ctrl_c_records_the_open_streams(tmp_path, monkeypatch, capfd):
    """`streamwatch proxy` on a terminal opens the flows view; ctrl+c with a stream still open stops the
    proxy, records that stream cancelled, and says in one line how many flows were recorded where."""
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "streamwatch"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    reading: list[threading.Thread] = []

    async def user(pilot) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: isinstance(app.screen, FlowsScreen))
        url = app.screen.listen
        body = {"model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": True,
                "messages": [{"role": "user", "content": "ping me"}]}

        def read() -> None:
            try:
                with httpx.stream("POST", url + "/v1/messages", json=body, timeout=30,
                                  headers={SCENARIO_HEADER: "keepalive_only"}) as response:
                    for _ in response.iter_raw():
                        pass
            except httpx.HTTPError:
                pass  # cut when the proxy stops

        reading.append(threading.Thread(target=read, daemon=True))
        reading[0].start()
        await wait_for(pilot, lambda: shown(app) and shown(app)[0][-2:] == ["2", "STREAMING"])
        await pilot.press("ctrl+c")

    monkeypatch.setattr(StreamwatchApp, "run", functools.partialmethod(App.run, headless=True, auto_pilot=user))
    assert cli.main(["proxy", "--listen", "127.0.0.1:0", "--upstream", "mock"]) == cli.EXIT_COMPLETE
    folder = tmp_path / "streamwatch" / "sessions"
    assert capfd.readouterr().err.splitlines()[-1] == f"streamwatch proxy: 1 flow recorded in {folder}"
    (path,) = folder.iterdir()
    session = load_session(path)
    assert session.latest.ending is not None and session.latest.ending["kind"] == "cancelled"


def _finished(n: int) -> FlowRow:
    return FlowRow(id=f"f{n:07d}", started=datetime.datetime(2026, 12, 1, 9, 30, n, tzinfo=UTC), client="python 0.75.0",
                   method="POST", path="/v1/messages", model="sonnet-4-5", sent=990.0 + n, origin="Anthropic/Python",
                   stall_threshold=5.0, running=False, status=200, duration=1.0, events=10,
                   verdict="COMPLETE end_turn", complete=True)


def _highlighted_line(app: StreamwatchApp) -> str:
    table = app.screen.query_one(FlowTable)
    return table.render_line(table.cursor + 1 - round(table.scroll_y)).text


async def test_the_cursor_stays_on_its_flow_as_new_flows_arrive_above_or_follows_the_newest_from_the_top():
    book = FlowBook(stall_threshold=5.0)
    for n in range(3):
        book.publish(_finished(n))
    app = book_app(book)
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for(pilot, lambda: len(shown(app)) == 3)
        table = app.screen.query_one(FlowTable)
        assert table.highlighted_id == "f0000002"
        book.publish(_finished(3))
        await wait_for(pilot, lambda: len(shown(app)) == 4)
        assert table.highlighted_id == "f0000003" and "09:30:03" in _highlighted_line(app)

        await pilot.press("down", "down")
        assert table.highlighted_id == "f0000001"
        book.publish(_finished(4))
        book.publish(_finished(5))
        await wait_for(pilot, lambda: len(shown(app)) == 6)
        assert table.highlighted_id == "f0000001" and "09:30:01" in _highlighted_line(app)
        selected: list[str] = []
        post = table.post_message

        def spy(message: Any) -> bool:
            if isinstance(message, FlowTable.Selected):
                selected.append(message.row.id)
            return post(message)

        table.post_message = spy  # type: ignore[method-assign]
        await pilot.press("enter")
        assert selected == ["f0000001"]


async def test_at_120_columns_every_column_fits_beside_a_long_path_and_an_injected_verdict():
    book = FlowBook(stall_threshold=5.0)
    book.publish(replace(_finished(0), path="/v1/messages/count_tokens?beta=true", model="sonnet-4-5-20250929",
                         ttft=0.41, verdict="ABNORMAL transport_error (injected)", complete=False,
                         fault="injected: cut after 3 events"))
    app = book_app(book)
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for(pilot, lambda: len(shown(app)) == 1)
        header, row = table_lines(app)
        assert header.split() == ["Time", "Client", "Method", "Path", "Model", "HTTP", "TTFT", "Took", "Events",
                                  "Verdict"]
        assert "python 0.75.0" in row and "/v1/messages/" in row and "…" in row
        assert row.endswith("ABNORMAL transport_error (injected)") and len(row) <= 120


@pytest.mark.parametrize(("size", "model", "path"), [
    ((120, 24), "sonnet-4-5-20250929", "/v1/messages/count_"),
    ((80, 24), "sonnet-4-5…", "/v1/messages…"),
])
async def test_a_dated_model_name_fits_at_120_columns_and_keeps_its_family_and_version_at_80(size, model, path):
    """The model's whole name before the rest of a long path; cut short, the date goes first."""
    book = FlowBook(stall_threshold=5.0)
    book.publish(replace(_finished(0), path="/v1/messages/count_tokens?beta=true", model="sonnet-4-5-20250929",
                         ttft=0.41, verdict="COMPLETE max_tokens"))
    book.publish(replace(_finished(1), path="/v1/messages?beta=true", model="opus-4-1-20250805", ttft=0.38))
    app = book_app(book)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: len(shown(app)) == 2)
        header, *_ = table_lines(app)
        oldest = shown(app)[1]
        assert model in oldest and oldest[1 + (size[0] == 120) * 3].startswith(path)
        assert oldest[-2:] == ["COMPLETE", "max_tokens"] and ("Client" in header) == (size[0] == 120) and "TTFT" in header
