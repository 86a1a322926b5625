"""What sends nothing starts without the SDK: the home, replay and attach screens and `analyze` never
import `anthropic` or its HTTP client (a second and thousands of modules before the first frame), nor
the embedded server's uvicorn and starlette.

Each check runs in a fresh interpreter and looks at `sys.modules` once the screen has drawn (or the
command has printed its report), so an import anywhere on the way, lazy or not, is caught."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import sessions
from tests import streams as s

SDK = ("anthropic", "httpx2", "httpx", "httpcore2", "httpcore", "uvicorn", "starlette")

SCREENS = """
import asyncio, json, sys
from pathlib import Path

from streamwatch.tui.launch import attach_feed, make_app, replay_feed
from streamwatch.tui.screens.home import HomeScreen
from streamwatch.tui.screens.run import RunScreen

path = Path(sys.argv[1])
firsts = {
    "home": lambda app: HomeScreen(5.0),
    "replay": lambda app: RunScreen(replay_feed(path, 5.0, speed=None), app.clock),
    "attach": lambda app: RunScreen(attach_feed(path, 5.0), app.clock),
}
loaded = {}


async def show(name):
    app = make_app(firsts[name])
    async with app.run_test() as pilot:
        while type(app.screen).__name__ not in ("HomeScreen", "RunScreen"):
            await pilot.pause()
        await pilot.pause()
        loaded[name] = sorted(sys.modules)


for name in firsts:
    asyncio.run(show(name))
print(json.dumps(loaded))
"""


def sdk_modules(names):
    return sorted(name for name in names if name.split(".")[0] in SDK)


def isolated(tmp_path):
    return {"STREAMWATCH_HOME": str(tmp_path / "data"), "STREAMWATCH_CONFIG_HOME": str(tmp_path / "config"),
            "HOME": str(tmp_path)}


def test_the_home_replay_and_attach_screens_draw_without_importing_the_sdk(tmp_path, monkeypatch):
    path = sessions.write_sample(tmp_path / "data" / "sessions")[0]
    for name, value in isolated(tmp_path).items():
        monkeypatch.setenv(name, value)

    done = subprocess.run([sys.executable, "-c", SCREENS, str(path)], capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert set(loaded) == {"home", "replay", "attach"}
    assert {name: sdk_modules(modules) for name, modules in loaded.items()} == {"home": [], "replay": [], "attach": []}
    assert "textual" in loaded["replay"]  # the screens did load: the check looked at a real start


def test_analyze_of_a_capture_runs_without_importing_the_sdk(tmp_path, monkeypatch):
    capture = tmp_path / "small.sse"
    capture.write_bytes(b"".join([s.message_start(), *s.text_block(0, "hello there"), s.message_delta("end_turn"),
                                  s.message_stop()]))
    for name, value in isolated(tmp_path).items():
        monkeypatch.setenv(name, value)
    code = (
        "import json, sys\nfrom streamwatch.cli import main\nstatus = main(['analyze', sys.argv[1]])\n"
        "print(json.dumps([status, sorted(sys.modules)]))"
    )

    done = subprocess.run([sys.executable, "-c", code, str(capture)], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    status, modules = json.loads(done.stdout.splitlines()[-1])
    assert status == 0
    assert "complete" in done.stdout.lower()
    assert sdk_modules(modules) == []


def test_ctrl_c_while_the_command_line_loads_ends_as_during_a_command(monkeypatch, capsys):
    """A Ctrl-C before streamwatch/cli.py has loaded (or while it reads its arguments) used to print a traceback."""
    import streamwatch.__main__ as entry
    import streamwatch.cli as cli

    def interrupted() -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "main", interrupted)
    assert entry.main() == cli.EXIT_INTERRUPTED
    assert capsys.readouterr() == ("", "")


def test_the_installed_command_and_python_m_streamwatch_run_the_command_line(tmp_path):
    env = {**os.environ, "STREAMWATCH_HOME": str(tmp_path)}
    for command in ([str(Path(sys.executable).parent / "streamwatch")], [sys.executable, "-m", "streamwatch"]):
        done = subprocess.run([*command, "sessions"], capture_output=True, text=True, env=env, timeout=120)
        assert (done.returncode, done.stderr) == (0, ""), command
        assert done.stdout == "no saved sessions yet\n"
