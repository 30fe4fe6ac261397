"""A finding's evidence: every ref's source row as read (header -> cell text, as in the file), kept from loading
to the findings in a compressed store (fundaudit.io.asread), masked unless the run is unmasked."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fundaudit
from fundaudit.engine import run_rules
from fundaudit.inputs import collect
from fundaudit.io import asread
from fundaudit.io.asread import RowsAsRead, display_headers
from fundaudit.period import parse_period
from tests.checks.harness import REGION, A, shipped

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
A_MASKED = A[:6] + "*" * 8 + A[-4:]


def _aid_xlsx(directory: Path) -> Path:
    """送温暖 with a title row, a 填报单位 line, a blank header (J), a repeated header (其他 in K and L), an unmapped
    联系电话 column holding a mobile number, 基层工会 merged over rows 4-5, and a 合计 row that is 100 off."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "送温暖"
    ws["A1"] = "2016年送温暖发放表"
    ws.merge_cells("A1:L1")
    ws["A2"] = "填报单位：甲工会"
    header = ["序号", "姓名", "身份证号码", "基层工会", "金额", "发放方式", "银行账号", "发放日期", "联系电话", None,
              "其他", "其他"]
    rows = [
        ["1", "张三", A, "甲工会", 1000, "现金", None, "2016-05-10", "13812345678", "x1", "a", "b"],
        ["2", "李四", "12345", None, 500, "银行代发", "6222020000000001", "2016-05-11", None, None, None, None],
        ["合计", None, None, None, 1600, None, None, None, None, None, None, None],
    ]
    for c, v in enumerate(header, 1):
        if v is not None:
            ws.cell(3, c, v)
    for r, row in enumerate(rows, 4):
        for c, v in enumerate(row, 1):
            if v is not None:
                ws.cell(r, c, v)
    ws.merge_cells("D4:D5")
    path = directory / "aid.xlsx"
    wb.save(path)
    return path


#: The staff list as a DataFrame that carries its own provenance (file, sheet, row columns).
STAFF = pd.DataFrame({"姓名": ["张三"], "身份证号码": [A], "职务": ["会计"], "file": ["人员.xlsx"], "sheet": ["名单"],
                      "row": ["7"]})


def _by_rule(result: fundaudit.AuditResult) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in result.findings_records():
        out.setdefault(f["rule"], []).append(f)
    return out


ROW4 = {"序号": "1", "姓名": "张三", "身份证号码": A_MASKED, "基层工会": "甲工会", "金额": "1000", "发放方式": "现金",
        "银行账号": "", "发放日期": "2016-05-10", "联系电话": "*******5678", "J": "x1", "其他": "a", "其他 (L)": "b"}


def test_xlsx_rows_as_read_masked(tmp_path: Path) -> None:
    path = _aid_xlsx(tmp_path)
    result = fundaudit.audit({"disbursements": path, "staff": STAFF}, period="2016")
    found = _by_rule(result)
    file = str(path)
    where = {"kind": "disbursements", "file": file, "sheet": "送温暖"}
    assert found["DISB-CASH"][0]["evidence"] == [{**where, "row": 4, "role": "payment", "cells": ROW4}]
    # the merged 基层工会 reads as its first cell; an empty cell under the blank header is left out
    assert found["DISB-ID"][0]["evidence"] == [{**where, "row": 5, "role": "payment", "cells": {
        "序号": "2", "姓名": "李四", "身份证号码": "*2345", "基层工会": "甲工会", "金额": "500", "发放方式": "银行代发",
        "银行账号": "************0001", "发放日期": "2016-05-11", "联系电话": "", "其他": "", "其他 (L)": ""}}]
    # a cited row of another input: the staff row, resolved by the DataFrame's own provenance
    assert found["XL-STAFF-RELATIVE"][0]["evidence"] == [
        {**where, "row": 4, "role": "payment", "cells": ROW4},
        {"kind": "staff", "file": "人员.xlsx", "sheet": "名单", "row": 7, "role": "staff",
         "cells": {"姓名": "张三", "身份证号码": A_MASKED, "职务": "会计", "file": "人员.xlsx", "sheet": "名单",
                   "row": "7"}},
    ]
    # LEDGER-TOTAL's 合计 row, as read
    assert found["LEDGER-TOTAL"][0]["evidence"] == [{**where, "row": 6, "role": "declared_total", "cells": {
        "序号": "合计", "姓名": "", "身份证号码": "", "基层工会": "", "金额": "1600", "发放方式": "", "银行账号": "",
        "发放日期": "", "联系电话": "", "其他": "", "其他 (L)": ""}}]


