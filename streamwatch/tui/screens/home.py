"""The home screen: saved sessions newest first, and a form for a new request.

The list comes from the core's `Catalog` in a worker thread that only posts a message; the screen's
handlers own the table. `enter` replays the highlighted session (follows it live, as `attach` does,
while it is still being recorded); `n` opens the request form, which checks what was typed and posts
`HomeScreen.RunRequested` for the app to run. Untrusted text (model names, file names, stop reasons,
error messages) is shown as `Text` through `one_line`; notifications are made inert by the app (`StreamwatchApp.notify`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Input, Label, Select, Static, TextArea
from textual.worker import get_current_worker

from streamwatch.core.catalog import Cancelled, Catalog, SessionSummary, newest_first, skipped_text
from streamwatch.core.config import EMBEDDED, check_base_url
from streamwatch.core.diagnose import DEFAULT_STALL_THRESHOLD
from streamwatch.core.files import read_regular
from streamwatch.core.live import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, DEFAULT_PROMPT
from streamwatch.core.recording import SessionError
from streamwatch.core.safe import one_line
from streamwatch.mock.scenarios import DEFAULT_SCENARIO, SCENARIOS
from streamwatch.tui.launch import replay_or_attach
from streamwatch.tui.screens.run import RunScreen
from streamwatch.tui.widgets.keys import KeyLine
from streamwatch.tui.widgets.sessiontable import SessionRow, SessionTable, session_rows

KEY_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
MIN_THINKING_BUDGET = 1024
DRAWN_WAIT = 1.0
"""Seconds the session list's worker waits at most for the screen to draw (its first frame, before
the worker reads; a long list's newest rows, before it makes the others)."""
FIRST_ROWS = 200
"""A list longer than this comes in two messages: these newest rows as soon as they are made, then all."""
PROGRESS_SECONDS = 0.2
ROWS_SECONDS = 1.0
"""While session files are read (no index yet: a first start), the status line's count of them moves on
every `PROGRESS_SECONDS`, and the list shown grows every `ROWS_SECONDS`: each new list lays the
screen out again, which the reading thread waits for (the interpreter's lock)."""


