"""`streamwatch proxy --otlp`: each flow an OpenTelemetry trace, sent while the proxy runs."""

from __future__ import annotations

from streamwatch.cli import main
from tests.otlp_collector import Collector, comparable, identity
from tests.proxy.test_proxy_command import stream


def test_each_flow_is_a_trace_of_its_client_and_upstream_and_no_key_leaves(run_proxy) -> None:
    with Collector() as collector:
        proxy = run_proxy("--upstream", "mock", "--otlp", collector.url)
        stream(proxy.base_url, "mock-drop_eof")

        spans = collector.wait_for(2)  # sent while the proxy runs: its processor's own schedule

        assert proxy.interrupt() == 0
        assert not [line for line in proxy.said if "warning" in line]
        (attempt,) = [span for span in spans if span.parent]
        (session,) = [span for span in spans if not span.parent]
        assert attempt.parent == session.span_id and attempt.name == "chat mock-drop_eof"
        a = attempt.attributes
        assert a["streamwatch.source"] == "proxy" and a["streamwatch.client"].startswith("Anthropic/Python ")
        assert a["streamwatch.upstream"].startswith("http://127.0.0.1:")
        assert a["streamwatch.termination"] == "eof" and a["error.type"] == "eof"
        assert b"q" * 40 not in b"".join(collector.raw)


def test_a_flow_whose_fault_never_fired_is_an_ordinary_span_and_a_backfill_sends_the_same_trace(
    run_proxy, tmp_path, capsys
) -> None:
    with Collector() as collector:
        proxy = run_proxy("--upstream", "mock", "--otlp", collector.url,
                          "--fault", "end:events=500@nth=1", "--fault", "end:events=5@nth=2")
        stream(proxy.base_url, "mock-ok")
        unfired_line = proxy.printed()
        stream(proxy.base_url, "mock-ok")
        fired_line = proxy.printed()
        live = collector.wait_for(4)
        assert proxy.interrupt() == 0

        assert unfired_line.endswith("COMPLETE end_turn  fault armed, never fired: clean end after 500 events")
        assert fired_line.endswith("ABNORMAL eof (injected)  fault: injected: clean end after 5 events")
        attempts = sorted((span for span in live if span.parent), key=lambda span: span.start)
        unfired, fired = (span.attributes for span in attempts)
        assert "streamwatch.fault" not in unfired and "error.type" not in unfired
        assert unfired["streamwatch.fault_unfired"] == "injected: clean end after 500 events"
        assert attempts[0].status == "UNSET" and unfired["streamwatch.complete"] is True
        assert fired["streamwatch.fault"] == "injected: clean end after 5 events" and attempts[1].status == "ERROR"
        assert "streamwatch.fault_unfired" not in fired

        files = sorted(str(path) for path in (tmp_path / "sessions").iterdir())
        assert main(["export", "--format", "otlp", *files, "--otlp", collector.url]) == 0
        backfilled = collector.wait_for(8)[4:]

    assert sorted(map(identity, backfilled)) == sorted(map(identity, live))
    assert sorted(map(comparable, backfilled), key=repr) == sorted(map(comparable, live), key=repr)
