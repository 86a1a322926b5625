"""Themes as data files: loading, validation, the `t` cycle, the palette, persistence, packaging."""

import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette

from streamwatch.core.config import load_config, save_theme
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.screens.run import RunScreen
from streamwatch.tui.themes import BUILTIN, DEFAULT_THEME, ThemeError, load_theme_file, load_themes, register
from tests.tui.conftest import live_app, wait_for

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
ANSI_COLOURS = {f"ansi_{bright}{name}" for bright in ("", "bright_")
                for name in ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")}
GOOD = 'name = "mine"\nprimary = "#336699"\n'


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config" / "themes").mkdir(parents=True)
    return tmp_path / "config"


def user_theme(config_home, file_name, text):
    (config_home / "themes" / file_name).write_text(text)


def themed_app(theme, scene="complete"):
    """The run screen as the conftest builds it, with streamwatch's themes registered and `theme` set."""
    app = live_app(scene)
    register(app, load_themes())
    app.theme = theme
    return app


def test_every_built_in_theme_loads_without_a_warning(config_home):
    loaded = load_themes()
    assert loaded.names == list(BUILTIN) and loaded.warnings == []
    assert {loaded.themes["dark"].dark, loaded.themes["light"].dark} == {True, False}


def test_every_built_in_theme_file_ships_and_is_listed():
    files = {p.name for p in resources.files("streamwatch.themes").iterdir() if p.name.endswith(".toml")}
    assert files == {f"{name}.toml" for name in BUILTIN}
    assert files == {p.name for p in (ROOT / "themes").glob("*.toml")}


def test_the_ansi_theme_uses_only_the_16_ansi_colours_like_textuals_ansi_dark():
    data = tomllib.loads((ROOT / "themes" / "ansi.toml").read_text())
    assert data["ansi"] is True
    values = {k: v for k, v in data.items() if k not in ("name", "ansi", "dark", "variables")}
    values.update({k: v for k, v in data["variables"].items() if not k.endswith("style")})
    bad = {k: v for k, v in values.items() if v not in ANSI_COLOURS | {"ansi_default"}}
    assert bad == {}
    assert not any("#" in v for v in data["variables"].values())


@pytest.mark.parametrize("name", BUILTIN)
async def test_every_built_in_theme_applies_to_the_run_screen(config_home, name):
    app = themed_app(theme=name)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, RunScreen)
        assert app.current_theme.name == name
        status = app.screen.query_one("#status")
        assert status.has_class("status-complete")
        assert status.styles.background != status.styles.color


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('name = "broken"\nprimary = "#33669\n', "not valid TOML"),
        ('name = "broken"\nprimary = "blurple"\n', "`primary` is not a colour: 'blurple'"),
        ('name = "broken"\n', "`primary` is required"),
        ('name = "has space"\nprimary = "#336699"\n', "`name` must be a theme name"),
        ('name = "broken"\nprimary = "#336699"\nprimry = "#fff"\n', "unknown key 'primry'"),
        ('name = "broken"\nprimary = "#336699"\ndark = "yes"\n', "`dark` must be true or false"),
        ('name = "broken"\nprimary = "#336699"\n[variables]\nborder = "thick"\n',
         "variable `border` is not a valid color: 'thick'"),
        ('name = "broken"\nprimary = "#336699"\n[variables]\ninput-cursor-text-style = "red"\n',
         "variable `input-cursor-text-style` is not a valid text style"),
        ('name = "broken"\nprimary = "#336699"\nvariables = ["a"]\n', "`variables` must be a table of strings"),
        (b"\xff\xfe".decode("latin-1"), "cannot read it"),
    ],
)
def test_a_broken_user_theme_is_skipped_with_a_one_line_warning(config_home, text, words):
    path = config_home / "themes" / "broken.toml"
    path.write_bytes(text.encode("latin-1"))
    user_theme(config_home, "mine.toml", GOOD)
    loaded = load_themes()
    assert loaded.names == [*BUILTIN, "mine"]
    assert len(loaded.warnings) == 1
    warning = loaded.warnings[0]
    assert warning.startswith(f"skipped {path}: ") and words in warning and "\n" not in warning


def test_a_user_theme_with_a_built_in_name_replaces_it(config_home):
    user_theme(config_home, "my-dark.toml", 'name = "dark"\nprimary = "#ff0000"\n')
    loaded = load_themes()
    assert loaded.names == list(BUILTIN) and loaded.themes["dark"].primary == "#ff0000"