def test_unmasked_run_shows_the_cells_as_in_the_file(tmp_path: Path) -> None:
    result = fundaudit.audit({"disbursements": _aid_xlsx(tmp_path), "staff": STAFF}, period="2016", unmask=True)
    cells = _by_rule(result)["DISB-CASH"][0]["evidence"][0]["cells"]
    assert cells == {**ROW4, "身份证号码": A, "联系电话": "13812345678"}


def test_masked_result_masks_evidence_again(tmp_path: Path) -> None:
    """AuditResult's second net: evidence put into a masked result unmasked comes out masked."""
    result = fundaudit.audit({"disbursements": _aid_xlsx(tmp_path), "staff": STAFF}, period="2016", unmask=True)
    masked = fundaudit.AuditResult(ledgers=result.ledgers, run=result.run, findings=result.findings, masked=True)
    cells = _by_rule(masked)["DISB-CASH"][0]["evidence"][0]["cells"]
    assert (cells["身份证号码"], cells["联系电话"]) == (A_MASKED, "*******5678")


def _gbk_csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode("gbk"))
    return path


def test_csv_gbk_several_files_and_parquet(tmp_path: Path) -> None:
    """Two GBK CSV files of one kind: each finding's row comes from its own file; the staff list from parquet."""
    head = ["姓名", "身份证号码", "金额", "发放方式", "银行账号", "发放日期", "备注"]
    one = _gbk_csv(tmp_path / "一月.csv", [head, ["张三", A, "1,000.00", "现金", "", "2016-01-10", "电话 13812345678"]])
    two = _gbk_csv(tmp_path / "二月.csv", [head, ["王五", "", "200", "银行代发", "6222020000000001", "2016-02-10", ""],
                                           ["赵六", "", "300", "现款", "", "2016-02-11", "补发"]])
    pd.DataFrame({"姓名": ["张三"], "身份证号码": [A], "职务": ["出纳"]}).to_parquet(tmp_path / "staff.parquet")
    result = fundaudit.audit({"disbursements": [one, two], "staff": tmp_path / "staff.parquet"}, period="2016")
    cash = {(e["file"], e["row"]): e["cells"] for f in _by_rule(result)["DISB-CASH"] for e in f["evidence"]}
    assert cash == {
        (str(one), 2): {"姓名": "张三", "身份证号码": A_MASKED, "金额": "1,000.00", "发放方式": "现金", "银行账号": "",
                        "发放日期": "2016-01-10", "备注": "电话 *******5678"},
        (str(two), 3): {"姓名": "赵六", "身份证号码": "", "金额": "300", "发放方式": "现款", "银行账号": "",
                        "发放日期": "2016-02-11", "备注": "补发"},
    }
    relative = _by_rule(result)["XL-STAFF-RELATIVE"][0]["evidence"]
    assert relative[1] == {"kind": "staff", "file": str(tmp_path / "staff.parquet"), "sheet": None, "row": 2,
                           "role": "staff", "cells": {"姓名": "张三", "身份证号码": A_MASKED, "职务": "出纳"}}


def test_a_row_that_cannot_be_shown_says_why() -> None:
    """A ledger built without fundaudit's readers (no rows as read) gives ``cells: None`` and a note."""
    ledgers = collect([], frames={"disbursements": pd.DataFrame(
        {"姓名": ["张三"], "身份证号码": [A], "金额": ["100"], "发放方式": ["现金"], "发放日期": ["2016-03-01"]})})
    ledgers["disbursements"].as_read.clear()
    rules = [r for r in shipped().active() if r.id == "DISB-CASH"]
    findings = run_rules(ledgers, rules, period=parse_period("2016"), region_code=REGION).findings
    [entry] = findings["evidence"].iloc[0]
    why = "the rows as read were not kept for this input (disbursements was not read by fundaudit from a file or table)"
    assert (entry["cells"], str(entry["note"])) == (None, why)


