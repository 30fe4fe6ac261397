"""``.xlsx`` through calamine, and through the openpyxl fallback: the same text and row numbers from both."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

import fundaudit.io.xlsx as xlsx_reader
from fundaudit.errors import InputError, LimitExceededError, UnreadableFileError
from fundaudit.io import Grid, Limits, read_grids
from tests.io import fixtures as fx

ENGINES = ["calamine", "openpyxl"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once per engine: 'openpyxl' makes calamine fail so the fallback reads the file."""
    if request.param == "openpyxl":

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("calamine disabled for this test")

        monkeypatch.setattr(xlsx_reader, "_calamine_rows", broken)
    return str(request.param)


def _read(path: Path, engine: str, **kwargs: Any) -> list[Grid]:
    grids = read_grids(path, **kwargs)
    fell_back = any("read with openpyxl instead" in n for g in grids for n in g.notes)
    assert fell_back == (engine == "openpyxl")
    return grids


def test_table_starting_at_c3_keeps_excel_positions(tmp_path: Path, engine: str) -> None:
    grids = _read(fx.xlsx_openpyxl(tmp_path), engine)
    assert [(g.sheet, g.hidden) for g in grids] == [("明细", False), ("隐藏", True), ("很隐藏", True)]
    grid = grids[0]
    assert grid.rows.tolist() == list(range(1, 10))
    assert grid.cells.values.tolist() == [
        [""] * 7,
        [""] * 7,
        ["", "", "姓名", "身份证号", "金额", "日期", ""],
        ["", "", "张三", fx.ID_TEXT, "800", "2016-03-01", "TRUE"],
        ["", "", " 李四\u3000", "00123", "1234.5", "2016-03-01 08:30:00", ""],
        ["", "", "王五", "1.101011990030712e+17", "20160301", "14:05:09", ""],  # openpyxl stores %.16g
        ["", "", "合计", "", "2054.5", "", ""],
        [""] * 7,
        ["", "", "单位", "", "", "", ""],
    ]
    assert all(str(t) == "str" for t in grid.cells.dtypes)
    assert grid.merged == [(8, 8, 2, 3)]  # C9:D10, clipped to the rows that exist
    assert grid.hidden_rows == [6]
    assert grids[1].cells.values.tolist() == [["x"]]
    assert grids[2].cells.shape == (0, 0)
    assert any("very hidden" in n for n in grids[2].notes)


def test_xlsxwriter_error_cells_merged_header_hidden_row(tmp_path: Path, engine: str) -> None:
    grids = _read(fx.xlsx_xlsxwriter(tmp_path), engine)
    assert [(g.sheet, g.hidden) for g in grids] == [("送温暖", False), ("备查", True)]
    grid = grids[0]
    assert grid.cells.values.tolist() == [
        ["2016年送温暖发放表", "", "", ""],
        ["姓名", "发放情况", "", ""],
        ["", "金额", "日期", ""],
        ["张三", "500", "2016-03-01", fx.ID_TEXT],
        ["李四", "#DIV/0!", "#N/A", ""],
        ["合计", "500", "", ""],
    ]
    assert grid.merged == [(0, 0, 0, 3), (1, 1, 1, 2)]
    assert grid.hidden_rows == [5]


def test_error_cells_rewritten_into_the_sheet_xml(tmp_path: Path, engine: str) -> None:
    [grid] = _read(fx.xlsx_error_cells(tmp_path), engine)
    assert grid.cells.values.tolist() == [
        ["姓名", "金额", "比例"],
        ["张三", "#DIV/0!", "2"],
        ["李四", "3", "#REF!"],
        ["合计", "", "#N/A"],
    ]
    assert any("error cell" in n and "B2, C3, C4" in n for n in grid.notes)
    assert any("no stored result (B4)" in n for n in grid.notes)


def test_sheet_selection(tmp_path: Path, engine: str) -> None:
    path = fx.xlsx_openpyxl(tmp_path)
    [grid] = _read(path, engine, sheet="隐藏")
    assert grid.sheet == "隐藏" and grid.hidden
    with pytest.raises(InputError) as info:
        read_grids(path, sheet="Sheet9")
    assert info.value.code == "sheet_not_found"
    assert "明细、隐藏、很隐藏" in str(info.value)


