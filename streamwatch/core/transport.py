"""What every source knows of the HTTP transport, without loading an SDK: where a request goes
(`is_loopback`), what is wrong with a URL no request could go to (`url_problem`), and how to name what a client raised (`exception_name`, `describe_exception`,
`cause_chain`). The SDK tap (core/live.py) and the recording proxy share them.
"""

from __future__ import annotations

import ipaddress
import sys

from streamwatch.core.redact import split_url


def is_loopback(url: object) -> bool:
    """A target (a URL, or anything whose text is one) on this machine: it needs no real key, and no
    proxy is ever used to reach it."""
    host = split_url(str(url)).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


NOT_HTTP = "not http:// or https://"
NO_HOST = "no host"
_NOT_IN_HOSTS = frozenset('<>"{}|\\^`%')


def url_problem(url: str) -> str | None:
    """What makes `url` no http(s) URL a client can send to, named in a few words (`NOT_HTTP`,
    `NO_HOST`, a malformed address or port, a port out of range, a host name no resolver takes), or
    None. Said before sending, so a typo is not blamed on the network or the server, nor a malformed
    IPv6 address on its port (as the parsers of the standard library and httpx do)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return NOT_HTTP
    place = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    if place.startswith("["):
        end = place.find("]")
        if end < 0:
            return "malformed address: no closing ']' after the IPv6 address"
        host, after = place[1:end], place[end + 1:]
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"malformed address: {place[:end + 1]!r} is not an IPv6 address"
        if after and not after.startswith(":"):
            return f"malformed address: {after!r} after the IPv6 address is not a :port"
        port = after[1:]
    else:
        host, _, port = place.partition(":")
        if "[" in place or "]" in place:
            return "malformed address: a '[' or ']' outside the brackets of an IPv6 address"
        if not host:
            return NO_HOST
        odd = next((char for char in host if char.isspace() or not char.isprintable() or char in _NOT_IN_HOSTS), None)
        if odd is not None:
            return f"malformed host name: it holds {odd!r}"
    if port and not (port.isascii() and port.isdigit()):
        return f"malformed port: {port!r} is not a number"
    if port and not 0 < int(port) <= 65535:
        return f"port out of range: {int(port)} is not from 1 to 65535"
    return None if place.startswith("[") else host_problem(host)


def host_problem(host: str) -> str | None:
    """Why a URL's host name could never be looked up (a label empty or over 63 characters, the whole
    over 253), or None. Said before sending, so a typo is not blamed on the network or the server."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    try:
        ascii_name = host.rstrip(".").encode("idna")
    except UnicodeError:
        return "a part of its host name is empty or longer than 63 characters"
    if len(ascii_name) > 253:
        return "its host name is longer than 253 characters"
    return None


def exception_name(exc: BaseException) -> str:
    """`httpx2.RemoteProtocolError`, `anthropic.APIStatusError`: the name a user would catch."""
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    package = cls.__module__.split(".")[0]
    if getattr(sys.modules.get(package), cls.__qualname__, None) is cls:
        return f"{package}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def describe_exception(exc: BaseException) -> str:
    message = str(exc)
    return f"{exception_name(exc)}: {message}" if message else exception_name(exc)


def cause_chain(exc: BaseException) -> list[str]:
    """The exceptions behind `exc`, outermost first, as Python would print them."""
    chain: list[str] = []
    seen = {id(exc)}
    current = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(describe_exception(current))
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain
