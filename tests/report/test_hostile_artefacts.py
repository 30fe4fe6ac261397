"""Hostile values through every report at once: markup, spreadsheet formulas and links, XML-invalid
control characters and a 10,000-character text, in a name cell that every finding message quotes. Each
artefact must still parse (json.loads, xml.etree, openpyxl, an HTML parser) and keep the value as
escaped or neutralised text. (test_html.py and test_excel_junit.py test each writer more closely.)"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import fundaudit
from fundaudit.report.junit import MAX_LINE, xml_safe
from tests.report._checks import assert_inert_workbook

CONTROL = "ctl\x01\x0b\x1bchar"
LONG = "长" + "y" * 9_999
HOSTILE = ["<script>alert(1)</script>", '=HYPERLINK("http://x")', "@SUM(1)", CONTROL, LONG]

PACK = """\
pack: hostile
rules:
  - id: H-EVERY
    ledger: disbursements
    severity: error
    title: {zh: 每一行, en: every row}
    check: {type: range, column: amount, max: 1}
    message: {zh: "名字 {recipient_name} 金额 {amount}", en: "name {recipient_name} amount {amount}"}
    amount: amount
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("hostile")
    from fundaudit.rules.shipped import shipped_packs

    shipped = [r.id for p in shipped_packs() for r in p.rules]
    pack = tmp / "hostile.yaml"
    pack.write_text(PACK + f"disable: [{', '.join(shipped)}]\n", encoding="utf-8")
    n = len(HOSTILE)
    df = pd.DataFrame({"姓名": HOSTILE, "金额": [str(100 * (i + 1)) for i in range(n)], "发放方式": ["打卡"] * n,
                       "发放日期": ["2016-03-01"] * n, "备注": HOSTILE})
    result = fundaudit.audit({"disbursements": df}, rules=[pack], period="2016",
                             limits=fundaudit.Limits(max_cell_chars=50_000))
    assert (result.findings["rule"] == "H-EVERY").sum() == n
    out = tmp / "report"
    return {"json": result.to_json(out / "findings.json"), "junit": result.to_junit(out / "junit.xml"),
            "xlsx": result.to_excel(out / "findings.xlsx"), "html": result.to_html(out / "index.html"),
            "xlsx_en": result.to_excel(out / "en.xlsx", lang="en"),
            "html_en": result.to_html(out / "en.html", lang="en")}


def test_json_parses_and_keeps_every_value(reports: dict[str, Path]) -> None:
    doc = json.loads(reports["json"].read_text("utf-8"))
    messages = [f["message"] for f in doc["findings"] if f["rule"] == "H-EVERY"]
    for value in HOSTILE:  # JSON is data: every value comes back exactly, control characters included
        assert any(value in m for m in messages), value[:30]
    raw = reports["json"].read_text("utf-8")
    assert "\\u0001\\u000b\\u001b" in raw and "\x01" not in raw


def test_junit_is_well_formed_and_escapes(reports: dict[str, Path]) -> None:
    raw = reports["junit"].read_bytes()
    assert b"\x01" not in raw and b"\x0b" not in raw and b"\x1b" not in raw
    root = ET.parse(reports["junit"]).getroot()  # raises if not well-formed
    case = next(c for c in root.iter("testcase") if c.get("name") == "H-EVERY")
    failure = case.find("failure")
    assert failure is not None
    text = failure.text or ""
    assert "<script>alert(1)</script>" in text  # as text ...
    assert b"<script>" not in raw and b"&lt;script&gt;" in raw  # ... escaped in the file
    assert '=HYPERLINK("http://x")' in text and "@SUM(1)" in text
    assert "ctl\\x01\\x0b\\x1bchar" in text  # the invalid characters written visibly, not dropped silently
    long_line = next(ln for ln in text.splitlines() if "长y" in ln)
    assert len(long_line) < MAX_LINE + 50 and "10,0" in long_line  # cut, and says how long it was


def test_xml_safe() -> None:
    assert xml_safe("a\x00b\x08\x0b\x0c\x1f\x7f\t\n\r") == "a\\x00b\\x08\\x0b\\x0c\\x1f\x7f\t\n\r"
    assert xml_safe("\udc80\ufffe\uffff中文😀") == "\\udc80\\ufffe\\uffff中文😀"
    assert xml_safe(None) == ""


def test_junit_control_characters_in_ids_and_reasons(tmp_path: Path) -> None:
    """Attributes too: a rule id, ledger and skip reason with control characters stay well-formed."""
    result = fundaudit.AuditResult(ledgers={}, run={}, masked=True, rules=[
        {"id": "R\x01", "ledger": "x\x02", "severity": "error", "status": "skipped", "reason_en": "no\x1b col",
         "findings": 0},
        {"id": "R2", "ledger": "x", "severity": "error", "status": "error", "reason_en": "boom\x00", "findings": 0},
    ])
    root = ET.parse(result.to_junit(tmp_path / "j.xml")).getroot()
    cases = list(root.iter("testcase"))
    assert [c.get("name") for c in cases] == ["R\\x01", "R2"]
    assert cases[0].find("skipped").get("message") == "no\\x1b col"  # type: ignore[union-attr]
    assert cases[1].find("error").get("message") == "boom\\x00"  # type: ignore[union-attr]


@pytest.mark.parametrize("key", ["xlsx", "xlsx_en"])
def test_excel_loads_and_neutralises(reports: dict[str, Path], key: str) -> None:
    wb = load_workbook(reports[key])
    ws = wb.worksheets[1]
    messages = [str(ws.cell(row=r, column=5).value) for r in range(2, ws.max_row + 1)]
    assert any("<script>alert(1)</script>" in m for m in messages)
    assert any('=HYPERLINK("http://x")' in m for m in messages)
    assert any("ctl" in m and "char" in m for m in messages)
    assert_inert_workbook(wb)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        for name, value in attrs:
            if name in ("href", "src", "action"):
                assert (value or "").startswith("#"), value  # links only to anchors of the page

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("key", ["html", "html_en"])
def test_html_parses_and_escapes(reports: dict[str, Path], key: str) -> None:
    html = reports[key].read_text("utf-8")
    page = _Tags()
    page.feed(html)
    assert page.scripts == 1  # only the report's own script
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = "".join(page.text)
    assert '=HYPERLINK("http://x")' in text and "@SUM(1)" in text
    assert "y" * 1_001 not in html  # long text cut
