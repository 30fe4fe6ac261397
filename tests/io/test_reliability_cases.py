"""Cases of reliability.md §1 that had no test of their own: each test names its case id, reads a real
.xls/.xlsx/CSV file end to end and asserts exactly what fundaudit does with it today. Strict xfails mark
the gaps (listed in docs/reliability-coverage.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fundaudit
from fundaudit.errors import LayoutError, Note
from fundaudit.io import read_grids
from tests.io import fixtures as fx
from tests.io import test_xlsx
from tests.test_conservation import assert_each_row_once

engine = test_xlsx.engine  # the fixture that runs a test once per .xlsx engine (calamine, openpyxl)


def _rows(ledger: fundaudit.Ledger, *columns: str) -> list[list[object]]:
    return ledger.frame[list(columns)].values.tolist()


# --- 1.A file and container ---------------------------------------------------------------------------


def test_a9_header_only_file_is_zero_data_rows_not_an_error(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "空表.csv", "姓名,金额\n".encode())
    ledger = fundaudit.load("disbursements", path)
    [s] = ledger.inputs
    assert (s.header_row, s.rows_read, s.rows_loaded, s.rows_rejected, s.rows_non_data) == (1, 0, 0, 0, 0)
    assert s.conserved and len(ledger.frame) == 0 and s.amount_total == 0


def test_a12_legacy_workbook_without_a_codepage_is_reopened_as_gb18030(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xlrd says so only in its log (BIFF5 without CODEPAGE falls back to iso-8859-1, mojibake without an error);
    the log line makes the reader open the book again with GB18030 and say so. No BIFF5 writer exists for a
    real fixture, so xlrd's log line is injected into a real .xls."""
    import xlrd

    real = xlrd.open_workbook
    overrides: list[object] = []

    def legacy(*args: Any, **kwargs: Any) -> Any:
        overrides.append(kwargs.get("encoding_override"))
        book = real(*args, **kwargs)
        if kwargs.get("encoding_override") is None:
            kwargs["logfile"].write("*** No CODEPAGE record, no encoding_override: will use 'iso-8859-1'\n")
        return book

    monkeypatch.setattr(xlrd, "open_workbook", legacy)
    [grid] = read_grids(fx.xls_table(tmp_path, [["姓名", "金额"], ["张三", 1]]))
    assert overrides == [None, "gb18030"]
    assert grid.cells.values.tolist() == [["姓名", "金额"], ["张三", "1"]]
    assert any("declares no code page; its text was decoded as GB18030" in n for n in grid.notes)


def test_a16_bogus_dimension_and_a_styled_cell_far_below_add_no_rows(tmp_path: Path, engine: str) -> None:
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["姓名", "金额"], ["甲", 1], ["乙", 2], ["丙", 3]]:
        ws.append(row)
    ws["A1000"].font = Font(bold=True)  # a styled, empty cell: Excel's "used range" grows to row 1000
    wb.save(tmp_path / "styled.xlsx")

    def bogus(xml: bytes) -> bytes:
        out, n = re.subn(rb"<dimension ref=\"[^\"]*\"\s*/>", b'<dimension ref="A1:XFD1048576"/>', xml)
        assert n == 1
        return out

    path = fx.rewrite_zip(tmp_path / "styled.xlsx", tmp_path / "bogus.xlsx", {fx.SHEET_XML: bogus})
    [grid] = read_grids(path)
    assert fell_back(grid.notes) == (engine == "openpyxl")
    assert grid.cells.values.tolist() == [["姓名", "金额"], ["甲", "1"], ["乙", "2"], ["丙", "3"]]
    assert grid.rows.tolist() == [1, 2, 3, 4]
    ledger = fundaudit.load("disbursements", path)
    assert ledger.inputs[0].rows_read == 3 and ledger.inputs[0].conserved


def fell_back(notes: list[str]) -> bool:
    return any("read with openpyxl instead" in n for n in notes)