def test_store_fetches_rows_across_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asread, "BATCH_ROWS", 3)
    body = pd.DataFrame({0: pd.Series([f"r{i}" for i in range(10)], dtype="str"),
                         1: pd.Series([str(i * i) for i in range(10)], dtype="str")})
    store = RowsAsRead.build("f.csv", None, ["a", ""], body, np.arange(5, 15))
    assert store.batch_starts.tolist() == [0, 3, 6, 9, 10]
    at = store.positions("f.csv", None, np.array([14, 5, 9, 99, 9]))
    assert at.tolist() == [9, 0, 4, -1, 4]
    got = store.frame(at[at >= 0])
    assert got.to_dict("list") == {0: ["r9", "r0", "r4", "r4"], 1: ["81", "0", "16", "16"]}
    assert store.positions("g.csv", None, np.array([5])).tolist() == [-1]


def test_display_headers() -> None:
    assert display_headers(["姓名", " ", "金额", "金额", "", "备注 "]) == ("姓名", "B", "金额", "金额 (D)", "E", "备注")


def test_every_sample_finding_has_evidence_for_every_ref() -> None:
    result = fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016")
    records = result.findings_records()
    assert len(records) == 68
    for f in records:
        assert [{k: v for k, v in e.items() if k != "cells"} for e in f["evidence"]] == f["refs"], f["id"]
        assert all(isinstance(e["cells"], dict) and e["cells"] for e in f["evidence"]), f["id"]
    # one row checked against the file itself: staff.csv line 9, the relative XL-STAFF-RELATIVE cites
    lines = list(csv.reader((SAMPLES / "staff.csv").read_text("utf-8-sig").splitlines()))
    cited = [e for f in records if f["rule"] == "XL-STAFF-RELATIVE" for e in f["evidence"] if e["kind"] == "staff"]
    row9 = next(e["cells"] for e in cited if e["row"] == 9)
    assert list(row9) == lines[0]
    assert [row9[h] for h in ("姓名", "职务", "亲属关系人", "关系")] == [lines[8][lines[0].index(h)]
                                                                 for h in ("姓名", "职务", "亲属关系人", "关系")]
    assert json.dumps(records, ensure_ascii=False).count(lines[8][1]) == 0  # the ID is never shown whole
    address = lines[8][lines[0].index("家庭住址")]
    assert row9["家庭住址"] == address[:3] + "*" * (len(address) - 3)  # personal free text: its first characters


@pytest.fixture(scope="module")
def aid_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[fundaudit.AuditResult, Path]:
    directory = tmp_path_factory.mktemp("aid")
    return fundaudit.audit({"disbursements": _aid_xlsx(directory), "staff": STAFF}, period="2016"), directory


def test_findings_json_has_evidence_beside_refs(aid_run: tuple[fundaudit.AuditResult, Path]) -> None:
    result, directory = aid_run
    doc = json.loads(result.to_json(directory / "findings.json").read_text("utf-8"))
    keys = list(doc["findings"][0])
    assert keys[keys.index("refs") + 1] == "evidence"
    cash = next(f for f in doc["findings"] if f["rule"] == "DISB-CASH")
    assert cash["evidence"][0]["cells"] == ROW4


