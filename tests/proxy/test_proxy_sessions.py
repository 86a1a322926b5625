"""A proxied session is a session like any other: listed with its source and client, analyzed,
and followed live by `attach`, which takes its end for the session's end (the proxy never retries)."""

from __future__ import annotations

import json
import threading

import anthropic
import httpx2
import pytest

from streamwatch.cli import main
from streamwatch.core import index
from streamwatch.core.catalog import Catalog, render_sessions
from streamwatch.core.index import SessionIndex
from streamwatch.core.playback import replay_attempts
from streamwatch.core.recording import load_session
from streamwatch.server import BackgroundServer
from tests.proxy.conftest import WAIT_SECONDS, Proxy
from tests.proxy.test_proxy_fidelity import Silent, ask


def test_sessions_lists_a_proxied_session_with_its_source_and_client(mock, proxy: Proxy, capsys, monkeypatch) -> None:
    ask(proxy.url, "mock-ok")
    [flow] = proxy.wait()
    monkeypatch.setenv("STREAMWATCH_HOME", str(proxy.directory.parent))

    [summary] = Catalog().summaries()
    assert main(["sessions", "--json"]) == 0

    client = f"Anthropic/Python {anthropic.__version__}"
    assert (summary.source, summary.client, summary.badge) == ("proxy", client, "COMPLETE end_turn")
    assert render_sessions([summary]).splitlines()[1].split("  ")[1] == f"proxy {client}"
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["source"] == "proxy" and listed["client"] == client
    assert listed["file"] == flow.recorder.session_path.name


def test_analyze_reads_a_proxied_session_as_any_other(mock, proxy: Proxy, capsys) -> None:
    ask(proxy.url, "mock-drop_abrupt")
    [flow] = proxy.wait()

    status = main(["analyze", "--json", str(flow.recorder.session_path)])

    verdict = json.loads(capsys.readouterr().out)
    assert status == 1 and verdict["termination"] == "transport_error"
    assert verdict["error"]["type"] == "httpx.RemoteProtocolError" and verdict["http_status"] == 200


@pytest.mark.anyio
async def test_attach_follows_a_proxied_stream_live_and_replays_it_once_it_ended(start_proxy) -> None:
    from streamwatch.tui.app import StreamwatchApp
    from streamwatch.tui.launch import attach_feed
    from streamwatch.tui.screens.run import RunScreen
    from tests.tui.conftest import FixedClock, wait_for
    from tests.tui.test_run_keys import status

    with BackgroundServer(Silent()) as server:
        proxy = start_proxy(server.url)
        with httpx2.Client() as client, client.stream(
            "POST", proxy.url + "/v1/messages", json={"model": "claude-sonnet-4-6", "max_tokens": 5, "stream": True,
                                                      "messages": [{"role": "user", "content": "hi"}]},
        ) as response:
            chunks = response.iter_raw()
            assert b"message_start" in next(chunks)
            [flow] = proxy.flows
            feed = attach_feed(flow.recorder.session_path, 5.0)
            app = StreamwatchApp(lambda app: RunScreen(feed, app.clock), clock=FixedClock(0.0))
            async with app.run_test(size=(100, 30)) as pilot:
                await wait_for(pilot, lambda: len(app.screen.feed.player.state.events) == 2)
                assert status(app).startswith(" ATTACHED proxy pid ")
                chunks.close()
                await wait_for(pilot, lambda: "ABNORMAL cancelled" in status(app))
                assert status(app).startswith(" REPLAY") and "waiting for attempt" not in status(app)


def test_a_request_that_asked_for_no_stream_and_got_its_answer_is_complete_in_every_view(
    mock, proxy: Proxy, capsys, monkeypatch
) -> None:
    with anthropic.Anthropic(base_url=proxy.url, api_key="test-key", max_retries=0) as client:
        message = client.messages.create(model="mock-ok", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
        client.messages.count_tokens(model="mock-ok", messages=[{"role": "user", "content": "hi"}])
        client.models.list()
    flows = proxy.wait(3)
    monkeypatch.setenv("STREAMWATCH_HOME", str(proxy.directory.parent))

    badges = {summary.path.name: summary.badge for summary in Catalog().summaries()}
    assert [badges[flow.recorder.session_path.name] for flow in flows] == [f"OK {message.stop_reason}", "OK 200", "OK 200"]
    assert {summary.termination for summary in Catalog().summaries()} == {"answered"}
    for flow in flows:
        status = main(["analyze", "--json", str(flow.recorder.session_path)])
        verdict = json.loads(capsys.readouterr().out)
        assert status == 0 and verdict["complete"] and verdict["explanation"].startswith("Complete: ")
        assert verdict["termination"] == "answered"
        assert "not_a_stream" not in [a["code"] for a in verdict["anomalies"]]
        [attempt] = replay_attempts(load_session(flow.recorder.session_path), 8.0).attempts
        assert attempt.verdict.complete



def test_a_session_index_that_makes_its_writer_wait_never_holds_up_the_streams(mock, proxy: Proxy, monkeypatch) -> None:
    """The index may wait for another writer (a TUI listing, a `stats`): the loop forwarding every
    stream hands the row to a thread of its own, and the row is still written once the wait is over."""
    monkeypatch.setenv("STREAMWATCH_HOME", str(proxy.directory.parent))
    release, waited, written = threading.Event(), [], threading.Semaphore(0)
    write = index._write_note

    def held(folder, row) -> None:
        waited.append(release.wait(WAIT_SECONDS))
        write(folder, row)
        written.release()

    monkeypatch.setattr(index, "_write_note", held)
    ask(proxy.url, "mock-ok")
    ask(proxy.url, "mock-drop_eof")  # the first flow's row is still waiting for the database
    flows = proxy.wait(2)
    release.set()
    assert written.acquire(timeout=WAIT_SECONDS) and written.acquire(timeout=WAIT_SECONDS)
    assert set(SessionIndex(proxy.directory).rows()) == {flow.recorder.session_path.name for flow in flows}
    assert waited == [True, True]
