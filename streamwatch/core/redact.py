"""What may be recorded or shown: the one place that decides which parts of an exchange are secret.

A `Redactor` knows one run's secrets and applies one rule per kind of thing:

- **Headers, by allow-list.** A header whose name is in `HARMLESS_HEADERS` or starts with one of
  `HARMLESS_PREFIXES` (content type and encoding, dates, request ids, retry advice, rate limits, the
  SDK's `x-stainless-*` client facts, the mock's `x-streamwatch-*` controls, ...) keeps its value;
  every other header keeps its name, so a user sees it was sent, and its value becomes `[redacted]`.
- **URLs.** The user-info (`user:password@`) becomes `[redacted]@`, every query value and the
  fragment become `[redacted]` (the query's names stay; a fragment that is a plain anchor, a word or
  words joined by `-`, `_` or `.` that does not look like a token, stays: the SDK's own messages point
  at `errors#long-requests`), and a path segment that looks like a token
  (key-shaped, a known secret, or 16 or more token characters mixing letters and digits) becomes
  `[redacted]`.
- **Text** (body bytes, model output, the request body, any JSON string value): key-shaped runs
  (`KEY_SHAPES`: `sk-ant-` and 8 or more key characters, `sk-` and 20 or more at the start of a word,
  `Bearer ` and 16 or more token characters) and every known secret of at least `MIN_SECRET` (8)
  characters become `[redacted]`. A shorter value is never scrubbed from text: a key `e` or `any`
  would rewrite every word holding it. It stays off disk by the header and URL rules alone.
- **Request bodies** (`request`): the JSON rule below, and first the value of every field whose
  name says it holds a credential (`SECRET_FIELD_WORDS`: `api_key`, `apiKey`, `password`,
  `authorization`, `access_token`, `client_secret`, ...; a name is split into words at `_`, `-`,
  `.` and case changes, so `max_tokens` or `input_tokens` is no such name) becomes `[redacted]`
  when it is a string (or a string in a list), however it looks; an object under it is searched
  as any other. Only what is recorded changes: the
  request sent is the caller's.
- **Messages** about the exchange (what the SDK raised, its cause chain, streamwatch's own lines):
  the text rule, and the URL rule on every URL in them. (The text rule leaves URLs alone: a URL in
  an answer or a search result is data.)
- **JSON** (`value`): the text rule on every string value; keys, numbers and the structure are left
  alone, so a redacted document is still the same valid JSON. Never redact a serialised line.
- **Body chunks** (`scrubber`): the text rule across read boundaries. See `ChunkScrubber`.
- **A body's events** (`body_scrubber`): the text rule across the content deltas of an SSE body as
  well, so a secret the model writes in pieces is caught whole. See `DeltaScrubber`.

Known secrets: the values the redactor is given (the client's API key and auth token), and what
`learn` finds in the request as it is sent and in the base URL as written: the URL's user name and
password (and the `Basic` credential a client derives from them), and the value of a query parameter or of a header off the allow-list whose name says it
holds a credential (key, auth, token, secret, password, cookie, credential, session, signature) or
whose value looks like a token; of a value `Scheme credential` (`Bearer ...`, `Basic ...`), the
credential alone; and the strings of a request body's secret-named fields. So `X-Custom-Auth: hunter2hunter2` echoed in a body is scrubbed there too, while
`X-Env: production` is redacted in the headers but never scrubbed from the answer.
"""

from __future__ import annotations

import base64
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

REDACTED = "[redacted]"
_REDACTED = REDACTED.encode()
MIN_SECRET = 8
"""Known secrets shorter than this are not scrubbed from text (too ambiguous to find by value)."""

HARMLESS_HEADERS = frozenset({
    # the exchange itself
    "accept", "accept-encoding", "age", "cache-control", "connection", "content-encoding",
    "content-length", "content-type", "date", "expires", "host", "keep-alive", "server",
    "transfer-encoding", "user-agent", "vary", "via",
    # retry advice, which retries and the diagnosis read
    "retry-after", "retry-after-ms", "x-should-retry",
    # what identifies a request to support, not to the API
    "request-id", "x-request-id", "cf-ray", "cf-cache-status", "x-envoy-upstream-service-time",
    # the API's own
    "anthropic-version", "anthropic-beta",
})
HARMLESS_PREFIXES = (
    "anthropic-ratelimit-",  # limits and resets, no identity
    "x-stainless-",  # the SDK's client facts: lang, package version, os, arch, runtime, retry count, timeout
    "x-streamwatch-",  # the embedded server's controls: scenario, failure, sizes
)

