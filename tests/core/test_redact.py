"""The redaction rules on their own: headers by allow-list, URLs, key shapes, known secrets, JSON values,
and a body scrubbed across chunk boundaries."""

import gzip
import itertools
import json

import pytest

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.redact import REDACTED, Redactor, split_url
from tests import streams as s

KEY = "swtest-redact-key-4Hq8ZtW2nV"
"""Long enough to be scrubbed by value, and not key-shaped: only the exact-value rule can find it."""
SHAPED = "sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz-AbCdEf"
"""A key the run does not know: only its shape can find it."""


def test_harmless_headers_stay_verbatim_and_every_other_value_is_redacted_under_its_name():
    redactor = Redactor([KEY])
    headers = redactor.headers([
        ("Request-Id", "req_011CZabc"), ("retry-after", "7"), ("retry-after-ms", "6500"), ("x-should-retry", "false"),
        ("Content-Encoding", "gzip"), ("content-type", "text/event-stream"), ("anthropic-version", "2026-10-21"),
        ("anthropic-ratelimit-tokens-remaining", "39000"), ("x-stainless-os", "Linux"),
        ("x-streamwatch-scenario", "drop_eof"), ("user-agent", "Anthropic/Python 2.14.0"),
        ("Authorization", "Bearer e"), ("x-api-key", "any"), ("Cookie", "sid=1"), ("set-cookie", "sid=2"),
        ("X-Custom-Auth", "hunter2hunter2"), ("X-Gateway-Tenant", "acme-prod"), ("anthropic-organization-id", "org"),
    ])
    assert headers == {
        "request-id": "req_011CZabc", "retry-after": "7", "retry-after-ms": "6500", "x-should-retry": "false",
        "content-encoding": "gzip", "content-type": "text/event-stream", "anthropic-version": "2026-10-21",
        "anthropic-ratelimit-tokens-remaining": "39000", "x-stainless-os": "Linux",
        "x-streamwatch-scenario": "drop_eof", "user-agent": "Anthropic/Python 2.14.0",
        "authorization": "[redacted]", "x-api-key": "[redacted]", "cookie": "[redacted]", "set-cookie": "[redacted]",
        "x-custom-auth": "[redacted]", "x-gateway-tenant": "[redacted]", "anthropic-organization-id": "[redacted]",
    }


@pytest.mark.parametrize("short", ["e", "any", "a", "\"", ":", "1234567"])
def test_a_short_secret_never_changes_a_json_document(short):
    document = {"complete": True, "termination": "message_stop", "text": "Any answer: many keys, one per line",
                "blocks": [{"index": 0, "type": "text"}], "error": None, "quote": "\"", "n": 1234567}
    redacted = Redactor([short]).value(document)
    assert redacted == document
    assert json.loads(json.dumps(redacted)) == document


def test_long_secrets_and_key_shapes_go_from_strings_and_only_they():
    redactor = Redactor([KEY])
    document = {
        "text": f"echo {KEY} and {SHAPED}; Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig; a bearer of news",
        KEY: ["sk-proj-abcdefghijklmnopqrstuvwxyz0123", "task-management-system-design-notes", "sk-ant-..."],
    }
    assert redactor.value(document) == {
        "text": "echo [redacted] and [redacted]; Authorization: Bearer [redacted]; a bearer of news",
        KEY: ["[redacted]", "task-management-system-design-notes", "sk-ant-..."],
    }, "keys of a JSON object are structure: they stay"


def test_a_key_after_a_json_escape_is_found_in_raw_json():
    raw = json.dumps({"text": f"line one\n{SHAPED}\tand\n{KEY}"})
    assert SHAPED not in Redactor([KEY]).text(raw) and KEY not in Redactor([KEY]).text(raw)


@pytest.mark.parametrize(("url", "shown"), [
    ("http://user:pass@127.0.0.1:8080/x?key=SECRET", "http://[redacted]@127.0.0.1:8080/x?key=[redacted]"),
    ("https://gw.example.com/v1/a27447ab22e61c4d67472937fa91be3c/anthropic/v1/messages?beta=true&x",
     "https://gw.example.com/v1/[redacted]/anthropic/v1/messages?beta=[redacted]&[redacted]"),
    (f"https://proxy.example.com/{SHAPED}/v1/messages#token=abc", "https://proxy.example.com/[redacted]/v1/messages#[redacted]"),
    ("https://api.anthropic.com/v1/messages", "https://api.anthropic.com/v1/messages"),
    ("https://app.example.com/cb#access_token=ya29a0AfH6SMBx&state=1", "https://app.example.com/cb#[redacted]"),
    ("https://app.example.com/cb#ya29a0AfH6SMBxKd93Lq", "https://app.example.com/cb#[redacted]"),
    (f"https://app.example.com/cb#{SHAPED}", "https://app.example.com/cb#[redacted]"),
    ("https://docs.anthropic.com/en/api/errors#long-requests", "https://docs.anthropic.com/en/api/errors#long-requests"),
])
def test_urls_lose_user_info_query_values_and_token_segments(url, shown):
    assert Redactor().url(url) == shown


