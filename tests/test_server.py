"""streamwatch.server: where it listens, the URL it reports, and the warning when others can reach it.

Only loopback is served to; the wildcard addresses are judged from their bound address, unserved.
"""

import logging
import re
import socket

import httpx
import pytest

from streamwatch.server import BackgroundServer, BindError, bind, exposure, local_url, url_of


def has_ipv6_loopback() -> bool:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no IPv6 loopback")


async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.mark.parametrize(
    ("address", "url"),
    [
        (("127.0.0.1", 8719), "http://127.0.0.1:8719"),
        (("0.0.0.0", 8719), "http://0.0.0.0:8719"),
        (("::1", 8719, 0, 0), "http://[::1]:8719"),
        (("::", 8719, 0, 0), "http://[::]:8719"),
        (("fe80::1%eth0", 8719, 0, 2), "http://[fe80::1%25eth0]:8719"),
    ],
)
def test_the_url_of_a_bound_address_brackets_ipv6(address, url):
    assert url_of(address) == url


@pytest.mark.parametrize(
    ("address", "url"),
    [
        (("0.0.0.0", 8719), "http://127.0.0.1:8719"),
        (("::", 8719, 0, 0), "http://[::1]:8719"),
        (("192.168.1.5", 8719), "http://192.168.1.5:8719"),
        (("::1", 8719, 0, 0), "http://[::1]:8719"),
    ],
)
def test_a_client_on_this_machine_reaches_a_wildcard_on_loopback(address, url):
    assert local_url(address) == url


@pytest.mark.parametrize(
    "address",
    [("127.0.0.1", 1), ("127.0.0.2", 1), ("::1", 1, 0, 0), ("::ffff:127.0.0.1", 1, 0, 0)],
)
def test_loopback_needs_no_warning(address):
    assert exposure(address) is None


@pytest.mark.parametrize(
    ("address", "where"),
    [
        (("0.0.0.0", 1), "listening on every network interface"),
        (("::", 1, 0, 0), "listening on every network interface"),
        (("::ffff:0.0.0.0", 1, 0, 0), "listening on every network interface"),
        (("192.168.1.5", 1), "listening on 192.168.1.5"),
        (("fe80::1%eth0", 1, 0, 2), "listening on fe80::1%eth0"),
    ],
)
def test_an_address_other_machines_can_reach_is_said_to_be_reachable(address, where):
    warning = exposure(address)

    assert warning is not None and warning.startswith(where)
    assert "other machines can connect" in warning and "--host 127.0.0.1" in warning


LOOPBACK_URL = {
    "127.0.0.1": r"http://127\.0\.0\.1:[1-9]\d*",
    "localhost": r"http://(127\.0\.0\.1|\[::1\]):[1-9]\d*",
    "::1": r"http://\[::1\]:[1-9]\d*",
    "[::1]": r"http://\[::1\]:[1-9]\d*",
}


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", pytest.param("::1", marks=needs_ipv6), pytest.param("[::1]", marks=needs_ipv6)]
)
def test_the_server_serves_on_the_loopback_it_is_given_and_reports_its_url(host):
    with BackgroundServer(hello, host=host) as server:
        url = server.url
        response = httpx.get(url, timeout=10)

    assert re.fullmatch(LOOPBACK_URL[host], url)
    assert response.text == "hello"


@pytest.mark.parametrize(("host", "shown"), [("127.0.0.1", "127.0.0.1"), pytest.param("::1", "[::1]", marks=needs_ipv6)])
def test_a_port_in_use_is_one_line_saying_where(host, shown):
    with socket.create_server((host, 0), family=socket.AF_INET6 if ":" in host else socket.AF_INET) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(BindError) as caught:
            bind(host, port)

    assert str(caught.value).startswith(f"cannot listen on {shown}:{port}: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("host", ["a" * 70, "a..b"])
def test_a_host_that_is_not_a_name_is_a_bind_error(host):
    with pytest.raises(BindError, match=r": not a valid host name$"):
        bind(host, 0)


async def warns(scope, receive, send):
    logging.getLogger("asyncio").warning("socket.send() raised exception.")
    await hello(scope, receive, send)


def test_a_background_server_prints_none_of_its_loops_warnings(caplog: pytest.LogCaptureFixture):
    # asyncio warns on its own when a client hangs up mid-body; beside a TUI, Python would print it over the screen.
    with BackgroundServer(warns) as server:
        assert httpx.get(server.url).text == "hello"
    logging.getLogger("asyncio").warning("the test's own thread still logs")
    assert [r.getMessage() for r in caplog.records] == ["the test's own thread still logs"]