def test_a_theme_file_names_what_is_wrong(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('name = "x"\nprimary = "#336699"\nerror = 3\n')
    with pytest.raises(ThemeError, match=r"x\.toml: `error` is not a colour: 3"):
        load_theme_file(path)


def test_theme_names_are_checked_with_a_one_line_error_listing_the_valid_ones(config_home):
    loaded = load_themes()
    assert loaded.check("light") == "light"
    with pytest.raises(ThemeError) as caught:
        loaded.check("solarized")
    assert str(caught.value) == "unknown theme 'solarized': choose one of dark, light, high-contrast, ansi"


def test_the_starting_theme_is_the_flag_then_the_config_then_the_default(config_home):
    loaded = load_themes()
    assert loaded.pick() == DEFAULT_THEME
    assert loaded.pick(configured="light") == "light"
    assert loaded.pick(requested="ansi", configured="light") == "ansi"
    with pytest.raises(ThemeError):
        loaded.pick(requested="nope")
    assert loaded.pick(configured="deleted-theme") == DEFAULT_THEME
    assert loaded.warnings == ["theme 'deleted-theme' from the config file is not available; using 'dark'"]


def run_screen_app(save=True):
    """The app as the command line starts it: streamwatch's themes, the default one, choices saved."""
    first = live_app("complete")._first_screen
    return StreamwatchApp(first, themes=load_themes(), theme=DEFAULT_THEME, save_theme=save_theme if save else None)


async def test_t_cycles_streamwatchs_themes_in_order_and_remembers_the_choice(config_home):
    app = run_screen_app()
    seen, said = [], set()
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in BUILTIN:
            await pilot.press("t")
            seen.append(app.theme)
            said.update(n.message for n in app._notifications)  # read at once: a notification expires
            assert load_config().theme == app.theme
    assert seen == ["light", "high-contrast", "ansi", "dark"]
    assert "Theme: light (saved in config.toml, used from now on)" in said


async def test_without_a_save_callback_nothing_is_written(config_home):
    app = run_screen_app(save=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        assert app.theme == "light"
    assert not (config_home / "config.toml").exists()


async def test_a_theme_that_cannot_be_saved_still_applies_and_says_why(config_home):
    (config_home / "config.toml").write_text("this is = = not toml")
    app = run_screen_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        assert app.theme == "light"
        messages = [n.message for n in app._notifications]
        assert any("not valid TOML" in m for m in messages)


async def test_the_command_palette_offers_streamwatchs_themes_and_remembers_the_pick(config_home):
    user_theme(config_home, "mine.toml", GOOD)
    app = run_screen_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.action_change_theme()
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"high")
        await wait_for(pilot, lambda: "high-contrast" in highlighted(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "high-contrast")
        assert load_config().theme == "high-contrast"
        app.action_change_theme()
        await wait_for(pilot, lambda: listed(app))
        assert set(listed(app)) <= {*BUILTIN, "mine"} and "mine" in listed(app) and "nord" not in listed(app)


def highlighted(app) -> str:
    """The command palette's highlighted command."""
    option = app.screen.query_one(CommandList).highlighted_option
    return "" if option is None else str(option.prompt)


def listed(app) -> list[str]:
    """What the command palette lists once it has gathered every match (nothing before: the list may grow)."""
    if not isinstance(app.screen, CommandPalette) or any(
            w.group == CommandPalette._GATHER_COMMANDS_GROUP and not w.is_finished for w in app.workers):
        return []
    return [str(hit.prompt) for commands in app.screen.query(CommandList) for hit in commands.options if hit.prompt]


async def test_broken_user_themes_are_reported_when_the_app_starts(config_home):
    user_theme(config_home, "broken.toml", 'name = "broken"\nprimary = "nope"\n')
    app = run_screen_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        warnings = [n for n in app._notifications if n.severity == "warning"]
        assert len(warnings) == 1 and "broken.toml" in warnings[0].message and not warnings[0].markup
        assert isinstance(app.screen, RunScreen)


@pytest.mark.parametrize("theme", BUILTIN)
def test_run_screen_in_each_theme(snap_compare, config_home, theme):
    assert snap_compare(themed_app(theme=theme, scene="eof_in_tool_use"), terminal_size=(100, 30))


def test_pyproject_ships_every_package_and_the_theme_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "streamwatch").rglob("__init__.py")
    }
    assert set(config["packages"]) == on_disk | {"streamwatch.themes"}
    assert config["package-dir"] == {"streamwatch.themes": "themes"}
    assert config["package-data"]["streamwatch.themes"] == ["*.toml"]
    assert config["package-data"]["streamwatch.tui"] == ["*.tcss"]
    assert (ROOT / "themes" / "__init__.py").is_file()


def test_the_installed_package_finds_its_themes_without_the_source_tree_on_the_path(tmp_path):
    code = ("import sys, streamwatch.themes; from streamwatch.tui.themes import load_themes; "
            "loaded = load_themes(); print(loaded.names, loaded.warnings, streamwatch.themes.__file__)")
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"STREAMWATCH_CONFIG_HOME": str(tmp_path)}, check=True)
    assert out.stdout.startswith("['dark', 'light', 'high-contrast', 'ansi'] []")