@pytest.mark.parametrize(("lang", "header"), [("zh", "证据"), ("en", "Evidence")])
def test_excel_findings_sheet_has_the_rows_as_text(aid_run: tuple[fundaudit.AuditResult, Path], lang: str,
                                                    header: str) -> None:
    import openpyxl

    result, directory = aid_run
    wb = openpyxl.load_workbook(result.to_excel(directory / f"findings-{lang}.xlsx", lang=lang))
    ws = wb.worksheets[1]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][15] == header
    by_rule = {r[1]: r[15] for r in rows[1:]}
    file = str(directory / "aid.xlsx")
    row4 = (f"{file}[送温暖]:4: 序号=1; 姓名=张三; 身份证号码={A_MASKED}; 基层工会=甲工会; 金额=1000; 发放方式=现金; "
            "发放日期=2016-05-10; 联系电话=*******5678; J=x1; 其他=a; 其他 (L)=b")
    assert by_rule["DISB-CASH"] == row4
    assert by_rule["XL-STAFF-RELATIVE"] == (row4 + f"\n人员.xlsx[名单]:7: 姓名=张三; 身份证号码={A_MASKED}; 职务=会计; "
                                            "file=人员.xlsx; sheet=名单; row=7")


def test_excel_evidence_is_formula_safe(tmp_path: Path) -> None:
    """A file named like a formula starts the evidence cell: the cell is text, with the leading ``'``."""
    frame = pd.DataFrame({"姓名": ["张三"], "金额": ["100"], "发放方式": ["现金"], "发放日期": ["2016-03-01"]})
    result = fundaudit.audit({"disbursements": frame}, period="2016")
    findings = result.findings.copy()
    findings["evidence"] = [[{**e, "file": '=HYPERLINK("http://x")'} for e in ev] for ev in findings["evidence"]]
    result.findings = findings
    import openpyxl

    ws = openpyxl.load_workbook(result.to_excel(tmp_path / "f.xlsx")).worksheets[1]
    shown = "'=HYPERLINK(\"http://x\"):2: 姓名=张三; 金额=100; 发放方式=现金; 发放日期=2016-03-01"
    assert ws.cell(2, 16).value == shown
    assert ws.cell(2, 16).data_type == "s"


def test_html_shows_a_findings_rows_on_a_click(aid_run: tuple[fundaudit.AuditResult, Path]) -> None:
    import re

    from fundaudit.report.html import render_html

    result, _ = aid_run
    html = render_html(result)
    blocks = re.findall(r'<details class="ev"><summary>查看原始行</summary>(.*?)</details>', html, flags=re.S)
    assert len(blocks) == len(result.findings)
    cash = next(b for b in blocks if "现金" in b and "名单" not in b)
    assert re.findall(r'<span class="k">(.*?)</span> (.*?)</span>', cash) == [
        (k, v) for k, v in ROW4.items() if v]
    assert "送温暖 › 行号 4 · 发放记录" in cash
    assert "只有前" not in html  # every finding carries its rows: no cap to announce


def test_html_evidence_cap_is_said_in_the_page(aid_run: tuple[fundaudit.AuditResult, Path]) -> None:
    from fundaudit.report.html import render_html

    result, _ = aid_run
    html = render_html(result, max_evidence=1, lang="en")
    assert html.count('<details class="ev">') == 1
    n = len(result.findings) - 1
    assert (f"only the first 100 findings of each rule (1 in the whole report) carry their rows as read (click “Show "
            f"the rows as read”); the rows of the other {n} findings are in the Evidence column") in html


def test_profile_reference_table_rows_as_read() -> None:
    """A profile's reference table (loaded from its CSV in fundaudit/profiles) keeps its rows as read like any
    input: a ref into it resolves to the CSV line."""
    from fundaudit.engine.findings import add_evidence

    paid = STAFF.assign(金额="100", 发放方式="银行代发", 银行账号="6222020000000001", 发放日期="2016-03-01")
    result = fundaudit.audit({"disbursements": paid}, profile="anhui-2016")
    caps = result.ledgers["caps"]
    file = caps.inputs[0].file
    assert file == "profile:anhui-2016/anhui-caps.csv"
    ref = {"kind": "caps", "file": file, "sheet": None, "row": 3, "role": "cap"}
    findings = add_evidence(pd.DataFrame({"refs": [[ref]]}), result.ledgers, masked=True)
    from importlib import resources

    lines = list(csv.reader(resources.files("fundaudit.profiles").joinpath("tables/anhui-caps.csv")
                            .read_text("utf-8-sig").splitlines()))
    assert findings["evidence"].iloc[0] == [{**ref, "cells": dict(zip(lines[0], lines[2], strict=True))}]