@pytest.mark.parametrize("fmt", ["xls", "xlsx"])
def test_a17_sheets_split_at_the_row_limit_form_one_ledger_with_sheet_provenance(tmp_path: Path, fmt: str) -> None:
    pages = {"Sheet1": [["姓名", "金额"], ["甲", 1], ["乙", 2]], "Sheet2": [["姓名", "金额"], ["丙", 3]]}
    path = tmp_path / f"split.{fmt}"
    if fmt == "xls":
        import xlwt

        book = xlwt.Workbook(encoding="utf-8")
        for name, rows in pages.items():
            sheet = book.add_sheet(name)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    sheet.write(r, c, value)
        book.save(str(path))
    else:
        import openpyxl

        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for name, rows in pages.items():
            ws = wb.create_sheet(name)
            for row in rows:
                ws.append(row)
        wb.save(path)
    ledger = fundaudit.load("disbursements", path)
    assert _rows(ledger, "sheet", "row", "recipient_name", "amount") == [
        ["Sheet1", 2, "甲", 100],
        ["Sheet1", 3, "乙", 200],
        ["Sheet2", 2, "丙", 300],
    ]
    assert [(s.sheet, s.rows_read, s.amount_total) for s in ledger.inputs] == [("Sheet1", 2, 300), ("Sheet2", 1, 300)]


# --- 1.C sheet layout ----------------------------------------------------------------------------------


def test_c3_merged_body_cells_are_filled_only_inside_the_recorded_range(tmp_path: Path, engine: str) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["姓名", "金额"], ["甲", 1], [None, 2], [None, 3]]:
        ws.append(row)
    ws.merge_cells("A2:A3")  # 甲 merged over rows 2-3; A4 is a plain empty cell, never forward-filled
    wb.save(tmp_path / "merged.xlsx")
    ledger = fundaudit.load("disbursements", tmp_path / "merged.xlsx")
    assert _rows(ledger, "row", "recipient_name", "amount") == [[2, "甲", 100], [3, "甲", 200]]
    assert ledger.rejected[["row", "reason", "action"]].values.tolist() == [[4, "no_identity", "row_rejected"]]
    assert "1 merged cell range(s) in the data area filled from their first cell" in ledger.inputs[0].notes


def test_c6_hidden_rows_and_hidden_sheets_are_loaded_and_named(tmp_path: Path, engine: str) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    for row in [["姓名", "金额"], ["甲", 1], ["乙", 2]]:
        ws.append(row)
    ws.row_dimensions[3].hidden = True  # a filter left on in Excel
    hidden = wb.create_sheet("藏")
    for row in [["姓名", "金额"], ["丁", 4]]:
        hidden.append(row)
    hidden.sheet_state = "hidden"
    wb.save(tmp_path / "hidden.xlsx")
    ledger = fundaudit.load("disbursements", tmp_path / "hidden.xlsx")
    assert _rows(ledger, "sheet", "row", "amount") == [["明细", 2, 100], ["明细", 3, 200], ["藏", 2, 400]]
    visible, secret = ledger.inputs
    assert (visible.hidden, secret.hidden) == (False, True)
    assert "hidden rows (loaded like any other): 3" in visible.notes
    assert "sheet 藏 is hidden in the workbook" in secret.notes


def test_c11_formula_without_a_stored_result_is_never_read_as_zero(tmp_path: Path, engine: str) -> None:
    src = fx.xlsx_table(tmp_path, [["姓名", "金额"], ["甲", 1], ["乙", 2]], name="plain.xlsx")

    def no_result(xml: bytes) -> bytes:
        out = xml.replace(b'<c r="B3" t="n"><v>2</v></c>', b'<c r="B3"><f>B2*2</f><v/></c>')
        assert out != xml
        return out

    path = fx.rewrite_zip(src, tmp_path / "formula.xlsx", {fx.SHEET_XML: no_result})
    ledger = fundaudit.load("disbursements", path)
    assert _rows(ledger, "row", "amount") == [[2, 100]]
    assert ledger.rejected[["row", "column", "reason", "action"]].values.tolist() == [
        [3, "金额", "missing_required", "row_rejected"]
    ]
    assert any("no stored result (B3)" in n for n in ledger.inputs[0].notes)


