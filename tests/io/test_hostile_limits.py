"""Issue 13 item 8: tiny hostile workbooks are refused by name, before anything is allocated in proportion to
what they claim, and every pre-parse scan is linear.

The memory cases run in a child process under ``RLIMIT_AS`` (3 GiB), so a reader that tries to allocate the
claimed used range is stopped there instead of hurting the machine; the child's exit code and its one line
on stderr are the assertion. Quadratic work is asserted structurally (what the scan is given, what its patterns
can do), never by the clock; a child's timeout only guards against a hang.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fundaudit
import fundaudit.io.xlsx as xlsx_reader
from fundaudit.errors import LimitExceededError
from fundaudit.io import Limits, read_grids
from fundaudit.io.grid import column_letter
from tests.io import fixtures as fx
from tests.io import test_xlsx

engine = test_xlsx.engine  # the fixture that runs a test once per .xlsx engine (calamine, openpyxl)
ROOT = Path(fundaudit.__file__).resolve().parents[1]  # the child imports the fundaudit this test imports
MEMORY_CAP = 3 << 30
HANG_GUARD = 120  # seconds; the new code takes about one


def _capped(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child Python whose address space is capped at 3 GiB."""
    prelude = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP}))\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RUST_BACKTRACE": "0"}
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=HANG_GUARD,
        check=False,
    )


def _read_in_child(path: Path, patch: str = "") -> subprocess.CompletedProcess[str]:
    """The child reads ``path`` and prints the error's class and ``limit`` field (or ``read``)."""
    return _capped(
        f"""
        import fundaudit.io.xlsx as xlsx_reader
        from fundaudit.errors import LimitExceededError
        from fundaudit.io import read_grids
        {patch}
        try:
            read_grids({str(path)!r})
        except LimitExceededError as exc:
            print("LimitExceededError", exc.fields["limit"])
        else:
            print("read")
        """,
        path.parent,
    )


# --- memory: the old readers abort the process or raise MemoryError; now exit 2 naming the limit ----------


