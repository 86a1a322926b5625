"""The flows list's rows, snapshotted on the proxy's thread as each flow goes."""

from __future__ import annotations

import datetime
import threading
from dataclasses import FrozenInstanceError, replace

import httpx
import pytest

from streamwatch.mock import MockServer
from streamwatch.protocol import SCENARIO_HEADER
from streamwatch.proxy.rows import FlowBook, FlowRow

UTC = datetime.UTC


@pytest.fixture
def book(start_proxy, mock: MockServer):
    """A proxy in front of the mock whose rows go to a FlowBook (`book.proxy.wait(n)`: n flows ended)."""
    rows = FlowBook(stall_threshold=5.0)
    rows.proxy = start_proxy(mock.base_url, book=rows)
    rows.url = rows.proxy.url
    return rows


def ended(book: FlowBook, count: int) -> list[FlowRow]:
    """The rows once `count` flows have ended and their rows were told so (the proxy records the end
    after the client has it all)."""
    book.proxy.wait(count)
    rows = book.rows()
    assert len(rows) == count and not any(row.running for row in rows)
    return rows


def test_each_flow_gets_a_row_newest_first_with_what_it_did(book):
    headers = {"user-agent": "Anthropic/Python 0.75.0", "x-stainless-lang": "python",
               "x-stainless-package-version": "0.75.0", SCENARIO_HEADER: "drop_eof"}
    body = {"model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": True,
            "messages": [{"role": "user", "content": "rows?"}]}
    with httpx.stream("POST", book.url + "/v1/messages", json=body, headers=headers) as response:
        response.read()
    plain = {**body, "stream": False, "messages": [{"role": "user", "content": "no stream"}]}
    assert httpx.post(book.url + "/v1/messages", json=plain).status_code == 200
    newest, first = ended(book, 2)
    assert first.kind == "abnormal" and first.verdict == "ABNORMAL eof" and first.events > 5
    assert (first.client, first.method, first.path, first.model, first.status) == (
        "python 0.75.0", "POST", "/v1/messages", "sonnet-4-5", 200)
    assert first.origin.startswith("Anthropic/Python 0.75.0 from 127.0.0.1:")
    assert first.ttft is not None and first.duration is not None and first.duration >= first.ttft
    assert first.session_path is not None and first.session_path.exists()
    # A request that asked for no stream and got its JSON message is answered as it should be.
    assert (newest.verdict, newest.kind, newest.events) == ("OK end_turn", "complete", 0)
    assert book.recorded() == [first.session_path, newest.session_path]
    with pytest.raises(FrozenInstanceError):
        first.verdict = "changed"  # type: ignore[misc]


def test_a_running_row_counts_its_duration_and_says_when_it_stalls():
    row = FlowRow(id="a", started=datetime.datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC), client="-", method="POST",
                  path="/v1/messages", model="-", sent=100.0, status=200, verdict="STREAMING", events=3,
                  quiet_since=101.0, stall_threshold=5.0)
    assert row.cells(104.0, UTC)["took"] == "4.00s" and row.cells(104.0, UTC)["verdict"] == "STREAMING"
    assert row.cells(108.5, UTC)["verdict"] == "STALLED 8s"
    done = replace(row, running=False, duration=2.5, verdict="COMPLETE end_turn", complete=True)
    assert done.cells(500.0, UTC)["took"] == "2.50s" and done.cells(500.0, UTC)["verdict"] == "COMPLETE end_turn"
    assert row.cells(104.0, UTC)["time"] == "09:00:00"


def test_the_filter_finds_every_column_and_injected_faults():
    row = FlowRow(id="a", started=datetime.datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC), client="js 0.52.0",
                  method="POST", path="/v1/messages", model="haiku-4-5", sent=0.0, running=False, status=200,
                  verdict="ABNORMAL eof", fault="injected: end after 20 events")
    assert row.matches("haiku eof", 0.0, UTC) and row.matches("JS 0.52", 0.0, UTC)
    assert row.matches("injected", 0.0, UTC) and row.matches("after 20", 0.0, UTC)
    assert not row.matches("sonnet", 0.0, UTC) and not replace(row, fault=None).matches("injected", 0.0, UTC)


def test_rows_are_written_on_one_thread_and_read_on_another(book):
    seen: list[int] = []
    reading = threading.Event()

    def read() -> None:
        while not reading.is_set():
            seen.append(len(book.rows()))

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(5):
        body = {"model": "claude-haiku-4-5", "max_tokens": 4096, "stream": True,
                "messages": [{"role": "user", "content": f"thread {n}"}]}
        with httpx.stream("POST", book.url + "/v1/messages", json=body) as response:
            response.read()
    reading.set()
    reader.join()
    assert [row.verdict for row in ended(book, 5)] == ["COMPLETE end_turn"] * 5
    assert seen == sorted(seen)