KEY_CHARS = "A-Za-z0-9_-"
TOKEN_CHARS = "A-Za-z0-9._~+/=-"
KEY_SHAPES = (
    ("sk-ant-", KEY_CHARS, 8, False),
    ("sk-", KEY_CHARS, 20, False),
    ("bearer ", TOKEN_CHARS, 16, True),
)
"""(prefix, characters, at least how many, whether the prefix stays): a run of those characters after
the prefix is a key. A prefix matches in any case, at the start of a word (or after a JSON escape
such as `\\n` or `\\u0001`): `sk-ant-api03-...` goes whole, `Bearer abc...` becomes `Bearer [redacted]`."""

_WORD_START = rf"(?:(?<![{KEY_CHARS}])|(?<=\\[nrtbf])|(?<=\\u[0-9A-Fa-f]{{4}}))"
_SHAPES = [
    _WORD_START + (f"(?<=(?i:{re.escape(prefix)}))" if stays else f"(?i:{re.escape(prefix)})") + f"[{chars}]{{{least},}}"
    for prefix, chars, least, stays in KEY_SHAPES
]
_TAIL = re.compile(
    "(?:{})\\Z".format("|".join(
        f"(?i:{re.escape(prefix[:n])})" + (f"[{chars}]*" if n == len(prefix) else "")
        for prefix, chars, _, _ in KEY_SHAPES
        for n in range(1, len(prefix) + 1)
    )).encode()
)
"""What the end of a chunk holds when more bytes could make it a key: a prefix of a key shape's
prefix, or the whole prefix and a run of its characters that the next bytes may continue."""
_ALL_PREFIXES = [prefix for prefix, _, _, _ in KEY_SHAPES]
_PREFIXES = tuple(p for p in _ALL_PREFIXES if not any(q != p and q in p for q in _ALL_PREFIXES))
"""The key shapes' prefixes that hold no other one: a text that holds `sk-ant-` holds `sk-`, so looking
for `sk-` is enough."""
_PREFIX_BYTES = tuple(prefix.encode() for prefix in _PREFIXES)
_TAIL_BYTES = (string.ascii_letters + string.digits + "._~+/=- ").encode()
"""Every byte such a tail can hold: it is searched for only after the last byte of another kind."""
_CREDENTIAL_NAME = re.compile(r"key|auth|token|secret|passw|cookie|credential|session|signature", re.IGNORECASE)
_ANCHOR = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")
_TOKEN_LIKE = re.compile(rf"(?=[{TOKEN_CHARS}]*[0-9])(?=[{TOKEN_CHARS}]*[A-Za-z])[{TOKEN_CHARS}]{{16,}}")
SECRET_FIELD_WORDS = frozenset({
    "apikey", "auth", "authorization", "cookie", "credential", "credentials", "passphrase", "passwd",
    "password", "secret", "token",
})
"""A JSON field holds a credential when one word of its name is one of these ..."""
SECRET_KEY_WORDS = frozenset({"access", "api", "auth", "client", "private", "secret", "session", "signing"})
"""... or when its name ends in `key` after one of these (`api_key`, `x-api-key`, `privateKey`)."""
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")

JSON = TypeVar("JSON")


def split_url(url: object) -> SplitResult:
    """A URL as recorded (redacted), split into its parts, never raising: its user-info `[redacted]@`,
    which `urlsplit` would take for a malformed IPv6 host (a ValueError in every reader), is read as
    the user-info it is; a text no URL parser splits (a hand-made file) gives empty parts."""
    text = url if isinstance(url, str) else ""
    hidden = f"{REDACTED}@"
    masked = hidden in text
    try:
        parts = urlsplit(text.replace(hidden, _MASKED, 1) if masked else text)
    except ValueError:
        return urlsplit("")
    return parts._replace(netloc=parts.netloc.replace(_MASKED, hidden, 1)) if masked else parts


_MASKED = "redacted@"


