"""Readers' notes come from the `notes` section of the catalogue: Chinese where they are shown to users
(inspect, HTML, Excel), English text as before everywhere else (findings.json, logs, ``in`` checks)."""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import pickle
import string
from pathlib import Path

import pytest

from fundaudit.cli import main
from fundaudit.errors import Note, catalogue, note, render_note
from fundaudit.ledger import InputSummary

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_note_has_chinese_and_english_with_the_same_fields() -> None:
    notes = catalogue()["notes"]
    assert len(notes) >= 40
    for code, entry in notes.items():
        assert set(entry) == {"zh", "en"}, code
        assert entry["zh"].strip() and entry["en"].strip(), code
        assert _fields(entry["zh"]) == _fields(entry["en"]), code
        if not code.startswith(("delimiter.", "content.", "source.")):  # fragments may be plain words
            assert any("\u4e00" <= ch <= "\u9fff" for ch in entry["zh"]), code


@pytest.mark.parametrize(
    ("n", "old"),
    [
        (note("encoding_utf8"), "text encoding UTF-8"),
        (note("encoding_gb18030"), "text encoding GB18030 (GBK-compatible; the file is not valid UTF-8)"),
        (note("encoding_bom", encoding="UTF-8-SIG"), "text encoding UTF-8-SIG (from the byte-order mark)"),
        (note("merged_filled", count=20), "20 merged cell range(s) in the data area filled from their first cell"),
        (note("hidden_rows", sheet="S", count=3), "sheet S has 3 hidden row(s); they are read like any other"),
        (note("delimiter", delimiter=note("delimiter.tabs")), "fields are separated by tabs"),
        (note("nul_bytes_removed", count=2), "2 NUL byte(s) (\\x00) were removed from the text"),
        (note("column_numeric_id", column="身份证号", type="int64", source=note("source.parquet")),
         "column 身份证号 is stored as int64 in the parquet file, not as text: an ID or account number in it has "
         "already lost any leading zeros and a final X (source column type int64)"),
        (note("ext_missing", file="a", content=note("content.csv")),
         "a has no extension; its content is delimited text (CSV/TXT), read as such"),
    ],
)
def test_english_text_is_unchanged(n: Note, old: str) -> None:
    assert n == old and str(n) == old and n.render("en") == old
    assert type(str(n)) is str
    assert n.render("zh") != old


def test_fragments_render_in_the_notes_language() -> None:
    n = note("delimiter", delimiter=note("delimiter.fullwidth_commas"))
    assert n.render("zh") == "字段以全角逗号（，）分隔"


def test_notes_survive_copies_and_stay_english_in_json() -> None:
    n = note("hidden_rows", sheet="工资", count=3)
    for other in (copy.copy(n), copy.deepcopy(n), pickle.loads(pickle.dumps([n]))[0]):
        assert isinstance(other, Note) and other.code == "hidden_rows" and other == n
        assert other.render("zh") == "工作表 工资 有 3 个隐藏行，与其他行一样读取"
    s = InputSummary(kind="dues", file="a.xls", sheet="工资", sha256=None, format="xls", encoding=None,
                     header_row=1, title="", rows_read=0, rows_loaded=0, rows_rejected=0, rows_non_data=0,
                     amount_column=None, amount_total=None, amount_rejected=None, columns={},
                     unmapped_columns=[], notes=[n, "a plain note"])
    for notes in (dataclasses.replace(s).notes, copy.deepcopy(s).notes, s.to_dict()["notes"]):
        assert isinstance(notes[0], Note)
        assert [render_note(x, "zh") for x in notes] == [n.render("zh"), "a plain note"]
    assert json.loads(json.dumps(s.to_dict(), ensure_ascii=False))["notes"][0] == (
        "sheet 工资 has 3 hidden row(s); they are read like any other")


def test_render_note_accepts_plain_strings() -> None:
    assert render_note("free text", "zh") == "free text"
    assert render_note(note("encoding_utf8"), "zh") == "字符编码 UTF-8"
    assert render_note(note("encoding_utf8"), "en") == "text encoding UTF-8"


def test_inspect_shows_notes_in_the_users_language(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(SAMPLES / "register_2016.csv"), str(SAMPLES / "disbursements_2016.xlsx")]
    assert main(["inspect", *files]) == 0
    zh = capsys.readouterr().out
    assert "注：字符编码 GB18030（兼容 GBK；该文件不是有效的 UTF-8）" in zh
    assert "个合并单元格区域" in zh
    assert "text encoding" not in zh and "merged cell range" not in zh
    assert main(["inspect", *files, "--lang", "en"]) == 0
    en = capsys.readouterr().out
    assert "note: text encoding GB18030 (GBK-compatible; the file is not valid UTF-8)" in en
    assert "merged cell range(s) in the data area filled from their first cell" in en


def _appends_to_notes(tree: ast.AST) -> list[ast.Call]:
    """Calls ``<…notes>.append(x)`` and ``<…notes>.extend(x)``."""
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
            "append", "extend"
        ):
            target = node.func.value
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name.endswith("notes"):
                calls.append(node)
    return calls


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def test_no_note_is_written_as_plain_text() -> None:
    """Every note comes from the catalogue through ``note(code, …)``: no f-string or literal is appended
    to a notes list, put in one, or passed as one."""
    offenders = []
    checked = 0
    for path in sorted((ROOT / "fundaudit").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for call in _appends_to_notes(tree):
            checked += 1
            arg = call.args[0]
            if _is_text(arg) or (isinstance(arg, ast.List | ast.Tuple) and any(map(_is_text, arg.elts))):
                offenders.append(f"{path.relative_to(ROOT)}:{call.lineno}")
        for node in ast.walk(tree):
            value = None
            if isinstance(node, ast.keyword) and node.arg == "notes":
                value = node.value
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id.endswith("notes") for t in targets):
                    value = node.value
            if isinstance(value, ast.List | ast.Tuple) and any(map(_is_text, value.elts)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert checked >= 40
    assert not offenders, f"notes written as plain text (use fundaudit.errors.note): {offenders}"
