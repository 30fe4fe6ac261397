"""workpapers.xlsx (issue 15 item 4): the working papers of a run on the samples, every field of every paper
read back with openpyxl and checked against the run; index numbers stable across runs; masked; English
labels; entity, preparer and reviewer shown or blank; evidence rows when the findings carry them; formula-safe
cells; and the workbook converted to PDF by LibreOffice, one page range per paper."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fundaudit
from fundaudit.cli import main
from fundaudit.report import workpapers
from fundaudit.report.html import strings
from fundaudit.report.workpapers import MAX_FINDINGS, SUMMARY_INDEX, index_number, sheet_name
from fundaudit.run import AuditResult
from tests.pii import pii_found
from tests.report.test_artefacts import _personal_values

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
PERIOD = "2016-01-01 至 2016-12-31"
WHO = {"entity": "黄山区总工会经费审查委员会", "preparer": "张审计", "reviewer": "李复核"}


@pytest.fixture(scope="module")
def result() -> AuditResult:
    return fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016", **WHO)


@pytest.fixture(scope="module")
def book(result: AuditResult, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The Chinese working papers with findings.json as their attachment: (workpapers.xlsx, findings.json)."""
    out = tmp_path_factory.mktemp("wp")
    attached = result.to_json(out / "findings.json")
    return result.to_workpapers(out / "workpapers.xlsx", attachments=[attached]), attached


@dataclass
class Paper:
    """One sheet read back: the title, the header block, the labelled fields (a list of lines each), the
    table (head and rows) of 审计认定的事实."""

    name: str
    title: str
    header: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, list[Any]] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)
    head: list[Any] = field(default_factory=list)
    table: list[list[Any]] = field(default_factory=list)


def _read(path: Path, lang: str = "zh") -> list[Paper]:
    t = strings()[lang]
    sections = {t["wp_process"], t["wp_facts"]}
    after_table = t["wp_conclusion"]
    papers = []
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        rows = [[*r, *[None] * (6 - len(r))] for r in ws.iter_rows(values_only=True)]
        p = Paper(ws.title, rows[0][0])
        for r in rows[1:5]:
            p.header[r[0]] = r[1]
            p.header[r[3]] = r[5]
        current, table, head_next = None, False, False
        for r in rows[5:]:
            if all(v is None for v in r):
                continue
            if r[0] in sections and all(v is None for v in r[1:]):
                p.sections.append(r[0])
                table = head_next = r[0] == t["wp_facts"]
                continue
            if head_next:
                p.head, head_next = r, False
                continue
            if table and r[0] != after_table:
                p.table.append(r)
                continue
            table = False
            if r[0] is not None:
                current = r[0]
                assert current not in p.fields, (ws.title, current)
                p.fields[current] = []
            assert current is not None and all(v is None for v in r[2:]), (ws.title, r)
            p.fields[current].append(r[1])
        papers.append(p)
    return papers


def _fen(amounts: pd.Series) -> float | None:
    fen = pd.to_numeric(amounts, errors="coerce").dropna()
    return int(fen.sum()) / 100 if len(fen) else None


def _where(ref: Mapping[str, Any]) -> str:
    where = f"{ref['file']} [{ref['sheet']}]" if ref.get("sheet") else ref["file"]
    return f"{where} 第 {ref['row']} 行"


SEV = {"error": "错误", "warning": "警告", "info": "提示"}
# every role a finding on the samples cites, with its label on a paper
ROLES = {"dues_record": "代收明细", "payment": "发放记录", "register_file": "困难职工档案", "union": "工会名录",
         "employer": "用人单位", "staff": "工作人员或亲属", "officer": "亲属所属工作人员", "ratio": "分配比例",
         "cap": "帮扶标准", "dibao": "低保标准", "min_wage": "最低工资标准", "budget_line": "预算（下拨）",
         "declared_total": "合计行"}


def _cells(entry: Mapping[str, Any], lang: str = "zh") -> str:
    """An evidence entry as a paper prints it: ``header：value`` joined by ``；`` (``: `` and ``; `` in English),
    or its note when the row cannot be shown."""
    if entry["cells"] is None:
        return str(entry["note"])
    cell, sep = ("{}：{}", "；") if lang == "zh" else ("{}: {}", "; ")
    return sep.join(cell.format(h, v) for h, v in entry["cells"].items())


