"""File names that are not valid UTF-8 (GBK bytes, as unzipping a Chinese-Windows archive leaves them): audited
and inspected like any other, shown readably everywhere, opened by their real bytes."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from fundaudit.cli import main
from fundaudit.io import display_name, read_grids

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
GBK_NAME = os.fsdecode(b"\xcb\xcd\xce\xc2\xc5\xaf.csv")  # 送温暖.csv in GBK: a str with surrogate escapes
BAD_NAME = os.fsdecode(b"\xff\xfe\x80.csv")  # neither UTF-8 nor GB18030


def test_display_name_decodes_each_component_utf8_then_gb18030_then_escapes() -> None:
    assert display_name(GBK_NAME) == "送温暖.csv"
    assert display_name(Path("台账") / GBK_NAME) == "台账/送温暖.csv"
    assert display_name(os.fsdecode("台账/".encode() + b"\xcb\xcd.csv")) == "台账/送.csv"
    assert display_name(b"\xcb\xcd\xce\xc2\xc5\xaf.csv") == "送温暖.csv"
    assert display_name(BAD_NAME) == "\\xff\\xfe\\x80.csv"
    assert display_name("送温暖.csv") == "送温暖.csv"
    assert display_name("\ud800x") == "\\ud800x"  # a lone surrogate no file system gave: escaped, not an error
    for name in (GBK_NAME, BAD_NAME, "a/送温暖.csv"):
        shown = display_name(name)
        assert display_name(shown) == shown
        shown.encode("utf-8")  # always writable


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLES / "register_2016.csv", folder / GBK_NAME)
    assert os.fsencode(next(folder.iterdir()).name) == b"\xcb\xcd\xce\xc2\xc5\xaf.csv"
    return folder


def test_grids_keep_the_readable_name_and_open_the_real_file(tmp_path: Path) -> None:
    path = _folder(tmp_path) / GBK_NAME
    [grid] = read_grids(path)
    assert grid.file == display_name(path)
    assert grid.file.endswith("/in/送温暖.csv")
    assert len(grid.cells) == 124


def test_audit_writes_the_readable_name_in_every_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["audit", str(_folder(tmp_path)), "--out", str(out), "--format", "html,xlsx,json,junit",
                 "--period", "2016", "--fail-on", "error"])
    assert code == 1  # error findings in the sample register; before the fix: 3 (internal error)
    printed = capsys.readouterr()
    assert "送温暖.csv" in printed.out
    (printed.out + printed.err).encode("utf-8")  # no surrogate escape is left
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [i["file"] for i in findings["inputs"]] == ["送温暖.csv"]
    assert {r["file"] for f in findings["findings"] for r in f["refs"]} == {"送温暖.csv"}
    assert {r["file"] for r in findings["rejected_rows"]} == {"送温暖.csv"}
    for name in ("index.html", "junit.xml", "findings.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert "送温暖.csv" in text and "\\udc" not in text and "\\xcb" not in text, name
    book = openpyxl.load_workbook(out / "findings.xlsx", read_only=True)
    cells = {str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v}
    book.close()
    assert any("送温暖.csv" in v for v in cells)


def test_inspect_shows_the_readable_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(tmp_path)
    shutil.copy(SAMPLES / "staff.csv", folder / BAD_NAME)
    assert main(["inspect", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "== 送温暖.csv\n" in out
    assert "== \\xff\\xfe\\x80.csv\n" in out
    assert main(["inspect", str(folder / GBK_NAME)]) == 0
    assert f"== {folder}/送温暖.csv\n" in capsys.readouterr().out


def test_names_from_a_chinese_windows_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What the issue describes: a zip made on Chinese Windows stores GBK names; unzipped on Linux they are bytes."""
    archive = tmp_path / "台账.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("abcdef.csv"), (SAMPLES / "register_2016.csv").read_bytes())
    raw = archive.read_bytes().replace(b"abcdef.csv", b"\xcb\xcd\xce\xc2\xc5\xaf.csv")  # same length, GBK
    archive.write_bytes(raw)
    target = tmp_path / "unzipped"
    target.mkdir()
    with zipfile.ZipFile(archive) as zf:
        [member] = zf.infolist()
        data = zf.read(member)
    (target / os.fsdecode(member.orig_filename.encode("cp437"))).write_bytes(data)  # as `unzip` leaves it
    assert main(["inspect", str(target)]) == 0
    assert "== 送温暖.csv\n" in capsys.readouterr().out


def test_ledger_argument_with_a_gbk_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _folder(tmp_path) / GBK_NAME
    out = tmp_path / "out"
    assert main(["audit", "--ledger", f"register={path}", "--out", str(out), "--format", "json"]) == 1
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [i["file"] for i in findings["inputs"]] == [display_name(path)]
    assert findings["inputs"][0]["file"].endswith("/in/送温暖.csv")
    printed = capsys.readouterr().out  # the summary table shows the (shortened) readable path
    printed.encode("utf-8")  # no surrogate escape is left: the terminal can show it
    assert "register  /tmp/" in printed
