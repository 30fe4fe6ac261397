"""The 核实 round trip (issue 16 items 1 and 2): export workbooks, fill them as a verifier would (openpyxl saves
them as Excel does: rows re-sorted, a row deleted, dates as date cells), import the answers, write decisions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from fundaudit import triage
from fundaudit.triage import TriageError

FP = [f"{i:020x}" for i in range(1, 7)]


def _finding(i: int, union: str | None, rule: str = "DISB-CASH", message: str = "现金发放") -> dict[str, Any]:
    return {
        "id": f"F{i:06d}", "fingerprint": FP[i - 1], "rule": rule, "severity": "error", "kind": "disbursements",
        "message": message, "message_en": "cash", "amount": "800.00",
        "values": {"grassroots_union": union} if union else {},
        "refs": [{"kind": "disbursements", "file": "aid.xlsx", "sheet": "送温暖", "row": 10 + i, "role": "payment"},
                 {"kind": "register", "file": "reg.csv", "sheet": None, "row": 3, "role": "register_file"}],
        "evidence": [{"kind": "disbursements", "file": "aid.xlsx", "sheet": "送温暖", "row": 10 + i,
                      "role": "payment", "cells": {"姓名": "张三", "金额": "800"}}],
    }


DOC = {"generated_at": "2026-12-07T00:00:00+00:00",
       "rules": [{"id": "DISB-CASH", "title": "现金发放", "title_en": "Cash payment"},
                 {"id": "DISB-DUP", "title": "重复发放", "title_en": "Duplicate payment"}],
       "findings": [_finding(1, "甲工会"), _finding(2, "乙工会"), _finding(3, "甲工会", "DISB-DUP"),
                    _finding(4, None), _finding(5, "甲工会", message="=HYPERLINK(\"x\")"), _finding(6, "甲工会")]}


@pytest.fixture
def exported(tmp_path: Path) -> list[Path]:
    src = tmp_path / "findings.json"
    src.write_text(json.dumps(DOC, ensure_ascii=False), encoding="utf-8")
    return triage.export(src, tmp_path / "out")


def _sheet(path: Path) -> tuple[Any, Any]:
    wb = openpyxl.load_workbook(path)
    return wb, wb.worksheets[0]


def _row_of(ws: Any, fingerprint: str) -> int:
    return next(r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value == fingerprint)


def test_one_workbook_per_union_and_one_for_findings_without(exported: list[Path]) -> None:
    assert [p.name for p in exported] == [
        "疑点核实_乙工会.xlsx", "疑点核实_甲工会.xlsx", "疑点核实_未归属基层工会.xlsx"]
    wb, ws = _sheet(exported[1])
    assert wb.sheetnames == ["疑点核实", "_fundaudit"]
    assert wb["_fundaudit"].sheet_state == "veryHidden"
    assert [c.value for c in ws[3]] == ["疑点编号", "序号", "规则", "严重程度", "疑点说明", "涉及金额", "出处",
                                        "证据（原始行）", "核实结论", "理由", "证据索引", "核实人", "核实日期"]
    assert [ws.cell(r, 1).value for r in range(4, ws.max_row + 1)] == [FP[0], FP[2], FP[4], FP[5]]
    assert ws.cell(4, 3).value == "DISB-CASH 现金发放" and ws.cell(4, 6).value == 800.0
    assert ws.cell(4, 7).value == "发放记录: aid.xlsx [送温暖] 11\n困难职工档案: reg.csv 3"
    assert ws.cell(4, 8).value == "aid.xlsx 11: 姓名=张三; 金额=800"
    assert ws.cell(6, 5).value == "'=HYPERLINK(\"x\")"  # formula-safe: text, never run
    # protected except the five columns to fill; the answer is a drop-down
    assert ws.protection.sheet is True
    assert [ws.cell(4, c).protection.locked for c in range(1, 14)] == [True] * 8 + [False] * 5
    (validation,) = ws.data_validations.dataValidation
    assert validation.formula1 == '"确认,排除,整改中,已整改"' and str(validation.sqref) == "I4:I7"


def test_by_rule_and_none_and_english(tmp_path: Path) -> None:
    by_rule = triage.export(DOC, tmp_path / "r", by="rule", lang="en")
    assert [p.name for p in by_rule] == ["verification_DISB-CASH.xlsx", "verification_DISB-DUP.xlsx"]
    (one,) = triage.export(DOC, tmp_path / "n", by="none")
    _, ws = _sheet(one)
    assert ws.max_row == 3 + len(DOC["findings"])
    _, en = _sheet(by_rule[0])
    assert en.cell(3, 1).value == "Finding no." and en.cell(3, 9).value == "Answer"
    with pytest.raises(Exception, match="--by"):
        triage.export(DOC, tmp_path / "x", by="employer")


def _fill(path: Path, answers: dict[str, tuple[Any, ...]], out: Path, *, sort: bool = False,
          delete: str | None = None) -> Path:
    """Answer findings by fingerprint (answer, reason, evidence index, by, date), as a verifier in Excel would."""
    wb, ws = _sheet(path)
    for fp, values in answers.items():
        r = _row_of(ws, fp)
        for c, v in enumerate(values, start=9):
            ws.cell(r, c).value = v
    if delete:
        ws.delete_rows(_row_of(ws, delete))
    if sort:  # reverse the data rows, as a sort by another column would reorder them
        rows = [[c.value for c in ws[r]] for r in range(4, ws.max_row + 1)]
        for r, values in enumerate(reversed(rows), start=4):
            for c, v in enumerate(values, start=1):
                ws.cell(r, c).value = v
    wb.save(out)
    return out


def test_import_reads_resorted_workbooks_with_a_deleted_row(exported: list[Path], tmp_path: Path) -> None:
    a = _fill(exported[1], {FP[0]: ("确认", None, "D-1", "王会计", dt.datetime(2017, 3, 1)),
                            FP[2]: ("排除", "同名不同人", None, "王会计", "2017/3/2"),
                            FP[4]: ("整改中",)}, tmp_path / "a.xlsx", sort=True, delete=FP[5])
    b = _fill(exported[2], {FP[3]: ("rectified", "已退回", None, None, None)}, tmp_path / "b.xlsx")
    got = triage.load([b, a])
    assert got.to_dict("records") == [
        {"fingerprint": FP[3], "rule": "DISB-CASH", "status": "rectified", "reason": "已退回", "evidence": "",
         "by": "", "date": "", "source_file": str(b), "source_row": 4},
        {"fingerprint": FP[4], "rule": "DISB-CASH", "status": "in_progress", "reason": "", "evidence": "",
         "by": "", "date": "", "source_file": str(a), "source_row": 4},
        {"fingerprint": FP[2], "rule": "DISB-DUP", "status": "excluded", "reason": "同名不同人", "evidence": "",
         "by": "王会计", "date": "2017-03-02", "source_file": str(a), "source_row": 5},
        {"fingerprint": FP[0], "rule": "DISB-CASH", "status": "confirmed", "reason": "", "evidence": "D-1",
         "by": "王会计", "date": "2017-03-01", "source_file": str(a), "source_row": 6},
    ]


def test_every_bad_answer_is_named_and_nothing_is_imported(exported: list[Path], tmp_path: Path) -> None:
    a = _fill(exported[1], {FP[0]: ("确定",), FP[2]: ("排除",), FP[4]: (None, "说明"),
                            FP[5]: ("确认", None, None, None, "下周")}, tmp_path / "a.xlsx")
    wb, ws = _sheet(a)
    ws.cell(8, 1).value, ws.cell(8, 9).value = FP[1], "确认"  # 乙工会's finding, pasted into 甲's workbook
    ws.cell(9, 9).value = "确认"  # an answer on a row without a finding number
    wb.save(a)
    with pytest.raises(TriageError) as err:
        triage.load([a])
    where = f"{a} [疑点核实]"
    assert str(err.value).splitlines() == [
        "6 处核实结论无法导入，未写入任何文件：",
        f"{where} 第 4 行：核实结论“确定”无法识别（可选：确认、排除、整改中、已整改 / confirmed, excluded, "
        "in_progress, rectified）",
        f"{where} 第 5 行（疑点 {FP[2]}）：排除须填写理由",
        f"{where} 第 6 行（疑点 {FP[4]}）：填写了理由或核实人，但未选择核实结论",
        f"{where} 第 7 行：核实日期“下周”不是日期",
        f"{where} 第 8 行：疑点编号 {FP[1]} 不在本工作簿导出时的疑点中",
        f"{where} 第 9 行：填写了核实内容，但疑点编号为空",
    ]
    assert err.value.message("en").splitlines()[0] == "6 answer(s) cannot be imported; nothing was written:"


def test_two_answers_for_one_finding_conflict(exported: list[Path], tmp_path: Path) -> None:
    a = _fill(exported[1], {FP[0]: ("确认",)}, tmp_path / "a.xlsx")
    same = _fill(exported[1], {FP[0]: ("确认",)}, tmp_path / "same.xlsx")
    other = _fill(exported[1], {FP[0]: ("排除", "误报")}, tmp_path / "other.xlsx")
    assert triage.load([a, same])["fingerprint"].tolist() == [FP[0]]  # the same answer twice is one
    with pytest.raises(TriageError) as err:
        triage.load([a, other])
    assert err.value.problems == [("triage_conflict", {"fingerprint": FP[0], "first": f"{a} [疑点核实] 4",
                                                        "second": f"{other} [疑点核实] 4"})]


def test_a_workbook_fundaudit_did_not_export_is_refused(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["疑点编号", "核实结论"])
    wb.active.append([FP[0], "确认"])
    wb.save(tmp_path / "mine.xlsx")
    with pytest.raises(TriageError) as err:
        triage.load([tmp_path / "mine.xlsx"])
    assert [code for code, _ in err.value.problems] == ["triage_not_export"]


def test_decisions_file_merges_and_keeps_history(exported: list[Path], tmp_path: Path) -> None:
    first = triage.load([_fill(exported[1], {FP[0]: ("确认", None, None, "王", None), FP[2]: ("整改中",)},
                               tmp_path / "a.xlsx")])
    later = triage.load([_fill(exported[1], {FP[2]: ("已整改", None, "凭证12", "李", "2017-06-01")},
                               tmp_path / "b.xlsx")])
    path = triage.write_decisions(first, tmp_path / "TRIAGE.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens it as UTF-8
    triage.write_decisions(later, path, merge=True)
    got = triage.read_decisions(path)
    assert got[["fingerprint", "status", "evidence", "by"]].to_dict("records") == [
        {"fingerprint": FP[0], "status": "confirmed", "evidence": "", "by": "王"},
        {"fingerprint": FP[2], "status": "rectified", "evidence": "凭证12", "by": "李"},
    ]
    (replaced,) = json.loads(got.loc[1, "history"])
    assert (replaced["status"], replaced["source_file"]) == ("in_progress", str(tmp_path / "a.xlsx"))
    triage.write_decisions(later, path)  # without merge: replaced as a whole
    assert triage.read_decisions(path)["fingerprint"].tolist() == [FP[2]]


def test_a_damaged_decisions_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "T.csv"
    pd.DataFrame({"fingerprint": [FP[0]], "status": ["done"]}).to_csv(bad, index=False)
    with pytest.raises(Exception, match="不是 fundaudit 的核实决定文件"):
        triage.read_decisions(bad)


def _frame(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame({"fingerprint": [r[0] for r in rows], "rule": [r[1] for r in rows],
                         "subject": [r[2] for r in rows], "amount_fen": [100] * len(rows)})


def test_apply_decisions_and_baseline() -> None:
    baseline = {"run": {"period": {"start": "2016-01-01", "end": "2016-12-31"}, "subject_key_id": "k1"}, "findings": [
        {"fingerprint": "old-kept", "rule": "DISB-DUP", "subject": "s1",
         "triage": {"status": "in_progress", "reason": "", "evidence": "", "by": "王", "date": "2016-12-01"}},
        {"fingerprint": "old-gone", "rule": "DISB-CASH", "subject": "s2", "refs": [{"row": 3}],
         "triage": {"status": "confirmed", "reason": "", "evidence": "", "by": "", "date": "2016-11-01"}},
    ]}
    decisions = pd.DataFrame([
        {"fingerprint": "new-1", "status": "excluded", "reason": "同名", "evidence": "", "by": "李", "date": ""},
        {"fingerprint": "ghost", "status": "confirmed", "reason": "", "evidence": "", "by": "", "date": ""},
    ])
    now = _frame(("old-kept", "DISB-DUP", "s1"), ("new-1", "DISB-CASH", "s9"), ("new-2", "DISB-CASH", "s2"))
    got, extra = triage.apply(now, decisions=decisions, baseline=baseline, subject_key_id="k1")
    assert [t["status"] for t in got["triage"]] == ["in_progress", "excluded", "pending"]
    assert got["since_baseline"].tolist() == ["persisting", "new", "new"]
    assert got["recurs_after"].tolist() == [None, None, {
        "fingerprint": "old-gone", "period": {"start": "2016-01-01", "end": "2016-12-31"}, "status": "confirmed",
        "reason": "", "date": "2016-11-01"}]
    assert extra["recurrence"] == "ok"
    assert [(r["fingerprint"], r["triage"]["status"]) for r in extra["resolved_since_baseline"]] == [
        ("old-gone", "confirmed")]
    assert [d["fingerprint"] for d in extra["stale_decisions"]] == ["ghost"]
    assert triage.counted(got).tolist() == [True, False, True]
    alone, extra = triage.apply(now)
    assert alone["since_baseline"].isna().all() and extra == {"resolved_since_baseline": [], "stale_decisions": [],
                                                               "recurrence": None}


def test_cli_round_trip_and_bad_answers_exit_2_writing_nothing(tmp_path: Path, capsys: Any) -> None:
    from fundaudit.cli import main

    src = tmp_path / "findings.json"
    src.write_text(json.dumps(DOC, ensure_ascii=False), encoding="utf-8")
    assert main(["triage", "export", str(src), "--out", str(tmp_path / "out"), "--by", "rule"]) == 0
    written = capsys.readouterr().out.splitlines()
    assert [Path(p).name for p in written] == ["疑点核实_DISB-CASH.xlsx", "疑点核实_DISB-DUP.xlsx"]
    good = _fill(Path(written[0]), {FP[0]: ("确认",)}, tmp_path / "good.xlsx")
    bad = _fill(Path(written[1]), {FP[2]: ("排除",)}, tmp_path / "bad.xlsx")
    out = tmp_path / "TRIAGE.csv"
    assert main(["triage", "import", str(good), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"已导入 1 条核实结论：{out}\n"
    before = out.read_bytes()
    assert main(["triage", "import", str(bad), "--out", str(out), "--merge"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fundaudit: 1 处核实结论无法导入，未写入任何文件：\n") and "排除须填写理由" in err
    assert out.read_bytes() == before  # nothing written


@pytest.fixture(scope="module")
def samples_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from fundaudit.cli import main

    out = tmp_path_factory.mktemp("run") / "report"
    assert main(["audit", "samples/", "--profile", "anhui-2016", "--period", "2016", "--out", str(out),
                 "--format", "json", "--quiet"]) == 1
    return out, json.loads((out / "findings.json").read_text("utf-8"))


def test_audit_applies_decisions_and_compares_with_a_baseline(samples_run: tuple[Path, dict[str, Any]],
                                                              tmp_path: Path) -> None:
    """Excluded findings leave the counts, the money at issue and the exit code; the baseline marks findings new
    or persisting and lists the ones gone; a decision for a finding that no longer occurs is stale."""
    from fundaudit.cli import main

    _, doc = samples_run
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    decided = [{"fingerprint": f["fingerprint"], "rule": f["rule"], "status": "excluded", "reason": "已核实",
                "evidence": "", "by": "王", "date": "2017-03-01", "source_file": "a.xlsx", "source_row": "4"}
               for f in errors]
    decided[0]["reason"] = "已核实，见王会计 13812345678 的说明"  # free text a verifier typed: masked like the rest
    decided.append({**decided[0], "fingerprint": "0" * 20, "status": "confirmed", "reason": ""})
    triage.write_decisions(pd.DataFrame(decided), tmp_path / "TRIAGE.csv")
    gone = {**doc["findings"][0], "fingerprint": "f" * 20, "triage": {"status": "confirmed", "reason": "",
                                                                      "evidence": "", "by": "", "date": ""}}
    baseline = {**doc, "findings": [*doc["findings"][1:], gone]}
    (tmp_path / "base.json").write_text(json.dumps(baseline, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "report"
    code = main(["audit", "samples/", "--profile", "anhui-2016", "--period", "2016", "--out", str(out), "--format",
                 "json,junit", "--quiet", "--triage", str(tmp_path / "TRIAGE.csv"),
                 "--baseline", str(tmp_path / "base.json")])
    assert code == 0  # the same run exits 1 without decisions: every error finding was excluded
    again = json.loads((out / "findings.json").read_text("utf-8"))
    assert "<failure" not in (out / "junit.xml").read_text("utf-8")  # junit agrees with the exit code
    s = again["summary"]
    assert s["by_severity"] == {"error": 0, "warning": doc["summary"]["by_severity"]["warning"],
                                "info": doc["summary"]["by_severity"]["info"]}
    assert s["by_triage"]["excluded"]["findings"] == len(errors)
    assert s["by_triage"]["pending"]["findings"] == len(doc["findings"]) - len(errors)
    assert s["by_baseline"] == {"new": 1, "persisting": len(doc["findings"]) - 1, "resolved": 1, "recurring": 1}
    first = again["findings"][0]
    # the baseline's finding "f"*20 has the first finding's rule and subject: a new finding recurring after it
    assert (first["since_baseline"], first["recurs_after"]) == ("new", {
        "fingerprint": "f" * 20, "period": doc["run"]["period"], "status": "confirmed", "reason": "", "date": ""})
    assert again["run"]["recurrence"] == "ok"
    assert [r["fingerprint"] for r in again["resolved_since_baseline"]] == ["f" * 20]
    assert [d["fingerprint"] for d in again["stale_decisions"]] == ["0" * 20]
    reasons = [f["triage"]["reason"] for f in again["findings"] if f["fingerprint"] == errors[0]["fingerprint"]]
    assert reasons == ["已核实，见王会计 *******5678 的说明"]
    # a decisions file that is not one is refused before any input is read (exit 2)
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["audit", "samples/", "--out", str(tmp_path / "r2"), "--quiet", "--triage",
                 str(tmp_path / "bad.csv")]) == 2


def test_the_workbook_prints_on_a4_landscape_one_page_wide_with_rows_tall_enough(exported: list[Path]) -> None:
    """A verifier prints the sheet to sign it: every column on one page's width, the header on every page,
    and each finding's row tall enough for its wrapped text (xlsxwriter cannot measure, Excel does not grow)."""
    _, ws = _sheet(exported[1])
    assert (ws.page_setup.orientation, ws.page_setup.paperSize) == ("landscape", 9)
    # fitToWidth absent is its default, 1 page (ECMA-376 CT_PageSetup); fitToHeight 0: as many pages as it takes
    assert (ws.sheet_properties.pageSetUpPr.fitToPage, ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (
        True, 1, 0)
    assert ws.print_title_rows == "$1:$3"
    assert ws.oddFooter.left.text == "甲工会" and ws.oddFooter.right.text == "&P / &N"
    two_refs = ws.row_dimensions[4].height  # two refs, one evidence row: two lines in 出处
    assert two_refs is not None and two_refs >= 2 * 14
    assert "A2:M2" in {str(r) for r in ws.merged_cells.ranges}  # the instructions across the sheet
