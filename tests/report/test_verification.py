"""Every report of a run given decisions and a baseline (issue 16 item 3: "excluded findings stay visible in their
own section of every report with the reason"; "the HTML report shows the funnel, with money, and per grassroots
union"): the samples audited once, that run's findings.json made the baseline (one finding taken out, one that no
longer occurs put in), two findings excluded (one of a union, one of none), two confirmed and one decision for a
finding that exists nowhere; then the audit again through the command line with every format, each artefact read
back and checked exactly. Runs without decisions or baseline are unchanged (the snapshots of test_artefacts)."""

from __future__ import annotations

import contextlib
import io
import json
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pandas as pd
import pytest

from fundaudit import triage
from fundaudit.cli import main
from fundaudit.report.verification import funnel, funnel_line
from fundaudit.run import AuditResult

ROOT = Path(__file__).resolve().parents[2]
RUN = ["audit", str(ROOT / "samples"), "--profile", "anhui-2016", "--period", "2016", "--fail-on", "error"]
LIANHUA = "黄山区莲花药业有限公司工会"
PHONE = "13812345678"  # typed by a verifier into a reason: masked like every other text
# (finding id, status, reason, by, date): F000021 and F000023 are of 莲花药业's union, F000068 of none
DECIDED = [("F000021", "excluded", f"身份证号已补正，见王会计 {PHONE} 的说明", "王", "2017-03-01"),
           ("F000068", "excluded", "合计行为手工小计，已更正", "李", "2017-03-02"),
           ("F000023", "confirmed", "", "王", "2017-03-01"),
           ("F000036", "confirmed", "", "王", "2017-03-05")]
STALE, GONE = "0" * 20, "f" * 20
LINE = "核实：68 个疑点，已核实 4（确认 2，排除 2），待核实 64；新增 1，持续 67，已解决 1，失效决定 1"


class Tables(HTMLParser):
    """The text of every cell of every table with an id (rows of cells), and the texts of the funnel's SVG."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.funnel: list[str] = []
        self.ids: set[str] = set()
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in_funnel = False
        self._text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[str(a["id"])] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "div" and self._cell is not None:
            self._cell.append(" ")
        elif tag == "svg" and "funnel" in (a.get("class") or ""):
            self._in_funnel = True
        elif tag == "text" and self._in_funnel:
            self._text = True
            self.funnel.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "svg":
            self._in_funnel = False
        elif tag == "text":
            self._text = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._text:
            self.funnel[-1] += data


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both runs: the first one's findings (by id), the decisions' fingerprints, the second one's report directory
    and what the command line printed."""
    tmp = tmp_path_factory.mktemp("verify")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*RUN, "--out", str(tmp / "first"), "--format", "json"]) == 1
    doc = json.loads((tmp / "first" / "findings.json").read_text("utf-8"))
    by_id = {f["id"]: f for f in doc["findings"]}
    rows = [{"fingerprint": by_id[i]["fingerprint"], "rule": by_id[i]["rule"], "status": s, "reason": why,
             "evidence": "", "by": by, "date": date, "source_file": "x.xlsx", "source_row": "4"}
            for i, s, why, by, date in DECIDED]
    rows.append({**rows[-1], "fingerprint": STALE, "reason": "旧决定", "by": "赵", "date": "2016-12-01"})
    triage.write_decisions(pd.DataFrame(rows), tmp / "TRIAGE.csv")
    gone = {**by_id["F000001"], "fingerprint": GONE,
            "triage": {"status": "confirmed", "reason": "", "evidence": "", "by": "王", "date": "2016-12-01"}}
    baseline = {**doc, "findings": [f for f in doc["findings"] if f["id"] != "F000030"] + [gone]}
    (tmp / "base.json").write_text(json.dumps(baseline, ensure_ascii=False), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*RUN, "--out", str(tmp / "report"), "--format", "html,xlsx,json,workpapers,db",
                     "--triage", str(tmp / "TRIAGE.csv"), "--baseline", str(tmp / "base.json")])
    return {"code": code, "doc": doc, "fp": {i: by_id[i]["fingerprint"] for i in by_id},
            "dir": tmp / "report", "stdout": out.getvalue()}


def test_cli_summary_prints_the_funnel_line(run: dict[str, Any]) -> None:
    assert run["code"] == 1  # errors remain after the two exclusions
    lines = run["stdout"].splitlines()
    i = lines.index("疑点：66 个（错误 36，警告 28，提示 2），涉及金额 104998.22 元（只计错误和警告级）")
    assert lines[i + 1] == LINE


