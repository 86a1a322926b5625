"""Themes as data: TOML files turned into Textual `Theme`s, built-in first, then the user's own.

The built-in files ship inside the package as `streamwatch.themes` (the top-level `themes/` folder
of the source tree); the user's are `<config folder>/themes/*.toml`, same shape, and one with a
built-in's name replaces it. A broken user file is skipped and described in `ThemeSet.warnings` for
the app to show; it never stops the app. Every value is checked the way Textual will use it (colours
parsed, variables run through Textual's CSS parser), so a theme that loads can always be applied.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.color import Color, ColorParseError
from textual.css.stylesheet import Stylesheet, StylesheetParseError
from textual.theme import Theme, ThemeProvider

from streamwatch.core.config import THEME_NAME, themes_dir
from streamwatch.core.files import read_regular
from streamwatch.core.safe import printable

DEFAULT_THEME = "dark"
BUILTIN = ("dark", "light", "high-contrast", "ansi")
"""The built-in theme files, in the order `t` cycles through them."""

COLOURS = ("primary", "secondary", "accent", "warning", "error", "success", "foreground", "background",
           "surface", "panel", "boost")
_FLAGS = {"dark": bool, "ansi": bool}
_NUMBERS = ("luminosity_spread", "text_alpha")


class ThemeError(Exception):
    """A theme file or name that cannot be used (the message is one line, for the user)."""


@dataclass
class ThemeSet:
    """The themes streamwatch offers, in cycling order, and what went wrong loading the user's."""

    themes: dict[str, Theme] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.themes)

    def check(self, name: str) -> str:
        """The name if it is one of these themes; else a ThemeError listing the valid names."""
        if name not in self.themes:
            raise ThemeError(f"unknown theme {name!r}: choose one of {', '.join(self.themes)}")
        return name

    def pick(self, requested: str | None = None, configured: str | None = None) -> str:
        """The theme to start with: `requested` (from --theme; must exist), else `configured` (from the
        config file; falls back to the default with a warning when it no longer exists), else the default."""
        if requested is not None:
            return self.check(requested)
        if configured is not None and configured not in self.themes:
            self.warnings.append(f"theme {configured!r} from the config file is not available; using {DEFAULT_THEME!r}")
        elif configured is not None:
            return configured
        return DEFAULT_THEME if DEFAULT_THEME in self.themes else next(iter(self.themes))


def builtin_files() -> list[Traversable]:
    folder = resources.files("streamwatch.themes")
    return [folder / f"{name}.toml" for name in BUILTIN]


def load_themes(user_dir: Path | None = None) -> ThemeSet:
    """The built-in themes, then every `*.toml` theme in `user_dir` (default: the config's themes folder)."""
    loaded = ThemeSet()
    for file in builtin_files():
        _add(loaded, file, f"built-in theme {file.name}")
    folder = themes_dir() if user_dir is None else user_dir
    try:
        files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    except OSError as exc:
        loaded.warnings.append(printable(f"cannot list theme files in {folder}: {exc.strerror or exc}"))
        files = []
    for file in files:
        _add(loaded, file, str(file))
    return loaded


def _add(loaded: ThemeSet, file: Traversable, label: str) -> None:
    try:
        theme = load_theme_file(file, label)
    except ThemeError as exc:
        loaded.warnings.append(printable(f"skipped {exc}"))
        return
    loaded.themes[theme.name] = theme


def load_theme_file(file: Traversable | Path, label: str | None = None) -> Theme:
    label = label or str(file)
    try:
        text = read_regular(file).decode("utf-8") if isinstance(file, Path) else file.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{label}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{label}: not valid TOML: {exc}") from None
    return theme_from_data(data, label)


def theme_from_data(data: dict[str, Any], label: str) -> Theme:
    """A Theme from a theme file's keys; ThemeError naming the file and key for anything unusable."""
    known = {"name", "variables", *COLOURS, *_FLAGS, *_NUMBERS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ThemeError(f"{label}: unknown key {unknown[0]!r}")
    name = data.get("name")
    if not isinstance(name, str) or not THEME_NAME.fullmatch(name):
        raise ThemeError(f"{label}: `name` must be a theme name (letters, digits, '-', '_', '.')")
    if "primary" not in data:
        raise ThemeError(f"{label}: `primary` is required")
    options: dict[str, Any] = {}
    for key in COLOURS:
        if key in data:
            options[key] = _colour(data[key], key, label)
    for key, kind in _FLAGS.items():
        if key in data:
            if not isinstance(data[key], kind):
                raise ThemeError(f"{label}: `{key}` must be true or false")
            options[key] = data[key]
    for key in _NUMBERS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ThemeError(f"{label}: `{key}` must be a number from 0 to 1")
            options[key] = float(value)
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeError(f"{label}: `variables` must be a table of strings")
    theme = Theme(name=name, variables=dict(variables), **options)
    _check_variables(theme, label)
    return theme


def _colour(value: Any, key: str, label: str) -> str:
    if isinstance(value, str):
        try:
            Color.parse(value)
            return value
        except ColorParseError:
            pass
    raise ThemeError(f"{label}: `{key}` is not a colour: {value!r}")


def _check_variables(theme: Theme, label: str) -> None:
    """Parse a rule using every variable the theme sets, with Textual's own CSS parser: all of them in
    one stylesheet (each parse reads every variable of the theme, so one per variable cost ~30 ms a
    start), and one by one only when that fails, to name the variable."""
    variables = {**theme.to_color_system().generate(), **theme.variables}
    rules = {
        key: f"* {{ {'text-style' if key.endswith('style') else 'color'}: ${key}; }}" for key in theme.variables
    }
    if not rules or _parses(variables, "\n".join(rules.values())):
        return
    for key, rule in rules.items():
        if not _parses(variables, rule):
            prop = "text style" if key.endswith("style") else "color"
            raise ThemeError(f"{label}: variable `{key}` is not a valid {prop}: {theme.variables[key]!r}")


def _parses(variables: dict[str, str], source: str) -> bool:
    sheet = Stylesheet(variables=variables)
    sheet.add_source(source)
    try:
        sheet.parse()
    except StylesheetParseError:
        return False
    return True


def register(app: App[Any], themes: ThemeSet) -> None:
    for theme in themes.themes.values():
        app.register_theme(theme)


class ThemeCommands(ThemeProvider):
    """The command palette's theme list: streamwatch's themes; picking one goes through `choose_theme`."""

    @property
    def commands(self) -> list[tuple[str, Any]]:
        app = self.app
        return [(name, partial(app.choose_theme, name)) for name in app.theme_names]
