"""The run screen's panes: status line, text, thinking, tool input JSON and verdict.

Each pane reads the state the core computed; text panes append only what is new since the last
frame, and everything untrusted is shown through `Text`/plain strings, never markup.
"""

from __future__ import annotations

import bisect
import itertools
import re

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from streamwatch.core.accumulate import Pieces
from streamwatch.core.diagnose import StreamState
from streamwatch.core.events import TOOL_BLOCK_TYPES, BlockType
from streamwatch.core.recovery import Wait
from streamwatch.core.report import ToolInput, live_status, tool_summary
from streamwatch.core.safe import one_line, printable
from streamwatch.tui.widgets.fit import TITLE_FRAME, fitted

TOOL_TAIL_CHARS = 3000
DIED_HERE = "⟂ the stream died here"
BROKE_HERE = "⟂ the JSON breaks off here"


class StatusLine(Static):
    """Always says where the stream stands: WAITING, STREAMING, STALLED n s, COMPLETE, ABNORMAL.

    The line is pieces joined by ` · `; when they do not fit, the least important go first (`fit`):
    the verdict word stays, then the screen's own (DEMO, REPLAY, ATTACHED), then where it died, then
    the counts."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[str, str, int] = ("", "", 0)
        self._line: tuple[str, str, str] = ("", "", "")

    def show_status(self, state: StreamState, now: float, prefix: str) -> str:
        kind, words = live_status(state, now)
        self._show(f"status-{kind}", prefix, words)
        return kind

    def show_wait(self, wait: Wait, prefix: str) -> None:
        """A countdown before the next attempt, which the user can skip or cancel."""
        before = f"WAITING {wait.left:.1f} s before attempt {wait.before}"
        self._show("status-stalled", prefix, f"{before}: {wait.why} · s skip · x cancel")

    def show_sending(self, number: int, prefix: str) -> None:
        """The next attempt is on its way: the previous one's end is no longer the news."""
        self._show("status-waiting", prefix, f"SENDING attempt {number} · x cancel")

    def _show(self, kind: str, prefix: str, words: str) -> None:
        """`words` may hold a session file's own header (attach) or a server's: shown escaped.
        Called every frame: an unchanged line costs nothing, a changed one repaints one row."""
        self._line = (kind, one_line(prefix), one_line(words))
        self._paint()

    def on_resize(self) -> None:
        self._paint()

    def _paint(self) -> None:
        kind, prefix, words = self._line
        width = self.size.width - 1
        if (kind, prefix + words, width) == self._shown:
            return
        self._shown = (kind, prefix + words, width)
        before = [piece for piece in prefix.split(" · ") if piece]
        after = words.split(" · ")
        pieces = [(after[0], 0), *[(piece, 1 if n == 0 else 2) for n, piece in enumerate(before)]]
        pieces += [(piece, 2 if n == 0 else 2 + n) for n, piece in enumerate(after[1:])]
        order = [*range(1, len(before) + 1), 0, *range(len(before) + 1, len(pieces))]
        shown = [pieces[n] for n in order]
        line = fitted(shown, width) if width > 0 else " · ".join(text for text, _ in shown)
        self.set_classes(kind)
        self.update(Text(" " + line, no_wrap=True, overflow="ellipsis"), layout=False)


