"""Numbers over many saved sessions: how streams end, stall and pay again, per SDK, model, source,
client, upstream or day (`streamwatch stats`).

Everything comes from the session summaries the catalog lists (core/catalog.py, from the session
index): each session's facts were worked out once, from the same states and verdicts `analyze`
gives (core/summary.py), and are only counted here. What is counted:

- A **stream** is a saved session whose file could be read and whose last recording has its end
  record (`recording`: a session still being recorded, its writer running (`recording.recorded_by`),
  and `unfinished`: one whose writer was killed mid-stream, are counted apart, as are `unreadable` files, and `injected` ones: a flow the proxy put a `--fault` on,
  whose failure is not the upstream's, and `not streams`: what a proxy records besides streams, a
  model list, a token count, an answer asked for whole). Sessions are taken by their start time
  (`--since`).
- Its outcome is its last attempt's verdict, as the session list's badge and `analyze` say:
  **complete** when the verdict is complete; otherwise its **termination**, one of
  `TERMINATIONS` (a stream that ended with message_stop but is damaged is neither). A rate is a
  count over the group's streams.
- **stalled**: streams with at least one stall (a silence longer than the stall threshold without
  content) in any of their attempts; **longest stall** the longest of them, in seconds.
- **TTFB**, **TTFT** (seconds from the request to the first byte, to the first content) and
  **output tokens/s** (output tokens over the time from the first content to the last byte) are the
  last attempt's, over the streams that have the value; percentiles are nearest-rank: the p-th of
  n sorted values is the ceil(p/100 * n)-th.
- **retries** and **resumes**: attempts sent as such (core/attempts.py), and what they **re-paid**:
  the input tokens of every retry or resume and the output tokens a retry regenerated
  (`resume.repaid`), and `repaid_bytes`, the body bytes the replaced attempts had received.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from streamwatch.core.diagnose import Termination
from streamwatch.core.safe import one_line
from streamwatch.core.summary import SessionSummary
from streamwatch.core.table import render_table

GROUPINGS = ("sdk", "model", "source", "client", "upstream", "day")
TERMINATIONS = tuple(kind.value for kind in Termination if kind not in (Termination.MESSAGE_STOP, Termination.ANSWERED))
"""Every way a stream ends that is not message_stop, as core/diagnose.py names them (`answered`, an answer
asked for whole, is no stream: it is counted under `not streams`)."""
_SHORT = {"error_event": "ERROR", "transport_error": "TRANSPORT", "http_error": "HTTP", "cancelled": "CANCEL"}
_WIDTH = 40


class StatsError(ValueError):
    """A grouping or a date that stats cannot use (the message is one line, for the user)."""


def check_grouping(by: str | None) -> str | None:
    if by is not None and by not in GROUPINGS:
        raise StatsError(f"cannot group by '{one_line(by)}': choose one of {', '.join(GROUPINGS)}")
    return by


def parse_since(text: str) -> float:
    """Seconds since the epoch of a date (`2026-11-22`, from its start, UTC) or an ISO 8601 time (UTC
    without an offset)."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise StatsError(f"--since '{one_line(text)}' is not a date (2026-11-22) or a time (2026-11-22T09:30)"
                         ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)).timestamp()


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank p-th percentile: the ceil(p/100 * n)-th smallest of the n values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@dataclass
class Group:
    """The counts of one group of streams."""

    key: str | None
    streams: int = 0
    complete: int = 0
    terminations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TERMINATIONS, 0))
    stalled: int = 0
    longest_stall: float | None = None
    ttfb: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)
    output_tps: list[float] = field(default_factory=list)
    retries: int = 0
    resumes: int = 0
    repaid_input_tokens: int = 0
    repaid_output_tokens: int = 0
    repaid_bytes: int = 0

    def add(self, summary: SessionSummary) -> None:
        facts = summary.facts
        assert facts is not None
        self.streams += 1
        self.complete += bool(summary.complete)
        if not summary.complete and summary.termination in self.terminations:
            self.terminations[summary.termination] += 1
        if facts.stalls:
            self.stalled += 1
            self.longest_stall = max(self.longest_stall or 0.0, facts.longest_stall or 0.0)
        for values, value in ((self.ttfb, facts.ttfb), (self.ttft, facts.ttft), (self.output_tps, facts.output_tps)):
            if value is not None:
                values.append(value)
        self.retries += facts.retries
        self.resumes += facts.resumes
        self.repaid_input_tokens += facts.repaid_input_tokens
        self.repaid_output_tokens += facts.repaid_output_tokens
        self.repaid_bytes += facts.repaid_bytes

    def rate(self, count: int) -> float:
        return count / self.streams if self.streams else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.key,
            "streams": self.streams,
            "complete": self.complete,
            "complete_rate": self.rate(self.complete),
            "terminations": dict(self.terminations),
            "termination_rates": {kind: self.rate(count) for kind, count in self.terminations.items()},
            "stalled": self.stalled,
            "stall_rate": self.rate(self.stalled),
            "longest_stall": self.longest_stall,
            "ttfb_p50": percentile(self.ttfb, 50),
            "ttfb_p95": percentile(self.ttfb, 95),
            "ttft_p50": percentile(self.ttft, 50),
            "ttft_p95": percentile(self.ttft, 95),
            "output_tps_p50": percentile(self.output_tps, 50),
            "retries": self.retries,
            "resumes": self.resumes,
            "repaid_input_tokens": self.repaid_input_tokens,
            "repaid_output_tokens": self.repaid_output_tokens,
            "repaid_bytes": self.repaid_bytes,
        }