def test_urls_in_messages_are_redacted_and_the_rest_kept():
    message = "httpx2.HTTPStatusError: Client error '404 Not Found' for url 'http://u:pass@h:1/x?key=SECRET/v1/messages'"
    assert Redactor().message(message) == (
        "httpx2.HTTPStatusError: Client error '404 Not Found' for url 'http://[redacted]@h:1/x?key=[redacted]'"
    )


def test_the_sdk_s_own_message_keeps_the_page_it_points_at():
    message = ("anthropic.APITimeoutError: Request timed out or interrupted. See "
               "https://docs.anthropic.com/en/api/errors#long-requests for more details.")
    assert Redactor().message(message) == message


def test_a_request_teaches_its_credentials_but_not_its_harmless_values():
    redactor = Redactor()
    redactor.learn(
        "http://alice:pw-7Hs93KdLmPq2@h/x?key=qv-Zr8Kq3LmW5x&env=staging",
        [("X-Custom-Auth", "hunter2hunter2"), ("Authorization", "Basic YWxpY2U6cHctN0hz"),
         ("X-Trace", "550e8400-e29b-41d4-a716-446655440000"), ("X-Env", "production"), ("user-agent", "Python/3.11.7")],
    )
    text = ("hunter2hunter2 pw-7Hs93KdLmPq2 qv-Zr8Kq3LmW5x YWxpY2U6cHctN0hz 550e8400-e29b-41d4-a716-446655440000 "
            "production staging alice Basic Python/3.11.7")
    assert redactor.text(text) == "[redacted] [redacted] [redacted] [redacted] [redacted] production staging alice " \
                                  "Basic Python/3.11.7"


TEXT = f"The server echoes {KEY} and {SHAPED} back, then ends."
BODY = b"".join([s.message_start(), *s.text_block(0, TEXT, piece=len(TEXT)), s.message_delta("end_turn"), s.message_stop()])
CLEAN = BODY.replace(KEY.encode(), b"[redacted]").replace(SHAPED.encode(), b"[redacted]")


def scrubbed(chunks, redactor=None):
    scrubber = (redactor or Redactor([KEY])).scrubber()
    return [scrubber.feed(chunk) for chunk in chunks] + [scrubber.flush()]