def test_cli_refuses_far_cell_xlsx_naming_file_and_limit(tmp_path: Path) -> None:
    path = fx.xlsx_far_cell(tmp_path)
    assert path.stat().st_size < 2048
    proc = _capped(
        "import sys; from fundaudit.cli import main; sys.exit(main(['audit', 'far.xlsx', '--out', 'out']))", tmp_path
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("fundaudit: 文件 far.xlsx 超出限制：far.xlsx [Sheet1] has cells down to row 200,000")
    assert lines[0].endswith("（上限 max_cells = 50,000,000）")
    assert "200,000 × 1,000 = 200,000,000 cells" in lines[0]
    assert not (tmp_path / "out").exists()  # exit 2 creates no report directory


def test_cli_refusal_in_english(tmp_path: Path) -> None:
    fx.xlsx_far_cell(tmp_path)
    proc = _capped(
        "import sys; from fundaudit.cli import main; "
        "sys.exit(main(['audit', 'far.xlsx', '--out', 'out', '--lang', 'en']))",
        tmp_path,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("fundaudit: file far.xlsx exceeds a limit: far.xlsx [Sheet1] has cells")
    assert proc.stderr.strip().endswith("(limit max_cells = 50,000,000)")


def test_shared_string_amplification_refused_in_child(tmp_path: Path) -> None:
    path = fx.xlsx_shared_amplified(tmp_path)
    assert path.stat().st_size < 1 << 20
    proc = _read_in_child(path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "LimitExceededError max_shared_text_bytes = 1,024 MiB"


def test_openpyxl_fallback_never_sees_the_far_cell(tmp_path: Path) -> None:
    """Were calamine to fail, openpyxl would build the 200,000 × 1,000 range (ArrowMemoryError before)."""
    patch = (
        "def _broken(*a, **k): raise RuntimeError('calamine disabled')\n"
        "        xlsx_reader._calamine_rows = _broken"
    )
    proc = _read_in_child(fx.xlsx_far_cell(tmp_path), patch)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "LimitExceededError max_cells = 50,000,000"


def test_memory_error_in_a_reader_is_a_limit_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("calamine disabled")

    def out_of_memory(*args: Any, **kwargs: Any) -> Any:
        raise pa.ArrowMemoryError("malloc of size 6400000000 failed")

    monkeypatch.setattr(xlsx_reader, "_calamine_rows", broken)
    monkeypatch.setattr(xlsx_reader, "_openpyxl_rows", out_of_memory)
    path = fx.xlsx_table(tmp_path, [["姓名"], ["张三"]])
    with pytest.raises(LimitExceededError) as info:
        read_grids(path)
    assert info.value.message("en") == (f"file {path} needs more memory to read than this process may use "
                                        "(ArrowMemoryError); split it and audit the parts")
    assert info.value.message("zh") == (f"读取文件 {path} 所需的内存超过本进程可用的内存（ArrowMemoryError）；"
                                        "请拆分文件后分别审计")


# --- the limits, at small values, in process -----------------------------------------------------------


def test_far_cell_refused_by_max_cells_although_dimension_says_a1(tmp_path: Path) -> None:
    path = fx.xlsx_far_cell(tmp_path, ref="Z1000")
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_cells=25_999))
    assert info.value.fields["limit"] == "max_cells = 25,999"
    assert "1,000 × 26 = 26,000 cells" in info.value.fields["what"]
    grid = read_grids(path, limits=Limits(max_cells=26_000))[0]
    assert grid.cells.shape == (1000, 26)
    assert (grid.cells.iat[0, 0], grid.cells.iat[999, 25]) == ("header", "1")


def test_lying_dimension_too_large_is_not_refused(tmp_path: Path) -> None:
    data = b'<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c></row>'
    path = fx.xlsx_raw(tmp_path, "big-dimension.xlsx", data, dimension="A1:XFD1048576")
    grid = read_grids(path, limits=Limits(max_cells=2))[0]
    assert grid.cells.values.tolist() == [["1", "2"]]


def test_formatting_down_to_the_last_row_does_not_widen_the_used_range(tmp_path: Path, engine: str) -> None:
    """A style on A1048576 and a row height on row 1,048,000 (what Excel and openpyxl write for formatting applied
    down the sheet) below 6 rows x 50 columns: read as 6 x 50, not refused as 52 million cells."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "金额", *[f"c{i}" for i in range(48)]])
    for r in range(5):
        ws.append([f"n{r}", r, *range(48)])
    ws["A1048576"].font = Font(bold=True)
    ws.row_dimensions[1048000].height = 30
    path = tmp_path / "styled.xlsx"
    wb.save(path)
    (grid,) = read_grids(path)
    assert grid.cells.shape == (6, 50)
    assert grid.cells.iat[5, 49] == "47"


@pytest.mark.parametrize("tags", [
    '<row r="1048000" ht="30" customHeight="1"/><row><c><v>1</v></c></row>',  # the r-less row is row 1,048,001
    '<row r="1"><c r="ZZ1" s="1"/><c><v>1</v></c></row>',  # the r-less cell sits right of ZZ1
])
def test_formatting_still_counts_where_positions_follow_from_it(tmp_path: Path, tags: str) -> None:
    path = fx.xlsx_raw(tmp_path, "follow.xlsx", b'<row r="1"><c r="A1"><v>1</v></c></row>' + tags.encode())
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_cells=500))  # ZZ is column 702
    assert info.value.fields["limit"] == "max_cells = 500"


def test_far_row_refused_by_max_rows_and_far_column_by_max_columns(tmp_path: Path) -> None:
    with pytest.raises(LimitExceededError) as info:
        read_grids(fx.xlsx_far_cell(tmp_path, ref="A6000000", name="row.xlsx"))
    assert info.value.fields["limit"] == "max_rows = 5,000,000"
    with pytest.raises(LimitExceededError) as info:
        read_grids(fx.xlsx_far_cell(tmp_path, ref="XFD1", name="col.xlsx"))
    assert info.value.fields["limit"] == "max_columns = 1,000"
    assert "column XFD (16,384 columns)" in info.value.fields["what"]


@pytest.mark.parametrize(
    "spelling",
    [
        '<row r="{r}"><c r=\'{ref}\'><v>1</v></c></row>',  # single quotes
        '<row r="{r}"><c r = "{ref}"><v>1</v></c></row>',  # spaces around =
        '<row r="{r}"><c\n r="{ref}"><v>1</v></c></row>',  # a line break before the attribute
        '<row r="{r}"><c s="0" r="{ref}"><v>1</v></c></row>',  # r not first
        '<row r="1"><c r="{ref}"><v>1</v></c></row>',  # the cell's row disagrees with its <row>
        '<x:row r="{r}"><x:c r="{ref}"><x:v>1</x:v></x:c></x:row>',  # a namespace prefix
        '<row r="{r}"><c r="{ref}" t="s"><v>0</v></c></row>',  # a shared string
        '<row><c r="{ref}"><v>1</v></c></row>',  # a row without r
    ],
)
def test_far_cell_found_however_it_is_spelled(tmp_path: Path, spelling: str) -> None:
    data = b'<row r="1"><c r="A1"><v>0</v></c></row>' + spelling.format(r=5000, ref="CV5000").encode()
    path = fx.xlsx_raw(tmp_path, "spelled.xlsx", data, shared=[b"x"])
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_cells=499_999))
    assert info.value.fields["limit"] == "max_cells = 499,999"
    # a row without r is counted one past the last row seen (an upper bound: here the cell's r says 5,000)
    rows = "5,001" if spelling.startswith("<row>") else "5,000"
    assert f"{rows} × 100 = " in info.value.fields["what"]


def test_rows_and_cells_without_r_count_one_past_the_last(tmp_path: Path) -> None:
    """Rows without r follow the previous row and cells without r the previous cell: 3 rows below row 10,
    and 4 cells after column C, give a used range of 13 × 7."""
    data = (
        b'<row r="10"><c r="C10"><v>1</v></c><c><v>2</v></c><c><v>3</v></c><c><v>4</v></c><c><v>5</v></c></row>'
        + b"<row><c><v>6</v></c></row>" * 3
    )
    path = fx.xlsx_raw(tmp_path, "no-r.xlsx", data)
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_cells=13 * 7 - 1))
    assert "13 × 7 = 91 cells" in info.value.fields["what"]
    grid = read_grids(path, limits=Limits(max_cells=13 * 7))[0]
    assert grid.cells.shape == (13, 7)
    assert grid.cells.iloc[9, 2:].tolist() == ["1", "2", "3", "4", "5"]
    assert grid.cells.iloc[10:, 0].tolist() == ["6", "6", "6"]


def test_shared_strings_expansion_counted_per_reference(tmp_path: Path) -> None:
    """100 cells × a 1,000-character string: 100,000 bytes of text, counted with the string's markup (the item
    runs from its <si> to the next, here to the end of the part: 22 bytes of <si><t>…</t></si></sst>)."""
    path = fx.xlsx_shared_amplified(tmp_path, cells=100, chars=1000)
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_shared_text_bytes=102_199))
    assert info.value.fields["limit"] == "max_shared_text_bytes = 102,199"
    assert info.value.fields["what"] == "its cells repeat shared strings into 102,200 bytes of text"
    grid = read_grids(path, limits=Limits(max_shared_text_bytes=102_200))[0]
    assert grid.cells.shape == (100, 1)
    assert set(grid.cells[0]) == {"x" * 1000}


def test_utf16_sheet_is_measured_and_read(tmp_path: Path) -> None:
    """A UTF-16 sheet part hid its cells from the byte scan: its far cell went unmeasured and, calamine returning
    nothing, the sheet came out empty without a word. Now it is measured, then read with openpyxl."""
    path = fx.xlsx_utf16_sheet(tmp_path)
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_cells=7_799))
    assert "300 × 26 = 7,800 cells" in info.value.fields["what"]
    grid = read_grids(path)[0]
    assert grid.cells.shape == (300, 26)
    assert (grid.cells.iat[0, 0], grid.cells.iat[299, 25]) == ("header", "1")
    assert [str(n) for n in grid.notes] == [
        "calamine returned no cells although the sheet holds values; the workbook was read with openpyxl instead"
    ]


# --- linear scans ---------------------------------------------------------------------------------------


def _segments(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every piece of sheet XML the pre-parse scan is given."""
    sizes: list[int] = []
    original = xlsx_reader._scan_segment

    def recording(seg: bytes, *args: Any) -> None:
        sizes.append(len(seg))
        original(seg, *args)

    monkeypatch.setattr(xlsx_reader, "_scan_segment", recording)
    return sizes


