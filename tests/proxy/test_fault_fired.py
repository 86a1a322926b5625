"""A `--fault` counts only once it fires: a flow whose fault never fired reads as the ordinary flow it
was, in its file, `analyze`, `stats`, the session list and the flows view, upstream's failure and all,
a proxy killed mid-stream (`kill -9`) included."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from streamwatch import cli
from streamwatch.core.catalog import Catalog
from streamwatch.core.playback import replay_attempts
from streamwatch.core.recording import load_session
from streamwatch.mock import MockServer
from streamwatch.proxy.faults import Faults, parse_fault
from streamwatch.proxy.rows import FlowBook, FlowRow
from tests.proxy.conftest import WAIT_SECONDS, Proxy, Running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data folder `stats` reads, whose sessions folder is the one the proxy saves in."""
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def through(start_proxy: Callable[..., Proxy], mock: MockServer, home: Path, request: pytest.FixtureRequest
            ) -> Callable[[str, str], tuple[Any, Proxy, FlowBook]]:
    """One streamed request for `model` through a proxy armed with the fault `spec`, its rows in a
    FlowBook (each test its own conversation, so a mock scenario's failure happens): what the SDK
    returned or raised, the proxy, its rows."""
    prompt = f"Arm {request.node.name}, please."

    def run(spec: str, model: str) -> tuple[Any, Proxy, FlowBook]:
        book = FlowBook(stall_threshold=5.0)
        proxy = start_proxy(mock.base_url, Faults.parse([spec]), book)
        with anthropic.Anthropic(base_url=proxy.url, api_key="test-key", max_retries=0) as client:
            try:
                with client.messages.stream(model=model, max_tokens=1024,
                                            messages=[{"role": "user", "content": prompt}]) as stream:
                    result: Any = stream.get_final_message()
            except Exception as exc:
                result = exc
        proxy.wait()
        return result, proxy, book

    return run


def analyzed(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, dict[str, Any]]:
    """`analyze`'s exit status, its report, and its `--json` verdict."""
    status = cli.main(["analyze", str(path)])
    report = capsys.readouterr().out
    cli.main(["analyze", "--json", str(path)])
    return status, report, json.loads(capsys.readouterr().out)


