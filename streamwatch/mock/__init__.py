"""An Anthropic-compatible Messages API server that injects stream failures on purpose.

`MockServer` runs it on a free loopback port for tests and demos; `serve()` runs it in the
foreground for `streamwatch mock`. Scenarios are listed in `streamwatch.mock.scenarios`, the
request headers in `streamwatch.mock.request`, and how a resumed answer continues in
`streamwatch.mock.conversation`.

The server (and uvicorn and starlette under it) is imported the first time `MockServer`, `serve` or
`DEFAULT_PORT` is asked for, not with the package: the home screen lists the scenarios without
paying for a server it may never start.
"""

from typing import Any

from streamwatch.mock.scenarios import SCENARIOS

__all__ = ["DEFAULT_PORT", "SCENARIOS", "MockServer", "serve"]
_SERVER = ("DEFAULT_PORT", "MockServer", "serve")


def __getattr__(name: str) -> Any:
    if name in _SERVER:
        from streamwatch.mock import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