def test_sheet_without_row_end_is_scanned_in_bounded_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without </row> the old scan carried (and re-copied) the whole sheet; now no piece exceeds 1 MiB plus
    one cell, and every byte is scanned exactly once."""
    path = fx.xlsx_no_row_end(tmp_path, rows=150_000)
    with zipfile.ZipFile(path) as z:
        part = z.getinfo(fx.SHEET_XML).file_size
    assert part > 5 << 20
    sizes = _segments(monkeypatch)
    read_grids(path)
    assert max(sizes) <= (1 << 20) + 64
    assert sum(sizes) == part


def test_huge_element_refused_instead_of_carried(tmp_path: Path) -> None:
    data = b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + b" " * (17 << 20) + b"</t></is></c></row>"
    path = fx.xlsx_raw(tmp_path, "huge.xlsx", data)
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_compression_ratio=1e9))  # past the zip gate
    assert info.value.fields["limit"] == "max_cell_chars = 32,767"
    assert "MiB of XML in which no cell or row starts" in info.value.fields["what"]


def _nodes(sub: Any) -> Any:
    """Every (opcode, argument) of a parsed pattern (``re._parser.SubPattern``), recursively."""
    for op, arg in sub.data:
        yield op, arg
        if isinstance(arg, list | tuple):
            for item in arg:
                if hasattr(item, "data"):
                    yield from _nodes(item)
                elif isinstance(item, list):  # the alternatives of a branch
                    for alt in item:
                        if hasattr(alt, "data"):
                            yield from _nodes(alt)
        elif hasattr(arg, "data"):
            yield from _nodes(arg)


def test_scan_patterns_cannot_run_past_the_tag_they_start_in() -> None:
    """No pattern of the scan has '.' and every negated class excludes '<': a match attempt that starts at a
    '<' ends before the next tag (or, for a cell's content, before the next cell), so the attempts never
    overlap and the scan is linear. The old error-cell pattern ``(.*?)</c>`` ran to the end of the sheet from
    every self-closing error cell (a 2.5 KB file took 20 s)."""
    import re._parser as sre_parse  # the parser the re module itself uses
    from re._constants import ANY, IN, LITERAL, NEGATE

    patterns = {n: p for n, p in vars(xlsx_reader).items() if isinstance(p, re.Pattern)}
    assert {"_ERROR_CELL", "_NO_VALUE", "_ROW_HIDDEN", "_MERGE", "_V_TEXT"} <= set(patterns)
    for name, pattern in patterns.items():
        for op, arg in _nodes(sre_parse.parse(pattern.pattern, pattern.flags)):
            assert op is not ANY, f"{name} has '.'"
            if op is IN and arg and arg[0][0] is NEGATE:
                assert (LITERAL, ord("<")) in arg, f"{name} has a negated class that crosses '<'"


def test_self_closing_error_cells_take_no_value_from_the_next_cell(tmp_path: Path) -> None:
    """``<c t="e"/>`` has no value; the old pattern took the next error cell's ``#N/A`` for it."""
    data = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c><c r="B1" t="e"/>'
        b'<c r="C1" t="e"><v>#N/A</v></c></row>'
    )
    grid = read_grids(fx.xlsx_raw(tmp_path, "errors.xlsx", data))[0]
    assert grid.cells.values.tolist() == [["h", "", "#N/A"]]


