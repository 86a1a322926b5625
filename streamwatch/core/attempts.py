"""The attempts of one session: why each was sent, what came back, and the answer across them.

An `Attempt` is one request of a session: the first, a **retry** (the same request again: its
answer replaces the broken one) or a **resume** (the broken answer continued: the continuation is
stitched to it, see `core/resume.py`). An `AttemptLog` holds them in order, with why recovery
stopped.

Live, `Recovery` (core/recovery.py) is the `AttemptLog` that sends them. A saved session holds the
same facts: one `Recording` per request, each later one with the link its `attempt` record gave
(reason, replaces, strategy, dropped). `AttemptLog.record` turns the recordings back into the
attempts as the live run knew them, with the code the live run used: the answer a resume continues
and where each attempt's text begins in it, why the attempt was sent (`about`), what it paid again.
A recording without a link after the first is the SDK following a redirect: the same attempt goes
on with it. Why recovery stopped is the last recording's `stopped` (`SessionPlayer` sets it as it
plays). What a file does not hold: the wait on its own: a recorded attempt's `waited` is the time
from the previous attempt's end to its request (the wait, or the time the user took to press retry
or resume).

An attempt's `run` is where its request went: the `LiveRun` sending it, or the `Player` replaying
its recording. Either has the stream's `state` so far and its `recording`.

Nothing here sends, waits or imports the SDK: `analyze`, replay and attach use it as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from streamwatch.core.diagnose import StreamState, Termination, Verdict
from streamwatch.core.recording import Recording
from streamwatch.core.redact import JSON
from streamwatch.core.resume import (
    CONTINUABLE_STOPS,
    Salvage,
    Stitched,
    Strategy,
    continued,
    is_prefill_refusal,
    repaid,
    salvage,
    stitch,
)


class Reason(StrEnum):
    FIRST = "first"
    RETRY = "retry"
    RESUME = "resume"


class RecoveryError(Exception):
    """A retry, resume or verdict asked for at the wrong moment (the message is one line, for the user)."""


class NothingSent(RecoveryError):
    """The run was cancelled before its first request went out: there is no attempt, and no session."""


@dataclass(frozen=True)
class Part:
    """Where one attempt's text begins in the stitched answer."""

    attempt: int
    start: int
    repeated: str = ""
    """The start of this attempt's text that repeated the end of the answer before it, left out."""


@dataclass(frozen=True)
class Answer:
    """The answer across attempts: the text of the attempts a resume chained, joined at the seams.

    A retry replaces: the answer starts again with its text (the first part)."""

    text: str
    parts: tuple[Part, ...]

    @property
    def seams(self) -> list[int]:
        """Offsets in `text` where a continuation begins."""
        return [part.start for part in self.parts[1:]]


class Run(Protocol):
    """Where an attempt's request went: a `LiveRun` live, a `Player` in a replay."""

    @property
    def state(self) -> StreamState: ...

    @property
    def recording(self) -> Recording | None: ...


@dataclass(eq=False)
class Attempt:
    """One request of the session: why it was sent, what it sent, what came back."""

    number: int
    reason: Reason
    strategy: Strategy | None
    """retry, prefill or user-turn; None for the first attempt."""
    replaces: int | None
    dropped: list[str]
    """What of the replaced attempt did not go back, and why (one sentence each)."""
    about: str
    """Why this attempt was made, in one sentence (empty for the first)."""
    body: dict[str, Any]
    """The request body as built (read back from a session file: as sent); `request` is the request as sent."""
    run: Run
    base: Salvage | None = None
    """The answer so far that this attempt continues (a resume), else None."""
    base_parts: tuple[Part, ...] = ()
    waited: float = 0.0
    verdict: Verdict | None = None
    """Set when the attempt finished."""
    repaid: dict[str, Any] | None = None
    """The tokens this attempt paid again (see `resume.repaid`); None for the first."""

    @property
    def state(self) -> StreamState:
        return self.run.state

    @property
    def request(self) -> dict[str, Any] | None:
        """The request as sent (method, url, headers and body; secrets redacted), once it is sent."""
        recording = self.run.recording
        return None if recording is None else recording.request

    @property
    def finished(self) -> bool:
        return self.verdict is not None

    @property
    def how(self) -> str:
        """Why it was sent, and how when that says more: `first`, `retry`, `resume (prefill)`."""
        strategy = self.strategy
        return self.reason.value + (f" ({strategy.value})" if strategy and strategy.value != self.reason.value else "")

    @property
    def usage(self) -> dict[str, Any]:
        """Its tokens (none at all for an HTTP error status: no stream, nothing generated), whether the
        output count is the final one, and how many characters of output it streamed."""
        state = self.state
        if state.is_http_error:
            return {"input_tokens": 0, "output_tokens": 0, "output_final": True, "output_chars": 0}
        chars = sum(block.chars for block in state.blocks.values())
        return {"input_tokens": state.input_tokens, "output_tokens": state.output_tokens,
                "output_final": state.usage_final, "output_chars": chars}

    @property
    def base_answer(self) -> Answer:
        """The answer so far that this attempt continues (a resume), as it was when the attempt was sent."""
        return Answer("", ()) if self.base is None else Answer(_texts(self.base), self.base_parts)

    @property
    def answer(self) -> Answer:
        """The answer as this attempt leaves it: its text, after the answer it continues. A continuation
        is a part of it, its seam where it began, once it added a block, text or not (a tool call)."""
        if self.base is None:
            return Answer(self.state.text, (Part(self.number, 0),))
        if not self.state.blocks:
            return self.base_answer
        joined = _join(self.base, self.state.text)
        return Answer(joined.text, (*self.base_parts, Part(self.number, joined.seam, joined.repeated)))

    def to_dict(self) -> dict[str, Any]:
        """The attempt's verdict and how it came to be, for JSON."""
        verdict = {} if self.verdict is None else self.verdict.to_dict()
        return {
            "number": self.number,
            "reason": self.reason.value,
            "strategy": None if self.strategy is None else self.strategy.value,
            "replaces": self.replaces,
            "dropped": list(self.dropped),
            "waited": round(self.waited, 3),
            "repaid": self.repaid,
            **verdict,
        }


