"""Untrusted text in Markdown: every value from a session goes in code, where Markdown means nothing.

A model's answer, a tool name, an error message or a header can hold `# heading`, `[link](url)`,
`<script>`, a bare URL or a backtick. Outside code, a Markdown renderer (a ticket, a GitHub issue)
would act on them; inside a code span or a fenced block it shows them as they are. So a value goes in
a code span (`code`: on one line, its controls and invisible characters shown as escapes by
core/safe.py), and longer text in a fenced block (`fenced`: kept on its lines, made printable); each
is delimited by a run of backticks longer than any run inside it, so no text can close it early.
"""

from __future__ import annotations

import re

from streamwatch.core.safe import one_line, printable

_BACKTICKS = re.compile("`+")


def _fence_length(text: str, least: int) -> int:
    return max([least - 1, *(len(run) for run in _BACKTICKS.findall(text))]) + 1


def code(value: object) -> str:
    """A value as an inline code span, on one line."""
    text = one_line(str(value))
    ticks = "`" * _fence_length(text, 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) or not text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fenced(text: str, info: str = "text") -> str:
    """Text as a fenced code block, kept on its lines."""
    shown = printable(text).rstrip("\n")
    ticks = "`" * _fence_length(shown, 3)
    return f"{ticks}{info}\n{shown}\n{ticks}"
