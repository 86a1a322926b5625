"""`streamwatch proxy --otlp`: each flow an OpenTelemetry trace, sent while the proxy runs."""

from __future__ import annotations

from tests.otlp_collector import Collector
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
