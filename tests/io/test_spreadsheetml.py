"""SpreadsheetML 2003 ("XML Spreadsheet") saved as ".xls": read with defusedxml, streamed, rows as Excel shows.

Row and column placement (ss:Index gaps, MergeAcross) was checked against LibreOffice 7.4's import of the same
file (``soffice --headless --convert-to csv``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fundaudit.errors import InputError, LimitExceededError, UnreadableFileError
from fundaudit.io import Limits, read_grids
from fundaudit.ledger import load
from tests.io import fixtures as fx

S = fx.ss_row
LEDGER = "".join(
    (
        S('<Cell ss:MergeAcross="3"><Data ss:Type="String">2016年送温暖发放明细表</Data></Cell>'),
        S("姓名", "身份证号码", "金额", "发放日期", attrs='ss:Index="3"'),
        S("张三", "110101199003077777", '<Cell><Data ss:Type="Number">1500</Data></Cell>',
          '<Cell><Data ss:Type="DateTime">2016-01-13T00:00:00.000</Data></Cell>'),
        S("李四", "34100319641225504X", '<Cell><Data ss:Type="Error">#DIV/0!</Data></Cell>',
          '<Cell><Data ss:Type="DateTime">2016-01-13T09:30:00.000</Data></Cell>', attrs='ss:Hidden="1"'),
        S("王五", '<Cell ss:Index="3"><Data ss:Type="Number">800.5</Data></Cell>',
          '<Cell><Data ss:Type="String">2016-02-10</Data></Cell>'),
        S("合计", '<Cell ss:Index="3"><Data ss:Type="Number">2300.5</Data></Cell>'),
    )
)
OTHER = S("x", '<Cell><Data ss:Type="Boolean">1</Data></Cell>',
          '<Cell><Data ss:Type="Number">1.10101199003078E+17</Data></Cell>',
          '<Cell><Data ss:Type="DateTime">1899-12-31T10:30:00.000</Data></Cell>')


def _file(tmp_path: Path, data: bytes, name: str = "导出.xls") -> Path:
    return fx.write_bytes(tmp_path, name, data)


def test_two_worksheets_with_index_gaps_merges_types_and_an_error_cell(tmp_path: Path) -> None:
    path = _file(tmp_path, fx.spreadsheetml({"送温暖": LEDGER, "其他": OTHER}))
    first, second = read_grids(path)
    assert (first.format, first.sheet, second.sheet) == ("spreadsheetml", "送温暖", "其他")
    assert list(zip(first.rows.tolist(), first.cells.values.tolist(), strict=True)) == [
        (1, ["2016年送温暖发放明细表", "", "", ""]),
        (2, ["", "", "", ""]),
        (3, ["姓名", "身份证号码", "金额", "发放日期"]),
        (4, ["张三", "110101199003077777", "1500", "2016-01-13"]),
        (5, ["李四", "34100319641225504X", "#DIV/0!", "2016-01-13 09:30:00"]),
        (6, ["王五", "", "800.5", "2016-02-10"]),
        (7, ["合计", "", "2300.5", ""]),
    ]
    assert first.merged == [(0, 0, 0, 3)]
    assert first.hidden_rows == [5]
    assert [str(n) for n in first.notes] == [
        f"{path} is named .xls but its content is an Excel 2003 XML Spreadsheet (SpreadsheetML); it was read by "
        "its content",
        "sheet 送温暖 has 1 Excel error cell(s) such as C5; their error text was kept",
        "sheet 送温暖 has 1 hidden row(s); they are read like any other",
    ]
    # an ID typed as a number arrives damaged, in scientific notation, exactly as from .xls/.xlsx
    assert second.cells.values.tolist() == [["x", "TRUE", "1.10101199003078e+17", "10:30:00"]]


def test_loads_with_layout_recognition_and_error_cells_rejected(tmp_path: Path) -> None:
    path = _file(tmp_path, fx.spreadsheetml({"送温暖": LEDGER}))
    ledger = load("disbursements", path)
    s = ledger.inputs[0]
    assert (s.format, s.sheet, s.header_row, s.title) == ("spreadsheetml", "送温暖", 3, "2016年送温暖发放明细表")
    assert (s.rows_read, s.rows_loaded, s.rows_rejected, s.rows_non_data) == (4, 2, 1, 1)
    assert ledger.frame[["row", "recipient_name", "amount"]].values.tolist() == [
        [4, "张三", 150000], [6, "王五", 80050]
    ]
    assert ledger.rejected[["sheet", "row", "column", "value", "reason"]].values.tolist() == [
        ["送温暖", 5, "金额", "#DIV/0!", "excel_error_cell"]
    ]
    assert ledger.non_data[["row", "type"]].values.tolist() == [[7, "total"]]


def test_merge_down_span_and_cells_after_a_merge(tmp_path: Path) -> None:
    table = (S('<Cell ss:MergeAcross="1" ss:MergeDown="1"><Data ss:Type="String">A</Data></Cell>',
               '<Cell><Data ss:Type="String">C</Data></Cell>')
             + S('<Cell ss:Index="3"><Data ss:Type="String">c2</Data></Cell>', attrs='ss:Span="1"')
             + S("after"))
    [grid] = read_grids(_file(tmp_path, fx.spreadsheetml({"s": table})))
    assert grid.cells.values.tolist() == [["A", "", "C"], ["", "", "c2"], ["", "", ""], ["after", "", ""]]
    assert grid.merged == [(0, 1, 0, 1)]


@pytest.mark.parametrize("kind", ["internal_entity", "external_entity", "doctype_only"])
def test_dtd_and_entities_are_refused(tmp_path: Path, kind: str) -> None:
    prolog = {
        "internal_entity": '<!DOCTYPE Workbook [<!ENTITY lol "lollollollollol">]>\n',
        "external_entity": '<!DOCTYPE Workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
        "doctype_only": "<!DOCTYPE Workbook>\n",
    }[kind]
    path = _file(tmp_path, fx.spreadsheetml({"s": S("&lol;" if kind == "internal_entity" else "x")}, prolog=prolog))
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path)
    assert info.value.code == "xml_entities"
    assert info.value.message("en") == (
        f"file {path} contains XML DTD/entity declarations, which spreadsheets never need; refused"
    )


def test_limits_are_checked_while_streaming(tmp_path: Path) -> None:
    far = _file(tmp_path, fx.spreadsheetml({"s": S("x", attrs='ss:Index="6000000"')}), "far.xls")
    with pytest.raises(LimitExceededError) as info:
        read_grids(far)
    assert info.value.message("en", masked=False) == (
        f"file {far} exceeds a limit: {far} [s] has row 6000000 (limit max_rows = 5,000,000)"
    )
    wide = _file(tmp_path, fx.spreadsheetml({"s": S('<Cell ss:Index="1001"><Data ss:Type="String">x</Data></Cell>')}),
                 "wide.xls")
    with pytest.raises(LimitExceededError) as info:
        read_grids(wide)
    assert info.value.message("en") == f"file {wide} exceeds a limit: {wide} [s] row 1 reaches column 1001 " \
        "(limit max_columns = 1,000)"
    rows = _file(tmp_path, fx.spreadsheetml({"s": S("x") * 11}), "rows.xls")
    with pytest.raises(LimitExceededError):
        read_grids(rows, limits=Limits(max_rows=10))
    long = _file(tmp_path, fx.spreadsheetml({"s": S("x" * 2000)}), "long.xls")
    with pytest.raises(LimitExceededError) as info:
        read_grids(long, limits=Limits(max_cell_chars=1000))
    assert "row 1, column A has 2000 characters" in info.value.message("en")
    corner = _file(tmp_path, fx.spreadsheetml({"s": S("x", attrs='ss:Index="4000000"')
                                               + S('<Cell ss:Index="999"><Data ss:Type="String">y</Data></Cell>')}),
                   "corner.xls")
    with pytest.raises(LimitExceededError) as info:
        read_grids(corner)
    assert "[s] has cells down to row 4,000,001 and out to column ALK: a used range of 4,000,001 × 999 = " \
        "3,996,000,999 cells (limit max_cells = 50,000,000)" in info.value.message("en", masked=False)


def test_sheet_selection_and_broken_xml(tmp_path: Path) -> None:
    path = _file(tmp_path, fx.spreadsheetml({"送温暖": LEDGER, "其他": OTHER}))
    [grid] = read_grids(path, sheet="其他")
    assert grid.sheet == "其他"
    with pytest.raises(InputError) as info:
        read_grids(path, sheet="无")
    assert (info.value.code, info.value.fields["sheets"]) == ("sheet_not_found", "送温暖、其他")
    cut = _file(tmp_path, fx.spreadsheetml({"s": S("x")})[:-40], "cut.xls")
    with pytest.raises(UnreadableFileError) as info2:
        read_grids(cut)
    assert info2.value.code == "unreadable"
