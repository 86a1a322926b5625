"""The mock's control headers: a value that breaks its rule is the API's 400, never a 500 or a guess."""

import math
from collections.abc import Iterator

import httpx
import pytest

from streamwatch.mock import MockServer

RULES = {
    "x-streamwatch-time-scale": "expected a number from 0 to 1000",
    "x-streamwatch-tool-bytes": "expected a whole number from 100 to 50000000",
    "x-streamwatch-fail-always": "expected 1, true, 0 or false",
    "x-streamwatch-scenario": "expected one of ok, tool_big, thinking,",
}


@pytest.fixture
def http(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def post(http: httpx.Client, prompt: str, headers: list[tuple[str, bytes]], model: str = "mock-ok") -> httpx.Response:
    body = {"model": model, "max_tokens": 4096, "messages": [{"role": "user", "content": prompt}]}
    return http.post("/v1/messages", json=body, headers=headers)


def assert_invalid_request(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": response.json()["error"]["message"]},
        "request_id": response.headers["request-id"],
    }
    assert response.json()["error"]["message"].startswith(message)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-streamwatch-time-scale", b"1e308"),
        ("x-streamwatch-time-scale", b"1e999"),
        ("x-streamwatch-time-scale", b"inf"),
        ("x-streamwatch-time-scale", b"nan"),
        ("x-streamwatch-time-scale", b"-1"),
        ("x-streamwatch-time-scale", b"1001"),
        ("x-streamwatch-time-scale", b"1_0"),
        ("x-streamwatch-time-scale", b""),
        ("x-streamwatch-tool-bytes", "²".encode()),
        ("x-streamwatch-tool-bytes", b"9" * 5000),
        ("x-streamwatch-tool-bytes", b"99"),
        ("x-streamwatch-tool-bytes", b"1e3"),
        ("x-streamwatch-tool-bytes", b"-500"),
        ("x-streamwatch-fail-always", b"yes"),
        ("x-streamwatch-fail-always", b""),
        ("x-streamwatch-scenario", b"Stall"),
        ("x-streamwatch-scenario", b"\x1b[31mstall"),
    ],
    ids=lambda value: value if isinstance(value, str) else repr(value[:12]),
)
def test_a_bad_control_value_is_a_400_naming_the_header_and_its_rule(
    http: httpx.Client, prompt: str, header: str, value: bytes
) -> None:
    response = post(http, prompt, [(header, value)], model="mock-http_529")

    assert_invalid_request(response, f"{header}: {RULES[header]}")
    assert "\x1b" not in response.json()["error"]["message"]


def test_a_long_bad_value_is_quoted_cut_short(http: httpx.Client, prompt: str) -> None:
    response = post(http, prompt, [("x-streamwatch-time-scale", b"7" * 5000)])

    message = response.json()["error"]["message"]
    assert_invalid_request(response, "x-streamwatch-time-scale: expected a number from 0 to 1000; got '777")
    assert message.endswith("... (5000 characters).") and len(message) < 200


def test_a_misspelt_control_header_is_a_400_not_a_silent_default(http: httpx.Client, prompt: str) -> None:
    response = post(http, prompt, [("X-Streamwatch-Scenarios", b"stall")])

    assert_invalid_request(response, "x-streamwatch-scenarios: not a header the mock reads; it reads x-streamwatch-scenario,")


def test_a_control_header_sent_twice_is_a_400(http: httpx.Client, prompt: str) -> None:
    response = post(http, prompt, [("x-streamwatch-time-scale", b"0"), ("X-Streamwatch-Time-Scale", b"1000")])

    assert_invalid_request(response, "x-streamwatch-time-scale: expected once, sent more than once")


@pytest.mark.parametrize(
    "headers",
    [
        [("x-streamwatch-time-scale", b"1e-3")],
        [("x-streamwatch-time-scale", b".5"), ("x-streamwatch-fail-always", b"FALSE")],
        [("x-streamwatch-tool-bytes", b"100"), ("x-streamwatch-fail-always", b"0")],
        [("x-streamwatch-scenario", b"ok"), ("x-streamwatch-fail-always", b"True")],
    ],
)
def test_values_within_the_rules_are_served(http: httpx.Client, prompt: str, headers: list[tuple[str, bytes]]) -> None:
    response = post(http, prompt, headers)

    assert response.status_code == 200
    assert response.json()["stop_reason"] == "end_turn"


def test_the_slowest_time_scale_header_is_served(http: httpx.Client, prompt: str) -> None:
    with http.stream("POST", "/v1/messages", json={
        "model": "mock-ok", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": prompt}],
    }, headers={"x-streamwatch-time-scale": "1000"}) as response:
        first = next(response.iter_raw())

    assert response.status_code == 200 and first.startswith(b"event: message_start")


@pytest.mark.parametrize("scale", [-1.0, 1000.5, math.inf, math.nan])
def test_the_server_refuses_a_time_scale_outside_the_rule(scale: float) -> None:
    with pytest.raises(ValueError, match="time_scale must be from 0 to 1000"):
        MockServer(time_scale=scale)


def test_a_fail_always_of_0_plays_the_fault_once(http: httpx.Client, prompt: str) -> None:
    headers = [("x-streamwatch-fail-always", b"0")]

    statuses = [post(http, prompt, headers, model="mock-http_529").status_code for _ in range(2)]

    assert statuses == [529, 200]
