"""A tiny OTLP/HTTP trace collector on 127.0.0.1: what the tests send spans to, decoded with
`opentelemetry-proto`. Run as a script it prints each trace's span tree as spans arrive:

    python tests/otlp_collector.py [PORT]      (then: streamwatch demo --otlp http://127.0.0.1:PORT)
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent: str
    kind: str
    start: int
    end: int
    attributes: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]]
    links: list[tuple[str, str, dict[str, Any]]]
    status: str
    description: str
    resource: dict[str, Any] = field(default_factory=dict)

    def events_named(self, name: str) -> list[dict[str, Any]]:
        return [attributes for event, _, attributes in self.events if event == name]


def value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    return None if kind is None else getattr(any_value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: value(pair.value) for pair in pairs}


class Collector:
    """Receives POST /v1/traces while in a `with` block; `spans` in arrival order; `raw` every body."""

    def __init__(self, port: int = 0, on_span: Any = None) -> None:
        self.spans: list[Span] = []
        self.raw: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self._changed = threading.Condition()
        self._on_span = on_span
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                collector._take(body, dict(self.headers))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Collector:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _take(self, body: bytes, headers: dict[str, str]) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        new = []
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    new.append(Span(
                        span.name, span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
                        KINDS[span.kind], span.start_time_unix_nano, span.end_time_unix_nano,
                        attributes(span.attributes),
                        [(e.name, e.time_unix_nano, attributes(e.attributes)) for e in span.events],
                        [(link.trace_id.hex(), link.span_id.hex(), attributes(link.attributes)) for link in span.links],
                        STATUS[span.status.code], span.status.message, resource,
                    ))
        with self._changed:
            self.raw.append(body)
            self.headers.append(headers)
            self.spans.extend(new)
            self._changed.notify_all()
        if self._on_span is not None:
            for span in new:
                self._on_span(self, span)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Span]:
        """Block until `count` spans arrived (AssertionError after `timeout`: a loaded machine's margin)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.spans) >= count, timeout):
                raise AssertionError(f"{len(self.spans)} spans arrived, expected {count}")
            return list(self.spans)


def comparable(span: Span) -> tuple:
    """What a span says: its name, kind, status, attributes and events."""
    return span.name, span.kind, span.status, span.attributes, [(name, a) for name, _, a in span.events]


def identity(span: Span) -> tuple:
    """What a backend tells one span from another by, and where it is placed."""
    return span.trace_id, span.span_id, span.parent, span.start, span.end


def tree(spans: list[Span]) -> list[str]:
    """The spans as indented lines, each trace from its root, children in start order."""
    lines: list[str] = []
    ids = {span.span_id for span in spans}

    def show(span: Span, depth: int) -> None:
        facts = [span.kind, span.status + (f" ({span.description})" if span.description else "")]
        for key in ("streamwatch.attempt.number", "streamwatch.termination", "error.type", "gen_ai.usage.output_tokens"):
            if key in span.attributes:
                facts.append(f"{key.rpartition('.')[2]}={span.attributes[key]}")
        if span.links:
            facts.append(f"links={len(span.links)}")
        lines.append("  " * depth + f"{span.name}  [{', '.join(facts)}]")
        for name, _, _ in span.events:
            lines.append("  " * (depth + 1) + f"- {name}")
        for child in sorted((s for s in spans if s.parent == span.span_id), key=lambda s: s.start):
            show(child, depth + 1)

    for root in sorted((s for s in spans if s.parent not in ids), key=lambda s: s.start):
        show(root, 0)
    return lines


def _print_roots(collector: Collector, span: Span) -> None:
    if not span.parent:
        spans = [s for s in collector.spans if s.trace_id == span.trace_id]
        latest = list({s.span_id: s for s in spans}.values())
        again = f" (sent again: {len(spans) - len(latest)} of its spans came before)" if len(latest) < len(spans) else ""
        print(f"trace {span.trace_id}{again}", flush=True)
        print("\n".join(tree(latest)), flush=True)


if __name__ == "__main__":
    with Collector(int(sys.argv[1]) if len(sys.argv) > 1 else 4318, on_span=_print_roots) as running:
        print(f"collecting OTLP/HTTP traces on {running.url}/v1/traces (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