def test_c12_error_cell_in_the_amount_rejects_the_row_with_the_error_text(tmp_path: Path, engine: str) -> None:
    ledger = fundaudit.load("disbursements", fx.xlsx_error_cells(tmp_path))
    assert _rows(ledger, "row", "recipient_name", "amount") == [[3, "李四", 300]]
    assert ledger.rejected[["row", "column", "value", "reason", "action"]].values.tolist() == [
        [2, "金额", "#DIV/0!", "excel_error_cell", "row_rejected"]
    ]
    assert ledger.non_data[["row", "type"]].values.tolist() == [[4, "total"]]


def test_c13_a_second_table_stacked_below_is_not_loaded_as_payments(tmp_path: Path) -> None:
    rows: list[list[object]] = [["姓名", "金额"], ["甲", 1], ["乙", 2], [None, None], ["汇总", None], ["单位", "金额"],
                                ["一厂", 3]]
    ledger = fundaudit.load("disbursements", fx.xlsx_table(tmp_path, rows))
    assert _rows(ledger, "row", "recipient_name") == [[2, "甲"], [3, "乙"]]
    # the second table's header and rows are listed as non-data (never loaded, never dropped); 汇总, a data-looking
    # row without an amount, is rejected with its reason as before
    assert ledger.non_data[["row", "type", "text"]].values.tolist() == [
        [4, "blank", ""], [6, "other_table", "单位 | 金额"], [7, "other_table", "一厂 | 3"]]
    assert ledger.rejected[["row", "reason", "action"]].values.tolist() == [[5, "missing_required", "row_rejected"]]
    [s] = ledger.inputs
    assert (s.rows_read, s.rows_loaded, s.rows_rejected, s.rows_non_data, s.amount_total) == (6, 2, 1, 3, 300)
    assert [n.code for n in s.notes if isinstance(n, Note)] == ["other_table"]
    assert "another table (different header) starts at row 6" in s.notes[0]
    assert assert_each_row_once(ledger) == {(str(ledger.inputs[0].file), "Sheet", r) for r in range(2, 8)}


def _csv_rows(tmp_path: Path, text: str) -> fundaudit.Ledger:
    return fundaudit.load("disbursements", fx.write_bytes(tmp_path, "表.csv", text.encode()))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_c13_stacked_table_ends_at_a_repeat_of_the_header_and_its_total_is_not_declared(
    tmp_path: Path, fmt: str
) -> None:
    """The second table runs to a repeat of the detected header (a page break of the first table), after which
    rows are data again; its 合计 row is part of it, not a declared total of the payments (LEDGER-TOTAL)."""
    rows: list[list[object]] = [["姓名", "金额", "备注"], ["甲", 1, ""], ["单位名称", "金额（元）", "备注"],
                                ["一厂", 3, "x"], ["合计", 3, ""], ["", "", ""], ["姓名", "金额", "备注"],
                                ["乙", 2, ""], ["合计", 3, ""]]
    if fmt == "csv":
        text = "\n".join(",".join(str(v) for v in r) for r in rows) + "\n"
        ledger = _csv_rows(tmp_path, text)
    else:
        ledger = fundaudit.load("disbursements", fx.xlsx_table(tmp_path, rows))
    assert _rows(ledger, "row", "recipient_name", "amount") == [[2, "甲", 100], [8, "乙", 200]]
    assert ledger.non_data[["row", "type"]].values.tolist() == [
        [3, "other_table"], [4, "other_table"], [5, "other_table"], [6, "other_table"], [7, "repeated_header"],
        [9, "total"]]
    assert ledger.totals[["row", "type", "declared", "covers_from", "covers_to"]].values.tolist() == [
        [9, "total", 300, 2, 8]]
    assert len(ledger.rejected) == 0
    [s] = ledger.inputs
    assert (s.rows_read, s.rows_loaded, s.rows_rejected, s.rows_non_data) == (8, 2, 0, 6)