class AttemptLog:
    """The attempts of one session, in order; see the module doc."""

    def __init__(self, on_failure: str | None = None) -> None:
        self.attempts: list[Attempt] = []
        self.on_failure = on_failure
        """What the run was told to do if the stream broke (`retry`, `resume`), when it was told."""
        self.stopped: str | None = None
        """Why recovery ended without a complete answer, in one sentence (None if it did not, or if
        nobody knows: a session saved before streamwatch recorded it)."""

    @property
    def current(self) -> Attempt | None:
        """The attempt sent last (running or finished)."""
        return self.attempts[-1] if self.attempts else None

    @property
    def complete(self) -> bool:
        return self.current is not None and self.current.finished and self.current.state.complete

    @property
    def recovered(self) -> bool:
        """Whether the verdict speaks of attempts: more than one was sent, or recovery was asked for."""
        return len(self.attempts) > 1 or self.on_failure in ("retry", "resume")

    def answer(self) -> Answer:
        current = self.current
        return Answer("", ()) if current is None else current.answer

    def cannot(self, how: Reason) -> str | None:
        """Why a retry or a resume (`how`) of the last attempt would make no sense now, in one sentence;
        None when it would. A retry sends the same request again after a failure; a resume continues
        the answer so far: after a failure that left some, or after an answer cut at max_tokens."""
        current = self.current
        if current is None or not current.finished:
            return "no attempt has finished yet"
        state = current.state
        cut = state.complete and state.stop_reason in CONTINUABLE_STOPS
        if how is Reason.RETRY:
            if cut:
                return f"the answer stopped at {state.stop_reason}: a retry would stop there again; resume continues it"
            return "the answer is complete: there is nothing to recover" if state.complete else None
        if state.complete and not cut:
            return "the answer is complete: there is nothing to recover"
        if continuation(current)[1].empty:
            return f"attempt {current.number} left no answer to continue: only a retry (the same request again) can help"
        return None

    def redact(self, value: JSON) -> JSON:
        """A text or a JSON value as it may be shown: a saved session's secrets were redacted when it
        was written."""
        return value

    def verdict(self) -> dict[str, Any]:
        """The JSON verdict: the last attempt's, and, when `recovered`, the answer across attempts
        (`text`), its `seams`, why recovery `stopped` and every attempt's verdict."""
        current = self.current
        if current is None or current.verdict is None:
            raise RecoveryError("no attempt has finished yet")
        out = current.verdict.to_dict()
        if not self.recovered:
            return out
        answer = current.answer
        out["text"] = answer.text
        out["seams"] = answer.seams
        out["stopped"] = self.stopped
        out["attempts"] = [attempt.to_dict() for attempt in self.attempts]
        return out

    def finish(self, attempt: Attempt, verdict: Verdict) -> None:
        """The attempt ended: its verdict, and the tokens it paid again over the attempt it replaces."""
        attempt.verdict = verdict
        if attempt.replaces is not None and attempt.strategy is not None:
            attempt.repaid = repaid(self.attempts[attempt.replaces - 1].usage, attempt.usage, attempt.strategy)

    def record(self, recording: Recording, run: Run) -> Attempt:
        """The attempt a saved session's next recording made, as the live run made it (the attempts
        before it have finished): added to the log, or, when the SDK followed a redirect, the current
        attempt going on with `run`."""
        previous = self.current
        body = recording.request.get("body")
        body = dict(body) if isinstance(body, dict) else {}
        if previous is None:
            attempt = Attempt(1, Reason.FIRST, None, None, [], "", body, run)
        elif not recording.link:
            previous.run, previous.verdict, previous.repaid = run, None, None
            return previous
        else:
            attempt = self._recorded(previous, recording, body, run)
        self.attempts.append(attempt)
        return attempt

    def _recorded(self, previous: Attempt, recording: Recording, body: dict[str, Any], run: Run) -> Attempt:
        link = recording.link
        dropped = link.get("dropped")
        notes = [str(note) for note in dropped] if isinstance(dropped, list) else []
        number, waited = previous.number + 1, gap(previous.run.recording, recording)
        strategy = _strategy(link.get("strategy"))
        if link.get("reason") != Reason.RESUME or strategy not in (Strategy.PREFILL, Strategy.USER_TURN):
            return Attempt(number, Reason.RETRY, Strategy.RETRY, previous.number, notes, retry_about(previous), body,
                           run, waited=waited)
        _, chain, parts = continuation(previous)
        refused = (strategy is Strategy.USER_TURN and previous.strategy is Strategy.PREFILL and any(
            a.strategy is Strategy.PREFILL and is_prefill_refusal(a.state.status, a.state.error) for a in self.attempts
        ))
        about = resume_about(chain, strategy, refused_by=str(body.get("model")) if refused else None)
        return Attempt(number, Reason.RESUME, strategy, previous.number, notes, about, body, run,
                       base=chain, base_parts=parts, waited=waited)


