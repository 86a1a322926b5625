"""Recovering an interrupted answer: one session, attempt after attempt, until the answer is whole.

`Recovery` sends a request through `LiveRun`; when the answer breaks, it sends another attempt of the
same session, either a **retry** (the same request again: it regenerates everything and replaces
the broken answer) or a **resume** (the request continued from what the broken attempt left, see
`core/resume.py`: the continuation is stitched to the partial answer). Every attempt goes to the
same session file, after an `attempt` record saying why it was made (`reason`, `replaces`,
`strategy`, `dropped`) and holding the request as sent, secrets redacted.

`on_failure` says what happens after a broken attempt: `none`, nothing (until `retry()` or
`resume()` is called); `retry` or `resume`, that, by itself, after a failure worth it
(`retry_delay` decides: not after a 4xx but 408, 409 and 429), once the wait is over: the server's
`retry-after-ms` or `retry-after`, else exponential backoff with jitter. Hooks see the wait count
down; `skip_wait()` ends it at once. Automatic attempts stop when the answer is complete or the
session holds `max_attempts` attempts; `retry()` and `resume()` always send one more. With the
`auto` strategy, a resume refused as prefill (HTTP 400: Claude 4.6 and later) is sent again at once
as a user turn, one more attempt, and later resumes use a user turn from the start.

Safety: when the broken attempt holds a complete client `tool_use`, the application may already
have run that tool, and a retry or resume makes the model call it again. Recovery never does that
by itself: it stops with a `Hold` (`hold`, `RecoveryObserver.on_hold`); `proceed()` carries on when
the user says so.

The JSON verdict (`verdict()`, `streamwatch run --json`): one attempt with `on_failure` none gives
the single attempt's verdict as it always was (what `analyze` gives). Otherwise (a recovery was
asked for, or more than one attempt made) the top-level fields are still the last attempt's, except
`text`, the answer stitched across attempts, and three keys are added, whatever happened: `seams`
(offsets in `text` where a continuation begins), `stopped` (why recovery ended without a complete
answer, else null) and `attempts` (one or more: each attempt's verdict with its `number`, `reason`
first|retry|resume, `strategy` null|retry|prefill|user-turn, `replaces`, `dropped`, `waited` in
seconds and `repaid`, see `resume.repaid`).

`resume()` also continues an answer that is complete but cut at max_tokens (`CONTINUABLE_STOPS`);
`cannot(how)` says why a retry or resume would make no sense now, and they refuse it with that
(RecoveryError): a resume of an attempt that left nothing to continue is not turned into a retry.

`Recovery.going_on(path)` goes on from a saved session (a retry or resume pressed in its replay): its
attempts are the recorded ones, and the next attempt goes to the recorded target (the request's URL,
with the mock's control headers and `anthropic-beta` it carried) with the key the environment gives,
as a live run's does (the file holds none), into a NEW session file whose header `continues` names
the old session, the attempt it goes on from and why (core/recording.py). `preflight()` says before
anything is sent when that cannot work: no key, a target that does not answer.

`phase` says where the recovery stands (an attempt under way, a wait, a broken or a complete
answer): what a screen offers next. A `Recovery` is an `AttemptLog` (core/attempts.py), the type a
replayed session's attempts have too, so every view shows both the same way.

Every attempt is recorded by one `Recorder` (core/recorder.py: the first `LiveRun` makes it, each
later one follows it), and the `hooks` hear of all of it: the session's calls, and a recovery's own
(`RecoveryObserver`: an attempt planned, a wait, a hold). A hook that raises is dropped.

Threads: `run()`, `retry()`, `resume()` and `proceed()` block on the calling thread, one at a time,
and call the hooks on it. `cancel()` and `skip_wait()` may be called from any thread. Another
thread may read `attempts`, each attempt's `state`, `wait` and `phase` while it runs, as it reads a
`LiveRun`'s.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from streamwatch.core.attempts import (
    Attempt,
    AttemptLog,
    NothingSent,
    Part,
    Reason,
    RecoveryError,
    continuation,
    how_it_failed,
    resume_about,
    retry_about,
)
from streamwatch.core.live import LiveError, LiveRun
from streamwatch.core.playback import replay_attempts
from streamwatch.core.recorder import Hook, Hooks
from streamwatch.core.recording import load_session
from streamwatch.core.redact import JSON, REDACTED, split_url
from streamwatch.core.resume import (
    Salvage,
    Strategy,
    choose_strategy,
    is_prefill_refusal,
    resume_request,
    retry_delay,
    retry_request,
    salvage,
)
from streamwatch.core.transport import is_loopback
from streamwatch.protocol import CONTROL_HEADER_PREFIX, SCENARIO_HEADER, SCENARIO_MODEL_PREFIX

DEFAULT_MAX_ATTEMPTS = 3
"""With `on_failure` retry or resume; with `none` it is 1."""
WAIT_TICK = 0.1
"""How often a wait reports the time left, in seconds."""


class OnFailure(StrEnum):
    NONE = "none"
    RETRY = "retry"
    RESUME = "resume"


class Phase(StrEnum):
    """Where a recovery stands, which says what the user may do next."""

    BUSY = "busy"
    """An attempt is planned, sent or streaming."""
    WAITING = "waiting"
    """Counting down before the next attempt (`Recovery.wait`)."""
    BROKEN = "broken"
    """The last attempt finished without a complete answer: it may be retried or resumed."""
    DONE = "done"
    """The answer is complete."""


@dataclass(frozen=True)
class Wait:
    """A wait before attempt `before`, as it counts down."""

    before: int
    seconds: float
    left: float
    why: str
    skipped: bool = False


@dataclass(frozen=True)
class Hold:
    """Recovery stopped for the user's word: going on could repeat something the app already did."""

    action: Reason
    """What `proceed()` would do: retry or resume."""
    attempt: int
    reason: str
    tool_calls: list[dict[str, Any]]