@pytest.mark.parametrize(
    ("row", "loaded"),
    [
        (["金额", "5", ""], [[3, "金额", 500]]),               # a recipient named 金额: one header word is no header
        (["金额", "5", "备注x"], [[3, "金额", 500]]),          # one header word of three filled cells
    ],
    ids=["one-word", "one-of-three"],
)
def test_c13_a_data_row_with_a_header_word_is_still_data(tmp_path: Path, row: list[str],
                                                           loaded: list[list[object]]) -> None:
    ledger = _csv_rows(tmp_path, "姓名,金额,备注\n甲,1,\n" + ",".join(row) + "\n")
    assert _rows(ledger, "row", "recipient_name", "amount") == [[2, "甲", 100], *loaded]
    assert ledger.non_data.empty and ledger.rejected.empty


@pytest.mark.parametrize("row", ["工作单位,,备注", "姓名,5,金额", "单位,金额,姓名"])
def test_c13_two_header_words_of_most_filled_cells_start_another_table(tmp_path: Path, row: str) -> None:
    """At least two cells and more than half of the filled ones are header spellings: the row is a header, and
    what follows is not loaded (a recipient named 姓名 with the remark 金额 is listed too, never dropped)."""
    ledger = _csv_rows(tmp_path, f"姓名,金额,备注\n甲,1,\n{row}\n一厂,2,x\n")
    assert _rows(ledger, "row", "recipient_name") == [[2, "甲"]]
    assert ledger.non_data[["row", "type"]].values.tolist() == [[3, "other_table"], [4, "other_table"]]
    assert ledger.rejected.empty and ledger.inputs[0].conserved


# --- 1.D amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "row"),
    [("送温暖发放表\n单位：万元\n姓名,金额\n甲,1.2\n", 2), ("姓名,金额\n甲,1.2\n单位：万元,\n", 3)],
    ids=["unit-line-above", "unit-footer"],
)
def test_d5_a_unit_line_scales_the_amounts(tmp_path: Path, text: str, row: int) -> None:
    ledger = fundaudit.load("disbursements", fx.write_bytes(tmp_path, "万元.csv", text.encode()))
    assert ledger.frame["amount"].tolist() == [1_200_000]
    [s] = ledger.inputs
    assert s.units == {"amount": "万元"}
    assert [n for n in s.notes if isinstance(n, Note) and n.code == "unit_line"] == [
        f'amounts in 金额 read in 万元 (×10000), as row {row} "单位:万元" states']


@pytest.mark.parametrize(
    ("line", "unit", "fen"),
    [
        ("单位:万元", "万元", 1_200_000),
        ("金额单位：万元", "万元", 1_200_000),
        ("（单位：万元）", "万元", 1_200_000),
        ("单位：人民币万元", "万元", 1_200_000),
        ("单位： 千元", "千元", 120_000),
        ("编制单位：某某工会　单位：万元", "万元", 1_200_000),
        ("单位：元", "元", 120),
        ("单位：某某工会", "元", 120),     # an organisation, not a unit
        ("单位：元宝公司", "元", 120),     # 元 followed by more words is no unit
        ("报送单位万元", "元", 120),        # no colon: not a unit statement
    ],
)
@pytest.mark.parametrize("where", ["above", "below"])
def test_d5_unit_line_forms(tmp_path: Path, line: str, unit: str, fen: int, where: str) -> None:
    body = "姓名,金额\n甲,1.2\n"
    text = f"{line}\n{body}" if where == "above" else f"{body}{line}\n"
    ledger = _csv_rows(tmp_path, text)
    assert _rows(ledger, "row", "amount") == [[3 if where == "above" else 2, fen]]
    [s] = ledger.inputs
    assert s.units == {"amount": unit}
    assert [n.code for n in s.notes if isinstance(n, Note) and n.code.startswith("unit")] == (
        ["unit_line"] if unit != "元" else [])
    assert s.rows_read == (1 if where == "above" else 2) and s.conserved


