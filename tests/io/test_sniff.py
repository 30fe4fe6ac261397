"""Bad and disguised files: every one becomes one of our errors, with a catalogue code and the file's name."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from fundaudit.errors import ConfigError, InputError, LimitExceededError, UnreadableFileError
from fundaudit.io import Limits, read_grids, sniff
from tests.io import fixtures as fx


def _raises(path: Path, cls: type[Exception], code: str, **kwargs: object) -> InputError:
    with pytest.raises(cls) as info:
        read_grids(path, **kwargs)  # type: ignore[arg-type]
    err = info.value
    assert isinstance(err, InputError)
    assert err.code == code
    assert str(path) in str(err), "the Chinese message names the file"
    assert str(path) in err.message("en"), "the English message names the file"
    assert "{" not in str(err) and "{" not in err.message("en"), "every template field is filled"
    return err


def test_mhtml_saved_as_xls_is_named_for_what_it_is(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "导出.xls", fx.MHTML)
    err = _raises(path, UnreadableFileError, "disguised_mhtml")
    assert err.fields.get("ext") == ".xls"


@pytest.mark.parametrize(
    ("data", "fmt", "cells"),
    [
        (fx.HTML_AS_XLS, "html", [["姓名"]]),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html><body><table><tr><td>1</td></tr></table></body></html>", "html", [["1"]]),
        (b"<TABLE border=1><TR><TD>1</TD></TR></TABLE>", "html", [["1"]]),
        (b'<?xml version="1.0"?><html><body><table><tr><td>1</td></tr></table></body></html>', "html", [["1"]]),
        (fx.SPREADSHEETML, "spreadsheetml", [["x"]]),
    ],
)
def test_web_pages_and_xml_saved_as_xls_are_read_by_content(
    tmp_path: Path, data: bytes, fmt: str, cells: list[list[str]]
) -> None:
    path = fx.write_bytes(tmp_path, "导出.xls", data)
    assert sniff(path).format == fmt
    [grid] = read_grids(path)
    assert (grid.format, grid.cells.values.tolist()) == (fmt, cells)
    content = {"html": "an HTML table", "spreadsheetml": "an Excel 2003 XML Spreadsheet (SpreadsheetML)"}[fmt]
    assert grid.notes[0] == f"{path} is named .xls but its content is {content}; it was read by its content"


def test_tab_separated_gbk_text_saved_as_xls_is_read_as_text(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "名单.xls", fx.TSV_GBK)
    [grid] = read_grids(path)
    assert grid.format == "csv"
    assert grid.encoding == "gb18030"
    assert grid.cells.values.tolist() == [["姓名", "金额", "身份证号"], ["张三", "800", "110101199003077777"]]
    assert grid.rows.tolist() == [1, 2]
    assert any(".xls but its content is delimited text" in n for n in grid.notes)
    assert any("tabs" in n for n in grid.notes)


def test_xlsx_renamed_to_xls_is_read_by_content_with_a_note(tmp_path: Path) -> None:
    src = fx.xlsx_table(tmp_path, [["姓名", "金额"], ["张三", 800]])
    renamed = tmp_path / "renamed.xls"
    renamed.write_bytes(src.read_bytes())
    [grid] = read_grids(renamed)
    assert grid.format == "xlsx"
    assert grid.cells.values.tolist() == [["姓名", "金额"], ["张三", "800"]]
    assert any("named .xls but its content is an Excel workbook (.xlsx)" in n for n in grid.notes)
    assert sniff(renamed).format == "xlsx"


def test_xls_renamed_to_xlsx_is_read_by_content(tmp_path: Path) -> None:
    src = fx.xls_table(tmp_path, [["姓名"], ["张三"]])
    renamed = tmp_path / "renamed.xlsx"
    renamed.write_bytes(src.read_bytes())
    [grid] = read_grids(renamed)
    assert grid.format == "xls"
    assert grid.cells.values.tolist() == [["姓名"], ["张三"]]
    assert any("named .xlsx but its content is an Excel 97-2003 workbook" in n for n in grid.notes)


def test_encrypted_xlsx_is_reported_as_password_protected(tmp_path: Path) -> None:
    path = fx.xlsx_encrypted(tmp_path)
    _raises(path, UnreadableFileError, "encrypted")


def test_truncated_xls_names_the_damage_and_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = fx.xls_ledger(tmp_path)
    for keep in (0.3, 0.6, 0.9):
        path = fx.truncate(src, tmp_path / f"cut-{keep}.xls", keep)
        err = _raises(path, UnreadableFileError, "truncated")
        assert "OLE2" in str(err.fields["what"])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "", "xlrd's warnings go to the run log, never to stdout"


def test_truncated_xlsx_says_the_zip_directory_is_missing(tmp_path: Path) -> None:
    src = fx.xlsx_openpyxl(tmp_path)
    path = fx.truncate(src, tmp_path / "cut.xlsx", 0.7)
    err = _raises(path, UnreadableFileError, "truncated")
    assert err.fields["what"].startswith("zip central directory missing")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "empty.xlsx", b"")
    _raises(path, InputError, "file_empty")


def test_missing_file(tmp_path: Path) -> None:
    _raises(tmp_path / "不存在.xls", InputError, "file_not_found")


def test_directory_is_a_bad_source(tmp_path: Path) -> None:
    folder = tmp_path / "台账"
    folder.mkdir()
    _raises(folder, InputError, "bad_source")


def test_non_path_source_is_a_bad_source() -> None:
    with pytest.raises(InputError) as info:
        read_grids(42)  # type: ignore[arg-type]
    assert info.value.code == "bad_source"


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (bytes(range(256)) * 8, "binary data"),
    ],
)
def test_other_binary_files_are_unsupported(tmp_path: Path, data: bytes, what: str) -> None:
    path = fx.write_bytes(tmp_path, "x.xls", data)
    err = _raises(path, UnreadableFileError, "unsupported_format")
    assert what in str(err.fields["what"])


def test_zip_without_a_workbook_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    err = _raises(path, UnreadableFileError, "unsupported_format")
    assert "zip archive" in str(err.fields["what"])


def test_wps_et_file_without_a_workbook_stream(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "表格.et", b"\x00\x01WPS binary")
    _raises(path, UnreadableFileError, "wps_format")


def test_zip_bomb_is_refused_by_the_gate_before_parsing(tmp_path: Path) -> None:
    path = fx.xlsx_bomb(tmp_path)
    assert path.stat().st_size < 400_000
    start = time.perf_counter()
    err = _raises(path, LimitExceededError, "limit_exceeded")
    assert time.perf_counter() - start < 1.0, "the gate reads the zip directory only"
    assert "expands" in str(err.fields["what"]) and "xl/worksheets/sheet1.xml" in str(err.fields["what"])


def test_total_uncompressed_size_limit(tmp_path: Path) -> None:
    path = fx.xlsx_table(tmp_path, [["a"], [1]])
    err = _raises(path, LimitExceededError, "limit_exceeded", limits=Limits(max_uncompressed_bytes=1000))
    assert "when unzipped" in str(err.fields["what"])


def test_file_size_limit(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "a.csv", b"a,b\n1,2\n")
    _raises(path, LimitExceededError, "limit_exceeded", limits=Limits(max_file_bytes=4))


@pytest.mark.parametrize("kind", sorted(fx.ENTITY_PAYLOADS))
@pytest.mark.parametrize("part", [fx.SHEET_XML, "xl/workbook.xml"])
def test_xml_entities_are_refused(tmp_path: Path, kind: str, part: str) -> None:
    path = fx.xlsx_entities(tmp_path, kind, part)
    err = _raises(path, UnreadableFileError, "xml_entities")
    assert err.fields["what"] == part


def test_xml_entity_in_shared_strings_is_refused(tmp_path: Path) -> None:
    src = fx.xlsx_xlsxwriter(tmp_path)
    doctype, _ = fx.ENTITY_PAYLOADS["external"]
    path = fx.rewrite_zip(
        src, tmp_path / "sst.xlsx", {"xl/sharedStrings.xml": lambda xml: xml.replace(b"?>", b"?>" + doctype, 1)}
    )
    _raises(path, UnreadableFileError, "xml_entities")


def test_unknown_encoding_name_is_a_config_error(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "a.csv", b"a\n1\n")
    with pytest.raises(ConfigError) as info:
        read_grids(path, encoding="no-such-codec")
    assert info.value.code == "unknown_encoding"


def test_sheet_argument_for_a_csv_is_refused(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "a.csv", b"a\n1\n")
    _raises(path, InputError, "sheet_not_found", sheet="明细")


def test_sniff_reports_the_true_format(tmp_path: Path) -> None:
    assert sniff(fx.xls_table(tmp_path, [["a"]])).format == "xls"
    assert sniff(fx.xlsx_table(tmp_path, [["a"]])).format == "xlsx"
    assert sniff(fx.parquet_file(tmp_path)).format == "parquet"
    info = sniff(fx.write_bytes(tmp_path, "a.dat", b"a,b\n"))
    assert info.format == "csv" and info.notes and "extension .dat" in info.notes[0]


def test_dataframe_with_a_sheet_argument_is_refused() -> None:
    with pytest.raises(InputError) as info:
        read_grids(pd.DataFrame({"a": [1]}), sheet="x")
    assert info.value.code == "sheet_not_found"