@dataclass
class Stats:
    by: str | None
    since: float | None
    groups: list[Group]
    total: Group
    unfinished: int
    unreadable: int
    injected: int
    not_streams: int
    recording: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `streamwatch stats --json`."""
        since = None if self.since is None else datetime.datetime.fromtimestamp(self.since, datetime.UTC).isoformat()
        return {
            "by": self.by,
            "since": since,
            "groups": [group.to_dict() for group in self.groups],
            "total": self.total.to_dict(),
            "unfinished": self.unfinished,
            "unreadable": self.unreadable,
            "injected": self.injected,
            "not_streams": self.not_streams,
            "recording": self.recording,
        }


def group_key(by: str) -> Callable[[SessionSummary], str | None]:
    """What a session is grouped by (None: not known)."""
    if by == "day":
        return lambda s: datetime.datetime.fromtimestamp(s.sort_time, datetime.UTC).date().isoformat()
    if by in ("sdk", "upstream"):
        return lambda s: getattr(s.facts, by)
    return lambda s: getattr(s, by)


def _streams(summaries: Iterable[SessionSummary], since: float | None, left: list[int] | None = None
             ) -> Iterator[SessionSummary]:
    """The sessions counted as streams, started since `since`; `left` gets how many were unfinished,
    unreadable, injected, not streams and still being recorded."""
    for summary in summaries:
        if since is not None and summary.sort_time < since:
            continue
        if summary.facts is None or not summary.facts.ended:
            if left is not None:
                left[4 if summary.recording is not None else summary.facts is None] += 1
            continue
        if summary.fault is not None or not summary.facts.stream:
            if left is not None:
                left[2 if summary.facts.stream else 3] += 1
            continue
        yield summary


def count(summaries: Iterable[SessionSummary], by: str | None = None, since: float | None = None) -> Stats:
    """The stats of the sessions started since `since` (seconds since the epoch), per group of `by`."""
    key = group_key(check_grouping(by)) if by is not None else None
    total, groups = Group(None), {}
    left = [0, 0, 0, 0, 0]
    for summary in _streams(summaries, since, left):
        total.add(summary)
        if key is not None:
            name = key(summary)
            group = groups.get(name)
            if group is None:
                group = groups[name] = Group(name)
            group.add(summary)
    if by == "day":
        ordered = sorted(groups.values(), key=lambda g: g.key or "")
    else:
        ordered = sorted(groups.values(), key=lambda g: (-g.streams, g.key is None, g.key or ""))
    return Stats(by, since, ordered, total, *left)


COUNTED = ("complete", *TERMINATIONS, "stalled")
"""The columns that count streams of a kind: the sessions behind such a cell are those it counted."""


def counted_in(summary: SessionSummary, column: str | None) -> bool:
    """Whether a stream is one that `column` (one of `COUNTED`; None or any other: every stream) counted."""
    if column == "complete":
        return bool(summary.complete)
    if column in TERMINATIONS:
        return not summary.complete and summary.termination == column
    if column == "stalled":
        return bool(summary.facts and summary.facts.stalls)
    return True


def members(summaries: Iterable[SessionSummary], by: str | None, key: str | None, column: str | None = None,
            since: float | None = None, everything: bool = False) -> list[SessionSummary]:
    """The streams behind one cell of the table: those of the group `key` (of `by`; every group when
    `everything`, the total's row) that `column` counted, in the order given."""
    of_group = None if everything or by is None else group_key(check_grouping(by))
    return [summary for summary in _streams(summaries, since)
            if (of_group is None or of_group(summary) == key) and counted_in(summary, column)]


def trend(summaries: Iterable[SessionSummary], by: str | None, since: float | None = None, days: int = 14
          ) -> tuple[list[str], dict[str | None, list[float | None]]]:
    """The last `days` days that have a stream, and per group (None: the total) the share of each day's
    streams that did not complete (None for a day without one): how the failure rate moves over time."""
    of_group = group_key(check_grouping(by)) if by is not None else None
    of_day = group_key("day")
    tally: dict[str | None, dict[str, list[int]]] = {}
    for summary in _streams(summaries, since):
        day = str(of_day(summary))
        for name in {None, None if of_group is None else of_group(summary)}:
            counts = tally.setdefault(name, {}).setdefault(day, [0, 0])
            counts[0] += not summary.complete
            counts[1] += 1
    shown = sorted({day for per_day in tally.values() for day in per_day})[-days:]
    return shown, {
        name: [None if day not in per_day else per_day[day][0] / per_day[day][1] for day in shown]
        for name, per_day in tally.items()
    }


def render_stats(stats: Stats, encoding: str = "utf-8") -> str:
    """A plain-text table: a row per group (and the total), the columns the module doc defines, padded
    as a stream in `encoding` shows them (core/table.py)."""
    if not stats.total.streams and not any(
            (stats.unfinished, stats.unreadable, stats.injected, stats.not_streams, stats.recording)):
        return "no saved sessions" + ("" if stats.since is None else " since then")
    head = head_cells(stats.by)
    rows = [row_cells(group, "(none)" if group.key is None else group.key) for group in stats.groups]
    rows.append(row_cells(stats.total, "all"))
    lines = render_table([head, *rows], right=range(1, len(head)), encoding=encoding)
    left = [f"{n} {what}" for n, what in ((stats.recording, "still being recorded"),
                                           (stats.unfinished, "unfinished (no end record, its writer gone)"),
                                           (stats.unreadable, "unreadable"),
                                           (stats.injected, "injected by the proxy's --fault"),
                                           (stats.not_streams, "not streams (model lists, token counts, whole answers)")) if n]
    if left:
        lines.append("not counted: " + ", ".join(left))
    return "\n".join(lines)


def head_cells(by: str | None) -> tuple[str, ...]:
    """The table's column titles; `COLUMN_COUNTS` says what each counts."""
    return ("GROUP" if by is None else by.upper(), "STREAMS", "COMPLETE",
            *(_SHORT.get(kind, kind.upper()) for kind in TERMINATIONS), "STALLED", "MAX STALL",
            "TTFB p50/p95", "TTFT p50/p95", "TOK/S p50", "RETRIES", "RESUMES", "REPAID TOK")


COLUMN_COUNTS: tuple[str | None, ...] = (None, None, *COUNTED, *(None,) * 7)
"""For each column of the table, the kind of stream it counts (`COUNTED`), or None: it is about every stream."""


def row_cells(group: Group, name: str) -> tuple[str, ...]:
    text = one_line(name)
    return (
        text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…",
        str(group.streams),
        _percent(group, group.complete),
        *(_percent(group, group.terminations[kind]) for kind in TERMINATIONS),
        _percent(group, group.stalled),
        "-" if group.longest_stall is None else f"{group.longest_stall:.1f}s",
        _pair(group.ttfb),
        _pair(group.ttft),
        _number(percentile(group.output_tps, 50)),
        str(group.retries),
        str(group.resumes),
        str(group.repaid_input_tokens + group.repaid_output_tokens),
    )


def _percent(group: Group, count: int) -> str:
    return f"{100 * group.rate(count):.1f}%"


def _pair(values: list[float]) -> str:
    low, high = percentile(values, 50), percentile(values, 95)
    return "-" if low is None or high is None else f"{low:.2f}/{high:.2f}s"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
