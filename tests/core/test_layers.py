"""The core stays headless: importing any core module loads no UI, no server and no mock."""

import json
import pkgutil
import subprocess
import sys

import pytest

import streamwatch.core

FORBIDDEN = (
    "textual", "rich", "uvicorn", "starlette",
    "streamwatch.mock", "streamwatch.tui", "streamwatch.server", "streamwatch.proxy",
)
MODULES = sorted(f"streamwatch.core.{found.name}" for found in pkgutil.iter_modules(streamwatch.core.__path__))


def forbidden(name: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in FORBIDDEN)


def test_the_check_finds_the_core_modules_by_listing_the_package():
    assert {"streamwatch.core.catalog", "streamwatch.core.sse", "streamwatch.core.recovery"} <= set(MODULES)


@pytest.mark.parametrize("module", [*MODULES, "streamwatch.protocol"])
def test_importing_a_core_module_loads_no_ui_server_or_mock(module):
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert [name for name in json.loads(done.stdout) if forbidden(name)] == []
