"""The streamwatch command line: one function per subcommand, the work itself is in the core.

`main()` writes stdout and stderr through `safe.SafeWriter`: whatever a command prints (a report, a
warning naming a file, an error quoting a session header) reaches the terminal with its controls and
invisible characters shown as escapes, in what the terminal's encoding can hold. When the reader of
stdout goes away (`streamwatch analyze x | head -1`), the command ends quietly with status 141, as a
process that a shell saw killed by SIGPIPE; a live run stops and its session says why.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamwatch.core.diagnose import DEFAULT_STALL_THRESHOLD
from streamwatch.core.recording import SessionError, recorded_by
from streamwatch.core.redact import Redactor
from streamwatch.core.report import recording_words, recovery_lines, render_report
from streamwatch.core.safe import SafeWriter, one_line
from streamwatch.core.sources import analyze_input, is_stream
from streamwatch.export import FORMATS, Exported, ExportError
from streamwatch.protocol import MAX_TIME_SCALE

EXIT_COMPLETE, EXIT_ABNORMAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OUTPUT_CLOSED = 0, 1, 2, 130, 141
EXIT_INTERNAL = 70
"""The screen stopped on a bug (sysexits' EX_SOFTWARE)."""
EXIT_RECORDING = 75
"""`analyze`, `export` to a format that states a verdict: the session is still being recorded, no verdict
yet (sysexits' EX_TEMPFAIL: try again later)."""
VERDICT_FORMATS = frozenset({"report", "har"})
"""Export formats that say how the stream ended (a report's title, a HAR entry's comment)."""
DEMO_TOOL_BYTES = 12_000
"""The demo's tool inputs: big enough to watch, small enough for a short tour."""
DEMO_TOUR = (
    ("ok", "a normal stream, start to message_stop"),
    ("drop_eof", "the body ends cleanly in the middle of a tool call: no error, no message_stop"),
)


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit 2."""


class InternalError(Exception):
    """A bug stopped the screen: one line on stderr, exit EXIT_INTERNAL."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def _number(convert: Callable[[str], Any], what: str, ok: Callable[[Any], bool], rule: str) -> Callable[[str], Any]:
    """An argparse type: `convert` the text, then check it, with one-line errors."""

    def parse(value: str) -> Any:
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {value!r}") from None
        if not ok(number):
            raise argparse.ArgumentTypeError(rule)
        return number

    return parse


MIN_TIMEOUT, MAX_TIMEOUT = 0.01, 86400.0
_threshold = _number(float, "a number of seconds", lambda x: 0 < x <= MAX_TIMEOUT,
                     f"must be more than 0 seconds and at most {MAX_TIMEOUT:g} (a day)")
_timeout = _number(
    float, "a number of seconds", lambda x: MIN_TIMEOUT <= x <= MAX_TIMEOUT,
    f"must be from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} seconds (a day)",
)
_positive_int = _number(int, "a whole number", lambda x: x >= 1, "must be 1 or more")
_time_scale = _number(
    float, "a number", lambda x: 0 <= x <= MAX_TIME_SCALE, f"must be from 0 to {MAX_TIME_SCALE:g}"
)
_port = _number(int, "a port number", lambda x: 0 <= x <= 65535, "must be between 0 and 65535")
_exit_status = _number(int, "an exit status", lambda x: 0 <= x <= 255, "must be between 0 and 255")


def _scenario(name: str) -> str:
    from streamwatch.mock.scenarios import SCENARIOS

    if name not in SCENARIOS:
        raise UsageError(f"unknown scenario {name!r}: choose one of {', '.join(SCENARIOS)}")
    return name


def cmd_analyze(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        path = _session_path(args.path, args.stall_threshold)
    try:
        session, log = analyze_input(path, args.stall_threshold, args.curl_exit)
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    for skipped in session.skipped:
        print(f"streamwatch: warning: {one_line(skipped)}", file=sys.stderr)
    pid = recorded_by(session) if session.path is not None else None
    if pid is not None:
        if args.json:
            print(json.dumps({"path": str(path), "recording": pid}, ensure_ascii=True))
        else:
            print(f"{recording_words(path, pid)}: no verdict yet; follow it with `streamwatch attach {path}`")
        return EXIT_RECORDING
    last = log.attempts[-1]
    if not is_stream(session, last.state):
        raise UsageError(f"{args.path} holds no SSE event, HTTP error response or Messages API answer")
    if args.json:
        print(json.dumps(log.verdict(), ensure_ascii=True))
    elif log.recovered:
        title = f"streamwatch analyze (attempt {last.number} of {last.number})"
        report = render_report(last.state, last.verdict, str(session.path or args.path), title=title)
        print("\n".join([report, "", *recovery_lines(log)]))
    else:
        print(render_report(last.state, last.verdict, str(session.path or args.path)))
    return EXIT_COMPLETE if log.complete else EXIT_ABNORMAL


def _scenario_headers(args: argparse.Namespace, scenario: str | None, source: str) -> dict[str, str]:
    if scenario is None:
        return {}
    from streamwatch.protocol import FAIL_ALWAYS_HEADER, SCENARIO_HEADER, TIME_SCALE_HEADER, TOOL_BYTES_HEADER

    headers = {SCENARIO_HEADER: scenario}
    if args.fail_always:
        headers[FAIL_ALWAYS_HEADER] = "1"
    if source == "demo":
        headers[TOOL_BYTES_HEADER] = str(DEMO_TOOL_BYTES)
    if source == "demo" or args.time_scale != 1.0:
        # Recorded with the request, so a new live attempt from its replay plays at the same pace; to a
        # mock of the user's own (`--base-url` to `streamwatch mock`), the pace asked for.
        headers[TIME_SCALE_HEADER] = f"{args.time_scale:g}"
    return headers


def _recovery(
    args: argparse.Namespace, body: dict[str, Any], base_url: str | None, scenario: str | None, source: str
) -> Callable[[Any], Any]:
    """How to build this run's Recovery, given the hook that watches it."""
    from streamwatch.core.live import sdk_client
    from streamwatch.core.recovery import Recovery

    telemetry = getattr(args, "telemetry", None)

    def make(hook: Any) -> Recovery:
        return Recovery(
            body,
            on_failure=args.on_failure,
            strategy=args.resume_strategy or "auto",
            max_attempts=args.max_attempts,
            hooks=[hook] if telemetry is None else [hook, telemetry.hook(source=source, client=sdk_client())],
            base_url=base_url,
            headers=_scenario_headers(args, scenario, source),
            timeout=args.timeout,
            stall_threshold=args.stall_threshold,
            save=not args.no_save,
            source=source,
        )

    return make


def _wants_tui(args: argparse.Namespace) -> bool:
    """The run screen, unless asked for text, or when there is no terminal to draw on."""
    return not (args.headless or args.json) and sys.stdin.isatty() and sys.stdout.isatty()


def _preflight(args: argparse.Namespace, body: dict[str, Any], base_url: str | None) -> None:
    """The one-line error (no key, bad base URL, no folder for the session) before the screen opens,
    not inside it."""
    from streamwatch.core.live import LiveError, LiveRun

    try:
        LiveRun(body, base_url=base_url, save=not args.no_save).preflight()
    except LiveError as exc:
        raise UsageError(str(exc)) from None


def _run_screen(args: argparse.Namespace, makers: list[Callable[[], Any]]) -> int:
    """Show live runs on the run screen, one after another (the demo tour); exit status of the last."""
    from streamwatch.tui.launch import run_app

    built: list[Any] = []

    def chain(number: int) -> Callable[[], Any]:
        def build() -> Any:
            feed = makers[number]()
            feed.then = chain(number + 1) if number + 1 < len(makers) else None
            built.append(feed)
            return feed

        return build

    _themed(run_app, chain(0)(), args)
    from streamwatch.core.diagnose import Termination

    recovery = built[-1].live
    current = recovery.current
    if current is None or not current.finished or current.state.termination == Termination.CANCELLED:
        return EXIT_INTERRUPTED
    return EXIT_COMPLETE if recovery.complete else EXIT_ABNORMAL


def _themed(run: Callable[..., int], feed: Any, args: argparse.Namespace) -> int:
    from streamwatch.core.config import ConfigError
    from streamwatch.tui.launch import AppCrash
    from streamwatch.tui.themes import ThemeError

    try:
        return run(feed, getattr(args, "theme", None), getattr(args, "telemetry", None))
    except (ThemeError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    except AppCrash as exc:
        raise InternalError(str(exc)) from None


def _live_feed(args: argparse.Namespace, body: dict[str, Any], base_url: str | None, scenario: str | None,
               source: str, title: str) -> Callable[[], Any]:
    from streamwatch.tui.launch import live_feed

    return lambda: live_feed(_recovery(args, body, base_url, scenario, source), args.stall_threshold, title)


def _live(
    args: argparse.Namespace, body: dict[str, Any], base_url: str | None, scenario: str | None, source: str
) -> int:
    """One request through the SDK, shown as it streams: on the run screen, or as text (--headless),
    or only its verdict (--json)."""
    from streamwatch.core.live import LiveError
    from streamwatch.headless import HeadlessView

    label = str(body["model"]) + ("" if scenario is None else f" (scenario {scenario})")
    if _wants_tui(args):
        _preflight(args, body, base_url)
        title = "DEMO " + scenario if source == "demo" and scenario else ""
        return _run_screen(args, [_live_feed(args, body, base_url, scenario, source, title)])
    view = None if args.json else HeadlessView(sys.stdout, label)
    recovery = _recovery(args, body, base_url, scenario, source)(view)
    try:
        last = recovery.run() if view is None else view.play(recovery)
    except LiveError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(recovery.redact(recovery.verdict()), ensure_ascii=True))
        if recovery.stopped and not recovery.cancelled:
            print(recovery.redact(f"streamwatch: recovery stopped: {one_line(recovery.stopped)}"), file=sys.stderr)
    for failure in recovery.hooks.failures:
        print(recovery.redact(f"streamwatch: warning: a view stopped: {one_line(failure)}"), file=sys.stderr)
    if recovery.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_COMPLETE if last.state.complete else EXIT_ABNORMAL


@contextlib.contextmanager
def _telemetry(args: argparse.Namespace, screen: bool) -> Iterator[None]:
    """Spans to an OpenTelemetry collector while the command runs (`args.telemetry`), when --otlp or the
    OTEL_EXPORTER_OTLP_* variables ask for them; flushed at the end, within a bounded wait. A collector
    that fails is said in one line: at once, or after the screen closed (`screen`), never over it."""
    from streamwatch.export.otlp import Exporter, OtlpUnavailable, traces_endpoint

    asked = args.otlp is not None
    try:
        endpoint = traces_endpoint(args.otlp)
        if endpoint is None and args.otel_content:
            raise UsageError("--otel-content needs --otlp URL (or OTEL_EXPORTER_OTLP_ENDPOINT)")
        exporter = None if endpoint is None else Exporter(endpoint, content=bool(args.otel_content),
                                                          on_warning=None if screen else _spans_lost)
    except OtlpUnavailable as exc:
        if asked:
            raise UsageError(str(exc)) from None
        _warn(f"OTEL_EXPORTER_OTLP_ENDPOINT is set, but {exc}; running without sending spans")
        exporter = None
    args.telemetry = exporter
    try:
        yield
    finally:
        if exporter is not None:
            exporter.close()
            if screen and exporter.warning is not None:
                _spans_lost(exporter.warning)


def _spans_lost(why: str) -> None:
    _warn(f"{why}: streams are recorded as usual, spans are dropped")


def _warn(line: str) -> None:
    print(f"streamwatch: warning: {one_line(line)}", file=sys.stderr)


def _check_recovery_options(args: argparse.Namespace) -> None:
    """--max-attempts and --resume-strategy mean something only with the --on-failure they go with."""
    if args.on_failure == "none" and args.max_attempts not in (None, 1):
        raise UsageError("--max-attempts needs --on-failure retry or resume")
    if args.on_failure != "resume" and args.resume_strategy is not None:
        raise UsageError("--resume-strategy needs --on-failure resume")


def _request(args: argparse.Namespace) -> dict[str, Any]:
    from streamwatch.core.live import LiveError, request_body

    notes: list[str] = []
    try:
        body = request_body(
            model=args.model,
            max_tokens=args.max_tokens,
            prompt=args.prompt,
            system=args.system,
            request_file=args.request,
            notes=notes,
        )
    except LiveError as exc:
        raise UsageError(str(exc)) from None
    for note in notes:
        print(f"streamwatch: note: {one_line(note)}", file=sys.stderr)
    return body


def cmd_run(args: argparse.Namespace) -> int:
    _check_recovery_options(args)
    if args.scenario is None and args.time_scale != 1.0:
        raise UsageError("--time-scale paces the mock's scenarios: it needs --scenario")
    body = _request(args)
    scenario = None if args.scenario is None else _scenario(args.scenario)
    with _telemetry(args, _wants_tui(args)):
        if scenario is not None and args.base_url is None:
            from streamwatch.mock import MockServer

            with MockServer(time_scale=args.time_scale) as server:
                return _live(args, body, server.base_url, scenario, "demo")
        return _live(args, body, args.base_url, scenario, "live")


def cmd_demo(args: argparse.Namespace) -> int:
    _check_recovery_options(args)
    with _telemetry(args, _wants_tui(args)):
        return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    tour = DEMO_TOUR if args.scenario is None else ((_scenario(args.scenario), ""),)
    body = _request(args)
    from streamwatch.mock import MockServer

    status = EXIT_COMPLETE
    with MockServer(time_scale=args.time_scale) as server:
        if _wants_tui(args):
            _preflight(args, body, server.base_url)
            feeds = [
                _live_feed(args, body, server.base_url, scenario, "demo",
                           f"DEMO {number}/{len(tour)} {scenario}" if len(tour) > 1 else f"DEMO {scenario}")
                for number, (scenario, _) in enumerate(tour, start=1)
            ]
            status = _run_screen(args, feeds)
            return status if len(tour) == 1 or status == EXIT_INTERRUPTED else EXIT_COMPLETE
        for number, (scenario, about) in enumerate(tour, start=1):
            if len(tour) > 1 and not args.json:
                print(f"== {number}/{len(tour)} {scenario}: {about}")
            status = _live(args, body, server.base_url, scenario, "demo")
            if status == EXIT_INTERRUPTED:
                return status
            if number < len(tour) and not args.json:
                print()
    return status if len(tour) == 1 else EXIT_COMPLETE


def cmd_mock(args: argparse.Namespace) -> int:
    from streamwatch.mock import DEFAULT_PORT, serve
    from streamwatch.server import BindError, bind, exposure, local_url, url_of

    try:
        sock = bind(args.host, DEFAULT_PORT if args.port is None else args.port)
    except BindError as exc:
        raise UsageError(str(exc)) from None
    address = sock.getsockname()
    print(
        f"streamwatch mock: serving the mock Messages API on {url_of(address)} (Ctrl-C to stop); try "
        f"`streamwatch run --headless --base-url {local_url(address)} --scenario drop_eof`",
        file=sys.stderr,
    )
    warning = exposure(address)
    if warning is not None:
        print(f"streamwatch mock: WARNING: {warning}", file=sys.stderr)
    with sock:
        serve(sock, time_scale=args.time_scale, require_key=args.require_key)
    return EXIT_COMPLETE


PROXY_LISTEN = "127.0.0.1:8089"
PROXY_UPSTREAM = "https://api.anthropic.com"


def _listen(value: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 address in brackets) for --listen."""
    host, colon, port = value.rpartition(":")
    if not colon or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen takes HOST:PORT (e.g. {PROXY_LISTEN}, [::1]:8089, or port 0 for a free one), "
                         f"not {value!r}")
    return host, int(port)


def _upstream(value: str) -> str:
    """An http(s) base URL for --upstream (`mock` is handled by the caller)."""
    from urllib.parse import urlsplit

    from streamwatch.core.transport import NO_HOST, NOT_HTTP, url_problem

    problem = url_problem(value)
    if problem in (NOT_HTTP, NO_HOST) or (problem is None and any(urlsplit(value)[3:])):  # a query, a fragment
        raise UsageError(f"--upstream takes an http:// or https:// base URL (no query), or mock; not {_shown_url(value)}")
    if problem:
        raise UsageError(f"--upstream {_shown_url(value)} is not a usable base URL ({problem})")
    return value.rstrip("/")


def _shown_url(value: str) -> str:
    from streamwatch.core.redact import Redactor

    return repr(one_line(Redactor().url(value)))


def cmd_proxy(args: argparse.Namespace) -> int:
    """Forward an app's API traffic upstream, recording each exchange, printing one line per finished flow,
    until Ctrl-C or SIGTERM: the streams still open are then cut and recorded `cancelled`."""
    import signal
    import threading

    from streamwatch.core.recording import home_dir, sessions_dir
    from streamwatch.mock import MockServer
    from streamwatch.proxy.app import ProxyApp
    from streamwatch.proxy.faults import Faults
    from streamwatch.proxy.printer import FlowPrinter
    from streamwatch.proxy.rows import FlowBook
    from streamwatch.server import BindError, exposure, local_url, url_of

    try:
        faults = Faults.parse(args.fault)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    host, port = _listen(args.listen)
    upstream = None if args.upstream == "mock" else _upstream(args.upstream)
    try:
        sessions_dir()
    except OSError as exc:
        why = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
        raise UsageError(f"cannot save sessions under {home_dir()}: {why}; set STREAMWATCH_HOME to a folder you "
                         "can write") from None
    stop = threading.Event()
    printer = FlowPrinter(sys.stdout, json_lines=args.json, on_closed=stop.set)
    book = FlowBook(args.stall_threshold) if _wants_tui(args) else None
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a plain `kill` stops it as Ctrl-C does
    with contextlib.ExitStack() as running, contextlib.suppress(KeyboardInterrupt):
        running.enter_context(_telemetry(args, book is not None))
        hooks_for = _with_spans(printer.hooks_for if book is None else book.hooks_for, args.telemetry)
        if upstream is None:
            upstream = running.enter_context(MockServer()).base_url
        if book is None:
            app = ProxyApp(upstream, hooks_for=hooks_for, faults=faults, stall_threshold=args.stall_threshold)
        else:
            app = ProxyApp(upstream, hooks_for=hooks_for, on_flow=book.on_flow, faults=faults,
                           stall_threshold=args.stall_threshold)
        server = app.server(host, port)
        try:
            running.enter_context(server)
        except BindError as exc:
            raise UsageError(str(exc)) from None
        where = " (the built-in mock)" if args.upstream == "mock" else ""
        if book is None:  # the flows view says it on its screen
            print(f"streamwatch proxy: listening on {url_of(server.address)}, forwarding to {app.shown_upstream}{where} and "
                  f"recording every exchange under {home_dir() / 'sessions'} (Ctrl-C to stop). Point your app at it:",
                  file=sys.stderr)
            print(f"export ANTHROPIC_BASE_URL={local_url(server.address)}", file=sys.stderr)
        risk = "send requests with the API keys and tokens of every app that passes through it"
        warning = exposure(server.address, risk, keep=f"--listen 127.0.0.1:{server.port}")
        if warning is not None:
            print(f"streamwatch proxy: WARNING: {warning}", file=sys.stderr)
        for spec in args.fault:
            print(f"streamwatch proxy: --fault {spec}: on purpose, marked in each session it hits", file=sys.stderr)
        if book is None:
            stop.wait()
        else:
            # the mock's own port means nothing to the user, and the line must fit 80 columns
            shown = "the built-in mock" if args.upstream == "mock" else app.shown_upstream
            _flows_view(args, book, faults, local_url(server.address), shown, warning)
    if book is not None:
        count = len(book.recorded())
        print(f"streamwatch proxy: {count} flow{'s' if count != 1 else ''} recorded in {home_dir() / 'sessions'}",
              file=sys.stderr)
        return EXIT_COMPLETE
    if printer.closed:
        return EXIT_OUTPUT_CLOSED
    print(f"streamwatch proxy: stopped after {printer.count} flow{'s' if printer.count != 1 else ''}", file=sys.stderr)
    return EXIT_COMPLETE


def _with_spans(hooks_for: Callable[[Any], Any], telemetry: Any) -> Callable[[Any], list[Any]]:
    """Each flow's hooks, and its spans' when exporting."""
    if telemetry is None:
        return hooks_for
    from streamwatch.protocol import PROXY_SOURCE

    return lambda flow: [*hooks_for(flow), telemetry.hook(source=PROXY_SOURCE, client=flow.client_text,
                                                         upstream=flow.upstream)]


def _flows_view(args: argparse.Namespace, book: Any, faults: Any, listen: str, upstream: str,
                warning: str | None) -> None:
    """The flows screen while the proxy runs; quitting it stops the proxy."""
    from streamwatch.core.config import ConfigError
    from streamwatch.tui.launch import AppCrash, run_flows
    from streamwatch.tui.themes import ThemeError

    try:
        run_flows(book, listen=listen, upstream=upstream, faults=faults, stall_threshold=args.stall_threshold,
                  warning=warning, theme=args.theme, telemetry=args.telemetry)
    except (ThemeError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    except AppCrash as exc:
        raise InternalError(str(exc)) from None


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value.removesuffix("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a speed: {value!r} (0.5 to 10, or max)") from None
    if not 0.5 <= speed <= 10:
        raise argparse.ArgumentTypeError("must be between 0.5 and 10, or max")
    return speed


def _session_path(name: str, stall_threshold: float, live: bool = False) -> Path:
    """The session file the user named; for `latest`, the catalog's pick (`Catalog.latest`: `live` for
    attach), and one line on stderr when it passed over newer files."""
    from streamwatch.core.catalog import Catalog
    from streamwatch.core.recording import resolve_session

    try:
        if name != "latest" or Path(name).is_file():
            return resolve_session(name)
        catalog = Catalog(stall_threshold=stall_threshold)
        path, why = catalog.latest(live)
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    for line in (catalog.warning, why):
        if line is not None:
            print(f"streamwatch: {one_line(line)}", file=sys.stderr)
    return path


def cmd_replay(args: argparse.Namespace) -> int:
    path = _session_path(args.session, args.stall_threshold)
    from streamwatch.tui.launch import replay_or_attach, run_app

    try:
        feed, pid = replay_or_attach(path, args.stall_threshold, args.speed)
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    if pid is not None:
        print(f"streamwatch: {recording_words(path, pid)}: following it live, as `streamwatch attach` does",
              file=sys.stderr)
    with _telemetry(args, screen=True):
        return _themed(run_app, feed, args)


def cmd_attach(args: argparse.Namespace) -> int:
    path = _session_path(args.session, args.stall_threshold, live=True)
    from streamwatch.tui.launch import attach_feed, run_app

    try:
        feed = attach_feed(path, args.stall_threshold)
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    with _telemetry(args, screen=True):
        return _themed(run_app, feed, args)


def cmd_export(args: argparse.Namespace) -> int:
    from streamwatch.core.files import write_new

    if args.format == "otlp":
        return _export_otlp(args)
    if args.otlp is not None or args.otel_content:
        raise UsageError("--otlp and --otel-content are for --format otlp")
    if len(args.session) > 1:
        raise UsageError(f"{args.format} exports one session at a time (--format otlp sends several)")
    chosen = FORMATS[args.format]
    if args.attempt is not None and not chosen.one_attempt:
        raise UsageError(f"--attempt is for sse, curl and report: {args.format} holds every attempt")
    path = _session_path(args.session[0], args.stall_threshold)
    source = Exported(path, args.stall_threshold)
    try:
        pid = recorded_by(source.session) if args.format in VERDICT_FORMATS else None
        if pid is not None:
            print(f"streamwatch: {recording_words(path, pid)}: no verdict yet for a {args.format}; export it once it "
                  f"has ended, or follow it with `streamwatch attach {path}`", file=sys.stderr)
            return EXIT_RECORDING
        pieces = chosen.render(source, args.attempt)
        note = chosen.note(source, args.attempt)
        if args.output is None:
            for piece in pieces:
                sys.stdout.write_data(piece)  # type: ignore[attr-defined]  # a SafeWriter: see main
        else:
            write_new(args.output, pieces)
    except (SessionError, ExportError) as exc:
        raise UsageError(str(exc)) from None
    except FileExistsError:
        raise UsageError(f"{args.output} is there already: not written over (choose another -o)") from None
    except OSError as exc:
        if args.output is None:
            raise  # stdout's, which main answers (a reader gone: quietly, 141)
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    if note is not None:
        print(f"streamwatch: note: {note}", file=sys.stderr)
    if args.output is not None:
        print(f"streamwatch: {args.format} of {path.name} written to {args.output}", file=sys.stderr)
    return EXIT_COMPLETE


BACKFILL_FLUSH = 100
"""Saved sessions sent per batch of a backfill: the processor's queue holds 2048 spans."""
BACKFILL_WAIT = 30.0


def _export_otlp(args: argparse.Namespace) -> int:
    """Saved sessions sent to an OpenTelemetry collector (a backfill), each as a live run would have sent it."""
    from streamwatch.core.playback import replay_attempts
    from streamwatch.core.recorder import Hooks
    from streamwatch.export.otlp import Exporter, OtlpUnavailable, shown, traces_endpoint

    if args.output is not None or args.attempt is not None:
        raise UsageError("-o and --attempt mean nothing to --format otlp: it sends every attempt to the collector")
    try:
        endpoint = traces_endpoint(args.otlp)
        if endpoint is None:
            raise UsageError("--format otlp needs --otlp URL (or OTEL_EXPORTER_OTLP_ENDPOINT): where to send the spans")
        exporter = Exporter(endpoint, content=bool(args.otel_content))
    except OtlpUnavailable as exc:
        raise UsageError(str(exc)) from None
    paths = [_session_path(name, args.stall_threshold) for name in args.session]
    done = unreadable = 0
    try:
        for path in paths:
            source = Exported(path, args.stall_threshold)
            try:
                session = source.session
            except SessionError as exc:
                print(f"streamwatch: error: {one_line(str(exc))}", file=sys.stderr)
                unreadable += 1
                continue
            hooks = Hooks([exporter.hook()])
            replay_attempts(session, args.stall_threshold, hooks)
            for failure in hooks.failures:
                print(f"streamwatch: error: {path.name}: {one_line(failure)}", file=sys.stderr)
            unreadable += bool(hooks.failures)
            done += 1
            if done % BACKFILL_FLUSH == 0:
                exporter.flush()
            if exporter.warning is not None:
                break
    finally:
        exporter.close(BACKFILL_WAIT)
    if exporter.warning is not None or exporter.lost:
        print(f"streamwatch: error: {one_line(exporter.warning or f'{exporter.lost} spans were not sent')}",
              file=sys.stderr)
        return EXIT_ABNORMAL
    if done:  # else every input was unreadable, and said so in its own line
        sessions = f"{done} session{'s' if done != 1 else ''}"
        print(f"streamwatch: {sessions} sent to {shown(endpoint)} ({exporter.sent} spans)", file=sys.stderr)
    return EXIT_BAD_INPUT if unreadable else EXIT_COMPLETE


def _apply_config(args: argparse.Namespace) -> None:
    """Settings from config.toml where the command line said nothing (analyze and export ignore them: a
    file's verdict is the same on every machine)."""
    from streamwatch.core.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "theme", None) is not None:
        from streamwatch.tui.themes import ThemeError, load_themes

        try:
            load_themes().check(args.theme)
        except ThemeError as exc:
            raise UsageError(str(exc)) from None
    if getattr(args, "stall_threshold", None) is None:
        args.stall_threshold = config.stall_threshold or DEFAULT_STALL_THRESHOLD
    if getattr(args, "model", "") is None and getattr(args, "request", None) is None:
        args.model = config.model
    if getattr(args, "base_url", "") is None and config.base_url not in (None, "embedded"):
        args.base_url = config.base_url