class FormError(Exception):
    """What is wrong with the request form (one line), and the id of the field to fix."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def shown_path(path: Path) -> str:
    """A path for the screen: under the home folder as `~/...`, terminal-safe, on one line."""
    try:
        text = f"~/{path.relative_to(Path.home())}"
    except (ValueError, RuntimeError):
        text = str(path)
    return one_line(text)


def has_api_key() -> bool:
    return any(os.environ.get(name) for name in KEY_VARIABLES)


def target_of(base_url: str, has_key: bool) -> str:
    """`embedded` (the built-in mock), `api` (the SDK's default target) or `url`, from the base URL field."""
    value = base_url.strip()
    if value == EMBEDDED or (not value and not has_key):
        return "embedded"
    return "api" if not value else "url"


def build_request(
    *,
    model: str,
    max_tokens: str,
    system: str,
    prompt: str,
    tools_file: str,
    thinking_budget: str,
    base_url: str,
    scenario: str | None,
    has_key: bool,
) -> tuple[dict[str, Any], str | None, str | None]:
    """The request body, base URL and scenario the form describes; FormError for the first bad field."""
    model = model.strip()
    if not model or any(c.isspace() for c in model):
        raise FormError("model: give a model name (no spaces)", "form-model")
    tokens = _whole_number(max_tokens, "max tokens", "form-max-tokens", minimum=1)
    if not prompt.strip():
        raise FormError("prompt: write the user message to send", "form-prompt")
    body: dict[str, Any] = {"model": model, "max_tokens": tokens, "messages": [{"role": "user", "content": prompt}]}
    if system.strip():
        body["system"] = system
    if tools_file.strip():
        body["tools"] = read_tools(Path(tools_file.strip()).expanduser())
    if thinking_budget.strip():
        budget = _whole_number(thinking_budget, "thinking budget", "form-thinking", minimum=MIN_THINKING_BUDGET)
        if budget >= tokens:
            raise FormError(f"thinking budget: must be less than max tokens ({tokens})", "form-thinking")
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    target = target_of(base_url, has_key)
    if target == "embedded":
        return body, None, scenario or DEFAULT_SCENARIO
    if target == "api":
        return body, None, None
    try:
        return body, check_base_url(base_url), None
    except ValueError as exc:
        raise FormError(f"base URL: {exc}", "form-base-url") from None


def _whole_number(text: str, name: str, field: str, minimum: int) -> int:
    try:
        number = int(text.strip().replace("_", ""))
    except ValueError:
        raise FormError(f"{name}: not a whole number: {text.strip()!r}", field) from None
    if number < minimum:
        raise FormError(f"{name}: must be {minimum} or more", field)
    return number


def read_tools(path: Path) -> list[dict[str, Any]]:
    """Tool definitions from a JSON file: a list of tools, or an object with a `tools` list."""
    field = "form-tools"
    try:
        data = json.loads(read_regular(path).decode("utf-8"))
    except OSError as exc:
        raise FormError(f"tools file: cannot read {path}: {exc.strerror or exc}", field) from None
    except UnicodeDecodeError:
        raise FormError(f"tools file: {path} is not UTF-8 text", field) from None
    except ValueError as exc:
        raise FormError(f"tools file: {path} is not valid JSON: {exc}", field) from None
    tools = data.get("tools") if isinstance(data, dict) else data
    if not isinstance(tools, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools):
        raise FormError(f"tools file: {path} must hold a JSON list of tool definitions, each with a name", field)
    return tools


def open_replay(screen: Screen[Any], summary: SessionSummary, stall_threshold: float) -> None:
    """Replay a listed session on a run screen over `screen` (follow it live while it is still being
    recorded), or say in a notice why it cannot be."""
    if summary.error is not None:
        screen.notify(f"Cannot open {summary.path.name}: {summary.error}", severity="error", markup=False)
        return
    try:
        feed, _ = replay_or_attach(summary.path, stall_threshold, speed=1.0)
    except SessionError as exc:
        screen.notify(str(exc), severity="error", markup=False)
        return
    screen.app.push_screen(RunScreen(feed, screen.app.clock))  # type: ignore[attr-defined]


class HomeScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="home.filter", key_display="/"),
        Binding("n", "new_request", "New request", id="home.new"),
        Binding("r", "refresh", "Refresh", id="home.refresh"),
        Binding("s", "stats", "Stats", id="home.stats"),
        Binding("ctrl+s", "send", "Send", id="home.send"),
        Binding("escape", "back", "Back", id="home.back"),
    ]

    class RunRequested(Message):
        """The user asked for a new run: the app sends it (scenario set: against the embedded mock)."""

        def __init__(self, request_body: dict[str, Any], base_url: str | None, scenario: str | None) -> None:
            super().__init__()
            self.request_body = request_body
            self.base_url = base_url
            self.scenario = scenario

    class SessionsRead(Message):
        """While the session files are read (no index yet): how many of how many are in."""

        def __init__(self, read: tuple[int, int]) -> None:
            super().__init__()
            self.read = read

    class SessionsLoaded(Message):
        """The session list, its rows made; `problem`: why there is none (the folder is refused), in one
        line; `partial`: the newest sessions only, the others to follow; `read`: while the files are read
        (no index yet), how many of how many are in."""

        def __init__(
            self, rows: list[SessionRow], problem: str | None = None, *, partial: bool = False,
            read: tuple[int, int] | None = None,
        ) -> None:
            super().__init__()
            self.rows = rows
            self.problem = problem
            self.partial = partial
            self.read = read

    def __init__(
        self,
        stall_threshold: float = DEFAULT_STALL_THRESHOLD,
        *,
        model: str | None = None,
        base_url: str | None = None,
        scenarios: Sequence[str] | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        """`model`, `base_url`: the form's defaults (from the config); `scenarios`: the embedded mock's."""
        super().__init__()
        self.stall_threshold = stall_threshold
        self.catalog = catalog or Catalog(stall_threshold=stall_threshold)
        self.has_key = has_api_key()
        self._model = model or DEFAULT_MODEL
        self._base_url = base_url if base_url is not None else ("" if self.has_key else EMBEDDED)
        self._scenarios = list(SCENARIOS if scenarios is None else scenarios)
        self._rows: list[SessionRow] | None = None
        self._problem: str | None = None
        self._loading = True
        self._read: tuple[int, int] | None = None
        """While the session files are read (no index yet), how many of how many are in."""
        self._matched: tuple[list[SessionRow], str, list[SessionRow]] = ([], "", [])
        """The last filter: the rows it was given, its words, its matches (a longer filter searches those)."""
        self._drawn = threading.Event()
        """Set once the screen has drawn (its first frame, a long list's newest rows): the list's worker waits for it."""
        self._made: dict[SessionSummary, SessionRow] = {}
        """The rows made by the last listing, by summary, for the next to take again (read and changed by
        the listing's worker only; a row made for a summary stays right for it, even if two listings
        overlap as a refresh cancels the last)."""

    # ----- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="home-status")
        with ContentSwitcher(initial="session-list", id="home-switcher"):
            with Vertical(id="session-list"):
                yield Input(placeholder="/ filter: type to match any column", id="session-filter", compact=True)
                yield SessionTable(id="sessions")
                yield Static(id="session-detail")
            with VerticalScroll(id="request-form"):
                yield Static(id="target-notice")
                yield from self._row("Model", Input(self._model, id="form-model", compact=True))
                yield from self._row("Max tokens", Input(str(DEFAULT_MAX_TOKENS), id="form-max-tokens", compact=True))
                yield from self._row("System", Input(placeholder="(none)", id="form-system", compact=True))
                yield from self._row("Prompt", TextArea(DEFAULT_PROMPT, id="form-prompt", soft_wrap=True, compact=True))
                tools = Input(placeholder="(none) a JSON list of tool definitions", id="form-tools", compact=True)
                yield from self._row("Tools file", tools)
                yield from self._row(
                    "Thinking", Input(placeholder="(off) budget tokens, 1024 or more", id="form-thinking", compact=True)
                )
                yield from self._row("Base URL", Input(self._base_url, placeholder=self._base_url_hint(),
                                                       id="form-base-url", compact=True))
                options = [(name, name) for name in self._scenarios]
                default = DEFAULT_SCENARIO if DEFAULT_SCENARIO in self._scenarios else self._scenarios[0]
                yield from self._row(
                    "Scenario", Select(options, value=default, allow_blank=False, id="form-scenario", compact=True),
                    row_id="scenario-row",
                )
                yield Static(id="form-error")
                yield Button("Send (ctrl+s)", id="form-send", compact=True)
        yield KeyLine()

    @staticmethod
    def _row(label: str, field: Any, row_id: str | None = None) -> ComposeResult:
        with Horizontal(classes="form-row", id=row_id):
            yield Label(label, classes="form-label")
            yield field

    def _base_url_hint(self) -> str:
        if self.has_key:
            return "empty: the Anthropic API; `embedded`: the built-in mock; or a URL"
        return "`embedded`: the built-in mock (no API key set); or a URL"

    def on_mount(self) -> None:
        table = self.query_one(SessionTable)
        table.focus()
        self._show_target()
        self.call_after_refresh(self._drawn.set)
        self.action_refresh()

    def on_screen_resume(self) -> None:
        """Back from a run: the list, with the run just made at its top."""
        if self.form_shown:
            self.action_back()
        if self._rows is not None:
            self.action_refresh()

    # ----- the session list -------------------------------------------------------------------

    def action_refresh(self) -> None:
        if not self.form_shown:
            self._status(Text("loading sessions…"))
        self._load_sessions(first=self._rows is None)

    @work(thread=True, exclusive=True, group="catalog")
    def _load_sessions(self, first: bool) -> None:
        """Given up as soon as its worker is cancelled (a refresh, the app closing): the app's process
        does not wait for a big file to be summarized before it ends. The rows' text is made here too,
        so that the UI thread only picks the rows to show. It starts once the screen's first frame is
        drawn, and makes the rest of a long list once its newest rows are (or `DRAWN_WAIT` has passed):
        before, it would share the interpreter with drawing them."""
        worker = get_current_worker()
        self._drawn.wait(DRAWN_WAIT)
        said = listed = 0.0

        def progress(found: list[SessionSummary], total: int) -> None:
            """Files read (no index yet: a first start): the list so far, and how far it got."""
            nonlocal said, listed
            now = time.monotonic()
            if first and now - listed >= ROWS_SECONDS:  # a list shown already stays until the new one is whole
                said = listed = now
                rows = session_rows(newest_first(found), self._made)
                self.post_message(self.SessionsLoaded(rows, partial=True, read=(len(found), total)))
            elif now - said >= PROGRESS_SECONDS:
                said = now
                self.post_message(self.SessionsRead((len(found), total)))

        try:
            summaries = self.catalog.summaries(lambda: worker.is_cancelled, progress)
            if len(summaries) > FIRST_ROWS and not listed:  # (not after the lists shown as the files were read)
                self._drawn.clear()
                self.post_message(self.SessionsLoaded(session_rows(summaries[:FIRST_ROWS], self._made), partial=True))
                self._drawn.wait(DRAWN_WAIT)
            rows = session_rows(summaries, self._made)
            self._made = {row.summary: row for row in rows}
            self.post_message(self.SessionsLoaded(rows))
        except SessionError as exc:
            self.post_message(self.SessionsLoaded([], str(exc)))
        except Cancelled:
            return

    @on(SessionsLoaded)
    def _sessions_loaded(self, message: SessionsLoaded) -> None:
        self._rows = message.rows
        self._problem = message.problem
        self._loading = message.partial
        self._read = message.read
        self._fill_table()
        if message.partial and message.read is None:
            self.call_after_refresh(self._drawn.set)

    @on(SessionsRead)
    def _sessions_read(self, message: SessionsRead) -> None:
        if self._loading:
            self._read = message.read
            self._show_count(self.query_one("#session-filter", Input).value.strip().lower(), layout=False)

    @on(Input.Changed, "#session-filter")
    def _filter_changed(self) -> None:
        self._fill_table()
        self.refresh_bindings()

    @on(Input.Submitted, "#session-filter")
    def _filter_submitted(self) -> None:
        """`enter` in the filter replays the highlighted match at once (the top one, unless moved to)."""
        self.query_one(SessionTable).focus()
        self._open_highlighted()

    def _fill_table(self) -> None:
        """The rows the filter lets through (all of them without one): the table draws those in view."""
        if self._rows is None:
            return
        words = self.query_one("#session-filter", Input).value.strip().lower()
        given, last_words, last_matches = self._matched
        searched = last_matches if given is self._rows and last_words and words.startswith(last_words) else self._rows
        split = words.split()
        shown = [row for row in searched if row.matches(split)] if split else self._rows
        self._matched = (self._rows, words, shown)
        self.query_one(SessionTable).show(shown)
        self._show_count(words)
        self._show_detail()  # in the same frame as the rows (the table's Highlighted comes after)

    def on_resize(self) -> None:
        self._show_detail()

    def _show_count(self, words: str, layout: bool = True) -> None:
        if self.form_shown:
            return
        total = len(self._rows or [])
        folder = shown_path(self.catalog.folder)
        if self._loading and self._read is not None:
            done, files = self._read
            self._status(Text(f"reading sessions, newest first (no index yet): {done} of {files}…"), layout)
        elif self._loading:
            self._status(Text("loading sessions…"))
        elif self._problem is not None:
            self._status(Text(one_line(self._problem)))
        elif not total:
            self._status(Text(f"No saved sessions yet in {folder}; press n for a new request"))
        elif words:
            self._status(Text(f"{self.query_one(SessionTable).row_count} of {total} sessions match {one_line(words)!r}"))
        else:
            self._status(Text(f"{total} session{'s' if total != 1 else ''} in {folder}"))

    def _status(self, text: Text, layout: bool = True) -> None:
        """`layout=False`: a count that moves on, the screen not laid out again for it (the line is one row high)."""
        self.query_one("#home-status", Static).update(text, layout=layout)

    def _highlighted(self) -> SessionSummary | None:
        row = self.query_one(SessionTable).highlighted
        return None if row is None else row.summary

    @on(SessionTable.Highlighted)
    def _show_detail(self) -> None:
        summary = self._highlighted()
        detail = Text()
        if summary is not None:
            path = shown_path(summary.path)
            # Too long for the line: the file name says most; the folder is the one in the status line.
            detail.append(path if cell_len(path) <= self.size.width - 2 else f"…/{one_line(summary.path.name)}")
            if summary.error is not None:
                detail.append(f"\nunreadable: {one_line(summary.error)}")
            else:
                attempts = f"{summary.attempts} attempt{'s' if summary.attempts != 1 else ''}"
                facts = [one_line(summary.source or "?"), f"{summary.events} events", attempts]
                if summary.scenario:
                    facts.insert(1, f"scenario {one_line(summary.scenario)}")
                if summary.skipped:
                    facts.append(skipped_text(summary.skipped))
                if summary.recording is not None:
                    facts.append(f"still being recorded (by pid {summary.recording}): enter follows it live")
                detail.append("\n" + " · ".join(facts))
        self.query_one("#session-detail", Static).update(detail)

    @on(SessionTable.Selected)
    def _open_highlighted(self) -> None:
        """Replay the session under the cursor (`enter` on the list)."""
        summary = self._highlighted()
        if summary is not None:
            open_replay(self, summary, self.stall_threshold)

    def action_stats(self) -> None:
        from streamwatch.tui.screens.stats import StatsScreen

        self.app.push_screen(StatsScreen(self.catalog, self.stall_threshold))

    def action_filter(self) -> None:
        self.query_one("#session-filter", Input).focus()

    # ----- the request form -------------------------------------------------------------------

    @property
    def form_shown(self) -> bool:
        return self.query_one(ContentSwitcher).current == "request-form"

    def action_new_request(self) -> None:
        self.query_one(ContentSwitcher).current = "request-form"
        self._status(Text("New request"))
        self.query_one("#form-prompt", TextArea).focus()
        self.refresh_bindings()

    def action_back(self) -> None:
        """From the form, back to the list; in the list, clear the filter."""
        if self.form_shown:
            self.query_one(ContentSwitcher).current = "session-list"
            self.refresh_bindings()
            if self._rows is None:
                self._status(Text("loading sessions…"))
            self._fill_table()
        else:
            self.query_one("#session-filter", Input).value = ""
        self.query_one(SessionTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send":
            return self.form_shown
        if action in ("filter", "new_request", "refresh", "stats"):
            return not self.form_shown
        if action == "back":
            box = self.query_one("#session-filter", Input)
            return self.form_shown or bool(box.value) or box.has_focus
        return True

    @on(Input.Changed, "#form-base-url")
    def _show_target(self) -> None:
        target = target_of(self.query_one("#form-base-url", Input).value, self.has_key)
        self.query_one("#scenario-row").display = target == "embedded"
        notice = Text()
        if not self.has_key:
            notice.append("No API key set (ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN). ", style="bold")
        if target == "embedded":
            notice.append("Target: the embedded mock server (needs no key), playing the scenario below.")
        elif target == "api":
            notice.append("Target: the Anthropic API (ANTHROPIC_BASE_URL if set).")
        else:
            notice.append("Target: the base URL below.")
        self.query_one("#target-notice", Static).update(notice)

    @on(Input.Changed, "#request-form Input")
    @on(TextArea.Changed, "#request-form TextArea")
    def _edited(self) -> None:
        """The form's last error goes once the user edits a field (it may be the fix)."""
        self.query_one("#form-error", Static).update("")

    @on(Input.Submitted, "#request-form Input")
    @on(Button.Pressed, "#form-send")
    def action_send(self) -> None:
        scenario = self.query_one("#form-scenario", Select).value
        try:
            body, base_url, scenario = build_request(
                model=self.query_one("#form-model", Input).value,
                max_tokens=self.query_one("#form-max-tokens", Input).value,
                system=self.query_one("#form-system", Input).value,
                prompt=self.query_one("#form-prompt", TextArea).text,
                tools_file=self.query_one("#form-tools", Input).value,
                thinking_budget=self.query_one("#form-thinking", Input).value,
                base_url=self.query_one("#form-base-url", Input).value,
                scenario=scenario if isinstance(scenario, str) else None,
                has_key=self.has_key,
            )
        except FormError as exc:
            self.query_one("#form-error", Static).update(Text(one_line(str(exc))))
            self.query_one(f"#{exc.field}").focus()
            return
        self.query_one("#form-error", Static).update("")
        self.post_message(self.RunRequested(body, base_url, scenario))