def test_d5_header_unit_wins_over_the_sheet_unit_and_totals_are_scaled_alike(tmp_path: Path) -> None:
    """A dues sheet with 单位：万元 in the title's second cell of a real workbook: the money columns without a
    unit of their own are read in 万元 exactly (1.234567 万元 is 12,345.67 yuan), 应补（退）税额（元） keeps its own
    unit; the 合计 row's declared amounts are scaled the same way."""
    rows: list[list[object]] = [
        ["工会经费明细", "单位：万元", None, None],
        ["纳税人名称", "实缴金额", "应补（退）税额（元）", "计税依据"],
        ["甲公司", 1.234567, 100, 50],
        ["乙公司", "0.5", 200, 25],
        ["合计", 1.734567, 300, 75],
    ]
    ledger = fundaudit.load("dues", fx.xlsx_table(tmp_path, rows))
    assert ledger.frame[["row", "amount_paid", "amount_due", "wage_base"]].values.tolist() == [
        [3, 1_234_567, 10_000, 50_000_000], [4, 500_000, 20_000, 25_000_000]]
    assert ledger.totals[["row", "column", "declared"]].values.tolist() == [
        [5, "amount_paid", 1_734_567], [5, "amount_due", 30_000], [5, "wage_base", 75_000_000]]
    [s] = ledger.inputs
    assert s.units == {"amount_paid": "万元", "amount_due": "元", "wage_base": "万元"}
    assert s.amount_total == 1_734_567
    assert [n.render("en") for n in s.notes if isinstance(n, Note)] == [
        'amounts in 实缴金额、计税依据 read in 万元 (×10000), as row 1 "单位:万元" states',
        '应补（退）税额（元） carries its own unit in the header; row 1 "单位:万元" does not apply to it']


def test_d5_unit_line_of_an_html_export_saved_as_xls(tmp_path: Path) -> None:
    """Finance systems' HTML "xls": the unit is a text line above the table (row 2 as Excel shows it); a second
    table stacked below it (its own header) is non-data."""
    body = ("<p>2016年送温暖发放明细表</p><p>（单位：万元）</p><table><tr><td>姓名</td><td>金额</td></tr>"
            "<tr><td>张三</td><td>0.08</td></tr><tr><td>合计</td><td>0.08</td></tr></table>"
            "<table><tr><td>单位名称</td><td>金额</td></tr><tr><td>一厂</td><td>3</td></tr></table>")
    ledger = fundaudit.load("disbursements", fx.write_bytes(tmp_path, "导出.xls", fx.html_page(body)))
    assert _rows(ledger, "row", "recipient_name", "amount") == [[4, "张三", 80_000]]
    assert ledger.totals[["row", "declared"]].values.tolist() == [[5, 80_000]]
    assert ledger.non_data[["row", "type"]].values.tolist() == [[5, "total"], [6, "other_table"], [7, "other_table"]]
    [s] = ledger.inputs
    assert s.units == {"amount": "万元"}
    assert [n.code for n in s.notes if isinstance(n, Note) and n.code in {"unit_line", "other_table"}] == [
        "unit_line", "other_table"]


def test_d5_two_different_unit_lines_are_refused_naming_both_rows(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "两个单位.csv", "单位：万元\n姓名,金额\n甲,1.2\n单位：元\n".encode())
    with pytest.raises(LayoutError) as info:
        fundaudit.load("disbursements", path)
    assert info.value.code == "unit_conflict"
    assert info.value.message("en") == (
        f'{path}: states two different money units: row 1 "单位:万元" and row 4 "单位:元"; the headers of 金额 carry '
        "no unit of their own and fundaudit will not guess which applies. Delete the wrong line, or put the unit in "
        "the amount header (e.g. 金额（万元）)")


