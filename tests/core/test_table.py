from streamwatch.core.table import render_table, width


def test_a_cell_is_padded_as_it_is_written_and_by_the_cells_it_takes():
    rows = [("NAME", "N"), ("caf\u00e9\u2026", "1"), ("\u6a21\u578b", "22"), ("e\u0301", "3")]
    assert render_table(rows, right={1}) == ["NAME    N", "caf\u00e9\u2026   1", "\u6a21\u578b   22", "e\u0301       3"]
    ascii_lines = render_table(rows, right={1}, encoding="ascii")
    assert ascii_lines[1] == "caf\\xe9\\u2026   1" and len({len(line) for line in ascii_lines}) == 1
    assert {width(line) for line in render_table(rows, right={1})} == {9}