class Redactor:
    """One run's secrets and the rules above; see the module doc."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._known: set[str] = set()
        self._compile()
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        """More secret values (empty ones, and ones already redacted, are ignored)."""
        new = {s for s in secrets if s and REDACTED not in s} - self._known
        if new:
            self._known |= new
            self._compile()

    def learn(
        self, url: str | None = None, headers: Iterable[tuple[str, str]] | Mapping[str, str] = (), body: Any = None
    ) -> None:
        """Take the secrets a request carries (see the module doc), before anything of it is recorded."""
        found: list[str] = list(_secret_fields(body))
        try:
            parts = urlsplit(url or "")
            found += [parts.username, parts.password]
            found += _basic(parts.username, parts.password)
        except ValueError:
            parts = urlsplit("")
        if url and not parts.netloc and "@" in url:
            found += url.rpartition("@")[0].rpartition("/")[2].split(":")
        for pair in parts.query.split("&"):
            name, _, value = pair.partition("=")
            found += _credentials(name, value)
        items = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in items:
            if not _harmless(name):
                found += _credentials(name, value)
        self.add(found)

    # ----- the rules --------------------------------------------------------------------------

    def headers(self, headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> dict[str, str]:
        """Names lower-cased and kept; values kept (text rule) on the allow-list, else `[redacted]`."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        return {name.lower(): self.text(value) if _harmless(name) else REDACTED for name, value in items}

    def url(self, url: str) -> str:
        """The URL as it may be kept or shown; one already redacted (read again from a file) stays as it is."""
        parts = split_url(url)
        if not parts.netloc:
            # Not a URL a client could send (`bob:pw@host` has no `//`): all before its last `@` may be
            # a user and password.
            before, at, after = url.rpartition("@")
            return self.text(f"{REDACTED}@{after}" if at and not before.startswith("/") else url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
        path = "/".join(REDACTED if self._token_like(segment) else segment for segment in parts.path.split("/"))
        query = "&".join(
            f"{name}={REDACTED}" if sep else REDACTED
            for name, sep, _ in (pair.partition("=") for pair in parts.query.split("&") if pair)
        )
        fragment = parts.fragment
        if fragment and (_ANCHOR.fullmatch(fragment) is None or self._token_like(fragment)):
            fragment = REDACTED
        return urlunsplit((parts.scheme, netloc, path, query, fragment))

    def text(self, text: str) -> str:
        return self._text.sub(REDACTED, text) if self._may_match(text) else text

    def message(self, text: str) -> str:
        return self.text(_URL.sub(lambda m: self.url(m.group()), text))

    def value(self, value: JSON) -> JSON:
        """A JSON value with the text rule applied to each string in it, and nothing else changed."""
        if isinstance(value, str):
            return self.text(value)  # type: ignore[return-value]
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}  # type: ignore[return-value]
        if isinstance(value, list):
            return [self.value(item) for item in value]  # type: ignore[return-value]
        return value

    def request(self, method: str, url: str, headers: Iterable[tuple[str, str]], body: Any) -> dict[str, Any]:
        """A request as a session records it."""
        return {"method": method, "url": self.url(url), "headers": self.headers(headers), "body": self.body(body)}

    def body(self, body: JSON) -> JSON:
        """A request body as a session records it: its secret-named fields hidden, then the JSON rule."""
        return self.value(_without_secret_fields(body))

    def scrubber(self, content_encoding: str | None = None) -> ChunkScrubber:
        """A scrubber of one response body's bytes, which came with this `content-encoding`."""
        return ChunkScrubber(self, encoded=(content_encoding or "identity").strip().lower() != "identity")

    def body_scrubber(
        self, content_encoding: str | None = None, content_type: str | None = None, whole_reads: bool = False
    ) -> BodyScrubber:
        """A scrubber of one response body, which came with this `content-encoding` and `content-type`:
        its bytes, and its content deltas if it is a stream of events (what a recorder and, with
        `whole_reads`, a reader use; see `DeltaScrubber`)."""
        chunks = self.scrubber(content_encoding)
        events = not chunks._encoded and "event-stream" in (content_type or "").lower()
        return BodyScrubber(chunks, DeltaScrubber(self, whole_reads) if events else None)

    # ----- underneath -------------------------------------------------------------------------

    def _compile(self) -> None:
        self._long = sorted((s for s in self._known if len(s) >= MIN_SECRET), key=len, reverse=True)
        self._long_bytes = [s.encode("utf-8") for s in self._long]
        self._longest = max((len(s) for s in self._long_bytes), default=0)
        sources = [re.escape(s) for s in self._long] + _SHAPES
        self._text = re.compile("|".join(sources))
        self._bytes = re.compile("|".join(sources).encode("utf-8"))

    def _may_match(self, text: str | bytes) -> bool:
        """Whether the text rule could find anything: a quick look for the literal parts, far faster
        than the full search it saves on almost every chunk."""
        lower = text.lower()
        binary = isinstance(text, bytes)
        for prefix in _PREFIX_BYTES if binary else _PREFIXES:
            if prefix in lower:
                return True
        for secret in self._long_bytes if binary else self._long:
            if secret in text:
                return True
        return False

    def _token_like(self, segment: str) -> bool:
        return bool(segment) and (self.text(segment) != segment or _TOKEN_LIKE.fullmatch(segment) is not None)


