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
such as `\\n`): `sk-ant-api03-...` goes whole, `Bearer abc...` becomes `Bearer [redacted]`."""

_WORD_START = rf"(?:(?<![{KEY_CHARS}])|(?<=\\[nrtbf]))"
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
        """A scrubber for one response body, which came with this `content-encoding`."""
        return ChunkScrubber(self, encoded=(content_encoding or "identity").strip().lower() != "identity")

    # ----- underneath -------------------------------------------------------------------------

    def _compile(self) -> None:
        self._long = sorted((s for s in self._known if len(s) >= MIN_SECRET), key=len, reverse=True)
        self._long_bytes = [s.encode("utf-8") for s in self._long]
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
        cut = self._secret_start(rest, 0, len(rest))
        out += [rest[:cut], _REDACTED if len(rest) - cut >= MIN_SECRET else rest[cut:]]
        return b"".join(out)

    def _hold_from(self, buffer: bytes) -> int:
        """Where the tail that could be the start of a secret begins (the end if there is none).
        Only what follows the last line break can be: no secret holds one."""
        line = buffer.rfind(b"\n") + 1
        if line == len(buffer):
            return line
        match = _TAIL.search(buffer, max(line, len(buffer.rstrip(_TAIL_BYTES))))
        return self._secret_start(buffer, line, len(buffer) if match is None else match.start())

    def _secret_start(self, buffer: bytes, start: int, cut: int) -> int:
        """The first place from `start` (and before `cut`) where the rest of `buffer` is a proper prefix
        of a known secret; else `cut`."""
        for secret in self._redactor._long_bytes:
            at = buffer.find(secret[:1], max(start, len(buffer) - len(secret) + 1), cut)
            while at != -1:
                if secret.startswith(buffer[at:]):
                    cut = at
                    break
                at = buffer.find(secret[:1], at + 1, cut)
        return cut