def test_d5_unit_lines_that_agree_or_that_no_column_uses_are_not_refused(tmp_path: Path) -> None:
    same = _csv_rows(tmp_path, "单位：万元\n姓名,金额\n甲,1.2\n单位：万元\n")
    assert same.frame["amount"].tolist() == [1_200_000]
    own = _csv_rows(tmp_path, "单位：万元\n姓名,金额（元）\n甲,1.2\n单位：元\n")
    assert own.frame["amount"].tolist() == [120]
    assert own.inputs[0].units == {"amount": "元"}


# --- 1.G names and free text ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xls", "xlsx"])
def test_g1_pandas_na_tokens_in_a_workbook_stay_text(tmp_path: Path, fmt: str) -> None:
    rows: list[list[object]] = [["姓名", "金额", "备注"], ["NA", 1, "null"], ["None", 2, "#N/A"], ["nan", 3, "N/A"]]
    path = (fx.xls_table if fmt == "xls" else fx.xlsx_table)(tmp_path, rows)
    ledger = fundaudit.load("disbursements", path)
    assert _rows(ledger, "row", "recipient_name", "amount") == [[2, "NA", 100], [3, "None", 200], [4, "nan", 300]]
    assert ledger.frame["remark"].tolist() == ["null", "#N/A", "N/A"]
    assert len(ledger.rejected) == 0


# --- 1.H CSV structure -----------------------------------------------------------------------------------


def test_h3_short_record_is_padded_with_empty_fields(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "短行.csv", "姓名,金额,备注\n甲,1,x\n乙,2\n".encode())
    [grid] = read_grids(path)
    assert grid.cells.values.tolist() == [["姓名", "金额", "备注"], ["甲", "1", "x"], ["乙", "2", ""]]
    ledger = fundaudit.load("disbursements", path)
    assert ledger.frame["remark"].isna().tolist() == [False, True]


def _short_note(count: int, width: int, rows: str) -> str:
    return (f"{count} record(s) have fewer fields than the file's {width} columns (line(s) {rows}): the missing "
            "trailing fields were read as empty; a row missing a required field such as the amount is rejected "
            "(csv_short)")


def test_h3_short_record_is_named_in_the_notes(tmp_path: Path) -> None:
    [grid] = read_grids(fx.write_bytes(tmp_path, "短行.csv", "姓名,金额,备注\n甲,1,x\n乙,2\n".encode()))
    assert grid.notes == ["text encoding UTF-8", _short_note(1, 3, "3")]
    assert grid.short_fields.to_dict() == {3: 2}


@pytest.mark.parametrize(
    "body",
    [
        "乙,2\n丙,3\n",  # plain: every line a record
        '"乙",2\n"丙","3"\n',  # quoted fields (the vectorised pass with quotes)
        '乙"x,2\n丙,3\n',  # a quote inside a field: the csv module finds the records
        '"乙\n(续)",2\n丙,3\n',  # a quoted line break: the short record spans two lines
    ],
)
def test_h3_short_records_are_found_however_the_file_is_quoted(tmp_path: Path, body: str) -> None:
    text = "姓名,金额,备注\n甲,1,x\n" + body
    [grid] = read_grids(fx.write_bytes(tmp_path, "短行.csv", text.encode()))
    lines = [3, 5] if "续" in body else [3, 4]
    assert grid.short_fields.to_dict() == dict.fromkeys(lines, 2)
    assert grid.notes[-1] == _short_note(2, 3, f"{lines[0]}, {lines[1]}" if lines[1] > 4 else "3-4")
    assert grid.cells.iloc[2:, 2].tolist() == ["", ""]


