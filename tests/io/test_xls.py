"""``.xls`` through xlrd: exact cell text, Excel row numbers, merged ranges, hidden sheets and rows, dates."""

from __future__ import annotations

from pathlib import Path

import pytest

from fundaudit.errors import InputError, LimitExceededError, UnreadableFileError
from fundaudit.io import Limits, read_grids
from tests.io import fixtures as fx


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    return fx.xls_ledger(tmp_path)


def test_every_sheet_in_order_hidden_ones_flagged(ledger: Path) -> None:
    grids = read_grids(ledger)
    assert [(g.sheet, g.hidden, g.format) for g in grids] == [("明细", False, "xls"), ("隐藏", True, "xls")]
    assert grids[1].cells.values.tolist() == [["备注"]]
    assert any("隐藏 is hidden" in n for n in grids[1].notes)
    assert all(g.file == str(ledger) and g.sha256 and len(g.sha256) == 64 for g in grids)


def test_cells_are_text_exactly_as_specified(ledger: Path) -> None:
    grid = read_grids(ledger, sheet="明细")[0]
    assert grid.cells.shape == (9, 6)
    assert grid.rows.tolist() == list(range(1, 10))
    assert all(str(t) == "str" for t in grid.cells.dtypes)
    assert not grid.cells.isna().any().any()
    assert grid.cells.values.tolist() == [
        ["2016年第一季度送温暖发放明细表", "", "", "", "", ""],
        ["", "", "", "", "", ""],
        ["序号", "姓名", "身份证号", "发放情况", "", ""],
        ["", "", "", "日期", "金额", ""],
        ["1", " 张三 ", "1.1010119900307123e+17", "2016-03-01", "800", ""],
        ["2", "阿依古丽·买买提", fx.ID_TEXT, "2016-03-02 08:30:00", "1234.5", "#DIV/0!"],
        ["3", "李四", "", "20160301", "-0.5", "TRUE"],
        ["", "", "", "", "", ""],
        ["合计", "", "", "", "", ""],
    ]


def test_merged_ranges_and_hidden_rows(ledger: Path) -> None:
    grid = read_grids(ledger, sheet="明细")[0]
    assert grid.merged == [(0, 0, 0, 5), (2, 2, 3, 4)]
    assert grid.hidden_rows == [7]
    assert grid.datemode == 0


def test_unknown_sheet_lists_the_sheets(ledger: Path) -> None:
    with pytest.raises(InputError) as info:
        read_grids(ledger, sheet="汇总")
    err = info.value
    assert err.code == "sheet_not_found"
    assert "明细、隐藏" in str(err) and str(ledger) in str(err)


def test_1904_date_system(tmp_path: Path) -> None:
    [grid] = read_grids(fx.xls_1904(tmp_path))
    assert grid.datemode == 1
    assert grid.cells[0].tolist() == ["2016-03-01", "1904-03-01", "08:30:00", "42430"]
    assert any("1904 date system" in n for n in grid.notes)


def test_1900_serials_around_the_phantom_leap_day(tmp_path: Path) -> None:
    [grid] = read_grids(fx.xls_1900_serials(tmp_path))
    assert grid.cells[0].tolist() == [
        "1900-01-01",
        "1900-02-28",
        "1900-02-29",
        "1900-03-01",
        "12:00:00",
        "2016-03-01 18:00:00",
    ]


def test_row_and_column_limits(ledger: Path) -> None:
    with pytest.raises(LimitExceededError) as info:
        read_grids(ledger, limits=Limits(max_rows=5))
    assert "9 rows" in str(info.value.fields["what"])
    with pytest.raises(LimitExceededError):
        read_grids(ledger, limits=Limits(max_columns=3))


def test_cell_length_limit_names_row_and_column(tmp_path: Path) -> None:
    path = fx.xls_table(tmp_path, [["姓名", "备注"], ["张三", "x" * 50]])
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_cell_chars=40))
    assert "row 2, column B has 50 characters" in str(info.value.fields["what"])


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="xlrd reports a formula without a cached result as an empty text cell; "
    "such cells cannot be told apart from '' in .xls (they can in .xlsx)",
)
def test_formula_without_cached_value_is_flagged(ledger: Path) -> None:
    grid = read_grids(ledger, sheet="明细")[0]
    assert any("E9" in n for n in grid.notes)


def test_corrupt_workbook_is_retried_with_corruption_tolerance(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlrd
    from xlrd.compdoc import CompDocError

    real = xlrd.open_workbook

    def picky(*args: object, **kwargs: object) -> object:
        if not kwargs.get("ignore_workbook_corruption"):
            raise CompDocError("Workbook corruption: seen[2] == 4")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(xlrd, "open_workbook", picky)
    grid = read_grids(ledger, sheet="明细")[0]
    assert grid.cells.iat[0, 0] == "2016年第一季度送温暖发放明细表"
    assert any("corruption tolerance" in n for n in grid.notes)
    assert grid.merged == [], "the tolerant retry reads without formatting records"


def test_formatting_records_xlrd_cannot_read(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlrd

    real = xlrd.open_workbook

    def no_formatting(*args: object, **kwargs: object) -> object:
        if kwargs.get("formatting_info"):
            raise xlrd.XLRDError("bad XF record")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(xlrd, "open_workbook", no_formatting)
    grid = read_grids(ledger, sheet="明细")[0]
    assert grid.cells.shape == (9, 6)
    assert any("merged cells and hidden rows are not known" in n for n in grid.notes)


def test_encrypted_xls(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlrd

    def encrypted(*args: object, **kwargs: object) -> object:
        raise xlrd.XLRDError("Workbook is encrypted")

    monkeypatch.setattr(xlrd, "open_workbook", encrypted)
    with pytest.raises(UnreadableFileError) as info:
        read_grids(ledger)
    assert info.value.code == "encrypted" and str(ledger) in str(info.value)


def test_every_xlrd_failure_becomes_our_error(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlrd

    def broken(*args: object, **kwargs: object) -> object:
        raise IndexError("array index out of range")

    monkeypatch.setattr(xlrd, "open_workbook", broken)
    with pytest.raises(UnreadableFileError) as info:
        read_grids(ledger)
    assert info.value.code == "truncated"
    assert isinstance(info.value.__cause__, IndexError)
