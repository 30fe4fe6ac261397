"""HTML tables saved as ".xls" (finance and tax system exports): read, with the rows Excel shows.

Row placement was checked against LibreOffice 7.4 (``soffice --headless --convert-to csv`` of the same pages):
text before the table takes rows above it, tables stack without a gap, spans put the value top-left.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fundaudit.errors import InputError, LimitExceededError
from fundaudit.io import Limits, read_grids
from fundaudit.ledger import load
from tests.io import fixtures as fx


def _grid_rows(path: Path, **kwargs: object) -> list[tuple[int, list[str]]]:
    [grid] = read_grids(path, **kwargs)  # type: ignore[arg-type]
    return list(zip(grid.rows.tolist(), grid.cells.values.tolist(), strict=True))


def test_gbk_ledger_with_title_spans_total_and_repeated_header(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "送温暖.xls", fx.html_page(fx.HTML_LEDGER_BODY))
    [grid] = read_grids(path)
    assert (grid.format, grid.encoding, grid.sheet) == ("html", "gb18030", None)
    header = ["序号", "姓名", "身份证号码", "金额", "公示情况", "", "发放日期"]
    sub = ["", "", "", "", "公示开始日期", "公示结束日期", ""]
    assert list(zip(grid.rows.tolist(), grid.cells.values.tolist(), strict=True)) == [
        (1, ["2016年送温暖发放明细表", "", "", "", "", "", ""]),
        (2, header),
        (3, sub),
        (4, ["1", "张 三", "110101199003077777", "1,500.00", "2016-01-04", "2016-01-10", "2016-01-13"]),
        (5, ["2", "李四\n（代领）", "34100319641225504X", "abc", "2016-01-04", "2016-01-10", "2016-01-13"]),
        (6, header),
        (7, sub),
        (8, ["3", "王五", "110101199003071234", "800", "2016-02-01", "2016-02-05", "2016-02-10"]),
        (9, ["合计", "", "", "2300", "", "", ""]),
        (10, ["制表人：程晓燕", "", "", "", "", "", ""]),
    ]
    header_spans = [(r, r + 1, c, c) for r in (1, 5) for c in (0, 1, 2, 3, 6)] + [(1, 1, 4, 5), (5, 5, 4, 5)]
    assert grid.merged == sorted([*header_spans, (8, 8, 0, 2)])
    assert [str(n) for n in grid.notes] == [
        f"{path} is named .xls but its content is an HTML table; it was read by its content",
        "text encoding GB18030 (the page declares charset GBK)",
    ]


def test_gbk_ledger_loads_with_layout_recognition_and_conservation(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "送温暖.xls", fx.html_page(fx.HTML_LEDGER_BODY))
    ledger = load("disbursements", path)
    s = ledger.inputs[0]
    assert (s.format, s.header_row, s.title) == ("html", 3, "2016年送温暖发放明细表")
    assert (s.rows_read, s.rows_loaded, s.rows_rejected, s.rows_non_data) == (7, 2, 1, 4)
    assert ledger.frame[["row", "recipient_name", "recipient_id_no", "amount"]].values.tolist() == [
        [4, "张 三", "110101199003077777", 150000],
        [8, "王五", "110101199003071234", 80000],
    ]
    assert ledger.rejected[["row", "column", "value", "reason"]].values.tolist() == [
        [5, "金额", "abc", "amount_unparseable"]
    ]
    assert ledger.non_data[["row", "type"]].values.tolist() == [
        [6, "repeated_header"], [7, "repeated_header"], [9, "total"], [10, "note"]
    ]
    assert ledger.totals[["row", "declared", "covers_from", "covers_to"]].values.tolist() == [[9, 230000, 4, 8]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # headings, paragraphs and <br> lines each take a row; an empty block takes none; <br><br> leaves blanks
        ("<h3>标题</h3><p></p><p>单位：某某</p><table><tr><td>a</td></tr></table><p>制表人：李</p>",
         [(1, ["标题"]), (2, ["单位：某某"]), (3, ["a"]), (4, ["制表人：李"])]),
        ("line1<br>line2<br><br><table><tr><td>T</td></tr></table>",
         [(1, ["line1"]), (2, ["line2"]), (3, [""]), (4, [""]), (5, ["T"])]),
        # several tables stack on one sheet, with no gap unless the page has a line between them
        ("<table><tr><td>A1</td></tr><tr><td>A2</td></tr></table><table><tr><td>B1</td></tr></table>",
         [(1, ["A1"]), (2, ["A2"]), (3, ["B1"])]),
        ("<table><tr><td>A1</td></tr></table><p>mid</p><table><tr><td>B1</td></tr></table>",
         [(1, ["A1"]), (2, ["mid"]), (3, ["B1"])]),
        # a later cell moves right past a cell still covered from above; the value sits top-left
        ("<table><tr><td rowspan=2>R</td><td colspan=2>C</td></tr><tr><td>x</td><td>y</td></tr>"
         "<tr><td>1</td><td>2</td><td>3</td></tr></table>",
         [(1, ["R", "C", ""]), (2, ["", "x", "y"]), (3, ["1", "2", "3"])]),
        # white space as a browser shows it; <br> in a cell is a line break; a caption is a row above
        ("<table><caption>表一</caption><tr><td> a <br> b </td><td>  x \n  y </td><td>&nbsp;</td></tr></table>",
         [(1, ["表一", ""]), (2, ["a\nb", "x y"])]),
        # no <table> at all: rows and cells still make a table
        ("<tr><td>1</td><td>2</td></tr>", [(1, ["1", "2"])]),
    ],
)
def test_rows_are_where_excel_puts_them(tmp_path: Path, body: str, expected: list[tuple[int, list[str]]]) -> None:
    path = fx.write_bytes(tmp_path, "page.xls", fx.html_page(body, charset="utf-8", encoding="utf-8"))
    assert _grid_rows(path) == expected


def test_merged_ranges_are_recorded_as_the_xlsx_reader_records_them(tmp_path: Path) -> None:
    body = ("<table><tr><td rowspan=2>R</td><td colspan=2>C</td></tr><tr><td>x</td><td>y</td></tr>"
            "<tr><td rowspan=9>long</td><td>z</td></tr></table>")
    path = fx.write_bytes(tmp_path, "page.xls", fx.html_page(body, charset="utf-8", encoding="utf-8"))
    [grid] = read_grids(path)
    # a rowspan ends with its table, as in a browser
    assert grid.merged == [(0, 0, 1, 2), (0, 1, 0, 0), (2, 2, 0, 0)]


def test_rows_hidden_with_display_none_are_read_and_listed(tmp_path: Path) -> None:
    body = '<table><tr><td>a</td></tr><tr style="color:red; DISPLAY: none"><td>b</td></tr><tr><td>c</td></tr></table>'
    path = fx.write_bytes(tmp_path, "page.xls", fx.html_page(body, charset="utf-8", encoding="utf-8"))
    [grid] = read_grids(path)
    assert (grid.cells.values.tolist(), grid.hidden_rows) == ([["a"], ["b"], ["c"]], [2])
    assert grid.notes[-1] == f"sheet {path} has 1 hidden row(s); they are read like any other"


def test_two_tables_are_noted_with_their_starting_rows(tmp_path: Path) -> None:
    body = "<p>t</p><table><tr><td>A</td></tr></table><table><tr><td>B</td></tr></table>"
    path = fx.write_bytes(tmp_path, "page.xls", fx.html_page(body, charset="utf-8", encoding="utf-8"))
    [grid] = read_grids(path)
    assert grid.notes[-1] == "the page holds 2 tables, read one below the other on one sheet as Excel shows them " \
        "(starting rows 2, 3)"


@pytest.mark.parametrize(
    ("page", "encoding", "note"),
    [
        # declared GBK and really GBK: GB18030, its superset
        (fx.html_page("<table><tr><td>䶮</td></tr></table>", charset="gb2312", encoding="gb18030"), "gb18030",
         "text encoding GB18030 (the page declares charset GB2312)"),
        # an old charset=gb2312 line over UTF-8 text: the text is UTF-8 (GB18030 would garble it silently)
        (fx.html_page("<table><tr><td>䶮</td></tr></table>", charset="gb2312", encoding="utf-8"), "utf-8",
         "the page declares charset GB2312 but its text is valid UTF-8; read as UTF-8"),
        # a BOM decides over the declaration
        (fx.html_page("<table><tr><td>䶮</td></tr></table>", charset="gbk", encoding="utf-8", bom=b"\xef\xbb\xbf"),
         "utf-8-sig", "text encoding UTF-8-SIG (from the byte-order mark)"),
        # nothing declared: strict UTF-8, then GB18030, as for CSV
        (fx.html_page("<table><tr><td>䶮</td></tr></table>", charset=None, encoding="gb18030"), "gb18030",
         "text encoding GB18030 (GBK-compatible; the file is not valid UTF-8)"),
        # declared UTF-8 but the bytes are GB18030: detection takes over, with a note
        (fx.html_page("<table><tr><td>䶮</td></tr></table>", charset="utf-8", encoding="gb18030"), "gb18030",
         "the page declares charset UTF-8, which its bytes do not fit; the encoding was detected instead"),
    ],
)
def test_charset_declared_bom_then_detection(tmp_path: Path, page: bytes, encoding: str, note: str) -> None:
    path = fx.write_bytes(tmp_path, "page.xls", page)
    [grid] = read_grids(path)
    assert grid.cells.values.tolist() == [["䶮"]]
    assert grid.encoding == encoding
    assert note in grid.notes


def test_script_style_head_and_comments_are_not_rows(tmp_path: Path) -> None:
    body = "<script>alert(1)</script><!-- <table><tr><td>hidden</td></tr></table> --><table><tr><td>x</td></tr></table>"
    path = fx.write_bytes(tmp_path, "page.xls", fx.html_page(body))
    assert _grid_rows(path) == [(1, ["x"])]


def test_no_network_and_no_entities(tmp_path: Path) -> None:
    page = (b'<!DOCTYPE html SYSTEM "http://127.0.0.1:9/x.dtd" [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<html><body><table><tr><td>&e;</td><td><img src="http://127.0.0.1:9/x.png">1</td></tr></table>'
            b"</body></html>")
    path = fx.write_bytes(tmp_path, "page.xls", page)
    [grid] = read_grids(path)
    assert grid.cells.values.tolist() == [["]>", ""], ["&e;", "1"]]  # as a browser shows it: the doctype ends at ">"


def test_limits_refuse_before_the_grid_is_built(tmp_path: Path) -> None:
    rows = b"<table>" + b"<tr><td>1</td></tr>" * 11 + b"</table>"
    path = fx.write_bytes(tmp_path, "rows.xls", rows)
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_rows=10))
    assert info.value.message("en") == f"file {path} exceeds a limit: {path} has 11 <tr> tags (limit max_rows = 10)"
    wide = fx.write_bytes(tmp_path, "wide.xls", b"<table><tr><td>a</td><td colspan=5000>b</td></tr></table>")
    with pytest.raises(LimitExceededError) as info:
        read_grids(wide)
    assert info.value.message("en") == f"file {wide} exceeds a limit: {wide}: row 1 reaches column 5001 " \
        "(limit max_columns = 1,000)"
    long = fx.write_bytes(tmp_path, "long.xls", b"<table><tr><td>" + b"x" * 5000 + b"</td></tr></table>")
    with pytest.raises(LimitExceededError) as info:
        read_grids(long, limits=Limits(max_cell_chars=1000))
    assert info.value.message("en") == f"file {long} exceeds a limit: {long}: row 1, column A has 5000 characters " \
        "(limit max_cell_chars = 1,000)"
    far = fx.write_bytes(tmp_path, "far.xls", b"<table>" + b"<tr></tr>" * 100_000 + b"<tr>" + b"<td></td>" * 998
                         + b"<td>x</td></tr></table>")
    with pytest.raises(LimitExceededError) as info:
        read_grids(far)
    assert info.value.message("en") == f"file {far} exceeds a limit: {far} has cells down to row 100,001 and out to " \
        "column ALK: a used range of 100,001 × 999 = 99,900,999 cells (limit max_cells = 50,000,000)"


def test_hostile_markup_is_linear(tmp_path: Path) -> None:
    """Inputs that are quadratic for the standard library's html.parser on Python 3.11 (seconds to minutes)."""
    for i, junk in enumerate((b"</" * 500_000, b"<!" * 500_000, b"<td " + b"a=b " * 1_000_000, b"<div>" * 200_000)):
        path = fx.write_bytes(tmp_path, f"junk{i}.xls", b"<table><tr><td>1</td></tr></table>" + junk)
        start = time.perf_counter()
        read_grids(path)
        assert time.perf_counter() - start < 5


def test_a_sheet_cannot_be_chosen_in_a_page(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "page.xls", fx.html_page("<table><tr><td>x</td></tr></table>"))
    with pytest.raises(InputError) as info:
        read_grids(path, sheet="Sheet1")
    assert info.value.code == "sheet_not_found"