class RecoveryObserver(Hook):
    """A hook that is also told what only a recovery knows. Override what you need.

    The `Hook` calls come for every attempt, after its `on_attempt`; `on_session_end` each time
    recovery stops going on by itself (after `run()`, and again after a later `retry()`...)."""

    def on_attempt(self, attempt: Attempt) -> None:
        """An attempt is planned: it is sent after its wait (if any), unless the recovery is cancelled."""

    def on_wait(self, wait: Wait) -> None:
        """About every `WAIT_TICK` seconds during a wait, once with `left` 0 at its end."""

    def on_hold(self, hold: Hold) -> None:
        """Recovery stopped to ask the user (see `Hold`); `proceed()` goes on."""


@dataclass
class _Plan:
    reason: Reason
    strategy: Strategy | None
    body: dict[str, Any]
    about: str
    base: Salvage | None = None
    base_parts: tuple[Part, ...] = ()
    dropped: list[str] = field(default_factory=list)


class Recovery(AttemptLog):
    """One session across attempts; see the module doc.

    `live` options go to every `LiveRun`: base_url, api_key, headers, timeout, stall_threshold,
    save, source, directory."""

    def __init__(
        self,
        body: Mapping[str, Any],
        *,
        on_failure: str = OnFailure.NONE,
        strategy: str = Strategy.AUTO,
        max_attempts: int | None = None,
        hooks: Iterable[Hook] = (),
        rng: random.Random | None = None,
        **live: Any,
    ) -> None:
        super().__init__()
        self.body = dict(body)
        self.on_failure = OnFailure(on_failure)
        self.strategy = Strategy(strategy)
        if self.strategy is Strategy.RETRY:
            raise ValueError("the resume strategy is auto, prefill or user-turn")
        if max_attempts is None:
            max_attempts = 1 if self.on_failure is OnFailure.NONE else DEFAULT_MAX_ATTEMPTS
        if max_attempts < 1:
            raise ValueError("max_attempts must be 1 or more")
        self.max_attempts = max_attempts
        self.pending: Attempt | None = None
        """The attempt planned and waiting to be sent."""
        self.wait: Wait | None = None
        """The wait under way before the next attempt, as it last counted down."""
        self.hold: Hold | None = None
        self.hooks = Hooks(hooks)
        """Every attempt's hooks, told of the session as it goes (see core/recorder.py)."""
        self._rng = rng or random.Random()
        self._live = live
        self._prefill_refused = False
        self._busy = threading.Lock()
        self._cancelled = threading.Event()
        self._cancel_why: str | None = None
        self._skip = threading.Event()
        self._wake = threading.Event()
        self.continues: dict[str, Any] | None = None
        """The saved session this recovery goes on from (`going_on`): its id and file name."""

    @classmethod
    def going_on(cls, path: Path, stall_threshold: float, hooks: Iterable[Hook] = ()) -> Recovery:
        """A recovery that goes on from the session saved at `path` (see the module doc): `retry()` or
        `resume()` sends its next attempt. SessionError if the file cannot be read, RecoveryError when
        its request cannot be sent again as it was (its target was redacted)."""
        session = load_session(path)
        log = replay_attempts(session, stall_threshold)
        request = session.attempts[0].request
        base_url, headers = recorded_target(request)
        body = {key: value for key, value in log.attempts[0].body.items() if key != "stream"}
        # Sent by streamwatch itself: a demo's goes on as a demo, anything else (a proxied app's request
        # included: the app did not send this one) as a live run.
        source = "demo" if session.header.get("source") == "demo" else "live"
        recovery = cls(body, hooks=hooks, base_url=base_url, headers=headers, stall_threshold=stall_threshold,
                       source=source)
        recovery.attempts = list(log.attempts)
        recovery.stopped = log.stopped
        recovery.continues = {"session": str(session.header.get("id", "")), "file": path.name}
        return recovery

    @property
    def saves(self) -> bool:
        """Whether its attempts are saved (not --no-save)."""
        return bool(self._live.get("save", True))

    def mock_gone(self) -> bool:
        """Whether the saved session this goes on from was played by an embedded mock (a demo, or a
        request for a mock scenario, sent to this machine) that no longer takes a connection: a new
        embedded mock can play the same request again (`play_on`)."""
        headers = self._live.get("headers") or {}
        mocked = (
            self._live.get("source") == "demo" or SCENARIO_HEADER in headers
            or str(self.body.get("model", "")).startswith(SCENARIO_MODEL_PREFIX)
        )
        if self.continues is None or not mocked or not is_loopback(self._live.get("base_url")):
            return False
        try:
            LiveRun(self.body, **self._live).reach()
        except LiveError:
            return True
        return False

    def play_on(self, base_url: str) -> None:
        """Send the next attempts to `base_url` (a new embedded mock, when `mock_gone`)."""
        self._live["base_url"] = base_url

    def preflight(self) -> None:
        """LiveError now if the next attempt could not be sent: no key for a remote target, a bad base
        URL, a target that takes no connection, or a sessions folder that cannot be made."""
        run = LiveRun(self.body, **self._live)
        run.preflight()
        run.reach()

    # ----- the public surface -----------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def phase(self) -> Phase:
        if self.wait is not None:
            return Phase.WAITING
        current = self.current
        if current is None and self.stopped is not None:  # cancelled before anything was sent
            return Phase.BROKEN
        if current is None or not current.finished or self.pending is not None:
            return Phase.BUSY
        return Phase.DONE if self.complete else Phase.BROKEN

    @property
    def sending(self) -> Attempt | None:
        """The attempt planned or on its way whose request has not gone out yet (no recording), if any:
        between one attempt's end and the next one's request the screen has nothing newer to show."""
        if self.pending is not None:
            return self.pending
        current = self.current
        return current if current is not None and current.run.recording is None else None

    def run(self) -> Attempt:
        """Send the request, then recover as `on_failure` says; the last attempt.

        LiveError if the request cannot be sent at all (as `LiveRun.run`); NothingSent if it was
        cancelled before it went out."""
        with self._turn():
            if self.attempts:
                raise RecoveryError("this recovery already ran; retry or resume it instead")
            first = _Plan(Reason.FIRST, None, retry_request(self.body), about="")
            return self._go(first, wait=None)

    def retry(self) -> Attempt:
        """Send the same request again now (after the wait the server asked for), then recover as usual."""
        with self._turn():
            previous = self._last(Reason.RETRY)
            return self._go(self._retry_plan(previous, salvage(previous.state)), self._delay(previous) or 0.0)

    def resume(self, strategy: str | None = None) -> Attempt:
        """Continue the answer so far now (after the wait the server asked for), then recover as usual:
        a broken one, or one cut at max_tokens. RecoveryError when there is none (`cannot`)."""
        with self._turn():
            previous = self._last(Reason.RESUME)
            plan = self._resume_plan(previous, Strategy(strategy or self.strategy))
            return self._go(plan, self._delay(previous) or 0.0)

    def proceed(self) -> Attempt:
        """Do what the hold stopped short of: the user confirmed it."""
        hold = self.hold
        if hold is None:
            raise RecoveryError("nothing is waiting for confirmation")
        return self.retry() if hold.action is Reason.RETRY else self.resume()

    def cancel(self, why: str | None = None) -> None:
        """From any thread: stop the attempt under way or the wait; nothing more is sent by itself.
        `why`: what stopped it when not the user, said in the session (`LiveRun.cancel`)."""
        if not self.cancelled:
            self._cancel_why = why
        self._cancelled.set()
        self._wake.set()
        current = self.current
        if current is not None and not current.finished:
            current.run.cancel(why)

    def skip_wait(self) -> None:
        """From any thread: end the wait under way now and send its attempt."""
        if self.pending is not None:
            self._skip.set()
            self._wake.set()

    def redact(self, value: JSON) -> JSON:
        """A text or a JSON value as it may be shown (see `LiveRun.redact`)."""
        current = self.current
        return current.run.redact(value) if current is not None and isinstance(current.run, LiveRun) else value

    # ----- one attempt after another ----------------------------------------------------------

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """One blocking call at a time."""
        if not self._busy.acquire(blocking=False):
            raise RecoveryError("a retry or resume is already under way")
        try:
            yield
        finally:
            self._busy.release()

    def _last(self, how: Reason) -> Attempt:
        """The attempt a retry or resume goes on from; RecoveryError saying why there is none."""
        why = self.cannot(how)
        if why is not None:
            raise RecoveryError(why)
        previous = self.current
        assert previous is not None
        return previous

    def _go(self, plan: _Plan, wait: float | None) -> Attempt:
        """Send the plan, then the plans the policy makes, until one does not come."""
        self._cancelled.clear()
        self._cancel_why = None
        self.hold = None
        self.stopped = None
        while True:
            attempt = self._send(plan, wait)
            if attempt is None:
                current = self.current
                if current is None:
                    self.stopped = "cancelled before the request was sent"
                    raise NothingSent(f"{self.stopped}: nothing was sent, nothing saved")
                self.stopped = "cancelled before the next attempt was sent"
                return self._stop(current)
            step = self._next(attempt)
            if step is None:
                return self._stop(attempt)
            plan, wait = step

    def _stop(self, attempt: Attempt) -> Attempt:
        """Recovery goes no further by itself after `attempt`: why goes into its session, if anything
        stopped it, and the hooks are told."""
        if self.stopped is not None:
            attempt.run.stop(self.stopped)
        self.hooks.fire("on_session_end", self)
        return attempt

    def _send(self, plan: _Plan, wait: float | None) -> Attempt | None:
        previous = self.current
        number = len(self.attempts) + 1
        link = {}
        if previous is not None and plan.strategy is not None:
            link = {
                "reason": plan.reason.value,
                "replaces": previous.number,
                "strategy": plan.strategy.value,
                "dropped": plan.dropped,
            }
        # An attempt of a saved session (`going_on`) is not a LiveRun: the new one starts a session of its own.
        follows = previous.run if previous is not None and isinstance(previous.run, LiveRun) else None
        continues = None
        if previous is not None and follows is None and self.continues is not None:
            continues = {**self.continues, "attempt": previous.number,
                         **{key: value for key, value in link.items() if key != "replaces"}}
        run = LiveRun(
            plan.body,
            hooks=self.hooks,
            follows=follows,
            link=link,
            on_failure=None if self.on_failure is OnFailure.NONE else self.on_failure.value,
            continues=continues,
            **self._live,
        )
        attempt = Attempt(
            number=number,
            reason=plan.reason,
            strategy=plan.strategy,
            replaces=None if previous is None else previous.number,
            dropped=plan.dropped,
            about=plan.about,
            body=plan.body,
            run=run,
            base=plan.base,
            base_parts=plan.base_parts,
        )
        self.pending = attempt
        try:
            self.hooks.fire("on_attempt", attempt)
            if wait:
                attempt.waited = self._wait(number, wait, self._wait_why(previous))
            if self.cancelled:
                return None
            self.attempts.append(attempt)
        finally:
            self.pending = None
            self._skip.clear()
        self.finish(attempt, run.run().verdict)
        self.hooks.fire("on_attempt_end", attempt)
        return attempt

    def _next(self, attempt: Attempt) -> tuple[_Plan, float | None] | None:
        """The next automatic attempt and its wait, or None (and why, in `stopped`, `hold`)."""
        state = attempt.state
        if state.complete:
            return None
        if self.cancelled or attempt.run.cancelled:
            self._cancelled.set()
            if self.on_failure is not OnFailure.NONE:  # a run that asked for no recovery has none to stop
                self.stopped = "cancelled" if self._cancel_why is None else f"cancelled: {self._cancel_why}"
            return None
        room = len(self.attempts) < self.max_attempts
        if attempt.strategy is Strategy.PREFILL and is_prefill_refusal(state.status, state.error):
            self._prefill_refused = True
            refused = f"{self.body.get('model')} refuses prefill (HTTP 400)"
            if self.strategy is not Strategy.AUTO:
                self.stopped = f"{refused}: resume with a user turn (strategy user-turn or auto)"
                return None
            if not room:
                self.stopped = f"{refused}, and no attempt is left to resume with a user turn"
                return None
            return self._resume_plan(attempt, Strategy.USER_TURN), None
        if self.on_failure is OnFailure.NONE:
            return None
        left = salvage(state)
        action = Reason.RETRY if self.on_failure is OnFailure.RETRY else Reason.RESUME
        if left.acted_on_tool:
            names = ", ".join(f"`{call.get('name')}`" for call in left.tool_calls)
            reason = (
                f"attempt {attempt.number} broke after a complete tool call ({names}): your application may "
                f"already have run it, and a {action.value} would make the model call it again; "
                "not going on without your word"
            )
            self.hold = Hold(action, attempt.number, reason, left.tool_calls)
            self.stopped = reason
            self.hooks.fire("on_hold", self.hold)
            return None
        if not room:
            self.stopped = f"no complete answer after {len(self.attempts)} attempts, the most allowed"
            return None
        delay = self._delay(attempt)
        if delay is None:
            if state.headers.get("x-should-retry", "").strip().lower() == "false":
                self.stopped = f"{how_it_failed(state)}: the server says not to retry (x-should-retry: false)"
            else:
                self.stopped = f"{how_it_failed(state)} is not worth retrying: the same request would fail the same way"
            return None
        plan = self._retry_plan(attempt, left) if action is Reason.RETRY else self._resume_plan(attempt, self.strategy)
        return plan, delay

    def _retry_plan(self, previous: Attempt, left: Salvage, about: str = "") -> _Plan:
        about = about or retry_about(previous)
        return _Plan(Reason.RETRY, Strategy.RETRY, retry_request(self.body), about, dropped=left.dropped)

    def _resume_plan(self, previous: Attempt, requested: Strategy) -> _Plan:
        left, chain, parts = continuation(previous)
        if chain.empty:
            about = f"attempt {previous.number} left no answer to continue, so the same request again"
            return self._retry_plan(previous, left, about)
        model = str(self.body.get("model"))
        strategy = choose_strategy(requested, model, self.body)
        if strategy is Strategy.PREFILL and requested is Strategy.AUTO and self._prefill_refused:
            strategy = Strategy.USER_TURN
        refused = previous.strategy is Strategy.PREFILL and strategy is Strategy.USER_TURN and self._prefill_refused
        about = resume_about(chain, strategy, refused_by=model if refused else None)
        body = resume_request(self.body, chain, strategy)
        return _Plan(Reason.RESUME, strategy, body, about, chain, parts, dropped=left.dropped)

    # ----- waiting ----------------------------------------------------------------------------

    def _delay(self, attempt: Attempt) -> float | None:
        state = attempt.state
        error_type = state.error.get("type") if state.error else None
        failed = sum(1 for a in self.attempts if a.finished and not a.state.complete)
        return retry_delay(
            state.status, state.headers, max(1, failed), self._rng,
            error_type=error_type if isinstance(error_type, str) else None,
        )

    @staticmethod
    def _wait_why(previous: Attempt | None) -> str:
        headers = {} if previous is None else previous.state.headers
        for name in ("retry-after-ms", "retry-after"):
            if name in headers:
                return f"the server asked for it ({name}: {headers[name]})"
        return "backoff with jitter"

    def _wait(self, before: int, seconds: float, why: str) -> float:
        """Wait, telling the hooks the time left; the seconds waited. Ends early on skip or cancel."""
        started = time.monotonic()
        deadline = started + seconds
        self._wake.clear()
        left = seconds
        try:
            while left > 0 and not self._skip.is_set() and not self.cancelled:
                self.wait = Wait(before, seconds, left, why)
                self.hooks.fire("on_wait", self.wait)
                self._wake.wait(min(WAIT_TICK, left))
                left = max(0.0, deadline - time.monotonic())
        except KeyboardInterrupt:
            self._cancelled.set()
        finally:
            self.wait = None
        skipped = self._skip.is_set()
        self.hooks.fire("on_wait", Wait(before, seconds, 0.0, why, skipped=skipped and not self.cancelled))
        return time.monotonic() - started


RESENT_HEADERS = ("anthropic-beta",)
"""Recorded request headers a request sent again from a session carries (besides the mock's controls):
what changes the answer. The SDK sets the rest itself; a secret was never recorded."""


def recorded_target(request: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The base URL and the headers to send a recorded request again with (`going_on`); RecoveryError
    when its URL is not a Messages URL or a part of it was redacted."""
    url = str(request.get("url", ""))
    parts = split_url(url)
    prefix, found, _ = parts.path.rpartition("/v1/messages")
    if not found or parts.scheme not in ("http", "https") or REDACTED in parts.netloc + prefix:
        raise RecoveryError(f"the recorded request cannot be sent again: its URL {url!r} is not a whole Messages URL")
    recorded = request.get("headers")
    headers = {
        name: value for name, value in (recorded if isinstance(recorded, dict) else {}).items()
        if (name in RESENT_HEADERS or name.startswith(CONTROL_HEADER_PREFIX)) and value != REDACTED
    }
    return f"{parts.scheme}://{parts.netloc}{prefix}", headers
