"""The streamwatch command line: one function per subcommand, the work itself is in the core."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from streamwatch.core.diagnose import DEFAULT_STALL_THRESHOLD
from streamwatch.core.recording import SessionError
from streamwatch.core.report import printable, render_report
from streamwatch.core.sources import analyze, is_stream, load_input

EXIT_COMPLETE, EXIT_ABNORMAL, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _threshold(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return seconds


def cmd_analyze(args: argparse.Namespace) -> int:
    try:
        session = load_input(Path(args.path))
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    for skipped in session.skipped:
        print(f"streamwatch: warning: {printable(skipped)}", file=sys.stderr)
    state = analyze(session.latest, args.stall_threshold)
    if not is_stream(session, state):
        raise UsageError(f"{args.path} holds neither an SSE event nor an HTTP error response")
    verdict = state.verdict(session=str(session.path) if session.path else None)
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=True))
    else:
        print(render_report(state, verdict, str(session.path or args.path)))
    return EXIT_COMPLETE if verdict.complete else EXIT_ABNORMAL


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
        "--stall-threshold", type=_threshold, default=DEFAULT_STALL_THRESHOLD, metavar="S",
        help=f"silence that counts as a stall, in seconds (default {DEFAULT_STALL_THRESHOLD:g})",
    )
    analyze_cmd.set_defaults(func=cmd_analyze)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"streamwatch: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
