"""Every attempt the app sends itself goes to the OpenTelemetry collector when spans are asked for: a
run of the home screen's form, and a retry or resume pressed in a replay, as `run` and `demo` send
theirs; a real OTLP/HTTP endpoint on loopback receives them."""

from __future__ import annotations

import functools
import os

import pytest

from streamwatch import cli
from streamwatch.core.live import LiveRun, request_body
from streamwatch.export.otlp import Exporter, traces_endpoint
from streamwatch.mock import MockServer
from streamwatch.protocol import SCENARIO_HEADER, TIME_SCALE_HEADER
from streamwatch.tui import launch
from streamwatch.tui.launch import Runs, make_app
from streamwatch.tui.screens.home import HomeScreen
from streamwatch.tui.screens.run import RunScreen
from tests.otlp_collector import Collector, Span, comparable, identity
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.anyio

TIME_SCALE = 0.02
THRESHOLD = 5.0
SIZE = (120, 40)


@pytest.fixture(autouse=True)
def isolated(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "streamwatch"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def collector():
    with Collector() as running:
        yield running


def status(app) -> str:
    statuses = app.screen.query("#status")
    return str(statuses.first().render()) if statuses else ""


def one_trace(spans: list[Span]) -> tuple[Span, Span]:
    """The session span and its one attempt span, one trace."""
    (session,) = [span for span in spans if not span.parent]
    (attempt,) = [span for span in spans if span.parent]
    assert attempt.parent == session.span_id and attempt.trace_id == session.trace_id
    return session, attempt


def backfilled(collector: Collector, path, already: int) -> list[Span]:
    """The spans `streamwatch export --format otlp` sends of the session at `path`."""
    assert cli.main(["export", "--format", "otlp", str(path), "--otlp", collector.url]) == 0
    return collector.wait_for(already + 2)[already:]


async def test_a_run_from_the_home_screen_s_form_is_sent_as_its_trace(monkeypatch, collector):
    monkeypatch.setattr("streamwatch.mock.server.MockServer", functools.partial(MockServer, time_scale=TIME_SCALE))
    exporter = Exporter(traces_endpoint(collector.url))
    with Runs(THRESHOLD) as runs:
        app = make_app(lambda app: HomeScreen(THRESHOLD), start_run=runs.start, telemetry=exporter)
        async with app.run_test(size=SIZE) as pilot:
            await app.workers.wait_for_complete()
            await wait_for(pilot, lambda: "No saved sessions yet" in str(app.screen.query_one("#home-status").render()))
            await pilot.press("n", "f7", "ctrl+s")
            await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
            path = app.screen.feed.session_path
    exporter.close()

    live = collector.wait_for(2)
    session, attempt = one_trace(live)
    assert attempt.attributes["streamwatch.source"] == "demo"
    assert attempt.attributes["streamwatch.client"].startswith("anthropic-python ")
    assert attempt.attributes["streamwatch.termination"] == "message_stop"
    assert attempt.attributes["streamwatch.session.file"] == path.name
    assert sorted(map(identity, backfilled(collector, path, 2))) == sorted(map(identity, live))


@pytest.mark.parametrize(("key", "how"), [("r", "retry"), ("c", "resume")])
async def test_a_retry_or_resume_pressed_in_a_replay_is_sent_as_its_new_session_s_trace(
    request, collector, key, how
) -> None:
    with MockServer(time_scale=TIME_SCALE) as server:
        headers = {SCENARIO_HEADER: "drop_abrupt", TIME_SCALE_HEADER: str(TIME_SCALE)}
        old = LiveRun(request_body(prompt=request.node.name), base_url=server.base_url, headers=headers,
                      source="demo").run().session_path
        exporter = Exporter(traces_endpoint(collector.url))
        app = make_app(lambda app: RunScreen(launch.replay_feed(old, THRESHOLD, speed=None), app.clock),
                       telemetry=exporter)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "ABNORMAL" in status(app))
            await pilot.press(key)
            await wait_for(pilot, lambda: "COMPLETE end_turn" in status(app))
            new = app.screen.feed.session_path
        exporter.close()

    live = collector.wait_for(2)
    session, attempt = one_trace(live)
    assert attempt.attributes["streamwatch.session.file"] == new.name != old.name
    assert attempt.attributes["streamwatch.attempt.reason"] == how
    assert attempt.attributes["streamwatch.termination"] == "message_stop" and attempt.status == "UNSET"
    again = backfilled(collector, new, 2)
    assert sorted(map(identity, again)) == sorted(map(identity, live))
    assert sorted(map(comparable, again), key=repr) == sorted(map(comparable, live), key=repr)
    assert attempt.attributes["streamwatch.attempt.number"] == 2 and attempt.attributes["streamwatch.attempt.replaces"] == 1
