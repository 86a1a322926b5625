"""Wire constants that the mock, the proxy, the command line and the core share; this module imports nothing.

The mock's control headers (what each value may be is in `streamwatch.mock.request`), and the model
name prefix that picks a scenario: `mock-drop_eof` plays `drop_eof` unless the scenario header says
otherwise.
"""

CONTROL_HEADER_PREFIX = "x-streamwatch-"
SCENARIO_HEADER = "x-streamwatch-scenario"
TOOL_BYTES_HEADER = "x-streamwatch-tool-bytes"
FAIL_ALWAYS_HEADER = "x-streamwatch-fail-always"
TIME_SCALE_HEADER = "x-streamwatch-time-scale"

SCENARIO_MODEL_PREFIX = "mock-"

MAX_TIME_SCALE = 1000.0
"""The slowest pace the mock plays at (its 20 s scenario in 5.5 h), from the header or --time-scale."""

PROXY_SOURCE = "proxy"
"""The session source of the recording proxy: one attempt per session (it never retries by itself),
whose header says the `client` that sent it, the `upstream` and the `path`."""