@pytest.fixture(scope="module")
def page(run: dict[str, Any]) -> Tables:
    parser = Tables()
    parser.feed((run["dir"] / "index.html").read_text("utf-8"))
    return parser


def test_html_funnel_overall_and_per_union(page: Tables) -> None:
    assert page.funnel == ["疑点", "68 个 · 106,698.22 元", "已核实", "4 个 · 4,900.00 元",
                           "确认（含整改中、已整改）", "2 个 · 3,200.00 元", "排除", "2 个 · 1,700.00 元",
                           "待核实", "64 个 · 101,798.22 元"]
    table = page.tables["funnel-by-union"]
    assert table[0] == ["所属基层工会", "疑点", "已核实", "确认（含整改中、已整改）", "排除", "待核实"]
    assert table[1] == ["合计（全部疑点）", "68 106,698.22", "4 4,900.00", "2 3,200.00", "2 1,700.00",
                        "64 101,798.22"]
    rows = {r[0]: r[1:] for r in table[2:]}
    assert rows[LIANHUA] == ["8 8,000.00", "3 3,700.00", "2 3,200.00", "1 500.00", "5 4,300.00"]
    assert table[-1] == ["未归属基层工会", "4 9,900.00", "1 1,200.00", "0 0.00", "1 1,200.00", "3 8,700.00"]
    assert len(table) == 2 + 26  # 25 unions and the findings of none


def test_html_lists_excluded_resolved_and_stale_in_their_own_sections(page: Tables, run: dict[str, Any]) -> None:
    fp = run["fp"]
    excluded = page.tables["excluded-findings"]
    assert excluded[0] == ["疑点编号", "规则", "级别", "说明", "金额（元）", "理由", "核实人", "核实日期",
                           "出处（文件 › 工作表 › 行）"]
    assert [(r[0], r[1], r[4], r[5], r[6], r[7]) for r in excluded[1:]] == [
        (f"{fp['F000021']} F000021", "DISB-ID", "500.00", "身份证号已补正，见王会计 *******5678 的说明", "王",
         "2017-03-01"),
        (f"{fp['F000068']} F000068", "LEDGER-TOTAL", "1,200.00", "合计行为手工小计，已更正", "李", "2017-03-02")]
    assert excluded[1][8] == "disbursements_2016.xlsx › 送温暖 › 行号 51"
    resolved = page.tables["resolved-findings"]
    assert [(r[0], r[1], r[4], r[5]) for r in resolved[1:]] == [(GONE, "DUES-RATE", "2,632.05", "确认")]
    assert page.tables["stale-decisions"][1:] == [[STALE, "确认", "旧决定", "赵", "2016-12-01"]]
    assert {"verification", "excluded", "resolved", "stale"} <= page.ids


def test_html_headline_counts_leave_excluded_findings_out(page: Tables, run: dict[str, Any]) -> None:
    html = (run["dir"] / "index.html").read_text("utf-8")
    assert '<div class="v">66</div>' in html and '<div class="v money">104,998.22</div>' in html
    summary = {r[0]: r[4] for r in page.tables["rule-summary"][1:]}
    assert summary["DISB-ID"] == "3" and "LEDGER-TOTAL" not in summary  # its one finding was excluded