def attempt_count(recordings: Sequence[Recording]) -> int:
    """How many attempts a session's recordings are: the first, then one per recording with a link."""
    return min(1, len(recordings)) + sum(1 for recording in recordings[1:] if recording.link)


def continuation(previous: Attempt) -> tuple[Salvage, Salvage, tuple[Part, ...]]:
    """What a resume of `previous` works from: what `previous` left (`salvage`), the answer so far that
    goes back (what every attempt it continues left, joined), and where each attempt's text begins in it."""
    left = salvage(previous.state)
    chain = left if previous.base is None else continued(previous.base, left)
    return left, chain, _parts(previous, left)


def retry_about(previous: Attempt) -> str:
    return f"the same request again, in place of attempt {previous.number}: {how_it_failed(previous.state)}"


def resume_about(chain: Salvage, strategy: Strategy, refused_by: str | None = None) -> str:
    """Why a resume was sent; `refused_by`: the model, when it has just refused the answer as prefill."""
    how = "as prefill" if strategy is Strategy.PREFILL else "after a user turn asking to continue"
    about = f"continues the {len(chain.partial)} characters of answer so far, {how}"
    return about if refused_by is None else f"{refused_by} refused prefill (HTTP 400): {about}"


def how_it_failed(state: StreamState) -> str:
    """How an attempt failed, in a few words."""
    termination = state.termination
    error = state.error or state.end_error or {}
    if termination is Termination.HTTP_ERROR:
        return f"HTTP {state.status} {error.get('type', '')}".rstrip()
    if termination is Termination.ERROR_EVENT:
        return f"an error event ({error.get('type', '?')})"
    if termination is Termination.TRANSPORT_ERROR:
        return f"a transport error ({error.get('type', '?')})"
    return _ENDINGS.get(termination, "a stream that did not finish")


_ENDINGS = {
    Termination.EOF: "an early end of the body (no message_stop)",
    Termination.TIMEOUT: "a read timeout",
    Termination.CANCELLED: "a cancel",
}


def _parts(previous: Attempt, left: Salvage) -> tuple[Part, ...]:
    """Where each attempt of the answer so far begins in it, once `previous` is continued."""
    if previous.base is None:
        return (Part(previous.number, 0),)
    if not left.kept:
        return previous.base_parts
    joined = _join(previous.base, _texts(left))
    return (*previous.base_parts, Part(previous.number, joined.seam, joined.repeated))


def _texts(left: Salvage) -> str:
    return "".join(block["text"] for block in left.kept if block["type"] == "text")


def _join(base: Salvage, text: str) -> Stitched:
    return stitch(_texts(base), text, base.trimmed)


def _strategy(value: object) -> Strategy | None:
    try:
        return Strategy(value) if isinstance(value, str) else None
    except ValueError:
        return None


def gap(before: Recording | None, recording: Recording) -> float:
    """Seconds from the end of `before` (the recording before it) to `recording`'s request, on the session clock."""
    ended = None if before is None or before.ending is None else before.ending.get("t")
    if not isinstance(ended, (int, float)):
        return 0.0
    return max(0.0, recording.started_t - ended)