def test_many_self_closing_error_cells_read_in_a_child(tmp_path: Path) -> None:
    """20,000 of them took 233 s before; the child's timeout only guards against a hang."""
    path = fx.xlsx_selfclosing_errors(tmp_path, cells=20_000)
    proc = _read_in_child(path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "read"


# --- .xls -----------------------------------------------------------------------------------------------


def test_far_cell_xls_costs_the_cells_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """IV65536 in a 6 KB file: xlrd used to pad all 65,536 rows to 256 cells (16.7 million Python values);
    rows are ragged now, so the reader is handed the 1 + 256 values of the two rows that hold cells."""
    import xlrd.sheet

    path = fx.xls_far_cell(tmp_path)
    assert path.stat().st_size < 8192
    handed: list[int] = []
    original = xlrd.sheet.Sheet.row_values

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        values = original(self, *args, **kwargs)
        handed.append(len(values))
        return values

    monkeypatch.setattr(xlrd.sheet.Sheet, "row_values", counting)
    grid = read_grids(path)[0]
    assert sum(handed) == 257
    assert grid.cells.shape == (65_536, 256)
    assert (grid.cells.iat[0, 0], grid.cells.iat[65_535, 255]) == ("header", "1")
    assert int((grid.cells != "").to_numpy().sum()) == 2


def test_far_cell_xls_refused_by_max_cells(tmp_path: Path) -> None:
    path = fx.xls_far_cell(tmp_path, row=999, col=25)
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_cells=25_999))
    assert info.value.fields["limit"] == "max_cells = 25,999"
    assert "1,000 × 26 = 26,000 cells" in info.value.fields["what"]


