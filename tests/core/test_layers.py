"""The core stays headless: importing any core module loads no UI, no server, no mock and no exporter's
library (OpenTelemetry)."""

import json
import pkgutil
import subprocess
import sys

import pytest

import streamwatch.core

FORBIDDEN = (
    "textual", "rich", "uvicorn", "starlette", "opentelemetry",
    "streamwatch.mock", "streamwatch.export", "streamwatch.tui", "streamwatch.server", "streamwatch.proxy",
)
MODULES = sorted(f"streamwatch.core.{found.name}" for found in pkgutil.iter_modules(streamwatch.core.__path__))


def forbidden(name: str, loaded: list[str]) -> bool:
    """Whether `name` may not be among the `loaded` modules. The SDK (`anthropic`, loaded by the modules that
    send) imports OpenTelemetry's API for its own tracing when it is installed: that is not the core's import."""
    if "anthropic" in loaded and (name == "opentelemetry" or name.startswith("opentelemetry.")):
        return False
    return any(name == package or name.startswith(f"{package}.") for package in FORBIDDEN)


def test_the_check_finds_the_core_modules_by_listing_the_package():
    assert {"streamwatch.core.catalog", "streamwatch.core.sse", "streamwatch.core.recovery"} <= set(MODULES)


@pytest.mark.parametrize("module", [*MODULES, "streamwatch.protocol"])
def test_importing_a_core_module_loads_no_ui_server_or_mock(module):
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert [name for name in loaded if forbidden(name, loaded)] == []