def test_h3_blank_lines_title_lines_and_full_rows_are_not_short(tmp_path: Path) -> None:
    """A title line above the header, a blank line, a line of spaces, and a row whose last field is present but
    empty (``丁,3,``) are not short records; a trailing delimiter column dropped from every row does not count."""
    text = "2016年慰问金发放表\n姓名,金额,备注\n甲,1,x\n\n   \n丁,3,\n"
    [grid] = read_grids(fx.write_bytes(tmp_path, "无短行.csv", text.encode()))
    assert grid.notes == ["text encoding UTF-8"] and len(grid.short_fields) == 0
    text = "姓名,金额,备注,\n甲,1,x,\n乙,2\n丙,3,y\n"  # every full row ends with a delimiter: that column goes
    [grid] = read_grids(fx.write_bytes(tmp_path, "尾逗号.csv", text.encode()))
    assert grid.cells.shape[1] == 3 and grid.short_fields.to_dict() == {3: 2}
    assert grid.notes[-1] == _short_note(1, 3, "3")


def test_h3_many_short_records_name_the_first_lines_only(tmp_path: Path) -> None:
    lines = ["姓名,金额,备注"] + [f"人{i},{i}" if i % 2 else f"人{i},{i},x" for i in range(1, 2001)]
    [grid] = read_grids(fx.write_bytes(tmp_path, "多.csv", ("\n".join(lines) + "\n").encode()))
    shown = ", ".join(str(n) for n in range(2, 41, 2))
    assert grid.notes[-1] == _short_note(1000, 3, shown + ", …")
    assert grid.short_fields.index.tolist() == list(range(2, 2001, 2))


def test_h3_a_short_record_without_its_amount_is_rejected_as_csv_short(tmp_path: Path) -> None:
    """Decision: a record that ends before the amount never had one (``csv_short``, the row rejected whole);
    an amount field present but empty stays ``missing_required``; a record missing only trailing optional
    fields loads with the note."""
    text = "姓名,身份证号码,金额,备注\n甲,,1,x\n乙,,2\n丙\n丁,,,\n戊,\n"
    path = fx.write_bytes(tmp_path, "短行.csv", text.encode())
    ledger = fundaudit.load("disbursements", path)
    assert _rows(ledger, "row", "recipient_name", "amount") == [[2, "甲", 100], [3, "乙", 200]]
    assert ledger.frame["remark"].isna().tolist() == [False, True]
    assert ledger.rejected[["row", "column", "value", "reason", "action"]].values.tolist() == [
        [4, "金额", "", "csv_short", "row_rejected"],
        [5, "金额", "", "missing_required", "row_rejected"],
        [6, "金额", "", "csv_short", "row_rejected"],
    ]
    assert ledger.rejected["message_en"].tolist()[0] == (
        "the line has fewer fields than the header and ends before 金额: the value was never in the file")
    assert ledger.rejected["message"].tolist()[0] == (
        "该行字段数少于表头，在 金额 之前就结束了：文件中没有这一项（不是空值）")
    [s] = ledger.inputs
    assert (s.rows_read, s.rows_loaded, s.rows_rejected, s.conserved) == (5, 2, 3, True)
    assert s.notes[-1] == _short_note(3, 4, "3-4, 6")


def test_h3_a_short_record_ending_before_every_identity_column_is_csv_short(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "短行.csv", "金额,姓名\n1,甲\n2\n3,\n".encode())
    ledger = fundaudit.load("disbursements", path)
    assert _rows(ledger, "row", "recipient_name", "amount") == [[2, "甲", 100]]
    assert ledger.rejected[["row", "column", "reason", "action"]].values.tolist() == [
        [3, "姓名", "csv_short", "row_rejected"],
        [4, "姓名", "no_identity", "row_rejected"],
    ]


def test_h1_trailing_delimiter_does_not_shift_columns_in_the_ledger(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "尾逗号.csv", "姓名,金额\n张三,1,\n李四,2,\n".encode())
    ledger = fundaudit.load("disbursements", path)
    assert _rows(ledger, "row", "recipient_name", "amount") == [[2, "张三", 100], [3, "李四", 200]]
    assert not pd.isna(ledger.frame["amount"]).any()