def stats(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert cli.main(["stats", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def end_record(path: Path) -> dict[str, Any]:
    [end] = [record[2] for record in map(json.loads, path.read_text().splitlines()[1:]) if record[1] == "end"]
    return end


def row_of(book: FlowBook) -> FlowRow:
    [row] = book.rows()
    assert not row.running
    return row


@pytest.mark.parametrize(("spec", "model"), [
    ("end:events=500", "mock-ok"),  # the answer has 138 events
    ("end:tool_use", "mock-ok"),  # a text-only answer: no tool_use block to end inside
    ("stall:30,events=500", "mock-ok"),  # a stall after more events than come
    ("cut:events=500", "mock-ok"),
])
def test_a_fault_that_never_fires_leaves_an_ordinary_complete_flow(
    through: Callable[..., Any], capsys: pytest.CaptureFixture[str], spec: str, model: str
) -> None:
    label = parse_fault(spec).plan.label

    message, proxy, book = through(spec, model)

    assert message.stop_reason == "end_turn"
    [flow] = proxy.flows
    path = flow.recorder.session_path
    assert json.loads(path.read_text().splitlines()[0])["fault"] == label
    assert end_record(path)["fault_fired"] is False
    status, report, verdict = analyzed(path, capsys)
    assert status == 0 and "Verdict: COMPLETE" in report and "INJECTED" not in report
    assert f"A fault was armed by the streamwatch proxy ({label.removeprefix('injected: ')}) but never fired" in report
    assert verdict["complete"] is True and verdict["fault"] is None and verdict["fault_unfired"] == label
    numbers = stats(capsys)
    assert numbers["injected"] == 0 and numbers["total"]["streams"] == 1 and numbers["total"]["complete"] == 1
    [summary] = Catalog(proxy.directory).summaries()
    assert summary.badge == "COMPLETE end_turn" and summary.fault is None and summary.fault_unfired == label
    row = row_of(book)
    assert row.fault is None and row.fault_unfired == label and row.verdict == "COMPLETE end_turn"
    assert not row.matches("injected", 0.0)


def test_an_upstream_529_on_a_flow_whose_fault_never_fired_is_upstream_s_failure(
    through: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    label = parse_fault("cut:events=3").plan.label

    raised, proxy, book = through("cut:events=3", "mock-http_529")

    assert isinstance(raised, anthropic.InternalServerError) and raised.status_code == 529
    [flow] = proxy.flows
    status, report, verdict = analyzed(flow.recorder.session_path, capsys)
    assert status == cli.EXIT_ABNORMAL
    assert "Verdict: ABNORMAL http_error (overloaded_error)\n" in report and "INJECTED" not in report
    assert (verdict["termination"], verdict["http_status"], verdict["fault"], verdict["fault_unfired"]) == (
        "http_error", 529, None, label)
    numbers = stats(capsys)
    assert numbers["injected"] == 0 and numbers["total"]["terminations"]["http_error"] == 1
    row = row_of(book)
    assert (row.verdict, row.fault, row.fault_unfired) == ("HTTP 529", None, label)


def test_a_fault_that_fires_is_injected_and_a_file_from_before_the_fact_reads_as_it_did(
    through: Callable[..., Any], capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    label = parse_fault("end:events=20").plan.label

    message, proxy, book = through("end:events=20", "mock-ok")

    assert message.stop_reason is None
    [flow] = proxy.flows
    path = flow.recorder.session_path
    assert end_record(path)["fault_fired"] is True
    status, report, verdict = analyzed(path, capsys)
    assert "Verdict: ABNORMAL eof [INJECTED]" in report and (verdict["fault"], verdict["fault_unfired"]) == (label, None)
    assert stats(capsys)["injected"] == 1
    assert (row_of(book).fault, row_of(book).fault_unfired) == (label, None)
    # A session recorded before the end said whether its fault fired reads as injected, as it always did.
    _, again, _ = through("end:events=500", "mock-ok")
    older = home / "older.jsonl"
    written = again.flows[0].recorder.session_path.read_text()
    older.write_text(written.replace(',"fault_fired":false', "").replace(',"fault_fired_record":true', ""))
    assert "fault_fired" not in older.read_text()
    assert replay_attempts(load_session(older), 5.0).attempts[0].verdict.fault == "injected: clean end after 500 events"



@pytest.mark.parametrize(("spec", "model", "scale", "seen", "injected"), [
    # 5 events, then the stall's first ping: the proxy's own, sent once the fault fired
    ("stall:30,pings=0.05,events=5", "mock-ok", "0.01", 6, True),
    # message_start and a ping, then 20 s of pings: the stall's 50th event is far off
    ("stall:30,events=50", "mock-keepalive_only", "1", 2, False),
])
def test_a_proxy_killed_mid_stream_leaves_a_flow_injected_only_if_its_fault_had_fired(
    run_proxy: Callable[..., Running], home: Path, capsys: pytest.CaptureFixture[str],
    spec: str, model: str, scale: str, seen: int, injected: bool,
) -> None:
    label = parse_fault(spec).plan.label
    proxy = run_proxy("--upstream", "mock", "--fault", spec)
    body = {"model": model, "max_tokens": 1024, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": "test-key", "anthropic-version": "2023-06-01", "x-streamwatch-time-scale": scale}
    with httpx2.Client(timeout=WAIT_SECONDS) as client, client.stream(
        "POST", proxy.base_url + "/v1/messages", json=body, headers=headers) as response:
        events = (line for line in response.iter_lines() if line.startswith("event: "))
        names = [line.removeprefix("event: ") for line in islice(events, seen)]
        proxy.stop()  # kill -9: no end record

    assert len(names) == seen and names[-1] == "ping"
    [path] = (home / "sessions").iterdir()
    assert load_session(path).latest.ending is None and load_session(path).skipped == []
    status, report, verdict = analyzed(path, capsys)
    assert verdict["termination"] == "cancelled" and verdict["error"]["type"] == "recording_cut"
    assert (verdict["fault"], verdict["fault_unfired"]) == ((label, None) if injected else (None, label))
    assert ("Verdict: ABNORMAL cancelled (recording_cut) [INJECTED]\n" in report) is injected
    assert (f"armed by the streamwatch proxy ({label.removeprefix('injected: ')}) but never fired" in report) is not injected
    assert cli.main(["sessions"]) == 0
    assert ("ABNORMAL cancelled (injected)" in capsys.readouterr().out) is injected
    assert (replay_attempts(load_session(path), 5.0).attempts[0].verdict.fault == label) is injected
    # Exported as read (a damaged line in it), it says the same.
    with path.open("a") as file:
        file.write("[damaged\n")
    assert cli.main(["export", str(path), "--format", "jsonl"]) == 0
    again = home / "again.jsonl"
    again.write_text(capsys.readouterr().out)
    assert "[damaged" not in again.read_text() and load_session(again).skipped == []
    assert analyzed(again, capsys)[2]["fault"] == verdict["fault"]
    # A file from before the moment a fault fired was recorded reads as injected, as it always did.
    older = home / "older.jsonl"
    older.write_text(again.read_text().replace(',"fault_fired_record":true', ""))
    assert analyzed(older, capsys)[2]["fault"] == label