def test_html_main_tables_columns(run: dict[str, Any]) -> None:
    """The findings tables gain 核实 and 与上次比; a confirmed finding shows who and when, a new one 新增."""

    class Findings(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.rows: list[list[str]] = []
            self.head: list[str] = []
            self._row: list[str] | None = None
            self._cell: list[str] | None = None
            self._in = False
            self._th = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "table" and "findings" in (a.get("class") or "").split():
                self._in = True
            elif self._in and tag == "tr":
                self._row = [] if a.get("class") == "f" else None
            elif self._in and tag == "th" and not self.head[6:]:
                self._th, self._cell = True, []
            elif self._in and tag == "td" and self._row is not None:
                self._cell = []
            elif self._cell is not None and tag == "div":
                self._cell.append(" ")

        def handle_endtag(self, tag: str) -> None:
            if tag == "table":
                self._in = False
            elif tag in ("td", "th") and self._cell is not None:
                text = "".join(self._cell).strip()
                if self._th:
                    self.head.append(text)
                elif self._row is not None:
                    self._row.append(text)
                self._cell, self._th = None, False
            elif tag == "tr" and self._row is not None:
                self.rows.append(self._row)
                self._row = None

        def handle_data(self, data: str) -> None:
            if self._cell is not None:
                self._cell.append(data)

    p = Findings()
    p.feed((run["dir"] / "index.html").read_text("utf-8"))
    assert p.head[:6] == ["编号", "级别", "说明", "金额（元）", "核实", "与上次比"]
    by_id = {r[0]: r for r in p.rows}
    assert len(p.rows) == 66 and "F000021" not in by_id and "F000068" not in by_id
    assert by_id["F000023"][4:6] == ["确认 王 2017-03-01", "持续"]
    assert by_id["F000030"][4:6] == ["待核实", "新增"]


def test_findings_xlsx_sheets(run: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(run["dir"] / "findings.xlsx", read_only=True)
    assert wb.sheetnames == ["汇总", "疑点明细", "拒收行", "输入", "规则", "已排除", "已解决", "失效决定"]
    found = list(wb["疑点明细"].iter_rows(values_only=True))
    assert found[0][16:] == ("核实结论", "理由", "核实人", "核实日期", "与上次比")
    by_id = {r[0]: r for r in found[1:]}
    assert len(by_id) == 66 and "F000021" not in by_id
    assert by_id["F000023"][16:] == ("确认", None, "王", "2017-03-01", "持续")
    assert by_id["F000030"][16:] == ("待核实", None, None, None, "新增")
    excluded = list(wb["已排除"].iter_rows(values_only=True))
    assert excluded[0] == found[0]
    fp = run["fp"]
    assert [(r[0], r[14], r[5], r[16], r[17], r[18], r[19]) for r in excluded[1:]] == [
        ("F000021", fp["F000021"], 500, "排除", "身份证号已补正，见王会计 *******5678 的说明", "王", "2017-03-01"),
        ("F000068", fp["F000068"], 1200, "排除", "合计行为手工小计，已更正", "李", "2017-03-02")]
    assert [r[:2] + r[6:] for r in wb["已解决"].iter_rows(values_only=True)] == [
        ("指纹", "规则", "上次核实", "理由"), (GONE, "DUES-RATE", "确认", None)]
    assert list(wb["失效决定"].iter_rows(values_only=True)) == [
        ("指纹", "核实结论", "理由", "证据索引", "核实人", "核实日期"),
        (STALE, "确认", "旧决定", None, "赵", "2016-12-01")]
    summary = [r[:3] for r in wb["汇总"].iter_rows(values_only=True)]
    start = summary.index(("核实情况", "个数", "金额（元）"))
    assert summary[start + 1:start + 10] == [
        ("疑点", 68, 106698.22), ("已核实", 4, 4900), ("确认（含整改中、已整改）", 2, 3200), ("  确认", 2, 3200),
        ("  整改中", 0, 0), ("  已整改", 0, 0), ("排除", 2, 1700), ("待核实", 64, 101798.22),
        (LINE, None, None)]
    assert ("疑点数", 66, None) in summary


def test_workpapers_put_excluded_findings_on_their_own_paper(run: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(run["dir"] / "workpapers.xlsx", read_only=True)
    assert wb.sheetnames[-1] == "FA-EXCLUDED" and "FA-LEDGER-TOTAL" not in wb.sheetnames
    fp = run["fp"]
    paper = [r for r in wb["FA-EXCLUDED"].iter_rows(values_only=True) if any(r)]
    head = paper.index(("疑点编号（指纹）", "级别", "说明", "金额（元）", "理由", "核实人"))
    rows = paper[head + 1:head + 5]
    assert [(r[0], r[3], r[4], r[5]) for r in rows[::2]] == [
        (f"F000021\n{fp['F000021']}\nDISB-ID", 500, "身份证号已补正，见王会计 *******5678 的说明", "王 2017-03-01"),
        (f"F000068\n{fp['F000068']}\nLEDGER-TOTAL", 1200, "合计行为手工小计，已更正", "李 2017-03-02")]
    assert [r[1:3] for r in rows[1::2]] == [("出处", "disbursements_2016.xlsx [送温暖] 第 51 行"),
                                           ("出处", "disbursements_2016.xlsx [送温暖] 第 215 行")]
    assert paper[head + 5][:2] == ("审计结论", "经核实排除疑点 2 条，金额合计 1700.00 元；"
                                             "排除理由、核实人和核实日期逐条列于上表，不计入疑点数、涉及金额和退出码。")
    firsts = [r[0] for r in wb["FA-DISB-ID"].iter_rows(values_only=True) if r[0] and str(r[0]).startswith("F0")]
    assert firsts == [f"F000022\n{fp['F000022']}\n核实：待核实\n持续", f"F000023\n{fp['F000023']}\n核实：确认\n持续",
                      f"F000024\n{fp['F000024']}\n核实：待核实\n持续"]
    summary = [r for r in wb["FA-000"].iter_rows(values_only=True)]
    at = next(i for i, r in enumerate(summary) if r[0] == "核实情况")
    assert summary[at][1] == LINE
    assert summary[at + 1][1] == "经核实排除的疑点不在各分项底稿中，也不计入上述疑点数和金额，见底稿 FA-EXCLUDED。"


def test_audit_db_findings_gain_triage_columns(run: dict[str, Any]) -> None:
    with duckdb.connect(str(run["dir"] / "audit.duckdb"), read_only=True) as con:
        cols = [c[0] for c in con.execute("DESCRIBE findings").fetchall()]
        assert cols[-7:] == ["triage_status", "triage_reason", "triage_evidence", "triage_by", "triage_date",
                             "since_baseline", "recurs_after"]
        got = con.execute("SELECT id, triage_status, triage_reason, triage_by, triage_date, since_baseline FROM "
                          "findings WHERE triage_status <> 'pending' OR since_baseline = 'new' ORDER BY id").fetchall()
        reason = "身份证号已补正，见王会计 *******5678 的说明"
        assert got == [("F000021", "excluded", reason, "王", "2017-03-01", "persisting"),
                       ("F000023", "confirmed", None, "王", "2017-03-01", "persisting"),
                       ("F000030", "pending", None, None, None, "new"),
                       ("F000036", "confirmed", None, "王", "2017-03-05", "persisting"),
                       ("F000068", "excluded", "合计行为手工小计，已更正", "李", "2017-03-02", "persisting")]
        assert con.execute("SELECT fingerprint, rule, amount, triage_status FROM resolved_since_baseline").fetchall() \
            == [(GONE, "DUES-RATE", Decimal("2632.05"), "confirmed")]
        assert con.execute("SELECT * FROM stale_decisions").fetchall() == [
            (STALE, "confirmed", "旧决定", None, "赵", "2016-12-01")]
        # the documented money-at-issue query, leaving out what verification excluded
        assert con.execute("SELECT sum(amount) FROM findings WHERE severity IN ('error', 'warning') AND "
                           "triage_status IS DISTINCT FROM 'excluded'").fetchone()[0] == Decimal("104998.22")


def test_no_raw_phone_in_any_artefact(run: dict[str, Any]) -> None:
    assert PHONE not in (run["dir"] / "index.html").read_text("utf-8")
    for name in ("findings.xlsx", "workpapers.xlsx"):
        wb = openpyxl.load_workbook(run["dir"] / name, read_only=True)
        assert not [v for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for v in r
                    if isinstance(v, str) and PHONE in v]


def _result(rows: list[tuple[str, str, str | None, int | None, str]], *, baseline: bool) -> AuditResult:
    """A result of findings (fingerprint, severity, union, fen, status), decided as given."""
    frame = pd.DataFrame({"id": [f"F{i:06d}" for i in range(1, len(rows) + 1)], "fingerprint": [r[0] for r in rows],
                          "rule": "R", "severity": [r[1] for r in rows], "union": [r[2] for r in rows],
                          "amount_fen": [r[3] for r in rows], "values": [{} for _ in rows], "kind": "disbursements",
                          "message": "m", "message_en": "m", "amount": None,
                          "refs": [[{"kind": "disbursements", "file": "a.xlsx", "sheet": "s", "row": 5}]
                                   for _ in rows]})
    decisions = pd.DataFrame([{"fingerprint": r[0], "status": r[4], "reason": "x", "evidence": "", "by": "",
                               "date": ""} for r in rows if r[4] != "pending"])
    base = {"findings": [{"fingerprint": rows[0][0]}, {"fingerprint": "gone"}]} if baseline else None
    findings, extra = triage.apply(frame, decisions=decisions, baseline=base)
    recurrence = extra.pop("recurrence")  # a fact of the run block
    return AuditResult(ledgers={}, run={"recurrence": recurrence}, findings=findings, **extra)


def test_funnel_counts_money_at_issue_per_stage_and_union() -> None:
    r = _result([("a", "error", "甲", 100, "confirmed"), ("b", "warning", "甲", 250, "excluded"),
                 ("c", "info", None, 9900, "rectified"), ("d", "error", None, None, "in_progress"),
                 ("e", "error", "乙", 700, "pending")], baseline=True)
    overall = funnel(r.findings).iloc[0].to_dict()
    assert overall == {"found_n": 5, "verified_n": 4, "upheld_n": 3, "excluded_n": 1, "pending_n": 1,
                       "confirmed_n": 1, "in_progress_n": 1, "rectified_n": 1,
                       "found_fen": 1050, "verified_fen": 350, "upheld_fen": 100, "excluded_fen": 250,
                       "pending_fen": 700, "confirmed_fen": 100, "in_progress_fen": 0, "rectified_fen": 0}
    by = funnel(r.findings, by_union=True)
    assert list(by.index) == ["乙", "甲", None]
    assert by[["found_n", "verified_n", "upheld_n", "excluded_n", "pending_n"]].to_numpy().tolist() == [
        [1, 0, 0, 0, 1], [2, 2, 1, 1, 0], [2, 2, 2, 0, 0]]
    assert r.summary["by_triage"]["pending"] == {"findings": 1, "amount_at_issue": "7.00"}  # the same money
    assert funnel_line(r, "zh") == ("核实：5 个疑点，已核实 4（确认 3，排除 1），待核实 1；"
                                    "新增 4，持续 1，已解决 1，失效决定 0")
    assert funnel_line(r, "en") == ("verification: 5 findings, 4 verified (3 upheld, 1 excluded), 1 pending; "
                                    "4 new, 1 persisting, 1 resolved, 0 stale decision(s)")
    alone = _result([("a", "error", "甲", 100, "excluded")], baseline=False)
    assert funnel_line(alone, "zh") == "核实：1 个疑点，已核实 1（确认 0，排除 1），待核实 0；失效决定 0"


def test_html_escapes_and_masks_a_verifiers_texts() -> None:
    from fundaudit.report.html import render_html

    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> 13812345678'
    r = _result([("a", "error", "<b>甲</b>", 100, "excluded"), ("b", "error", None, 200, "pending")], baseline=False)
    r.findings = r.findings.assign(triage=[{**r.findings["triage"][0], "reason": hostile, "by": "<i>王</i>"},
                                           r.findings["triage"][1]])
    html = render_html(r)
    assert "<script>alert(1)" not in html and "<img" not in html and "<i>王" not in html and "<b>甲" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; *******5678" in html
    page = Tables()
    page.feed(html)
    assert [r[5:7] for r in page.tables["excluded-findings"][1:]] == [
        ["<script>alert(1)</script><img src=x onerror=alert(2)> *******5678", "<i>王</i>"]]
    assert page.tables["funnel-by-union"][2][0] == "<b>甲</b>"
    assert "resolved" not in page.ids and "stale" not in page.ids  # empty sections are left out
    en = Tables()
    en.feed(render_html(r, lang="en"))
    assert en.funnel == ["Findings", "2 · 3.00 yuan", "Verified", "1 · 1.00 yuan", "Upheld", "0 · 0.00 yuan",
                         "Excluded", "1 · 1.00 yuan", "Pending", "1 · 2.00 yuan"]
    assert en.tables["excluded-findings"][0][5:8] == ["Reason", "Verified by", "Date verified"]


def test_recurrence_and_comparison_labels() -> None:
    from fundaudit.report.verification import recurs_text, since_label

    year = {"fingerprint": "x", "period": {"start": "2016-01-01", "end": "2016-12-31"}, "status": "confirmed"}
    assert recurs_text(year, "zh") == "曾于 2016 确认" and recurs_text(year, "en") == "confirmed in 2016"
    half = {**year, "period": {"start": "2016-01-01", "end": "2016-06-30"}, "status": "rectified"}
    assert recurs_text(half, "zh") == "曾于 2016-01-01..2016-06-30 已整改" and recurs_text(None, "zh") == ""
    assert [since_label(s, "zh") for s in ("new", "persisting", None)] == ["新增", "持续", ""]
    assert [since_label(s, "en") for s in ("new", "persisting")] == ["new", "persisting"]
