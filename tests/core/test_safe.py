"""The output boundary: every control and invisible character is shown as a visible escape."""

import io
import sys
import unicodedata

import pytest

from streamwatch.core.safe import SafeWriter, one_line, printable

HIDDEN = [
    chr(code) for code in range(sys.maxunicode + 1)
    if unicodedata.category(chr(code)) in ("Cc", "Cf", "Cs", "Zl", "Zp") and chr(code) not in "\n\t"
]


def test_every_control_format_separator_and_surrogate_character_is_escaped():
    """Every such character of this Python's Unicode tables, from NUL to the last tag character."""
    assert len(HIDDEN) > 2000
    for char in HIDDEN:
        shown = printable(f"a{char}b")
        assert char not in shown and shown.startswith("a\\") and shown.endswith("b"), repr(char)
        assert shown.isascii() and shown.isprintable()


@pytest.mark.parametrize(("text", "shown"), [
    ("title \x1b]0;PWNED\x07 clear \x1b[2J", "title \\x1b]0;PWNED\\x07 clear \\x1b[2J"),
    ("c1 \x9b2J nel \x85", "c1 \\x9b2J nel \\x85"),
    ("cr\r bs\x08 nul\x00 del\x7f", "cr\\x0d bs\\x08 nul\\x00 del\\x7f"),
    ("zero\u200bwidth\u200c\u200d\u2060\ufeff", "zero\\u200bwidth\\u200c\\u200d\\u2060\\ufeff"),
    ("bidi \u202eevil\u202c \u2066iso\u2069 \u061c", "bidi \\u202eevil\\u202c \\u2066iso\\u2069 \\u061c"),
    ("tags \U000e0001\U000e0068\U000e007f", "tags \\U000e0001\\U000e0068\\U000e007f"),
    ("lone \ud800 \udfff", "lone \\ud800 \\udfff"),
    ("seps \u2028\u2029", "seps \\u2028\\u2029"),
    ("fillers \u3164\u115f\u1160\uffa0\u17b4 cgj \u034f soft\u00adhyphen",
     "fillers \\u3164\\u115f\\u1160\\uffa0\\u17b4 cgj \\u034f soft\\xadhyphen"),
    ("hidden by selectors: a\ufe00\ufe01\U000e0100", "hidden by selectors: a\ufe00\\ufe01\\U000e0100"),
    ("a selector after nothing: \ufe0f, after a space: \ufe0f", "a selector after nothing: \\ufe0f, after a space: \\ufe0f"),
])
def test_hostile_and_invisible_characters_are_shown_as_escapes(text, shown):
    assert printable(text) == shown


@pytest.mark.parametrize("text", [
    "plain ASCII, [bold]markup[/] is text: \\x1b stays a backslash",
    "é ü ß · … ↻ ⟂ ▲ 中文 日本語 한국어 עברית العربية",
    "emoji 🙂 ❤\ufe0f 1\ufe0f\u20e3 and private use \ue0b0",
    "lines\nand\ttabs\n",
])
def test_visible_text_newlines_and_tabs_are_kept(text):
    assert printable(text) == text


def test_escaping_is_idempotent():
    text = "".join(HIDDEN[:300]) + "a\ufe00\ufe01 \ufe0f"
    assert printable(printable(text)) == printable(text)


def test_one_line_keeps_a_value_on_its_row():
    assert one_line("stop\nreason\tx\r\u2028") == "stop\\nreason x\\x0d\\u2028"


def test_a_writer_escapes_and_degrades_to_what_its_stream_can_encode():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    writer = SafeWriter(stream)
    writer.write("Verdict · COMPLETE \x1b]0;x\x07 \u200b 中\n")
    writer.flush()
    assert raw.getvalue() == b"Verdict \\xb7 COMPLETE \\x1b]0;x\\x07 \\u200b \\u4e2d\n"


def test_a_writer_notes_a_reader_that_went_away():
    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError

    writer = SafeWriter(Gone())
    with pytest.raises(BrokenPipeError):
        writer.write("x")
    assert writer.broken


def test_data_goes_to_a_pipe_exactly_and_to_a_terminal_made_visible():
    import io

    from streamwatch.core.safe import SafeWriter

    class Terminal(io.TextIOWrapper):
        def isatty(self):
            return True

    data = "ok \x1b[2J \u202e é".encode()
    piped = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    SafeWriter(piped).write_data(data)
    assert piped.buffer.getvalue() == data
    shown = Terminal(io.BytesIO(), encoding="utf-8")
    writer = SafeWriter(shown)
    writer.write_data(data[:-1])  # é split between two writes is still one character
    writer.write_data(data[-1:])
    shown.flush()
    assert shown.buffer.getvalue().decode() == "ok \\x1b[2J \\u202e é"