def cut(body, points):
    bounds = [0, *points, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize("secret", [KEY, SHAPED])
def test_a_secret_split_at_any_point_of_two_or_three_reads_is_scrubbed_whole(secret):
    start = BODY.index(secret.encode())
    span = range(start - 1, start + len(secret) + 1)
    for point in span:
        assert b"".join(scrubbed(cut(BODY, [point]))) == CLEAN, point
    for first, second in itertools.combinations(span, 2):
        assert b"".join(scrubbed(cut(BODY, [first, second]))) == CLEAN, (first, second)


def test_a_body_read_one_byte_at_a_time_is_scrubbed_and_decodes_to_the_same_events():
    pieces = scrubbed([BODY[i:i + 1] for i in range(len(BODY))])
    assert b"".join(pieces) == CLEAN
    whole, split = StreamState(), StreamState()
    whole.chunk(CLEAN, 0.0)
    for i, piece in enumerate(pieces):
        split.chunk(piece, i * 0.001)
    for state in (whole, split):
        state.end(End.EOF, 1.0)
    assert [e.sse.raw for e in split.events] == [e.sse.raw for e in whole.events]
    assert split.text == "The server echoes [redacted] and [redacted] back, then ends."


def test_only_what_could_start_a_secret_is_held_and_every_byte_comes_out():
    scrubber = Redactor([KEY]).scrubber()
    assert scrubber.feed(b"data: {\"text\":\"done\"}\n\n") == b"data: {\"text\":\"done\"}\n\n"
    assert scrubber.feed(b"data: {\"text\":\"plain words, then swtest-re") == b"data: {\"text\":\"plain words, then "
    assert scrubber.feed(b"ading on\"}\n\n") == b"swtest-reading on\"}\n\n"
    assert scrubber.feed(b"data: {\"text\":\"sk-ant-a") == b"data: {\"text\":\""
    assert scrubber.flush() == b"sk-ant-a", "a body that ends there ended before any key"


def test_a_body_cut_inside_a_known_secret_keeps_none_of_it():
    scrubber = Redactor([KEY]).scrubber()
    out = scrubber.feed(b"data: {\"text\":\"" + KEY[:12].encode()) + scrubber.flush()
    assert out == b"data: {\"text\":\"[redacted]"


def test_a_compressed_body_is_recorded_as_it_came():
    compressed = gzip.compress(BODY)
    scrubber = Redactor([KEY]).scrubber("gzip")
    assert b"".join([scrubber.feed(compressed[:40]), scrubber.feed(compressed[40:]), scrubber.flush()]) == compressed


@pytest.mark.parametrize("body", [b"x hunter2hunter2", b"hunter2hunter2", b"a hunter2hunter2hunter2"])
def test_a_known_secret_at_the_very_end_of_a_body_is_scrubbed(body):
    scrubber = Redactor(["hunter2hunter2"]).scrubber()
    recorded = scrubber.feed(body) + scrubber.flush()
    assert b"hunter2hunter2" not in recorded and REDACTED.encode() in recorded


def test_a_credential_named_header_under_a_harmless_prefix_is_redacted_and_learned():
    redactor = Redactor()
    headers = {"X-Stainless-Api-Key": "hunter2hunter2secret", "x-streamwatch-auth": "zzzzzzzzzz",
               "anthropic-ratelimit-output-tokens-remaining": "5", "x-stainless-lang": "python"}
    redactor.learn(headers=headers)
    assert redactor.headers(headers) == {
        "x-stainless-api-key": REDACTED, "x-streamwatch-auth": REDACTED,
        "anthropic-ratelimit-output-tokens-remaining": "5", "x-stainless-lang": "python",
    }
    assert redactor.text("echo hunter2hunter2secret") == f"echo {REDACTED}"


@pytest.mark.parametrize("url", ["bob:pa55w0rdSECRETxx@127.0.0.1", "http://bob:pa55w0rdSECRETxx@[zz/x"])
def test_user_info_of_a_url_no_client_could_send_is_redacted_and_learned(url):
    redactor = Redactor()
    redactor.learn(url)
    assert "pa55w0rd" not in redactor.url(url)
    assert redactor.text("echo pa55w0rdSECRETxx") == f"echo {REDACTED}"


def test_secret_named_fields_of_a_request_body_are_redacted_however_they_look_and_taught():
    redactor = Redactor()
    body = {"model": "m", "max_tokens": 5, "api_key": "hunter2-not-key-shaped", "stream": True,
            "auth": {"password": "correct-horse-battery", "user": "bob"}, "accessToken": ["tok-one", 7],
            "metadata": {"user_id": "u-1", "client_secret": "s3cr3t-value-0"},
            "messages": [{"role": "user", "content": "hunter2-not-key-shaped, again"}]}
    sent = json.dumps(body)
    redactor.learn("http://h/v1/messages", [], body)

    recorded = redactor.request("POST", "http://h/v1/messages", [], body)["body"]

    assert json.dumps(body) == sent  # what goes out is the caller's, untouched
    assert recorded == {**body, "api_key": REDACTED, "auth": {"password": REDACTED, "user": "bob"},
                        "accessToken": [REDACTED, 7], "metadata": {"user_id": "u-1", "client_secret": REDACTED},
                        "messages": [{"role": "user", "content": f"{REDACTED}, again"}]}
    assert redactor.text("echoed: correct-horse-battery") == f"echoed: {REDACTED}"


@pytest.mark.parametrize(("url", "netloc", "host", "path"), [
    ("http://[redacted]@127.0.0.1:8080/v1/messages", "[redacted]@127.0.0.1:8080", "127.0.0.1", "/v1/messages"),
    ("https://[redacted]@[::1]:8443/v1/messages?beta=true", "[redacted]@[::1]:8443", "::1", "/v1/messages"),
    ("https://api.anthropic.com/v1/messages", "api.anthropic.com", "api.anthropic.com", "/v1/messages"),
    ("http://[not-closed/v1/messages", "", None, ""),
    (None, "", None, ""),
])
def test_a_recorded_url_splits_with_its_redacted_user_info_and_never_raises(url, netloc, host, path):
    parts = split_url(url)
    assert (parts.netloc, parts.hostname, parts.path) == (netloc, host, path)
