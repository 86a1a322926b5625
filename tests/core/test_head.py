"""The response head and the request's target, as the run screen's head line and `h` show them."""

from streamwatch.core.diagnose import StreamState
from streamwatch.core.report import head_facts, request_target

HEAD = {
    "Content-Type": "text/event-stream", "request-id": "req_011CV\x1b[2J", "retry-after": "7",
    "anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "49",
    "anthropic-ratelimit-requests-reset": "2026-12-01T08:00:00Z",
    "anthropic-ratelimit-input-tokens-limit": "8000", "anthropic-ratelimit-input-tokens-remaining": "7900",
}


def test_the_head_says_status_request_id_retry_after_and_each_rate_limit_first():
    state = StreamState()
    assert head_facts(state) == []
    state.response(529, HEAD)
    assert head_facts(state) == [
        ("HTTP", "529", "HTTP 529"),
        ("request-id", "req_011CV\\x1b[2J", "req_011CV\\x1b[2J"),
        ("retry-after", "7", "retry-after 7"),
        ("requests", "49/50 left, resets 2026-12-01T08:00:00Z", "requests 49/50"),
        ("input-tokens", "7900/8000 left", "input-tokens 7900/8000"),
        ("content-type", "text/event-stream", ""),
    ]


def test_the_target_is_the_mock_when_a_scenario_was_asked_for_else_the_host():
    body = {"model": "claude-sonnet-4-6"}
    assert request_target({"url": "https://api.anthropic.com/v1/messages", "body": body}) == (
        "claude-sonnet-4-6", "api.anthropic.com")
    assert request_target({"url": "http://127.0.0.1:8719/v1/messages", "body": body,
                           "headers": {"X-Streamwatch-Scenario": "ok"}}) == ("claude-sonnet-4-6", "mock")
    assert request_target({"url": "http://h/v1", "body": {"model": "mock-drop_eof"}}) == ("mock-drop_eof", "mock")
    assert request_target({}) == ("", "")
    assert request_target({"url": "http://[::1/v1", "body": {"model": "m\x07"}}) == ("m\\x07", "")