def test_row_and_column_limits(tmp_path: Path, engine: str) -> None:
    path = fx.xlsx_openpyxl(tmp_path)
    with pytest.raises(LimitExceededError):
        read_grids(path, limits=Limits(max_rows=5))
    with pytest.raises(LimitExceededError):
        read_grids(path, limits=Limits(max_columns=4))


def test_strict_ooxml_is_read_with_a_note(tmp_path: Path) -> None:
    [grid] = read_grids(fx.xlsx_strict(tmp_path))
    assert grid.cells.values.tolist() == [["姓名", "金额"], ["张三", "800"]]
    assert any("Strict Open XML" in n for n in grid.notes)


def test_strict_ooxml_that_calamine_cannot_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_reader, "_calamine_rows", lambda *a, **k: {"Sheet": ([], 0)})
    with pytest.raises(UnreadableFileError) as info:
        read_grids(fx.xlsx_strict(tmp_path))
    assert info.value.code == "strict_ooxml"


def test_external_links_connections_and_macros_are_noted(tmp_path: Path) -> None:
    src = fx.xlsx_table(tmp_path, [["a"], [1]])
    path = tmp_path / "links.xlsm"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        zout.writestr("xl/externalLinks/externalLink1.xml", "<externalLink/>")
        zout.writestr("xl/connections.xml", "<connections/>")
        zout.writestr("xl/vbaProject.bin", b"\x00" * 64)
    [grid] = read_grids(path)
    notes = " | ".join(grid.notes)
    assert "externalLinks" in notes and "connections.xml" in notes and "macros" in notes
    assert not any("named .xlsm" in n for n in grid.notes)


def test_calamine_panic_becomes_fallback_then_our_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Panic(BaseException):
        pass

    def panic(*args: Any, **kwargs: Any) -> Any:
        raise Panic("rust panicked")

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("openpyxl broke too")

    monkeypatch.setattr(xlsx_reader, "_calamine_rows", panic)
    monkeypatch.setattr(xlsx_reader, "_openpyxl_rows", fails)
    path = fx.xlsx_table(tmp_path, [["a"]])
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path)
    assert info.value.code == "unreadable"
    assert "rust panicked" in str(info.value) and "openpyxl broke too" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


def test_damaged_member_is_reported_as_truncated(tmp_path: Path) -> None:
    src = fx.xlsx_table(tmp_path, [["a"], [1]])
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo(fx.SHEET_XML)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start, start + info.compress_size):
        data[i] ^= 0x5A
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableFileError) as info_exc:
        read_grids(path)
    assert info_exc.value.code in ("truncated", "unreadable")
    assert str(path) in str(info_exc.value)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="calamine returns '' for Excel error cells (pandas PR 66240); fundaudit restores the "
    "error text from the sheet XML instead",
)
def test_calamine_alone_exposes_error_text(tmp_path: Path) -> None:
    from python_calamine import CalamineWorkbook

    path = fx.xlsx_error_cells(tmp_path)
    with CalamineWorkbook.from_path(str(path)) as wb:
        rows = wb.get_sheet_by_name("Sheet").to_python(skip_empty_area=False)
    assert rows[1][1] == "#DIV/0!"


@pytest.mark.xfail(
    strict=True,
    raises=AttributeError,
    reason="openpyxl in read-only mode does not expose hidden rows or merged cells; fundaudit scans "
    "the sheet XML for both",
)
def test_openpyxl_read_only_exposes_hidden_rows(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(fx.xlsx_openpyxl(tmp_path), read_only=True)
    assert wb["明细"].row_dimensions[6].hidden


def test_small_conversion_blocks_give_the_same_grid(
    tmp_path: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fx.xlsx_openpyxl(tmp_path)
    whole = read_grids(path)[0]
    monkeypatch.setattr(xlsx_reader._Columns, "_BLOCK", 2)
    blocked = read_grids(path)[0]
    assert blocked.cells.values.tolist() == whole.cells.values.tolist()
    assert blocked.rows.tolist() == whole.rows.tolist()


def test_workbook_without_worksheets(tmp_path: Path) -> None:
    src = fx.xlsx_table(tmp_path, [["a"]])

    def drop_sheets(xml: bytes) -> bytes:
        head, _, rest = xml.partition(b"<sheets>")
        return head + b"<sheets/>" + rest.partition(b"</sheets>")[2]

    path = fx.rewrite_zip(src, tmp_path / "nosheets.xlsx", {"xl/workbook.xml": drop_sheets})
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path)
    assert info.value.code == "no_sheets" and str(path) in str(info.value)