def _listed(args: argparse.Namespace) -> list[Any]:
    """The saved sessions' summaries (core/catalog.py); a warning when the session index could not be used."""
    from streamwatch.core.catalog import Catalog

    catalog = Catalog(stall_threshold=args.stall_threshold)
    try:
        summaries = catalog.summaries()
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    if catalog.warning is not None:
        print(f"streamwatch: warning: {one_line(catalog.warning)}", file=sys.stderr)
    return summaries


def cmd_sessions(args: argparse.Namespace) -> int:
    from streamwatch.core.catalog import render_sessions

    summaries = _listed(args)
    if args.json:
        print(json.dumps([summary.to_dict() for summary in summaries], ensure_ascii=True))
    else:
        print(render_sessions(summaries, encoding=sys.stdout.encoding))
    return EXIT_COMPLETE


def cmd_stats(args: argparse.Namespace) -> int:
    from streamwatch.core.stats import StatsError, check_grouping, count, parse_since, render_stats

    try:
        by = check_grouping(args.by)
        since = None if args.since is None else parse_since(args.since)
    except StatsError as exc:
        raise UsageError(str(exc)) from None
    stats = count(_listed(args), by, since)
    if args.json:
        print(json.dumps(stats.to_dict(), ensure_ascii=True))
    else:
        print(render_stats(stats, sys.stdout.encoding))
    return EXIT_COMPLETE