def _basic(username: str | None, password: str | None) -> list[str]:
    """What an HTTP client makes of a URL's user-info: the user and password unquoted, and the
    `Authorization: Basic` credential it derives from them (httpx does), which an upstream may echo."""
    if username is None and password is None:
        return []
    user, secret = unquote(username or ""), unquote(password or "")
    return [user, secret, base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")]


def _secret_field(name: str) -> bool:
    words = [word.lower() for word in _WORD.findall(name)]
    if any(word in SECRET_FIELD_WORDS for word in words):
        return True
    return len(words) > 1 and words[-1] == "key" and words[-2] in SECRET_KEY_WORDS


def _hidden(value: Any) -> Any:
    """A secret-named field's value as recorded: a string, or each string of a list, `[redacted]`;
    an object is searched as any other."""
    if isinstance(value, str):
        return REDACTED
    if isinstance(value, list):
        return [REDACTED if isinstance(item, str) else _without_secret_fields(item) for item in value]
    return _without_secret_fields(value)


def _without_secret_fields(value: JSON) -> JSON:
    """A JSON value with the strings of its secret-named fields, at any depth, `[redacted]`."""
    if isinstance(value, dict):
        return {key: _hidden(item) if isinstance(key, str) and _secret_field(key) else _without_secret_fields(item)
                for key, item in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [_without_secret_fields(item) for item in value]  # type: ignore[return-value]
    return value


def _secret_fields(value: Any) -> Iterable[str]:
    """The strings of a JSON value's secret-named fields, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            named = isinstance(key, str) and _secret_field(key)
            for part in item if named and isinstance(item, list) else [item]:
                if named and isinstance(part, str):
                    yield part
                else:
                    yield from _secret_fields(part)
    elif isinstance(value, list):
        for item in value:
            yield from _secret_fields(item)


def _harmless(name: str) -> bool:
    """On the allow-list: a harmless name, or a harmless prefix whose rest does not name a credential
    (`x-stainless-api-key` is not the SDK's client facts; a rate limit's "tokens" are a count)."""
    name = name.lower()
    if name in HARMLESS_HEADERS:
        return True
    prefix = next((p for p in HARMLESS_PREFIXES if name.startswith(p)), None)
    if prefix is None:
        return False
    rest = name[len(prefix):]
    if prefix == "anthropic-ratelimit-":
        rest = rest.replace("tokens", "")
    return _CREDENTIAL_NAME.search(rest) is None


def _credentials(name: str, value: str) -> list[str]:
    """A value that holds a credential (by its name, or because it looks like a token); of a value
    `Scheme credential`, the credential alone."""
    value = value.strip()
    parts = value.split()
    if not (_CREDENTIAL_NAME.search(name) or any(_TOKEN_LIKE.fullmatch(part) for part in parts)):
        return []
    return [parts[1]] if len(parts) == 2 else [value]


class ChunkScrubber:
    """The text rule on one response body as it arrives in chunks, so a secret split across reads is
    caught whole and never recorded in halves.

    `feed` returns what may be recorded now: what was held before, then the chunk, scrubbed, less
    the tail that could be the start of a secret (a proper prefix of a known secret, or the start of
    a key shape, or a key-shaped run reaching the end, which the next bytes may continue). The tail
    is held until the next chunk (with which it is recorded, at that chunk's time) or `flush` at the
    end. Every byte is recorded: only the characters of a secret change, and none of the SSE framing
    (no key shape holds a line break, nor can a header or URL value, so a held tail is always inside
    an event that is not complete yet, and holding it delays no event).

    A compressed body (`content-encoding` other than identity) passes unchanged: its bytes mean
    nothing until decoded, a byte-wise scrub could only corrupt them, and a secret echoed inside it
    stays in the file, compressed.
    """

    def __init__(self, redactor: Redactor, encoded: bool = False) -> None:
        self._redactor = redactor
        self._encoded = encoded
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        if self._encoded:
            return data
        buffer = self._held + data if self._held else data
        cut = self._hold_from(buffer)
        if cut == len(buffer) and not self._redactor._may_match(buffer):
            self._held = b""
            return buffer
        out: list[bytes] = []
        done = 0
        for match in self._redactor._bytes.finditer(buffer) if self._redactor._may_match(buffer) else ():
            if match.start() < cut < match.end():
                cut = match.start()  # never cut a secret in two: hold all of it
            if match.end() > cut:
                break
            out += [buffer[done:match.start()], _REDACTED]
            done = match.end()
        out.append(buffer[done:cut])
        self._held = buffer[cut:]
        return b"".join(out)

    def flush(self) -> bytes:
        """What is still held, scrubbed, when the body ends: the start of a key shape is kept (nothing
        followed it, so it is no key), a start of a known secret of at least `MIN_SECRET` is redacted."""
        held, self._held = self._held, b""
        out: list[bytes] = []
        done = 0
        for match in self._redactor._bytes.finditer(held):
            out += [held[done:match.start()], _REDACTED]
            done = match.end()
        rest = held[done:]
        cut = _secret_start(self._redactor, rest, 0, len(rest))
        out += [rest[:cut], _REDACTED if len(rest) - cut >= MIN_SECRET else rest[cut:]]
        return b"".join(out)

    def _hold_from(self, buffer: bytes) -> int:
        """Where the tail that could be the start of a secret begins (the end if there is none).
        Only what follows the last line break can be: no secret holds one."""
        line = buffer.rfind(b"\n") + 1
        if line == len(buffer):
            return line
        match = _TAIL.search(buffer, max(line, len(buffer.rstrip(_TAIL_BYTES))))
        return _secret_start(self._redactor, buffer, line, len(buffer) if match is None else match.start())


def _secret_start(redactor: Redactor, buffer: bytes, start: int, cut: int) -> int:
    """The first place from `start` (and before `cut`) where the rest of `buffer` is a proper prefix
    of a known secret; else `cut`."""
    for secret in redactor._long_bytes:
        at = buffer.find(secret[:1], max(start, len(buffer) - len(secret) + 1), cut)
        while at != -1:
            if secret.startswith(buffer[at:]):
                cut = at
                break
            at = buffer.find(secret[:1], at + 1, cut)
    return cut



_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_DELTA_TEXT = re.compile(rb'"(?:text|partial_json|thinking)"\s*:\s*"((?:[^"\\]|\\.)*)"')
"""A content delta's text (escaped, as on the wire): its last field as the API and the mock write it,
or anywhere in it."""
_DELTA_INDEX = re.compile(rb'"index"\s*:\s*(\d+)')
_PING = re.compile(rb'(?m)^(?:event: ?ping\r?$|data: ?\{"type": ?"ping"\})')
_DATA = re.compile(rb"(?m)^data:")
_START_WINDOW = 256
"""How much of a text's end is looked at (all of the longest known secret, if it is longer): a
key-shaped run longer than this goes on being held only while `MAX_HELD` allows."""
_QUICK_WINDOW = 40
"""How much of each delta's end the quick look sees (a run of key characters longer than it is looked at again, longer)."""
_TOKEN_BYTES = (string.ascii_letters + string.digits + "._~+/=-").encode()
_DELTA_END = b'"}}'
"""How a content delta's data line ends (before its line break), its text the last field."""
_LINE_ENDS = b"\n\r"
MIN_HELD_PREFIX = 3
"""How much of a known secret a delta's text must end with to be held inside a word (at the start of
one, any of it is; a shorter start inside a word is let go: the rest is still redacted where it comes)."""
_KEY_BYTES = (string.ascii_letters + string.digits + "_-").encode()
_ESCAPES = b"nrtbf"
_HEX = re.compile(rb"[0-9A-Fa-f]{4}")
MAX_HELD = 64
"""Deltas (and pings among them) held at most while a secret may still be coming; past it they go, redacted as far as known."""
_CONTEXT = 512
"""Bytes of a block's text kept (never recorded) to find a secret that began in the deltas let go (all
of the longest known secret, if it is longer)."""


class DeltaScrubber:
    """The text rule across the content deltas of one SSE body. A secret the model writes (an API key
    it was shown and repeats) comes in pieces, one `text_delta` (or `partial_json`, `thinking`) each,
    as every stream splits a long word; `ChunkScrubber` sees each event's bytes alone, and would let
    the pieces be recorded, to be shown whole.

    `feed(data, t)` returns what may be recorded now, each part of a read at the time the read came:
    what comes before the first event not complete yet (so that every delta is judged whole: a
    recorder's and a reader's alike, since a file may hold reads cut anywhere) and before the first
    delta held. A delta whose
    text, after the block's text before it, ends where a secret could begin and is none yet (a key
    shape's prefix at the start of a word, or it and a run of its characters; the start of a known
    secret at the start of a word, or `MIN_HELD_PREFIX` characters of it anywhere) is held, with
    what comes after it, until a later delta ends where no secret can begin, another event comes (the
    block ended; a ping or a comment line is no end, and waits with them), `MAX_HELD` is reached, or
    the body ends (`flush`). Then the characters of each secret are cut out of the
    deltas' texts and `[redacted]` put where it begins; nothing else changes (every event, its other
    fields and its framing stay). A body that is not a stream of events is not given to it
    (`Redactor.body_scrubber`): it would wait for an end of event that never comes.
    """

    def __init__(self, redactor: Redactor, whole_reads: bool = False) -> None:
        """`whole_reads`: a read goes whole, once all of it may (a reader: each chunk as the file has it);
        else (a recorder) the part of it before an event not complete yet goes at once."""
        self._redactor = redactor
        self._whole_reads = whole_reads
        self._reads: list[tuple[bytes, float]] = []
        """What came and did not go yet: the reads, or what is left of them, each with its time."""
        self._buffer = b""
        """Their bytes, joined."""
        self._scanned = 0
        """Where in `_buffer` the events looked at end."""
        self._held: list[tuple[int, int]] = []
        """The held deltas: where each one's text is in `_buffer` (a ping or a comment among them: no text)."""
        self._changes: list[tuple[int, int, bytes]] = []
        """What goes in place of which bytes of `_buffer` (a secret's characters, and `[redacted]`)."""
        self._block: bytes | None = None
        self._context = b""
        """The end of the current block's text as it came (kept here only, to find a secret's start)."""
        self._base = 0
        """Where `_context` begins in the block's text."""
        self._marked = 0
        """Where in the block's text the last secret marked `[redacted]` ends."""
        self._open = False
        """Whether the block's text let go ends where a secret may go on (the start of a known one, too
        short to hold inside a word, or one cut out up to the end): the next delta is read with it."""
        self.cuts = 0
        """How many times a secret's characters were cut out of a delta."""

    def feed(self, data: bytes, t: float) -> list[tuple[bytes, float]]:
        if not self._reads:
            whole = data.endswith((b"\n\n", b"\r\r"))
            if whole and not self._open and not self._any_may_begin(data):
                # it ends with an event, and no delta in it ends where a secret can begin: as it came
                if self._block is not None or self._context:
                    self._new_block(None)
                return [(data, t)]
        self._reads.append((data, t))
        self._buffer += data
        end = _last_event_end(self._buffer, self._scanned)
        if not self._held and not self._open and not self._any_may_begin(self._buffer[self._scanned:end]):
            if end > self._scanned:  # whole events where no secret can begin
                self._new_block(None)
                self._scanned = end
        else:
            for match in _EVENT_END.finditer(self._buffer, self._scanned, end):
                self._event(self._scanned, match.end())
                self._scanned = match.end()
        if self._held:
            return self._let_go(self._held[0][0])
        return self._let_go(self._scanned)

    def flush(self) -> list[tuple[bytes, float]]:
        """Every read still held, its secrets cut out: the body ended."""
        self._release()
        return self._let_go(len(self._buffer))

    # ----- underneath -------------------------------------------------------------------------

    def _event(self, start: int, end: int) -> None:
        """The complete event at `_buffer[start:end]`."""
        event = self._buffer[start:end]
        text, block = self._delta(event)
        if self._held and len(self._held) < MAX_HELD:
            if text is not None and block == self._block:
                self._held.append((start + text[0], start + text[1]))
                if not self._may_begin(self._texts()):
                    self._release(open_end=False)
                return
            if text is None and (block == self._block or _no_end(event)):  # held with the deltas (as no text)
                self._held.append((end, end))
                return
        if self._held:
            self._release()
        if text is not None:
            if block != self._block:
                self._new_block(block)
            self._held = [(start + text[0], start + text[1])]
            if not self._may_begin(self._texts()):
                self._release(open_end=False)
            return
        if block != self._block and not _no_end(event):
            self._new_block(None)  # not a delta of the block: it ended

    def _texts(self) -> bytes:
        return b"".join(self._buffer[a:b] for a, b in self._held)

    def _release(self, open_end: bool = True) -> None:
        """The held deltas are decided: the block's secrets are cut out of their texts. `open_end`: no
        later delta showed where the text goes (it ended, the body did, or `MAX_HELD` was reached), so
        a start of a known secret at its end, `MIN_SECRET` long or more, is cut out too (as
        `ChunkScrubber.flush` does)."""
        held, self._held = self._held, []
        if not held:
            return
        joined = self._context + b"".join(self._buffer[a:b] for a, b in held)
        spans = _secret_spans(self._redactor, joined)
        if open_end:
            start = _secret_start(self._redactor, joined, spans[-1][1] if spans else 0, len(joined))
            if len(joined) - start >= MIN_SECRET:
                spans.append((start, len(joined)))
        cuts = [[a, b, int(self._base + a < self._marked)] for a, b in spans]
        if cuts:
            self._marked = max(self._marked, self._base + cuts[-1][1])
            at = len(self._context)
            for start, end in held:
                for cut in cuts:
                    a, b = max(cut[0] - at, 0), min(cut[1] - at, end - start)
                    if a < b:
                        self._changes.append((start + a, start + b, b"" if cut[2] else _REDACTED))
                        self.cuts += 1
                        cut[2] = 1
                at += end - start
        self._context = joined[-max(_CONTEXT, self._redactor._longest):]
        self._base += len(joined) - len(self._context)
        self._open = 0 < self._marked == self._base + len(self._context) or self._ends_where_a_secret_may_begin(
            self._context[-self._window():], inside_words=True)

    def _let_go(self, upto: int) -> list[tuple[bytes, float]]:
        """What came before `upto` in `_buffer`, each read's part at its time, with its changes made."""
        out: list[tuple[bytes, float]] = []
        at = 0
        if self._whole_reads:  # no read in two: only those before `upto` all through
            whole = 0
            for data, _ in self._reads:
                if whole + len(data) > upto:
                    break
                whole += len(data)
            upto = whole
        while self._reads and (at < upto or not self._reads[0][0]):  # (an empty read goes in its turn)
            data, t = self._reads[0]
            part = data[:upto - at]
            if len(part) < len(data):
                self._reads[0] = (data[len(part):], t)
            else:
                self._reads.pop(0)
            mine = [change for change in self._changes if at <= change[0] < at + len(part) or
                    (change[0] < at < change[1])]
            out.append((_changed(part, at, mine), t))
            at += len(part)
        if at:
            self._buffer = self._buffer[at:]
            self._scanned = max(self._scanned - at, 0)
            self._held = [(a - at, b - at) for a, b in self._held]
            self._changes = [(max(a - at, 0), b - at, what if a >= at else b"") for a, b, what in self._changes if b > at]
        return out

    def _new_block(self, block: bytes | None) -> None:
        self._block, self._context, self._base, self._marked, self._open = block, b"", 0, 0, False

    def _delta(self, event: bytes) -> tuple[tuple[int, int] | None, bytes | None]:
        """Where a content delta's text is in it (None for a delta with no text, a citation or a
        signature), and its block's index; (None, b"") for another event."""
        if b'"content_block_delta"' not in event:
            return None, b""
        match = _DELTA_TEXT.search(event)
        index = _DELTA_INDEX.search(event)
        return None if match is None else (match.start(1), match.end(1)), None if index is None else index.group(1)

    def _any_may_begin(self, buffer: bytes) -> bool:
        """Whether a line in the complete events of `buffer` ends as a content delta does where a secret
        could begin (a quick look at each such line's end alone: the block's text before it is not known
        here), or a content delta in it is written another way (its text not last: the full look decides)."""
        window = max(_QUICK_WINDOW, self._redactor._longest)
        known = bool(self._redactor._long_bytes)
        ends = 0
        at = buffer.find(_DELTA_END)
        while at != -1:
            last = buffer[at - 1]
            if last != 34 and buffer[at + 3] in _LINE_ENDS and not buffer.endswith(b"_delta", 0, at):
                ends += 1  # (not a block's start, `"text":""}}`, nor a delta whose type comes after its text)
                if known or last in _TOKEN_BYTES or last == 32 and buffer[at - 7:at].lower() == b"bearer ":
                    # (most texts end in a space, a stop or a quote: nothing to look at)
                    tail = buffer[max(0, at - window):at]
                    if self._ends_where_a_secret_may_begin(tail, inside_words=True) or (
                        at > window and not tail.rstrip(_TOKEN_BYTES)
                    ):
                        return True  # (a run longer than it looks at: the longer look decides)
            at = buffer.find(_DELTA_END, at + len(_DELTA_END))
        return buffer.count(b'"content_block_delta"') > ends

    def _may_begin(self, text: bytes) -> bool:
        """Whether the block's text, ending with `text`, ends where a secret could begin, none yet."""
        return self._ends_where_a_secret_may_begin((self._context + text)[-self._window():])

    def _window(self) -> int:
        """How much of the text's end is looked at: all of the longest known secret at least."""
        return max(_START_WINDOW, self._redactor._longest)

    def _ends_where_a_secret_may_begin(self, tail: bytes, inside_words: bool = False) -> bool:
        """A key shape's prefix, or it and a run of its characters, at the start of a word; or the
        start of a known secret (at the start of a word, or `MIN_HELD_PREFIX` characters of it; any of
        it with `inside_words`)."""
        if not tail:
            return False
        last = tail[-1]
        if last not in _TOKEN_BYTES and last != 32 and not self._redactor._long_bytes:
            return False  # (the common end: a space, a stop, a quote)
        run = len(tail.rstrip(_KEY_BYTES))
        if run < len(tail):
            start = run + _escape(tail, run)  # `\\nsk-`, `\\u003csk-`
            word = tail[start:start + 3].lower()
            if word == b"sk-" or b"sk-".startswith(word) or b"bearer".startswith(tail[start:].lower()):
                return True
        token = len(tail.rstrip(_TOKEN_BYTES)) if last != 32 else len(tail)
        if token >= 7 and tail[token - 1] == 32 and tail[token - 7:token].lower() == b"bearer " and _word_start(tail, token - 7):
            return True
        for secret in self._redactor._long_bytes:
            at = tail.find(secret[:1], max(0, len(tail) - len(secret) + 1))
            while at != -1:
                if secret.startswith(tail[at:]) and (
                    inside_words or len(tail) - at >= MIN_HELD_PREFIX or _word_start(tail, at)
                ):
                    return True
                at = tail.find(secret[:1], at + 1)
        return False


def _no_end(event: bytes) -> bool:
    """Whether an event that is no content delta leaves the text of the block going on: a ping (sent
    anywhere), or one with no data (a comment line)."""
    return _PING.search(event) is not None or _DATA.search(event) is None


def _word_start(text: bytes, at: int) -> bool:
    """Whether a word starts at `text[at]`: no key character before it, or a JSON escape (`\\t`, `\\u0001`)."""
    return at == 0 or text[at - 1] not in _KEY_BYTES or _escape(text, at - 1) > 0 or _escape(text, at - 5) == 5


def _escape(text: bytes, at: int) -> int:
    """How long the rest of a JSON escape at `text[at]` is, after its backslash (0 if there is none)."""
    if at < 1 or text[at - 1] != 92:
        return 0
    if text[at] in _ESCAPES:
        return 1
    return 5 if text[at] == 117 and _HEX.fullmatch(text, at + 1, at + 5) else 0


def _last_event_end(buffer: bytes, start: int) -> int:
    """Where the last complete event in `buffer` from `start` ends (`start` if none does)."""
    marks = (b"\n\n", b"\r\r", b"\r\n\r\n") if b"\r" in buffer else (b"\n\n",)
    return max((at + len(mark) for mark in marks if (at := buffer.rfind(mark, start)) != -1), default=start)


def _secret_spans(redactor: Redactor, text: bytes) -> list[tuple[int, int]]:
    if not redactor._may_match(text):
        return []
    return [match.span() for match in redactor._bytes.finditer(text)]


def _changed(data: bytes, at: int, changes: list[tuple[int, int, bytes]]) -> bytes:
    """A read (at `at` in the joined reads) with the changes that begin in it or run through it made:
    what a change puts in goes in the read where it begins."""
    if not changes:
        return data
    pieces: list[bytes] = []
    done = 0
    for start, end, what in sorted(changes):
        start, end = start - at, min(end - at, len(data))
        if start >= 0:
            pieces += [data[done:start], what]
            done = max(done, end)
        else:
            done = max(done, end)
    pieces.append(data[done:])
    return b"".join(pieces)


class BodyScrubber:
    """A response body's scrubbing, as a recorder and a reader do it: `DeltaScrubber`, then
    `ChunkScrubber` on what it lets go; `feed(data, t)` and `flush()` give the pieces to record, each
    with its time (see both)."""

    def __init__(self, chunks: ChunkScrubber, deltas: DeltaScrubber | None) -> None:
        self._deltas = deltas
        self._chunks = chunks
        self._t = 0.0
        self.changed = False
        """Whether any byte was changed (a secret cut out, or a tail held back to the next piece)."""

    def feed(self, data: bytes, t: float) -> list[tuple[bytes, float]]:
        self._t = t
        if self._deltas is None:
            return self._scrub([(data, t)])
        pieces = self._scrub(self._deltas.feed(data, t))
        self.changed = self.changed or self._deltas.cuts > 0
        return pieces

    def flush(self) -> list[tuple[bytes, float]]:
        """What is still held when the body ends."""
        pieces = [] if self._deltas is None else self._scrub(self._deltas.flush())
        held = self._chunks.flush()
        self.changed = self.changed or bool(held) or (self._deltas is not None and self._deltas.cuts > 0)
        return [*pieces, (held, self._t)] if held else pieces

    def _scrub(self, pieces: list[tuple[bytes, float]]) -> list[tuple[bytes, float]]:
        out = []
        for piece, at in pieces:
            scrubbed = self._chunks.feed(piece)
            if scrubbed is not piece:
                self.changed = True
            if scrubbed or not piece:  # an empty one that came empty stays
                out.append((scrubbed, at))
        return out
