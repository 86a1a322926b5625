"""An Anthropic-compatible Messages API server that injects stream failures on purpose.

`MockServer` runs it on a free loopback port for tests and demos; `serve()` runs it in the
foreground for `streamwatch mock`. Scenarios are listed in `streamwatch.mock.scenarios`, the
request headers in `streamwatch.mock.request`, and how a resumed answer continues in
`streamwatch.mock.conversation`.
"""

from streamwatch.mock.scenarios import SCENARIOS
from streamwatch.mock.server import DEFAULT_PORT, MockServer, serve

__all__ = ["DEFAULT_PORT", "SCENARIOS", "MockServer", "serve"]