def _facts(findings: pd.DataFrame) -> list[list[Any]]:
    """The table of 审计认定的事实 of a rule's findings: a row per cited row, the first one with the finding; under
    each, when the findings frame has ``evidence``, the row as read (原始记录)."""
    rows: list[list[Any]] = []
    for x in findings.to_dict("records"):
        money = None if pd.isna(x["amount_fen"]) else int(x["amount_fen"]) / 100
        for j, ref in enumerate(x["refs"]):
            head = [f"{x['id']}\n{x['fingerprint']}", SEV[x["severity"]], x["message"], money] if j == 0 else [
                None] * 4
            rows.append([*head, ROLES[ref["role"]], _where(ref)])
            if "evidence" in x:
                rows.append([None, "原始记录", _cells(x["evidence"][j]), None, None, None])
    return rows


def _attachment_line(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"findings.json（{path.stat().st_size} 字节）SHA-256 {digest}"


def _header(result: AuditResult, index: str, matter: str, **who: str | None) -> dict[str, Any]:
    who = {**WHO, **who}
    return {"被审计单位": who["entity"], "索引号": index, "审计事项": matter, "审计期间": PERIOD,
            "编制人": who["preparer"], "编制日期": result.generated_at[:10], "复核人": who["reviewer"],
            "复核日期": None}


def _input_line(i: Mapping[str, Any], title: str) -> str:
    where = f"{i['file']} [{i['sheet']}]" if i["sheet"] else i["file"]
    return (f"{title}：{where}，读取 {i['rows_read']} 行，载入 {i['rows_loaded']} 行，拒收 {i['rows_rejected']} 行；"
            f"SHA-256 {i['sha256']}")


def test_summary_paper_has_every_field(result: AuditResult, book: tuple[Path, Path]) -> None:
    from fundaudit.columns import catalogue

    papers = _read(book[0])
    s = papers[0]
    assert (s.name, s.title) == ("FA-000", "审计工作底稿（汇总）")
    assert s.header == _header(result, "FA-000", "工会经费审查（全部规则）")
    assert s.sections == ["审计过程记录", "审计认定的事实"]
    packs = [f"规则包 {p['name']} 1.0（{p['source']}）SHA-256 {p['sha256']}" for p in result.run["rule_packs"]]
    assert [p["name"] for p in result.run["rule_packs"]] == [
        "fundaudit-dues", "fundaudit-disbursements", "fundaudit-register", "fundaudit-cross", "fundaudit-ledger"]
    inputs = [_input_line(i, catalogue()[i["kind"]].title_zh) for i in result.inputs]
    assert len(inputs) == 12
    assert inputs[3] == ("送温暖及帮扶资金发放明细：disbursements_2016.xlsx [送温暖]，"
                         "读取 212 行，载入 205 行，拒收 2 行；"
                         "SHA-256 24c4c1dd2e40242d455126208d0c69f49e70cbaab5738e20876645dfd0c3c322")
    assert s.fields == {
        "fundaudit 版本": [f"fundaudit {fundaudit.__version__}"],
        "参数配置": ["anhui-2016"],
        "个人信息": ["已脱敏"],
        "规则包": packs,
        "数据来源": inputs,
        "审计结论": ["运行规则 41 条，跳过 0 条，出错 0 条；发现疑点 68 条（错误 38 条，警告 28 条，提示 2 条），"
                     "涉及金额 106698.22 元（错误和警告级疑点的金额之和）。"],
        "审计依据": ["见各分项底稿的审计依据。"],
        "附件": [_attachment_line(book[1])],
    }
    assert result.summary["amount_at_issue"] == "106698.22"
    assert s.head == ["索引号", "疑点数", "规则（审计事项）", "金额（元）", "级别", "状态（原因）"]
    f = result.findings
    expected = []
    for r in result.rules:
        mine = f[f["rule"] == r["id"]]
        expected.append([f"FA-{r['id']}" if len(mine) else None, len(mine), f"{r['id']} {r['title']}",
                         _fen(mine["amount_fen"]) if len(mine) else None,
                         {"error": "错误", "warning": "警告", "info": "提示"}[r["severity"]], "已运行"])
    assert s.table == expected
    assert len(s.table) == 41
    assert s.table[18] == ["FA-DISB-CASH", 3, "DISB-CASH 现金发放或无银行账号", 3700.0, "错误", "已运行"]
    # every paper listed, in the summary's order, each sheet named by its index number
    assert [p.name for p in papers[1:]] == [row[0] for row in s.table if row[0]]


def test_every_rule_with_findings_has_its_paper_with_every_field(result: AuditResult,
                                                                 book: tuple[Path, Path]) -> None:
    from fundaudit.columns import catalogue

    papers = {p.name: p for p in _read(book[0])[1:]}
    f = result.findings
    rules = {r["id"]: r for r in result.rules}
    assert sorted(papers) == sorted(f"FA-{rid}" for rid in f["rule"].unique())
    assert len(papers) == 41  # every shipped rule finds something in the samples
    sev = SEV
    # the samples' findings cite rows in every role, each with its row as read
    assert {ref["role"] for refs in f["refs"] for ref in refs} == set(ROLES)
    where = ("kind", "file", "sheet", "row", "role")  # evidence is parallel to refs
    assert [[{k: e[k] for k in where} for e in ev] for ev in f["evidence"]] == [list(refs) for refs in f["refs"]]
    assert all(isinstance(e["cells"], dict) and e["cells"] for ev in f["evidence"] for e in ev)
    for rid, r in rules.items():
        p = papers[f"FA-{rid}"]
        mine = f[f["rule"] == rid]
        assert (p.title, p.sections) == ("审计工作底稿", ["审计过程记录", "审计认定的事实"]), rid
        assert p.header == _header(result, f"FA-{rid}", f"{r['title']}（{rid}）"), rid
        ledger = "多个台账" if r["ledger"] == "*" else catalogue()[r["ledger"]].title_zh
        assert p.fields["规则"] == [f"{rid} {r['title']}（级别：{sev[r['severity']]}；台账：{ledger}）"]
        assert "方法说明" not in p.fields  # no shipped rule has a description
        assert len(p.fields["参数"]) == max(len(r["params"]), 1), rid
        assert p.fields["个人信息"] == ["已脱敏"]
        shown = p.fields["数据来源"]
        assert all(line.split("：")[0] in {s.title_zh for s in catalogue().values()} for line in shown), rid
        own = [i for i in result.inputs if i["kind"] == r["ledger"]]
        assert shown[:len(own)] == [_input_line(i, catalogue()[i["kind"]].title_zh) for i in own], rid
        if r["ledger"] != "*":
            rows = sum(i["rows_loaded"] for i in own)
            assert p.fields["检查行数"] == [f"规则对{catalogue()[r['ledger']].title_zh}载入的全部 {rows} 行执行；"
                                        "只保留所指行在审计期间内的疑点"], rid
        sql = p.fields["执行的 SQL"]
        assert re.sub(r"\s+", "", "".join(sql)) == re.sub(r"\s+", "", r["sql"]), rid
        assert max(len(line) for line in sql) <= 110, rid  # no ' put before a line: the text is as it ran
        assert p.fields["审计依据"] == [r["basis"]], rid
        assert p.fields["附件"] == [_attachment_line(book[1])]
        assert p.head == ["疑点编号（指纹）", "级别", "说明", "金额（元）", "行的角色", "出处"]
        assert p.table == _facts(mine), rid
        total = _fen(mine["amount_fen"])
        n = {s: int((mine["severity"] == s).sum()) for s in ("error", "warning", "info")}
        lines = [f"执行上述审计程序，发现疑点 {len(mine)} 条，金额合计 {total:.2f} 元。" if total is not None
                 else f"执行上述审计程序，发现疑点 {len(mine)} 条，均不涉及金额。"]
        for s, count in n.items():
            if count:
                amount = _fen(mine.loc[mine["severity"] == s, "amount_fen"])
                lines.append(f"其中{sev[s]} {count} 条，金额 {amount:.2f} 元。" if amount is not None
                             else f"其中{sev[s]} {count} 条。")
        if n["info"]:
            lines.append("提示级疑点是统计信号，其金额不计入涉及金额。")
        lines.append(f"金额口径：{r['amount_basis']}")  # every shipped rule states it
        lines.append("以上均为疑点，须逐条核实，确认为问题或予以排除后，方可作为审计结论。")
        assert p.fields["审计结论"] == lines, rid


def test_one_paper_exactly(book: tuple[Path, Path]) -> None:
    """FA-XL-STAFF-RELATIVE as a reader sees it: the payment, the relative's staff row and the officer's it rests
    on, each with the row as read (masked); the basis of the money in the conclusion."""
    p = next(p for p in _read(book[0]) if p.name == "FA-XL-STAFF-RELATIVE")
    assert p.fields["规则"] == ["XL-STAFF-RELATIVE 向工会工作人员或其亲属发放（优亲厚友）"
                              "（级别：警告；台账：送温暖及帮扶资金发放明细）"]
    assert [line.split("，")[0] for line in p.fields["数据来源"]] == [
        "送温暖及帮扶资金发放明细：disbursements_2016.xlsx [送温暖]",
        "送温暖及帮扶资金发放明细：disbursements_2016.xlsx [金秋助学]",
        "工会工作人员及亲属名单：staff.csv"]
    assert p.fields["检查行数"] == ["规则对送温暖及帮扶资金发放明细载入的全部 241 行执行；"
                                "只保留所指行在审计期间内的疑点"]
    assert [r[1:] if r[0] is None else r[4:] for r in p.table] == [
        ["发放记录", "disbursements_2016.xlsx [送温暖] 第 11 行"],
        ["原始记录", "序号：7；姓名：汪建英；身份证号码：341023********4741；档案编号：HSQ2015010；"
                     "工作单位：黄山云栖旅游开发有限公司；基层工会：黄山云栖旅游开发有限公司工会；帮扶项目：送温暖；"
                     "困难类别：深度困难；金额：1500；发放方式：银行代发；开户银行：中国工商银行黄山区支行；"
                     "银行账号：***************4353；账户名：汪建英；发放日期：2016-01-14；公示情况/公示开始日期：2016-01-04；"
                     "公示情况/公示结束日期：2016-01-10；审批人：汪建华；审批日期：2016-01-12；经办人：程晓燕；"
                     "资金来源：中央财政；备注：因病", None, None, None],
        [None, None, None, "工作人员或亲属", "staff.csv 第 9 行"],
        ["原始记录", "姓名：汪建英；身份证号码：341023********4741；职务：亲属；银行账号：***************4353；"
                     "手机号码：*******0617；家庭住址：黄山区***********；亲属关系人：汪建华；关系：姐妹",
         None, None, None],
        [None, None, None, "亲属所属工作人员", "staff.csv 第 2 行"],
        ["原始记录", "姓名：汪建华；身份证号码：341002********8978；职务：主席；银行账号：***************2539；"
                     "手机号码：*******7754；家庭住址：黄山区************；亲属关系人：；关系：", None, None, None]]
    assert p.table[0][1:4] == ["警告", p.table[0][2], 1500.0]
    assert p.table[0][0].startswith("F000061\n")
    assert p.fields["审计结论"] == ["执行上述审计程序，发现疑点 1 条，金额合计 1500.00 元。",
                                 "其中警告 1 条，金额 1500.00 元。",
                                 "金额口径：发放给工作人员或亲属的金额",
                                 "以上均为疑点，须逐条核实，确认为问题或予以排除后，方可作为审计结论。"]
    assert p.fields["审计依据"] == ["优亲厚友 / conflict of interest; domain §4"]


def test_index_numbers_are_stable_across_runs(book: tuple[Path, Path], tmp_path: Path) -> None:
    again = fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016")
    second = _read(again.to_workpapers(tmp_path / "workpapers.xlsx"))
    first = _read(book[0])
    assert [(p.name, p.header["索引号"]) for p in second] == [(p.name, p.header["索引号"]) for p in first]
    assert [r[0] for r in second[0].table] == [r[0] for r in first[0].table]
    assert index_number("DISB-CASH") == "FA-DISB-CASH" and SUMMARY_INDEX == "FA-000"


def test_masked_by_default(book: tuple[Path, Path], result: AuditResult) -> None:
    secrets = _personal_values()
    text = "\n".join(str(v) for ws in openpyxl.load_workbook(book[0]).worksheets
                     for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert sorted(s for s in secrets if s in text) == []
    assert pii_found(text) == []
    assert "341003********2142" in text  # the masked form is there (a staff relative's ID, XL/REG-STAFF-RELATIVE)
    shown = copy.copy(result)
    shown.masked = False  # what an --unmask run says on every paper
    papers = _read(shown.to_workpapers(book[0].with_name("unmasked.xlsx")))
    assert {p.fields["个人信息"][0] for p in papers} == {"未脱敏（含完整身份证号、账号）"}


def test_english_labels(result: AuditResult, tmp_path: Path) -> None:
    papers = _read(result.to_workpapers(tmp_path / "workpapers.xlsx", lang="en"), "en")
    s = papers[0]
    assert s.title == "Audit working paper (summary)"
    assert list(s.header) == ["Audited entity", "Index no.", "Audit matter", "Audit period", "Prepared by",
                              "Date prepared", "Reviewed by", "Date reviewed"]
    assert s.header["Audit period"] == "2016-01-01 to 2016-12-31"
    assert list(s.fields) == ["fundaudit version", "Profile", "Personal data", "Rule packs", "Inputs read",
                              "Conclusion", "Basis", "Attachments"]
    assert s.fields["Conclusion"] == ["41 rules ran, 0 skipped, 0 failed; 68 exceptions (38 error, 28 warning, "
                                      "2 info), 106698.22 yuan at issue (error and warning findings)."]
    assert s.fields["Attachments"] == ["none"]
    cash = next(p for p in papers if p.name == "FA-DISB-CASH")
    assert cash.title == "Audit working paper"
    assert cash.header["Audit matter"] == "Cash payment or no bank account (DISB-CASH)"
    assert list(cash.fields) == ["Rule", "Parameters", "Personal data", "Inputs read", "Rows examined", "SQL run",
                                 "Conclusion", "Basis", "Attachments"]
    assert cash.head == ["Finding (fingerprint)", "Severity", "Message", "Amount (yuan)", "Role of the row",
                         "Source row"]
    f = result.findings
    mine = f[f["rule"] == "DISB-CASH"]
    assert [r[2] for r in cash.table[0::2]] == mine["message_en"].tolist()
    assert cash.table[0][4:] == ["payment", "disbursements_2016.xlsx [送温暖] row 140"]
    assert [r[1:] for r in cash.table[1::2]] == [["Row as read", _cells(ev[0], "en"), None, None, None]
                                                 for ev in mine["evidence"]]
    assert cash.table[1][2] == (
        "序号: 134; 姓名: 苏建兵; 身份证号码: 341003********5715; 档案编号: HSQ2015021; "
        "工作单位: 黄山区汤口客运有限公司; 基层工会: 黄山区汤口客运有限公司工会; 帮扶项目: 生活救助; "
        "困难类别: 深度困难; 金额: 1000; 发放方式: 现金; 开户银行: ; 银行账号: ; 账户名: ; 发放日期: 2016-06-02; "
        "公示情况/公示开始日期: 2016-05-09; 公示情况/公示结束日期: 2016-05-15; 审批人: 汪建华; "
        "审批日期: 2016-05-16; 经办人: 吴斌; 资金来源: 省级财政; 备注: 因残")
    assert cash.fields["Conclusion"] == ["The procedure above found 3 exception(s), 3700.00 yuan in all.",
                                         "error: 3, 3700.00 yuan.",
                                         "Money at issue: the payment's amount",
                                         "These are exceptions: each is to be verified, and confirmed as a problem or "
                                         "dismissed, before it becomes an audit conclusion."]


def test_entity_preparer_reviewer_blank_when_absent(result: AuditResult, tmp_path: Path) -> None:
    plain = copy.copy(result)
    plain.run = {**result.run, "entity": None, "preparer": None, "reviewer": None}
    papers = _read(plain.to_workpapers(tmp_path / "workpapers.xlsx"))
    for p in papers:
        assert p.header == _header(result, p.header["索引号"], p.header["审计事项"], entity=None, preparer=None,
                                   reviewer=None), p.name
    # the blank cells are there, bordered, to sign in
    ws = openpyxl.load_workbook(tmp_path / "workpapers.xlsx")["FA-DISB-CASH"]
    assert [(ws.cell(r, 1).value, ws.cell(r, 2).value, ws.cell(r, 2).border.bottom.style) for r in (2, 4, 5)] == [
        ("被审计单位", None, "thin"), ("编制人", None, "thin"), ("复核人", None, "thin")]
    assert (ws.cell(5, 4).value, ws.cell(5, 6).value, ws.cell(5, 6).border.bottom.style) == ("复核日期", None, "thin")


def _with_note(result: AuditResult) -> AuditResult:
    """The samples' result with the first row cited by DISB-CASH as one that cannot be shown (``cells`` null and a
    note, as the contract has it)."""
    f = result.findings.copy()
    first = f.index[f["rule"] == "DISB-CASH"][0]
    f["evidence"] = [[{**e, "cells": None, "note": "row no longer in the file"} if (i, j) == (first, 0) else e
                      for j, e in enumerate(ev)] for i, ev in zip(f.index, f["evidence"], strict=True)]
    out = copy.copy(result)
    out.findings = f
    return out


def test_evidence_rows_under_each_cited_row(result: AuditResult, tmp_path: Path) -> None:
    papers = {p.name: p for p in _read(_with_note(result).to_workpapers(tmp_path / "workpapers.xlsx"))}
    cash = papers["FA-DISB-CASH"]
    assert [r[1:] for r in cash.table[1::2]] == [
        ["原始记录", "row no longer in the file", None, None, None],
        ["原始记录", "序号：140；姓名：吴东波；身份证号码：341003********2431；档案编号：HSQ2014018；"
                     "工作单位：黄山区太平湖鲜渔有限公司；基层工会：黄山区太平湖鲜渔有限公司工会；帮扶项目：医疗救助；"
                     "困难类别：相对困难；金额：1500；发放方式：银行代发；开户银行：中国工商银行黄山区支行；银行账号：；"
                     "账户名：吴东波；发放日期：2016-06-20；公示情况/公示开始日期：2016-06-01；"
                     "公示情况/公示结束日期：2016-06-07；审批人：方丽萍；审批日期：2016-06-08；经办人：程晓燕；"
                     "资金来源：省级财政；备注：因病", None, None, None],
        ["原始记录", _cells(result.findings.loc[result.findings["rule"] == "DISB-CASH", "evidence"].iloc[2][0]),
         None, None, None]]
    assert [r[5] for r in cash.table[0::2]] == [f"disbursements_2016.xlsx [送温暖] 第 {n} 行" for n in (140, 146, 158)]
    f = result.findings
    assert papers["FA-DISB-OVER-CAP"].table == _facts(f[f["rule"] == "DISB-OVER-CAP"])  # cap rows' evidence too


def test_findings_frame_without_evidence_writes_refs_only(result: AuditResult, tmp_path: Path) -> None:
    """A findings frame without ``evidence`` (a result built before it, or by hand) gives the cited rows alone."""
    bare = copy.copy(result)
    bare.findings = result.findings.drop(columns="evidence")
    papers = _read(bare.to_workpapers(tmp_path / "workpapers.xlsx"))[1:]
    f = bare.findings
    assert [p.table for p in papers] == [_facts(f[f["rule"] == p.name.removeprefix("FA-")]) for p in papers]
    assert sum(len(p.table) for p in papers) == sum(len(refs) for refs in f["refs"]) == 102
    cash = next(p for p in papers if p.name == "FA-DISB-CASH")
    assert [(r[0].split("\n")[0], r[4]) for r in cash.table] == [("F000029", "发放记录"), ("F000030", "发放记录"),
                                                                  ("F000031", "发放记录")]


def test_caps_on_findings_and_rows(result: AuditResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workpapers, "MAX_FINDINGS", 2)
    monkeypatch.setattr(workpapers, "MAX_REFS", 1)
    papers = {p.name: p for p in _read(result.to_workpapers(tmp_path / "workpapers.xlsx"))}
    f = result.findings
    cash = papers["FA-DISB-CASH"]
    assert cash.table == [*_facts(f[f["rule"] == "DISB-CASH"].iloc[:2]),  # two findings, each with its row as read
                          [None, None, "另有 1 条疑点未在本底稿列出（每份底稿最多 2 条），"
                                       "见 findings.xlsx 或 findings.json。", None, None, None]]
    assert [r[0].split("\n")[0] for r in cash.table[0::2][:2]] == ["F000029", "F000030"]
    relative = papers["FA-XL-STAFF-RELATIVE"]
    assert relative.table == [*_facts(f[f["rule"] == "XL-STAFF-RELATIVE"])[:2],  # the payment and its row as read
                              [None, None, "另有 2 行未列出，见 findings.json。", None, None, None]]
    assert MAX_FINDINGS == 1000


def test_hostile_text_is_never_a_formula(result: AuditResult, tmp_path: Path) -> None:
    hostile = copy.copy(result)
    hostile.run = {**result.run, "entity": "=HYPERLINK(\"http://x\",\"y\")", "preparer": "+1+1", "reviewer": "@SUM(A1)"}
    f = result.findings.copy()
    f.loc[0, "message"] = "=cmd|' /C calc'!A0"
    hostile.findings = f
    path = hostile.to_workpapers(tmp_path / "workpapers.xlsx")
    wb = openpyxl.load_workbook(path)
    kinds = {c.data_type for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert kinds <= {"s", "n"}
    assert all(not ws._hyperlinks for ws in wb.worksheets)
    s = _read(path)[0]
    assert (s.header["被审计单位"], s.header["编制人"], s.header["复核人"]) == (
        "'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'@SUM(A1)")
    rate = next(p for p in _read(path) if p.name == "FA-DUES-RATE")
    assert rate.table[0][2] == "'=cmd|' /C calc'!A0"


@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=8))
def test_sheet_names_are_valid_and_unique(indexes: list[str]) -> None:
    taken: set[str] = set()
    names = [sheet_name(i, taken) for i in indexes]
    assert all(1 <= len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) and not n.startswith("'") for n in names)
    assert len({n.casefold() for n in names}) == len(names)