class FittedLine(Static):
    """One row of pieces joined by ` · ` that fits its width (`fitted`): when it does not, the least
    important pieces go first, laid out again at every resize. Pieces are (text, priority), 0 the most
    important; their text is shown as it is (make it `one_line` first)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._pieces: list[tuple[str, int]] = []
        self._shown: tuple[object, ...] = ()

    def show(self, pieces: list[tuple[str, int]]) -> None:
        self._pieces = pieces
        self._paint()

    def on_resize(self) -> None:
        self._paint()

    def _paint(self) -> None:
        width = self.content_size.width
        if (self._pieces, width) == self._shown:
            return
        self._shown = (self._pieces, width)
        line = fitted(self._pieces, width) if width > 0 else " · ".join(text for text, _ in self._pieces)
        self.update(Text(line, no_wrap=True, overflow="ellipsis"), layout=False)


class HeadLine(FittedLine):
    """What was asked of whom, and what the response head said (the core's `request_target` and
    `head_facts`): `claude-sonnet-4-6 → mock · HTTP 200 · req_01… · retry-after 7 · requests 49/50`.
    When it does not fit, the rate limits go first, then retry-after; the request-id is shortened last."""

    def show_head(self, model: str, target: str, facts: list[tuple[str, str, str]], ended: bool = False) -> None:
        """`ended`: the attempt is over (no head will come)."""
        asked = " → ".join(part for part in (model or "?", target) if part)
        pieces = [(asked, 0)]
        if not facts:
            pieces.append(("no response head" if ended else "waiting for the response head", 1))
        for n, (name, _, short) in enumerate(facts):
            if short:
                pieces.append((short, 0 if name == "HTTP" else 1 if n == 1 else 2 + n))
        self.show(pieces)


def text_pieces(state: StreamState, kind: str) -> list[tuple[int, Pieces]]:
    if kind == BlockType.THINKING:
        return [(b.index, b.thinking) for b in state.blocks.values() if b.type == BlockType.THINKING]
    return [(b.index, b.pieces) for b in state.blocks.values() if b.type == BlockType.TEXT]


class ToolPane(VerticalScroll):
    """Per tool block: its name, bytes so far, valid-so-far or broken, and the input's tail: `pretty`
    (the valid prefix laid out, strings as their text, the point where the JSON broke off marked) or
    raw (as it streamed). `search` marks a text's matches (any case) and `step_match` scrolls to the
    next or previous one, as the text pane does."""

    MATCH = Style(reverse=True)
    CURRENT = Style(reverse=True, bold=True, underline=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pretty = True
        self.query = ""
        self.matches: list[tuple[int, int]] = []
        """(block index, offset in its shown text) of each match, in order."""
        self.current = -1
        self._shown: dict[int, tuple[int, bool, bool]] = {}
        self._inputs: dict[int, ToolInput] = {}
        self._bodies: dict[int, Text] = {}
        self._views: dict[int, Static] = {}
        self._title = ""

    def on_resize(self) -> None:
        self._fit_title()

    def _fit_title(self) -> None:
        """`Tool input · tool_use write_file · 2.3 KB · valid so far · streaming`, what fits of it: the
        block (and `raw JSON` when `p` shows it raw), where it stands, its size, then the rest."""
        mode = [] if self.pretty else [("raw JSON", 0)]
        if not self._title:
            self.border_title = " · ".join(["Tool input", *[text for text, _ in mode]])
            return
        what, *facts = self._title.split(" · ")
        ranks = {0: 2, 1: 3, 2: 1}
        pieces = [("Tool input", 4), *mode, (what, 0), *[(fact, ranks.get(n, 3)) for n, fact in enumerate(facts)]]
        width = self.outer_size.width - TITLE_FRAME
        self.border_title = Text(fitted(pieces, width) if width > 0 else " · ".join(text for text, _ in pieces))

    def reset(self) -> None:
        """Empty for another stream. The old views go on their own time: a view of the new stream's
        block of the same index may be mounted before they have, so the views have no ids."""
        self._shown.clear()
        self._inputs.clear()
        self._bodies.clear()
        self._views.clear()
        self.matches, self.current = [], -1
        self.remove_children()

    def toggle_pretty(self) -> None:
        self.pretty = not self.pretty
        self._shown.clear()
        self.matches, self.current = [], -1

    def update_state(self, state: StreamState) -> None:
        ended = state.ended is not None
        changed = False
        for block in state.blocks.values():
            if block.type not in TOOL_BLOCK_TYPES:
                continue
            key = (block.chars, block.complete, ended)
            if self._shown.get(block.index) == key:
                continue
            self._shown[block.index] = key
            tool_input = self._inputs.setdefault(block.index, ToolInput(TOOL_TAIL_CHARS))
            tool_input.take(block)
            summary = tool_summary(block, ended)
            self._title = summary
            self._fit_title()
            body = Text.assemble((summary + "\n", "bold"))
            tail, hidden = tool_input.shown(self.pretty)
            if hidden:
                body.append(f"… {hidden} characters earlier …\n", style="dim")
            body.append(printable(tail))
            if self.pretty and tool_input.broken is not None:
                body.append(f"\n{BROKE_HERE}: {one_line(tool_input.broken)}", style="reverse")
            if ended and not block.complete:
                body.append(f"\n{DIED_HERE}", style="reverse")
            self._bodies[block.index] = body
            changed = True
        if changed:
            self._find()
            self._paint()
            if self.current < 0:
                self.call_after_refresh(self.scroll_end, animate=False)
        self.display = bool(self._shown)

    def _paint(self) -> None:
        """Each block's view shows its body with the matches marked."""
        size = len(self.query)
        for index, body in self._bodies.items():
            shown = body.copy()
            for number, (block, at) in enumerate(self.matches):
                if block == index:
                    shown.stylize(self.CURRENT if number == self.current else self.MATCH, at, at + size)
            view = self._views.get(index)
            if view is None:
                self._views[index] = view = Static(shown, classes="tool-block")
                self.mount(view)
            else:
                view.update(shown)

    def search(self, query: str) -> int:
        self.query = query
        self.current = -1
        self._find()
        self._paint()
        if self.matches:
            self.step_match(1)
        return len(self.matches)

    def step_match(self, direction: int) -> None:
        if not self.matches:
            return
        self.current = (self.current + direction) % len(self.matches)
        self._paint()
        index, at = self.matches[self.current]
        self.call_after_refresh(self._scroll_to_match, index, at)

    def _scroll_to_match(self, index: int, at: int) -> None:
        view = self._views.get(index)
        if view is None:
            return
        lines = self._bodies[index].wrap(self.app.console, max(1, view.size.width))
        ends = list(itertools.accumulate(len(line.plain) + 1 for line in lines))
        top = view.virtual_region.y + min(bisect.bisect_right(ends, at), len(lines) - 1)
        self.scroll_to(y=max(0, top - self.size.height // 2), animate=False)

    def _find(self) -> None:
        self.matches = []
        if self.query:
            pattern = re.compile(re.escape(self.query), re.IGNORECASE)
            for index, body in self._bodies.items():
                self.matches.extend((index, found.start()) for found in pattern.finditer(body.plain))
        self.current = min(self.current, len(self.matches) - 1)


class VerdictPanel(VerticalScroll):
    """The verdict in plain words, the anomalies as they happen, and what the SDK raised.

    On a small screen it may not hold it all: `v` (or `tab`) reaches it and the arrows scroll it,
    and its border says so while it does not hold it all."""

    def compose(self) -> ComposeResult:
        yield Static(id="verdict-text")

    def show_verdict(
        self,
        state: StreamState,
        outcome: str | None,
        session: str | None,
        attempts: list[str] | None = None,
        keys: list[tuple[str, str]] | None = None,
    ) -> None:
        """`keys`: what the screen offers next, as (key, what it does): named after the explanation,
        which says what to do in words."""
        lines: list[Text] = [Text(one_line(line)) for line in attempts or []]
        if state.ended is not None:
            lines.append(Text(one_line(state.verdict().explanation)))
            if keys:
                hints: list[Text | tuple[str, str] | str] = [("Keys: ", "bold")]
                for number, (key, words) in enumerate(keys):
                    hints.extend([" · " if number else "", (key, "bold"), f" {words}"])
                lines.append(Text.assemble(*hints))
        for anomaly in state.anomalies[-4:]:
            at = f"#{anomaly.at_event} " if anomaly.at_event is not None else ""
            lines.append(Text.assemble((f"▲ {anomaly.code} {at}", "bold"), one_line(anomaly.message)))
        if len(state.anomalies) > 4:
            lines.append(Text(f"  … {len(state.anomalies) - 4} more (n / N to visit them)"))
        if outcome:
            lines.append(Text.assemble(("Your code would have seen: ", "bold"), one_line(outcome)))
        if session:
            lines.append(Text.assemble(("Session: ", "bold"), one_line(session)))
        self.query_one("#verdict-text", Static).update(Text("\n").join(lines))
        self.call_after_refresh(self._hint)

    def on_resize(self) -> None:
        self.call_after_refresh(self._hint)

    def _hint(self) -> None:
        self.border_subtitle = "v, then ↑↓ to scroll" if self.max_scroll_y > 0 else ""