def cmd_home(args: argparse.Namespace) -> int:
    """No command: the home screen (saved sessions, a new request), or help when there is no terminal."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        build_parser().print_help()
        return EXIT_BAD_INPUT
    from streamwatch.core.config import ConfigError, load_config
    from streamwatch.tui.launch import AppCrash, Runs, make_app, run
    from streamwatch.tui.screens.home import HomeScreen
    from streamwatch.tui.themes import ThemeError

    try:
        config = load_config()
        threshold = args.stall_threshold
        with Runs(threshold) as runs, _telemetry(args, screen=True):
            run(make_app(
                lambda app: HomeScreen(threshold, model=config.model, base_url=config.base_url),
                args.theme,
                start_run=runs.start,
                telemetry=args.telemetry,
            ))
    except (ThemeError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    except AppCrash as exc:
        raise InternalError(str(exc)) from None
    return EXIT_COMPLETE


@dataclass(frozen=True)
class GlobalOption:
    """An option `streamwatch --help` shows before the command, defined once here and given to every
    command's parser too, so it means the same on either side of the command's name (after it wins
    when given in both places). A command it means nothing to refuses it in one line, wherever it
    was written (`refuse_unused`), instead of ignoring it."""

    flag: str
    used_by: frozenset[str | None]
    """The commands it may mean something to (None: no command, the home screen)."""
    refused: str
    """Why the others refuse it, after "--flag means nothing to `streamwatch X`: "."""
    settings: dict[str, Any]
    ignored_with: tuple[str, ...] = ()
    """The options (`--headless`) of those commands that leave it meaning nothing to that invocation."""

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


_SENDERS = frozenset({None, "run", "demo", "replay", "attach", "proxy", "export"})
"""The commands that send or record streams, which --otlp exports: the home screen's runs and a replay's
retries and resumes too."""
GLOBAL_OPTIONS = (
    GlobalOption(
        "--theme", frozenset({None, "run", "demo", "replay", "attach", "proxy"}), "it opens no screen",
        {"metavar": "NAME", "help": "dark, light, high-contrast, ansi, or one of yours"},
        ignored_with=("--headless", "--json"),
    ),
    GlobalOption(
        "--otlp", _SENDERS, "it sends no stream",
        {"metavar": "URL", "help": "send each stream streamwatch sends or records (run, demo, proxy, the home screen's "
         "runs, a retry or resume pressed in a replay; export --format otlp: the sessions) as OpenTelemetry spans to "
         "this OTLP/HTTP collector (e.g. http://127.0.0.1:4318; /v1/traces is added); default: "
         "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT. Needs pip install 'streamwatch[otel]'"},
    ),
    GlobalOption(
        "--otel-content", _SENDERS, "it sends no stream",
        {"action": "store_true", "default": None,
         "help": "put the prompt and the answer in the spans too (gen_ai.input.messages, gen_ai.output.messages); "
         "by default no text of either is sent"},
    ),
    GlobalOption(
        "--stall-threshold",
        frozenset({None, "run", "demo", "replay", "attach", "analyze", "export", "sessions", "stats", "proxy"}),
        "it diagnoses no stream",
        {
            "type": _threshold, "metavar": "S",
            "help": f"silence that counts as a stall, in seconds (default: the config's, else {DEFAULT_STALL_THRESHOLD:g}; "
            f"analyze and export: {DEFAULT_STALL_THRESHOLD:g}, so a file's verdict is the same on every machine)",
        },
    ),
)


def _add_global_options(parser: argparse.ArgumentParser, commands: dict[str, argparse.ArgumentParser]) -> None:
    """Each global option on the top-level parser (default None) and on every command's parser, where
    it is shown in --help only if the command uses it, and is set only when given (SUPPRESS), so a
    value given before the command's name is not overwritten by the command's parser."""
    for option in GLOBAL_OPTIONS:
        parser.add_argument(option.flag, **option.settings)
        for name, command in commands.items():
            settings = {**option.settings, "default": argparse.SUPPRESS}
            if name not in option.used_by:
                settings["help"] = argparse.SUPPRESS
            command.add_argument(option.flag, **settings)


def refuse_unused(args: argparse.Namespace) -> None:
    """A global option given to a command it means nothing to, or with an option that leaves it meaning
    nothing there (`run --headless --theme ansi`): one line (UsageError), not ignored."""
    for option in GLOBAL_OPTIONS:
        if getattr(args, option.dest, None) is None:
            continue
        if args.command in option.used_by:
            invocation = next((f"{args.command} {flag}" for flag in option.ignored_with
                               if getattr(args, flag.removeprefix("--").replace("-", "_"), False)), None)
        else:
            invocation = args.command
        if invocation is not None:
            raise UsageError(f"{option.flag} means nothing to `streamwatch {invocation}`: {option.refused}")


def _add_session_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "session", metavar="SESSION",
        help="a session file, `latest`, or a unique part of a saved session's name (e.g. its id)",
    )


def _add_time_scale(command: argparse.ArgumentParser, help: str) -> None:
    command.add_argument("--time-scale", type=_time_scale, default=1.0, metavar="X", help=help)


def _output(name: str) -> Path | None:
    """`-o FILE`: a path; `-` is stdout, as for any command line tool."""
    return None if name == "-" else Path(name)


def _add_live_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--headless", action="store_true",
        help="print one line per event and the report instead of opening the run screen",
    )
    command.add_argument(
        "--json", action="store_true",
        help="print only the verdict, as one JSON object (with --on-failure: the stitched text, "
        "seams, why recovery stopped, and every attempt's verdict)",
    )
    command.add_argument("--model", metavar="M", help="the model (default: the request file's, else claude-sonnet-4-6)")
    command.add_argument("--max-tokens", type=_positive_int, metavar="N", help="max_tokens (default 1024)")
    prompt = command.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", metavar="TEXT", help="the user message (default: a built-in question)")
    prompt.add_argument(
        "--request", type=Path, metavar="FILE.json",
        help="a Messages API request body (model, messages, tools, thinking, system, ...)",
    )
    command.add_argument("--system", metavar="TEXT", help="the system prompt")
    command.add_argument(
        "--timeout", type=_timeout, metavar="S", help="the SDK's read timeout, in seconds (default 600)"
    )
    command.add_argument("--no-save", action="store_true", help="do not save the session file")
    command.add_argument(
        "--fail-always", action="store_true",
        help="with a scenario: fail every attempt (by default a retry or resume of the same conversation succeeds)",
    )
    command.add_argument(
        "--on-failure", choices=("none", "retry", "resume"), default="none",
        help="when the answer breaks: nothing (default), send the request again, or continue the partial answer; "
        "never after a complete tool call, which your app may already have run",
    )
    command.add_argument(
        "--max-attempts", type=_positive_int, metavar="N",
        help="attempts in all, the first included (default 3 with --on-failure, else 1)",
    )
    command.add_argument(
        "--resume-strategy", choices=("auto", "prefill", "user-turn"),
        help="how --on-failure resume continues: the partial answer as prefill (Claude 4.5 and earlier), or "
        "after a user turn asking to continue; auto (default) picks by model and falls back on a prefill refusal",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="streamwatch", description="See, reproduce and recover broken Anthropic Messages API streams."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    analyze_cmd = commands.add_parser(
        "analyze", help="diagnose a saved session or a raw SSE capture (exit 0 complete, 1 abnormal, 2 bad input)"
    )
    analyze_cmd.add_argument("path", metavar="PATH", help="a session file, or a capture from curl -N / curl -i -N")
    analyze_cmd.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    analyze_cmd.add_argument(
        "--curl-exit", type=_exit_status, metavar="N",
        help="for a capture: the exit status of the curl that made it, which says how its connection ended "
        "(0 a clean close, 18 or 56 a cut, 23 or 28 curl stopped first); without it both outcomes are given",
    )
    analyze_cmd.set_defaults(func=cmd_analyze)

    run_cmd = commands.add_parser(
        "run",
        help="send one request through the official SDK and watch it stream (exit 0 complete, 1 abnormal)",
        description="Send one Messages request through the official Python SDK (your ANTHROPIC_API_KEY, "
        "ANTHROPIC_BASE_URL, headers; no retries) and watch every event arrive. The session is saved.",
    )
    _add_live_options(run_cmd)
    run_cmd.add_argument("--base-url", metavar="URL", help="where to send it (default: ANTHROPIC_BASE_URL, else the API)")
    run_cmd.add_argument(
        "--scenario", metavar="NAME",
        help="ask a streamwatch mock for this scenario; without --base-url, runs against the built-in mock",
    )
    _add_time_scale(run_cmd, "pace of the built-in mock with --scenario (default 1: real time)")
    run_cmd.set_defaults(func=cmd_run)

    demo_cmd = commands.add_parser(
        "demo",
        help="watch a stream from the built-in mock server (no API key needed)",
        description="Start the built-in mock server on a free loopback port and watch a request stream from "
        "it. With no scenario: a normal stream, then a stream that ends early without any error.",
    )
    demo_cmd.add_argument(
        "scenario", nargs="?", metavar="SCENARIO", help="a mock scenario (ok, stall, drop_eof, drop_abrupt, ...)"
    )
    _add_live_options(demo_cmd)
    _add_time_scale(demo_cmd, "pace of the mock (default 1: real time; 0.1: ten times faster)")
    demo_cmd.set_defaults(func=cmd_demo)

    mock_cmd = commands.add_parser(
        "mock",
        help="serve the mock Messages API in the foreground",
        description="Serve the mock Anthropic Messages API. Pick a scenario per request with the "
        "x-streamwatch-scenario header or the model mock-<scenario>.",
    )
    mock_cmd.add_argument(
        "--host", default="127.0.0.1",
        help="address or name to listen on (default 127.0.0.1; ::1 for IPv6; 0.0.0.0 or :: lets other machines in)",
    )
    mock_cmd.add_argument("--port", type=_port, metavar="N", help="port to listen on (default: the mock's standard port)")
    _add_time_scale(mock_cmd, "multiply every delay (0.1: ten times faster; default 1)")
    mock_cmd.add_argument(
        "--require-key", action="store_true",
        help="answer a request without x-api-key or authorization: Bearer with the API's 401, and then one "
        "without anthropic-version with its 400 (default: any request is served)",
    )
    mock_cmd.set_defaults(func=cmd_mock)

    proxy_cmd = commands.add_parser(
        "proxy",
        help="put a recording proxy between your app and the API: watch and record its real streams",
        description="Forward every request an app sends (point its ANTHROPIC_BASE_URL here) to the API untouched, "
        "streaming each answer back the moment it arrives, and record each exchange as a session (source proxy: "
        "the client, the upstream, the path, request-id; keys are never written). Shows the requests live in the "
        "flows view (enter opens one, f arms a fault), or, with --headless, prints one line per finished "
        "exchange. A cut upstream is a cut for the app, a clean early end stays clean, an unreachable upstream is "
        "a 502.",
    )
    proxy_cmd.add_argument(
        "--listen", default=PROXY_LISTEN, metavar="HOST:PORT",
        help=f"where the app connects (default {PROXY_LISTEN}; port 0 picks a free one). Any address but loopback "
        "lets other machines use the keys that pass through",
    )
    proxy_cmd.add_argument(
        "--upstream", default=PROXY_UPSTREAM, metavar="URL|mock",
        help=f"where requests go (default {PROXY_UPSTREAM}); mock: the built-in mock server, started here",
    )
    proxy_cmd.add_argument(
        "--headless", action="store_true",
        help="print one line per finished exchange instead of the flows view (so does a run without a terminal)"
    )
    proxy_cmd.add_argument(
        "--json", action="store_true",
        help="print one JSON object per finished exchange: the analyze --json verdict with method, path, client, "
        "model and the session file",
    )
    proxy_cmd.add_argument(
        "--fault", action="append", default=[], metavar="SPEC",
        help="break the streams of the requests it picks on purpose, to test your app's handling (repeatable; "
        "each session it hits says `injected`): cut:events=N, cut:bytes=N (then the connection is cut), "
        "end:events=N, end:tool_use (a clean early end), error:TYPE[,events=N] (an error event, e.g. "
        "overloaded_error), stall:S[,pings[=P]][,events=N], status:CODE[,retry-after=S] (e.g. 529, 429; upstream "
        "not contacted), buffer; then selectors @every (default), @nth=N, @fraction=F[,seed=N], @model=GLOB, "
        "@path=GLOB. E.g. cut:events=40@model=claude-sonnet-*@nth=2",
    )
    proxy_cmd.set_defaults(func=cmd_proxy)

    replay_cmd = commands.add_parser(
        "replay",
        help="replay a saved session with its original timing",
        description="Replay a saved session in the run screen, at its recorded pace: space play/pause, "
        "+/- speed, . step one event, < > start/end, n next anomaly.",
    )
    _add_session_argument(replay_cmd)
    replay_cmd.add_argument(
        "--speed", type=_speed, default=1.0, metavar="X", help="0.5 to 10, or max (default 1)"
    )
    replay_cmd.set_defaults(func=cmd_replay)

    attach_cmd = commands.add_parser(
        "attach",
        help="follow a session another streamwatch is recording, read-only (pair debugging)",
        description="Follow a session file that another streamwatch process is writing, live and read-only, "
        "then stay on it as a replay when its stream ends.",
    )
    _add_session_argument(attach_cmd)
    attach_cmd.set_defaults(func=cmd_attach)

    export_cmd = commands.add_parser(
        "export",
        help="write a saved session as jsonl, sse, curl, har or a Markdown support report, or send saved "
        "sessions to an OpenTelemetry collector (otlp)",
        description="Write a saved session in another format, to stdout or a new file (-o, made 0600, never over a "
        "file or through a link). jsonl: the session file itself. sse: the response body as the client read it "
        "(analyze reads it back). curl: a command that sends the request again, the key from $ANTHROPIC_API_KEY. "
        "har: HTTP Archive 1.2, one entry per attempt. report: a Markdown support report for a ticket. "
        "sse, curl and report are about one attempt: the last, or --attempt N. otlp: the sessions as OpenTelemetry "
        "spans, sent to --otlp URL (needs pip install 'streamwatch[otel]').",
    )
    export_cmd.add_argument(
        "session", metavar="SESSION", nargs="+",
        help="a session file, `latest`, or a unique part of a saved session's name (e.g. its id); several for otlp",
    )
    export_cmd.add_argument(
        "--format", required=True, choices=(*FORMATS, "otlp"), metavar="FORMAT",
        help="; ".join(f"{name}: {format.about}" for name, format in FORMATS.items())
        + "; otlp: every attempt as OpenTelemetry spans, sent to --otlp URL (a backfill)",
    )
    export_cmd.add_argument("-o", "--output", type=_output, metavar="FILE",
                            help="a new file to write (default, or -: stdout)")
    export_cmd.add_argument(
        "--attempt", type=_positive_int, metavar="N", help="for sse, curl and report: which attempt (default: the last)"
    )
    export_cmd.set_defaults(func=cmd_export)

    sessions_cmd = commands.add_parser(
        "sessions", help="list saved sessions, newest first", description="List saved sessions, newest first."
    )
    sessions_cmd.add_argument("--json", action="store_true", help="print the list as one JSON array")
    sessions_cmd.set_defaults(func=cmd_sessions)

    stats_cmd = commands.add_parser(
        "stats", help="how saved sessions ended, stalled and retried, per group",
        description="How the saved sessions' streams ended, stalled, and what retries and resumes paid again, "
                    "per group (the README's `streamwatch stats` section defines each column).",
    )
    stats_cmd.add_argument("--by", metavar="WHAT", help="one row per sdk, model, source, client, upstream or day")
    stats_cmd.add_argument("--since", metavar="DATE", help="only sessions started from this date (2026-11-22, UTC) "
                                                          "or time (2026-11-22T09:30)")
    stats_cmd.add_argument("--json", action="store_true", help="print the stats as one JSON object")
    stats_cmd.set_defaults(func=cmd_stats)

    _add_global_options(parser, commands.choices)
    parser.set_defaults(func=cmd_home)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    streams = sys.stdout, sys.stderr
    guards = [None if stream is None else SafeWriter(stream) for stream in streams]
    sys.stdout, sys.stderr = guards
    try:
        status = _command(argv)
        if guards[0] is not None:
            guards[0].flush()  # a reader gone is found here, not by the interpreter's last flush
    except BrokenPipeError:
        if not any(guard is not None and guard.broken for guard in guards):
            raise
        status = EXIT_OUTPUT_CLOSED
    finally:
        sys.stdout, sys.stderr = streams
    broken = [guard.stream for guard in guards if guard is not None and guard.broken]
    for stream in broken:
        _discard(stream)
    return EXIT_OUTPUT_CLOSED if broken else status


def _command(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        refuse_unused(args)
        if args.func in (cmd_analyze, cmd_export):
            args.stall_threshold = args.stall_threshold or DEFAULT_STALL_THRESHOLD
        else:
            _apply_config(args)
        return args.func(args)
    except UsageError as exc:
        print(f"streamwatch: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InternalError as exc:
        print(f"streamwatch: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except Exception as exc:  # a bug: one line, never a traceback (which may hold what it was reading)
        what = Redactor().message(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        print(f"streamwatch: error: internal error: {one_line(what)[:200]} (a bug in streamwatch)", file=sys.stderr)
        return EXIT_INTERNAL


def _discard(stream: Any) -> None:
    """Point a stream whose reader went away at /dev/null, so that Python's flush at exit, which
    would find the same closed pipe, has nothing to complain about."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


if __name__ == "__main__":
    sys.exit(main())