def test_sheet_names_of_long_rule_ids() -> None:
    taken: set[str] = set()
    long = "FA-" + "X-" * 20 + "END"
    assert [sheet_name(long, taken), sheet_name(long, taken), sheet_name("FA-DISB-CASH", taken)] == [
        long[:31], long[:29] + "~2", "FA-DISB-CASH"]


def test_page_setup_for_print(book: tuple[Path, Path]) -> None:
    wb = openpyxl.load_workbook(book[0])
    for ws in wb.worksheets:
        assert (ws.page_setup.paperSize, ws.page_setup.orientation) == (9, "landscape"), ws.title
        fit = (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight, ws.sheet_properties.pageSetUpPr.fitToPage)
        assert fit == (1, 0, True), ws.title  # fitToWidth 1 is the default, left out of the file
        assert ws.print_title_rows == "$1:$2", ws.title
        assert ws.oddFooter.center.text == f"索引号 {ws.title}　第 &P 页，共 &N 页"


def test_cli_writes_workpapers_with_the_run_files_attached(tmp_path: Path) -> None:
    out = tmp_path / "report"
    code = main(["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(out),
                 "--format", "workpapers,json,junit", "--fail-on", "never", "--quiet", "--entity", WHO["entity"],
                 "--preparer", WHO["preparer"]])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [".fundaudit-report", "findings.json", "junit.xml",
                                                    "workpapers.xlsx"]
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    assert {k: doc["run"][k] for k in ("entity", "preparer", "reviewer")} == {**WHO, "reviewer": None}
    s = _read(out / "workpapers.xlsx")[0]
    assert (s.header["被审计单位"], s.header["编制人"], s.header["复核人"]) == (WHO["entity"], WHO["preparer"], None)
    junit = out / "junit.xml"
    assert s.fields["附件"] == [_attachment_line(out / "findings.json"),
                              f"junit.xml（{junit.stat().st_size} 字节）SHA-256 "
                              f"{hashlib.sha256(junit.read_bytes()).hexdigest()}"]


