"""What every source knows of the HTTP transport, without loading an SDK: where a request goes
(`is_loopback`) and how to name what a client raised (`exception_name`, `describe_exception`,
`cause_chain`). The SDK tap (core/live.py) and the recording proxy share them.
"""

from __future__ import annotations

import ipaddress
import sys
from urllib.parse import urlsplit


def is_loopback(url: object) -> bool:
    """A target (a URL, or anything whose text is one) on this machine: it needs no real key, and no
    proxy is ever used to reach it."""
    try:
        host = urlsplit(str(url)).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
