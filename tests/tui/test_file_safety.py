"""The screens on files that are not what their names say."""

import pytest

from streamwatch.tui.screens.home import FormError, read_tools
from streamwatch.tui.themes import load_themes


def test_a_tools_file_or_a_theme_file_that_is_a_fifo_is_one_line(tmp_path, fifo):
    with pytest.raises(FormError) as refused:
        read_tools(fifo(tmp_path / "tools.json"))
    fifo_words = "it is a FIFO (named pipe), not a regular file"
    assert str(refused.value) == f"tools file: cannot read {tmp_path / 'tools.json'}: {fifo_words}"
    themes = tmp_path / "themes"
    themes.mkdir()
    fifo(themes / "mine.toml")
    assert load_themes(themes).warnings == [f"skipped {themes / 'mine.toml'}: cannot read it: {fifo_words}"]
