"""The one-line views of a stream's state that lists and headers show."""

from streamwatch.core.diagnose import StreamState
from streamwatch.core.report import response_head


def head(status: int, headers: dict[str, str]) -> str:
    state = StreamState()
    state.response(status, headers)
    return response_head(state)


def test_the_response_head_says_what_a_user_acts_on():
    assert head(429, {
        "request-id": "req_011CVabc",
        "retry-after": "7",
        "x-should-retry": "true",
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-12-01T09:00:07Z",
        "anthropic-ratelimit-tokens-limit": "80000",
        "anthropic-ratelimit-tokens-remaining": "79000",
        "content-type": "application/json",
    }) == ("HTTP 429 · request-id req_011CVabc · retry-after 7 · should-retry true · "
           "requests 0/50 left until 2026-12-01T09:00:07Z · tokens 79000/80000 left")


def test_the_response_head_is_empty_before_it_arrives_and_inert_when_hostile():
    assert response_head(StreamState()) == ""
    assert head(200, {"request-id": "req_\x1b[31mred\nline"}) == "HTTP 200 · request-id req_\\x1b[31mred\\nline"
