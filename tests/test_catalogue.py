"""The text catalogue (issue 14 item 4): every user-facing text, zh and en, has one home.

``fundaudit/catalogue/messages.yaml`` holds what fundaudit says about data and runs (errors, rejection
reasons, notes, finding reasons, value names); ``fundaudit/report/templates/strings.yaml`` holds the UI
labels of the writers (HTML, Excel, CLI). Every entry has both languages with the same placeholders, no
text is in both files, and no Chinese string literal is left in ``fundaudit/**/*.py`` outside the short
allow-list below (input vocabulary the readers match, never show)."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from fundaudit.errors import catalogue

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fundaudit"
STRINGS = PACKAGE / "report" / "templates" / "strings.yaml"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

# file -> (number of CJK string literals allowed, why). Exact counts: a new literal fails until it moves to
# the catalogue or is added here with its reason.
ALLOWED: dict[str, tuple[int, str]] = {
    "fundaudit/layout.py": (4, "input vocabulary: total/carry-over/signature-line patterns (合计, 承前页, 制表人)"),
    "fundaudit/columns/__init__.py": (11, "input vocabulary: unit words in headers (万元, 单位：), the CJK range"),
    "fundaudit/io/tabular.py": (1, "input vocabulary: header words of ID-like columns read as text (身份, 账号)"),
    "fundaudit/ledger.py": (5, "input vocabulary: provenance column names (源文件, 行号) and the unit 元"),
    "fundaudit/normalize/_common.py": (2, "input vocabulary: cells meaning empty (无, 空)"),
    "fundaudit/normalize/dates.py": (2, "input vocabulary: date words (年, 月, 日, 号)"),
    "fundaudit/normalize/money.py": (1, "input vocabulary: the money pattern (万, 元)"),
    "fundaudit/normalize/text.py": (8, "input vocabulary: yes/no words (是, 否, 有, 无)"),
    "fundaudit/rules/signatures/totals.py": (1, "a check doc naming 合计/小计"),
    "fundaudit/rules/signatures/cross.py": (2, "check docs naming 工会经费"),
    "fundaudit/rules/signatures/payments.py": (2, "check docs naming 低保"),
    "fundaudit/rules/signatures/register.py": (5, "ledger values as parameter defaults (在档, 深度困难); a doc"),
    "fundaudit/cli.py": (2, "the English --help: an example path and a programme name (送温暖2016.xlsx, 送温暖)"),
    "fundaudit/columns/docs.py": (1, "docs/columns.md generator: the type name 'integer fen (分)'"),
    "fundaudit/rules/docs.py": (3, "docs/rules.md generator: notes naming the parameter values 送温暖, 档案编号"),
}


def _texts(section: object) -> Iterator[tuple[str, dict[str, str]]]:
    assert isinstance(section, dict)
    for code, entry in section.items():
        yield str(code), entry


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _strings() -> dict[str, dict[str, str]]:
    return dict(YAML(typ="safe", pure=True).load(STRINGS.read_text("utf-8")))


def _entries() -> list[tuple[str, dict[str, str]]]:
    out = [(f"messages.{sec}.{code}", e) for sec, entries in catalogue().items() for code, e in _texts(entries)]
    out += [(f"strings.{key}", e) for key, e in _strings().items()]
    return out


@pytest.mark.parametrize(("name", "entry"), _entries(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_entry_has_zh_and_en_with_the_same_placeholders(name: str, entry: dict[str, str]) -> None:
    assert set(entry) == {"zh", "en"}, name
    assert all(isinstance(entry[lang], str) and entry[lang].strip() for lang in ("zh", "en")), name
    assert _fields(entry["zh"]) == _fields(entry["en"]), name


def test_no_text_is_in_both_files() -> None:
    """messages.yaml (what fundaudit says about data) and strings.yaml (UI labels) have distinct roles."""
    messages = {e["zh"] for _, e in _entries() if _.startswith("messages.")}
    labels = {e["zh"] for k, e in _strings().items()}
    assert sorted(messages & labels) == []


def _cjk_literals(path: Path) -> list[tuple[int, str]]:
    """String constants with Chinese characters, docstrings excepted (f-string parts included)."""
    tree = ast.parse(path.read_text("utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
        and CJK.search(node.value)
    ]


def test_no_chinese_string_literal_outside_the_catalogue() -> None:
    found = {
        str(p.relative_to(ROOT)): lits
        for p in sorted(PACKAGE.rglob("*.py"))
        if (lits := _cjk_literals(p))
    }
    unexpected = {f: lits for f, lits in found.items() if f not in ALLOWED or len(lits) != ALLOWED[f][0]}
    assert unexpected == {}
    assert sorted(set(ALLOWED) - set(found)) == []  # the allow-list names only files that still need it
