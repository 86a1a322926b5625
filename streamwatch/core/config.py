"""The user's settings: `config.toml` in the streamwatch config folder, every key optional.

    theme = "dark"              a theme name (built-in, or a file in <config folder>/themes/)
    model = "claude-sonnet-4-6" the model new requests use
    stall_threshold = 5.0       seconds of silence that count as a stall
    base_url = "embedded"       where new requests go: a URL, or "embedded" for the built-in mock

The folder is `platformdirs.user_config_dir("streamwatch")`, or `STREAMWATCH_CONFIG_HOME` when set
(tests point it at a temporary folder). A missing file means defaults; a bad value is a
`ConfigError` whose one-line message names the key and the file. `save_theme` rewrites only the
`theme` line, so comments and every other key stay as the user wrote them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from streamwatch.core.files import read_regular, write_private
from streamwatch.core.redact import Redactor
from streamwatch.core.transport import NO_HOST, NOT_HTTP, url_problem

EMBEDDED = "embedded"
THEME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""What a theme name may look like: it also names a CSS class and a file."""


class ConfigError(Exception):
    """A config file that cannot be read or holds a bad value (the message is one line, for the user)."""


@dataclass(frozen=True)
class Config:
    theme: str | None = None
    model: str | None = None
    stall_threshold: float | None = None
    base_url: str | None = None
    path: Path | None = None


def config_dir() -> Path:
    override = os.environ.get("STREAMWATCH_CONFIG_HOME")
    return Path(override) if override else Path(platformdirs.user_config_dir("streamwatch"))


def config_path() -> Path:
    return config_dir() / "config.toml"


def themes_dir() -> Path:
    """Where the user's own theme files live (`*.toml`, the same shape as the built-in ones)."""
    return config_dir() / "themes"


def _theme(value: Any) -> str:
    if not isinstance(value, str) or not THEME_NAME.fullmatch(value):
        raise ValueError("must be a theme name (letters, digits, '-', '_', '.')")
    return value


def _model(value: Any) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError("must be a model name without spaces")
    return value


def _stall_threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ValueError("must be a number of seconds more than 0")
    return float(value)


def _base_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a URL (http:// or https://) or {EMBEDDED!r}")
    return check_base_url(value)


def check_base_url(value: str) -> str:
    """A base URL as typed: `embedded`, or an http(s) URL with a host; ValueError otherwise."""
    value = value.strip()
    if value == EMBEDDED:
        return value
    problem = url_problem(value)
    if problem in (NOT_HTTP, NO_HOST):
        raise ValueError(f"must be a URL (http:// or https://) or {EMBEDDED!r}")
    if problem:
        raise ValueError(f"must be a URL a client can reach ({problem})")
    return value


SETTINGS: dict[str, Callable[[Any], Any]] = {
    "theme": _theme,
    "model": _model,
    "stall_threshold": _stall_threshold,
    "base_url": _base_url,
}


def load_config(path: Path | None = None) -> Config:
    path = path or config_path()
    data = _read(path)
    values: dict[str, Any] = {}
    for key, value in data.items():
        check = SETTINGS.get(key)
        if check is None:
            raise ConfigError(f"{path}: unknown setting {key!r} (known: {', '.join(SETTINGS)})")
        try:
            values[key] = check(value)
        except ValueError as exc:
            shown = Redactor().url(value) if key == "base_url" and isinstance(value, str) else value
            raise ConfigError(f"{path}: {key} {exc}, not {_shown(shown)}") from None
    return Config(**values, path=path)


def save_theme(name: str, path: Path | None = None) -> None:
    """Remember the chosen theme: set `theme` in the config file, keeping everything else in it."""
    path = path or config_path()
    try:
        _theme(name)
    except ValueError as exc:
        raise ConfigError(f"theme {exc}, not {_shown(name)}") from None
    text = _read_text(path)
    _parse(text, path)
    line = f"theme = {json.dumps(name)}"
    pattern = re.compile(r"""^[ \t]*(theme|"theme"|'theme')[ \t]*=.*$""", re.MULTILINE)
    table = re.search(r"^[ \t]*\[", text, re.MULTILINE)
    top = text[: table.start()] if table else text
    if pattern.search(top):
        new = pattern.sub(lambda _: line, top, count=1) + text[len(top):]
    else:
        new = f"{line}\n{text}"
    if _parse(new, path).get("theme") != name:
        raise ConfigError(f"{path}: cannot update the theme setting in place; set theme = {json.dumps(name)} by hand")
    _write(path, new)


def _read_text(path: Path) -> str:
    try:
        return read_regular(path).decode("utf-8")
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _read(path: Path) -> dict[str, Any]:
    return _parse(_read_text(path), path)


def _write(path: Path, text: str) -> None:
    """Replace the file whole: the new text goes to a fresh private file beside it (made exclusively,
    never through a link, its own name even when another process saves at the same moment), which
    then takes the file's place."""
    temporary: Path | None = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = write_private(path.parent, f".{path.name}.tmp", [text.encode("utf-8")])
        os.replace(temporary, path)
    except OSError as exc:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
