"""Delimited text: encodings, delimiters, exact physical start lines, blank lines, ragged rows, quotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fundaudit.errors import LimitExceededError, UnreadableFileError
from fundaudit.io import Grid, Limits, read_grids
from tests.io import fixtures as fx


def _read(tmp_path: Path, data: bytes, name: str = "明细.csv", **kwargs: object) -> Grid:
    [grid] = read_grids(fx.write_bytes(tmp_path, name, data), **kwargs)  # type: ignore[arg-type]
    assert grid.format == "csv" and grid.sheet is None
    assert all(str(t) == "str" for t in grid.cells.dtypes)
    assert not grid.cells.isna().any().any()
    return grid


def _table(grid: Grid) -> list[tuple[int, list[str]]]:
    return list(zip(grid.rows.tolist(), grid.cells.values.tolist(), strict=True))


def test_utf8_blank_lines_are_kept_as_rows(tmp_path: Path) -> None:
    grid = _read(tmp_path, "姓名,金额\n张三,1\n\n李四,2\n\n".encode())
    assert grid.encoding == "utf-8"
    assert _table(grid) == [(1, ["姓名", "金额"]), (2, ["张三", "1"]), (3, ["", ""]), (4, ["李四", "2"]), (5, ["", ""])]


def test_quoted_newlines_give_exact_start_lines(tmp_path: Path) -> None:
    text = '姓名,备注,金额\n张三,"第一行\n第二行\n第三行",1\n\n李四,"a,b",2\n"王\r\n五",x,3\n赵六,,4'
    grid = _read(tmp_path, text.encode())
    assert _table(grid) == [
        (1, ["姓名", "备注", "金额"]),
        (2, ["张三", "第一行\n第二行\n第三行", "1"]),
        (5, ["", "", ""]),
        (6, ["李四", "a,b", "2"]),
        (7, ["王\r\n五", "x", "3"]),
        (9, ["赵六", "", "4"]),
    ]


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_old_mac_line_endings(tmp_path: Path, newline: str) -> None:
    text = newline.join(["a,b", "1,2", "", "3,4"]) + newline
    grid = _read(tmp_path, text.encode())
    assert _table(grid) == [(1, ["a", "b"]), (2, ["1", "2"]), (3, ["", ""]), (4, ["3", "4"])]


def test_na_tokens_ids_and_spaces_stay_verbatim(tmp_path: Path) -> None:
    text = (
        "姓名,身份证号,账号,备注\n NA ,110101199003077777,0012345678,null\nNone,11010119900307777X,,#N/A\nnan,,-,N/A\n"
    )
    grid = _read(tmp_path, text.encode())
    assert grid.cells.values.tolist()[1:] == [
        [" NA ", "110101199003077777", "0012345678", "null"],
        ["None", "11010119900307777X", "", "#N/A"],
        ["nan", "", "-", "N/A"],
    ]


def test_gbk_is_detected_and_read_as_gb18030(tmp_path: Path) -> None:
    grid = _read(tmp_path, "姓名,金额\n张三,1\n阿依古丽·买买提,2\n".encode("gbk"))
    assert grid.encoding == "gb18030"
    assert grid.cells[0].tolist() == ["姓名", "张三", "阿依古丽·买买提"]
    assert any("GB18030" in n for n in grid.notes)


def test_gb18030_only_characters(tmp_path: Path) -> None:
    data = "姓名,金额\n王䶮,1\n𠀀,2\n".encode("gb18030")
    with pytest.raises(UnicodeEncodeError):
        "䶮".encode("gbk")
    grid = _read(tmp_path, data)
    assert grid.cells[0].tolist() == ["姓名", "王䶮", "𠀀"]
    grid = _read(tmp_path, data, encoding="gbk")
    assert grid.encoding == "gb18030" and grid.cells[0].tolist()[1] == "王䶮"


def test_utf8_bom(tmp_path: Path) -> None:
    grid = _read(tmp_path, "\ufeff姓名,金额\n张三,1\n".encode())
    assert grid.encoding == "utf-8-sig"
    assert grid.cells.values.tolist() == [["姓名", "金额"], ["张三", "1"]]


def test_utf16_unicode_text_from_excel(tmp_path: Path) -> None:
    grid = _read(tmp_path, "姓名\t金额\r\n张三\t1\r\n\r\n李四\t2\r\n".encode("utf-16"), name="导出.txt")
    assert grid.encoding == "utf-16"
    assert _table(grid) == [(1, ["姓名", "金额"]), (2, ["张三", "1"]), (3, ["", ""]), (4, ["李四", "2"])]


def test_wrong_encoding_override_names_the_line(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "a.csv", "a,b\n1,2\n张三,3\n".encode("gbk"))
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path, encoding="utf-8")
    assert info.value.code == "bad_encoding" and info.value.fields["line"] == 3


def test_undecodable_bytes(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "a.csv", b"name,city\nJos\xe9,S\xe3o Paulo\xff\n")
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path)
    assert info.value.code == "encoding_undetected"
    assert str(path) in str(info.value)


def test_ragged_rows_are_rejected_with_their_lines(tmp_path: Path) -> None:
    text = 'a,b\n1,2\n3,4,5\n6,7,,\n8\n"x\ny",9,10\n11,12\n'
    grid = _read(tmp_path, text.encode())
    assert _table(grid) == [(1, ["a", "b"]), (2, ["1", "2"]), (4, ["6", "7"]), (5, ["8", ""]), (8, ["11", "12"])]
    assert grid.rejected == [
        {"row": 3, "reason": "csv_ragged", "value": "3,4,5", "column": None, "found": 3, "expected": 2},
        {"row": 6, "reason": "csv_ragged", "value": '"x\ny",9,10', "column": None, "found": 3, "expected": 2},
    ]
    assert len(grid.cells) + len(grid.rejected) == 7, "every record is a row or a rejection"


def test_ragged_value_is_truncated_to_200_chars(tmp_path: Path) -> None:
    grid = _read(tmp_path, ("a,b\n1,2\n3,4," + "x" * 500 + "\n").encode())
    assert len(grid.rejected[0]["value"]) == 200


def test_trailing_delimiter_on_data_rows_only(tmp_path: Path) -> None:
    grid = _read(tmp_path, "姓名,金额\n张三,1,\n李四,2,\n".encode())
    assert grid.cells.values.tolist() == [["姓名", "金额"], ["张三", "1"], ["李四", "2"]]
    assert any("extra delimiter" in n for n in grid.notes)
    assert not grid.rejected


def test_title_row_above_the_header_is_padded(tmp_path: Path) -> None:
    grid = _read(tmp_path, "2016年送温暖发放明细表\n姓名,金额\n张三,1\n".encode())
    assert grid.cells.values.tolist() == [["2016年送温暖发放明细表", ""], ["姓名", "金额"], ["张三", "1"]]


def test_unterminated_quote_names_the_line(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "q.csv", b'a,b\n1,2\n3,"4\n5,6\n7,8\n')
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path)
    assert info.value.code == "csv_unterminated_quote" and info.value.fields["line"] == 3


def test_unterminated_quote_after_a_closed_multiline_field(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "q.csv", b'a,b,c\n"x\ny",2,"open\nrest\n')
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path)
    assert info.value.fields["line"] == 3


@pytest.mark.parametrize(
    ("sep", "name"),
    [
        ("\t", "tabs"),
        (";", "semicolons"),
        ("，", "full-width commas"),
        ("；", "full-width semicolons"),
        ("|", "vertical bars"),
    ],
)
def test_delimiters_are_sniffed(tmp_path: Path, sep: str, name: str) -> None:
    text = f'姓名{sep}金额{sep}备注\n张三{sep}1{sep}"甲{sep}乙"\n李四{sep}2{sep}\n'
    grid = _read(tmp_path, text.encode())
    assert grid.cells.values.tolist() == [["姓名", "金额", "备注"], ["张三", "1", f"甲{sep}乙"], ["李四", "2", ""]]
    assert any(name in n for n in grid.notes)


def test_comma_inside_amounts_does_not_beat_tabs(tmp_path: Path) -> None:
    grid = _read(tmp_path, "姓名\t金额\n张三\t1,234.50\n李四\t12,345,678.00\n".encode())
    assert grid.cells.values.tolist() == [["姓名", "金额"], ["张三", "1,234.50"], ["李四", "12,345,678.00"]]


def test_single_column_file(tmp_path: Path) -> None:
    grid = _read(tmp_path, "姓名\n张三\n\n李四".encode())
    assert _table(grid) == [(1, ["姓名"]), (2, ["张三"]), (3, [""]), (4, ["李四"])]


def test_nul_bytes_are_removed_with_a_note(tmp_path: Path) -> None:
    grid = _read(tmp_path, b"a,b\n1\x00,2\n")
    assert grid.cells.values.tolist() == [["a", "b"], ["1", "2"]]
    assert any("NUL" in n for n in grid.notes)


def test_header_only_and_blank_only_files(tmp_path: Path) -> None:
    assert _read(tmp_path, "姓名,金额\n".encode()).cells.values.tolist() == [["姓名", "金额"]]
    assert _read(tmp_path, b"\n\n", name="blank.csv").cells.shape[0] == 0


def test_limits(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "a.csv", b"a,b\n1,2\n3,4\n")
    with pytest.raises(LimitExceededError):
        read_grids(path, limits=Limits(max_rows=2))
    with pytest.raises(LimitExceededError):
        read_grids(path, limits=Limits(max_columns=1))
    long_path = fx.write_bytes(tmp_path, "b.csv", ("a,b\n1," + "x" * 100 + "\n").encode())
    with pytest.raises(LimitExceededError) as info:
        read_grids(long_path, limits=Limits(max_cell_chars=50))
    assert "row 2, column B" in str(info.value.fields["what"])


def test_huge_quoted_field_is_an_unterminated_quote_not_a_crash(tmp_path: Path) -> None:
    body = "\n".join(f"{i},{i}" for i in range(40_000))
    path = fx.write_bytes(tmp_path, "big.csv", ('a,b\n1,"2\n' + body + "\n").encode())
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path)
    assert info.value.code == "csv_unterminated_quote" and info.value.fields["line"] == 2


def test_reference_parser_gives_the_same_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fundaudit.io import delimited

    text = '姓名,备注\n张三,"a\nb"\n\n李四,"x,y",\n3,4,5\n'
    fast = _read(tmp_path, text.encode())
    monkeypatch.setattr(delimited, "_parse", lambda *a, **k: None)
    slow = _read(tmp_path, text.encode())
    assert (
        _table(slow)
        == _table(fast)
        == [(1, ["姓名", "备注"]), (2, ["张三", "a\nb"]), (4, ["", ""]), (5, ["李四", "x,y"])]
    )
    assert slow.rejected == fast.rejected and [r["row"] for r in fast.rejected] == [6]