def test_cli_unknown_format_lists_the_new_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(SAMPLES), "--out", str(tmp_path / "r"), "--format", "pdf", "--lang", "en"]) == 2
    assert "html, xlsx, json, junit, workpapers, db" in capsys.readouterr().err


@pytest.mark.skipif(not __import__("importlib.util").util.find_spec("fundaudit.report.db"),
                    reason="fundaudit.report.db (the audit database) is not on this branch yet")
def test_cli_db_format_writes_audit_duckdb(tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(out),
                 "--format", "db", "--fail-on", "never", "--quiet"]) == 0
    assert (out / "audit.duckdb").is_file()


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")


def to_pdf(xlsx: Path, out: Path) -> Path:
    """``xlsx`` converted by LibreOffice headless, with a profile of its own (parallel runs do not share one)."""
    profile = out / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out), str(xlsx)], check=True, capture_output=True, timeout=300)
    return out / (xlsx.stem + ".pdf")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed: apt-get install libreoffice-calc-nogui")
@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext not installed: apt-get install poppler-utils")
def test_pdf_has_one_page_range_per_paper(book: tuple[Path, Path], tmp_path: Path) -> None:
    pdf = to_pdf(book[0], tmp_path)
    text = subprocess.run([PDFTOTEXT, str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = text.split("\f")[:-1]
    footers = [re.findall(r"索引号 (FA-[A-Z0-9-]+)", page) for page in pages]
    assert all(len(set(f)) == 1 for f in footers)  # every page says which paper it belongs to
    ranges: list[str] = []
    for f in footers:
        if not ranges or ranges[-1] != f[0]:
            ranges.append(f[0])
    names = [ws.title for ws in openpyxl.load_workbook(book[0]).worksheets]
    assert ranges == names  # one contiguous page range per paper, in the workbook's order
    numbers = [re.findall(r"第 (\d+) 页，共 (\d+) 页", page) for page in pages]
    assert [n[0] for n in numbers] == [(str(i), str(len(pages))) for i in range(1, len(pages) + 1)]
    assert len(pages) < 3 * len(names)  # compact enough to print
    assert "审计工作底稿（汇总）" in pages[0]
    # it reads well: no cell too narrow for its number, every role label on one line, a cited row's row as read
    # on the cited row's page, the facts' title and head not left alone at the foot of a page
    layout = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "###" not in layout
    assert [label for label in ROLES.values() if label not in layout] == []
    lines = [[line.strip() for line in page.splitlines() if line.strip()] for page in layout.split("\f")[:-1]]
    assert [n for n, page in enumerate(lines, 1) if page[2].startswith("原始记录")] == []  # after title, 被审计单位
    assert [n for n, page in enumerate(lines, 1) if page[-2].startswith(("审计认定的事实", "疑点编号"))] == []


def test_docs_name_every_label(result: AuditResult) -> None:
    """docs/report.md describes the papers with the labels they carry."""
    doc = (ROOT / "docs" / "report.md").read_text("utf-8")
    t = strings()["zh"]
    for key in ("wp_index", "wp_entity", "wp_matter", "wp_process", "wp_facts", "wp_conclusion", "wp_basis",
                "wp_preparer", "wp_prepared_on", "wp_reviewer", "wp_reviewed_on", "wp_attachments"):
        assert t[key] in doc, key
    cli = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert all(option in cli for option in ("--entity", "--preparer", "--reviewer", "workpapers.xlsx"))
    assert (ROOT / "docs" / "screenshots" / "workpaper.png").is_file()