@pytest.mark.parametrize("fmt", ["xls", "xlsx"])
def test_sheets_together_are_held_to_max_cells(tmp_path: Path, fmt: str) -> None:
    """Every sheet's grid is kept until the workbook is read, so their used ranges count together."""
    path = fx.two_far_sheets(tmp_path, fmt)
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_cells=1_999))
    assert info.value.fields["limit"] == "max_cells = 1,999"
    assert info.value.fields["what"] == "its 2 worksheets have used ranges of 2,000 cells together"
    assert [g.cells.shape for g in read_grids(path, limits=Limits(max_cells=2_000))] == [(100, 10), (100, 10)]
    assert [g.cells.shape for g in read_grids(path, sheet="二", limits=Limits(max_cells=1_000))] == [(100, 10)]


# --- the extent bound holds for any sheet -----------------------------------------------------------------

_CELLS = st.lists(
    st.tuples(st.integers(1, 40), st.integers(0, 30), st.booleans()),  # row, column, whether r is written
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=_CELLS)
def test_scanned_extent_bounds_what_the_reader_builds(tmp_path: Path, cells: list[tuple[int, int, bool]]) -> None:
    """Whatever mix of cells with and without ``r``, the scan's extent is never smaller than the grid the
    reader builds (so a limit checked on it holds for the reader), and equals it when every cell has ``r``."""
    by_row: dict[int, list[tuple[int, bool]]] = {}
    for r, c, explicit in cells:
        by_row.setdefault(r, []).append((c, explicit))
    xml = b""
    for r in sorted(by_row):
        row = sorted(set(by_row[r]))
        xml += f'<row r="{r}">'.encode()
        for c, explicit in row:
            ref = f' r="{column_letter(c)}{r}"' if explicit else ""
            xml += f"<c{ref}><v>{c}</v></c>".encode()
        xml += b"</row>"
    path = fx.xlsx_raw(tmp_path, "prop.xlsx", xml)
    with zipfile.ZipFile(path) as z:
        book = xlsx_reader._gate(z, file="p", ext=".xlsx", limits=Limits())
        sheet = book.sheets[0]
        scan = xlsx_reader._scan(z, sheet, xlsx_reader._shared_sizes(z, None, file="p", ext="x", limits=Limits()),
                                 file="p", ext=".xlsx", limits=Limits())
    grid = read_grids(path)[0]
    nrows, ncols = scan.extent()
    assert grid.cells.shape[0] <= nrows and grid.cells.shape[1] <= ncols
    if all(explicit for _, _, explicit in cells):
        assert (nrows, ncols) == grid.cells.shape


def test_csv_and_parquet_limits_are_named_too(tmp_path: Path) -> None:
    """Every reader's refusal names its Limits field, as the workbook readers' do."""
    import pandas as pd

    csv_path = tmp_path / "rows.csv"
    csv_path.write_text("姓名,金额\n" + "甲,1\n" * 11, encoding="utf-8")
    with pytest.raises(LimitExceededError) as info:
        read_grids(csv_path, limits=Limits(max_rows=10))
    assert info.value.fields["limit"] == "max_rows = 10"
    parquet = tmp_path / "wide.parquet"
    pd.DataFrame({"姓名": ["甲"], "金额": ["1"], "备注": [""]}).to_parquet(parquet)
    with pytest.raises(LimitExceededError) as info:
        read_grids(parquet, limits=Limits(max_columns=2))
    assert (info.value.fields["limit"], info.value.fields["what"]) == ("max_columns = 2", f"{parquet} has 3 columns")
