"""workpapers.xlsx: the run's working papers (审计工作底稿), one paper per sheet, to print, sign and file.

A summary paper (审计工作底稿（汇总）, 索引号 ``FA-000``) and one paper per rule that has findings (一事一稿,
索引号 ``FA-<rule id>``: derived from the rule id alone, so the same in every run); each sheet is named by its
索引号. Every paper has the fields of the audit office's working-paper standard as labelled cells (label in
column A, value beside it): the header block 被审计单位 / 索引号, 审计事项 / 审计期间, 编制人 / 编制日期,
复核人 / 复核日期 (repeated at the top of every printed page), then 审计过程记录 (the rule and its texts, its
parameters, the inputs it read with their hashes and row counts, the rows examined, the SQL it ran),
审计认定的事实 (its findings: id and fingerprint, message, money, every row cited with its role and, when the
findings frame has ``evidence``, the row as read), 审计结论 (counts and money by severity), 审计依据 (the
rule's ``basis``) and 附件 (the run's other report files with their SHA-256). The summary lists every rule
(index number when it has a paper, findings, money, ran or skipped with the reason), every input and pack.

被审计单位, 编制人 and 复核人 come from the run record (``audit(entity=, preparer=, reviewer=)``, the CLI's
``--entity --preparer --reviewer``); when absent the cell stays blank, for a signature. 编制日期 is the run's
date; 复核日期 is left blank. The papers are built from the :class:`~fundaudit.run.AuditResult` as it is, so
masked unless the run was unmasked; every text cell goes through :func:`fundaudit.report.excel.neutralise`
and nothing is written as a formula or link. Print setup: A4 landscape, fitted to the page width, the header
block repeated, the 索引号 and page number in the footer.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fundaudit.errors import Lang, render
from fundaudit.normalize import format_fen
from fundaudit.report.excel import LINE_PT, _kind, neutralise, safe_workbook, wrapped_height
from fundaudit.result import AT_ISSUE
from fundaudit.rules.severity import LEVELS

if TYPE_CHECKING:
    from fundaudit.run import AuditResult

__all__ = ["EXCLUDED_INDEX", "MAX_FINDINGS", "MAX_REFS", "SUMMARY_INDEX", "index_number", "sheet_name",
           "write_workpapers"]

INDEX_PREFIX = "FA-"
SUMMARY_INDEX = "FA-000"
EXCLUDED_INDEX = "FA-EXCLUDED"  # the paper of the findings excluded on verification (a run given decisions)
MAX_FINDINGS = 1000  # findings listed on one paper; the rest are counted (findings.xlsx/json list them all)
MAX_REFS = 50  # rows listed per finding; the rest are counted
REPEATED_ROWS = 2  # the title and the row with 被审计单位 and 索引号: at the top of every printed page

# Six columns: A labels / finding id, B severity, C message, D money, E role, F where. Widths in Excel units
# (about one digit each; a CJK character takes two): B holds 原始记录 and E the longest role label (亲属所属工作人员)
# on a line.
_WIDTHS = (20, 8, 36, 12, 17, 28)
_LAST = len(_WIDTHS) - 1
_EVIDENCE_PT = 9.0  # the row as read, in a smaller grey font: it is long, and quoted rather than read first
_SQL_WIDTH = 100  # SQL characters per printed line (monospaced, 9 pt), longer lines are broken
_SQL_ROW_PT = 11.5
_BLANK_PT = 15.0  # a row whose height is not set
_PAGE_PT = 515.0  # printable height (points) of an A4 landscape page with the margins below, a little less
_SECTION_PT = 18.0  # a section's title row
_KEEP_FACTS_PT = 110.0  # the summary's facts section: its title, its table's head and a first rule
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def index_number(rule_id: str) -> str:
    """The 索引号 of a rule's paper: ``FA-`` and the rule id, the same in every run."""
    return INDEX_PREFIX + rule_id


def sheet_name(index: str, taken: set[str]) -> str:
    """A sheet name for the paper ``index``: characters Excel refuses replaced, at most 31 characters, not
    ``taken`` (compared case-insensitively, as Excel does); the name is added to ``taken``."""
    base = _SHEET_BAD.sub("_", index).strip("'")[:31] or "_"
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        suffix = f"~{n}"
        name = base[: 31 - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


def write_workpapers(result: AuditResult, path: str | os.PathLike[str], *, lang: Lang = "zh",
                     attachments: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Write workpapers.xlsx under a temporary name, then rename it into place. ``attachments`` are the run's
    other report files, listed under 附件 with their size and SHA-256."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    files = [_attachment(Path(a), lang) for a in attachments if Path(a).resolve() != target.resolve()]
    with safe_workbook(target, default_format_properties={"font_size": 10}) as wb:
        book = _Book(wb, result, lang, files)
        book.summary()
        for rule in book.papers:
            book.paper(rule)
        if book.verified and len(book.excluded):
            book.excluded_paper()
        wb.set_properties({"title": book.t["wp_title"], "comments": f"fundaudit {result.version}"})
    return target


def _attachment(path: Path, lang: Lang) -> str:
    """One line of 附件: the file's name, size and SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return _ui(lang)["wp_attachment_line"].format(name=path.name, size=path.stat().st_size, sha256=digest.hexdigest())


def _ui(lang: Lang) -> Mapping[str, str]:
    from fundaudit.report.html import strings

    return strings()[lang]


def _field_height(text: str, label: str = "") -> float:
    """Points a labelled field's rows take: a row per line of ``text``."""
    return sum(wrapped_height((line, _span(1, _LAST)), (label, _WIDTHS[0])) for line in text.split("\n"))


def _span(first: int, last: int) -> float:
    return float(sum(_WIDTHS[first:last + 1]))


class _Book:
    """The workbook being written: its formats, texts, and what every paper shares."""

    def __init__(self, wb: Any, result: AuditResult, lang: Lang, attachments: list[str]) -> None:
        self.wb, self.result, self.lang, self.attachments = wb, result, lang, attachments
        self.t = _ui(lang)
        self.zh = lang == "zh"
        base = {"valign": "top", "border": 1, "text_wrap": True}
        self.fmt = {
            "title": wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"}),
            "label": wb.add_format({**base, "bold": True, "bg_color": "#EEF1F5"}),
            "value": wb.add_format(base),
            "section": wb.add_format({"bold": True, "font_size": 11, "bg_color": "#DDE4EE", "border": 1}),
            "head": wb.add_format({**base, "bold": True, "bg_color": "#EEF1F5", "align": "center"}),
            "cell": wb.add_format(base),
            "money": wb.add_format({"valign": "top", "border": 1, "num_format": "#,##0.00"}),
            "evidence": wb.add_format({**base, "font_size": _EVIDENCE_PT, "font_color": "#404040"}),
            "sql": wb.add_format({"font_name": "Courier New", "font_size": 9}),
            "warn": wb.add_format({**base, "bold": True, "font_color": "#B00020"}),
        }
        f = result.findings
        from fundaudit.report.verification import active
        from fundaudit.triage import counted

        self.verified = active(result)  # a run given decisions or a baseline: excluded findings on their own paper
        kept = counted(f) if self.verified else None
        self.excluded = f[~kept] if kept is not None else f.iloc[:0]
        f = f[kept] if kept is not None else f
        self.by_rule: dict[str, pd.DataFrame] = {str(k): g for k, g in f.groupby("rule", sort=False)} if len(f) else {}
        known = [r["id"] for r in result.rules]
        self.rules = {r["id"]: r for r in result.rules}
        self.papers = [rid for rid in known if rid in self.by_rule] + [r for r in self.by_rule if r not in self.rules]
        self.taken: set[str] = set()
        run = result.run
        period = run.get("period") or None
        self.period = (self.t["wp_period_range"].format(start=period.get("start", ""), end=period.get("end", ""))
                       if period else self.t["period_none"])
        self.date = str(result.generated_at)[:10]
        self.inputs = result.inputs

    # -- the two kinds of paper ---------------------------------------------------------------------------

    def summary(self) -> None:
        """FA-000: every rule, every input and pack, the run's totals."""
        t, result = self.t, self.result
        p = self._sheet(SUMMARY_INDEX, t["wp_title_summary"], t["wp_summary_matter"])
        p.section(t["wp_process"])
        p.field(t["version"], f"fundaudit {result.version}")
        p.field(t["profile"], str(result.run.get("profile") or ""))
        self._masked(p)
        packs = [t["wp_pack_line"].format(**{k: pk.get(k, "") for k in ("name", "version", "source", "sha256")})
                 for pk in result.run.get("rule_packs", [])]
        p.field(t["packs"], "\n".join(packs) or t["wp_none"])
        p.field(t["wp_inputs"], "\n".join(self._input_line(i) for i in self.inputs) or t["wp_none"])
        p.keep(_KEEP_FACTS_PT)
        p.section(t["wp_facts"])
        p.head([t["wp_index"], t["count"], t["wp_rule_matter"], t["amount"], t["severity"], t["wp_status_reason"]])
        status = {"ran": t["status_ran"], "skipped": t["status_skipped"], "error": t["status_error"]}
        for r in result.rules:
            rows = self.by_rule.get(r["id"])
            reason = r.get("reason") if self.zh else r.get("reason_en")
            state = status.get(r["status"], r["status"])
            state = t["wp_with_reason"].format(status=state, reason=reason) if reason else state
            count = (0 if rows is None else len(rows)) if self.verified else int(r.get("findings") or 0)
            p.row([index_number(r["id"]) if rows is not None else None, count,
                   f"{r['id']} {self._title(r)}", None if rows is None else _fen(rows["amount_fen"]),
                   t.get(r["severity"], r["severity"]), state])
        s = result.summary
        sev = s["by_severity"]
        statuses = [r["status"] for r in result.rules]
        end = [(t["wp_conclusion"], render("workpapers", "summary_conclusion", self.lang,
                                           ran=statuses.count("ran"), skipped=statuses.count("skipped"),
                                           failed=statuses.count("error"), count=s["findings"],
                                           error=sev.get("error", 0), warning=sev.get("warning", 0),
                                           info=sev.get("info", 0), amount=s["amount_at_issue"])),
               (t["wp_basis"], t["wp_summary_basis"]),
               (t["wp_attachments"], "\n".join(self.attachments) or t["wp_none"])]
        if self.verified:
            from fundaudit.report.verification import funnel_line

            line = funnel_line(result, self.lang)
            if len(self.excluded):
                line += "\n" + render("workpapers", "excluded_see", self.lang, index=EXCLUDED_INDEX)
            end.insert(1, (t["triage_h"], line))
        p.keep(_BLANK_PT + sum(_field_height(text) for _, text in end))
        for i, (label, text) in enumerate(end):
            p.field(label, text, space=i == 0)
        p.done()

    def paper(self, rid: str) -> None:
        """FA-<rule id>: one rule's procedure, findings, conclusion and basis."""
        t = self.t
        r = self.rules.get(rid) or {"id": rid, "title": rid, "title_en": rid, "ledger": "", "severity": ""}
        findings = self.by_rule[rid]
        p = self._sheet(index_number(rid), t["wp_title"], t["wp_matter_rule"].format(title=self._title(r), id=rid))
        p.section(t["wp_process"])
        ledger = _kind(r.get("ledger"), self.lang) if r.get("ledger") != "*" else t["cross_ledger"]
        p.field(t["rule"], t["wp_rule_line"].format(id=rid, title=self._title(r), ledger=ledger,
                                                    severity=t.get(r.get("severity", ""), r.get("severity", ""))))
        if r.get("description"):
            p.field(t["wp_description"], str(r["description"]))
        from fundaudit.report.html import _param_value

        params = r.get("params") or {}
        p.field(t["params"], "\n".join(f"{k} = {_param_value(v)}" for k, v in params.items()) or t["no_params"])
        self._masked(p)
        kinds = self._kinds_read(r)
        p.field(t["wp_inputs"], "\n".join(self._input_line(i) for k in kinds for i in self.inputs if i["kind"] == k)
                or t["wp_none"])
        own = [r["ledger"]] if r.get("ledger") in kinds else [k for k in kinds if _is_ledger(k)]
        p.field(t["wp_rows_examined"], "\n".join(
            render("workpapers", "rows_examined", self.lang, kind=_kind(k, self.lang),
                   rows=sum(int(i.get("rows_loaded") or 0) for i in self.inputs if i["kind"] == k)) for k in own)
            or t["wp_none"])
        p.sql(t["wp_sql"], str(r.get("sql") or "") or t["wp_none"])
        self._facts(p, findings)
        end = [(t["wp_conclusion"], self._conclusion(r, findings)),
               (t["wp_basis"], str(r.get("basis") or "") or t["wp_none"]),
               (t["wp_attachments"], "\n".join(self.attachments) or t["wp_none"])]
        p.keep(_BLANK_PT + sum(_field_height(text) for _, text in end))
        for i, (label, text) in enumerate(end):
            p.field(label, text, space=i == 0)
        p.done()

    # -- parts ----------------------------------------------------------------------------------------------

    def _sheet(self, index: str, title: str, matter: str) -> _Paper:
        ws = self.wb.add_worksheet(sheet_name(index, self.taken))
        p = _Paper(ws, self.fmt)
        for c, w in enumerate(_WIDTHS):
            ws.set_column(c, c, w)
        run, t = self.result.run, self.t
        p.title(title)
        p.pair(t["wp_entity"], run.get("entity"), t["wp_index"], index)
        p.repeat()
        p.pair(t["wp_matter"], matter, t["period"], self.period)
        p.pair(t["wp_preparer"], run.get("preparer"), t["wp_prepared_on"], self.date)
        p.pair(t["wp_reviewer"], run.get("reviewer"), t["wp_reviewed_on"], None)
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0, REPEATED_ROWS - 1)
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
        ws.center_horizontally()
        footer = t["wp_footer"].format(index=index.replace("&", "&&"), page="&P", pages="&N")
        ws.set_footer("&C" + footer)
        return p

    def _masked(self, p: _Paper) -> None:
        t = self.t
        if self.result.masked:
            p.field(t["masked"], t["masked_yes"])
        else:
            p.field(t["masked"], t["xlsx_masked_no"], warn=True)

    def _title(self, r: Mapping[str, Any]) -> str:
        return str((r.get("title") if self.zh else r.get("title_en")) or r.get("title") or r.get("id") or "")

    def _input_line(self, i: Mapping[str, Any]) -> str:
        where = f"{i.get('file')} [{i['sheet']}]" if i.get("sheet") else str(i.get("file"))
        return self.t["wp_input_line"].format(kind=_kind(i.get("kind"), self.lang), where=where,
                                              read=i.get("rows_read"), loaded=i.get("rows_loaded"),
                                              rejected=i.get("rows_rejected"), sha256=i.get("sha256"))

    def _kinds_read(self, r: Mapping[str, Any]) -> list[str]:
        """The input kinds a rule read: its ledger, then the tables its SQL names, in the run's order."""
        present = list(self.result.ledgers)
        named = _tables(r.get("sql"))
        own = r.get("ledger")
        return [k for k in present if k == own] + [k for k in present if k != own and k in named]

    def _facts(self, p: _Paper, findings: pd.DataFrame) -> None:
        """审计认定的事实: the section and its table, a row per finding and cited row with the row as read under
        it when known. A cited row and its row as read are kept on one page, and the section's title and the
        table's head with the first of them."""
        t = self.t
        labels = [t["wp_finding"], t["severity"], t["message"], t["amount"], t["wp_role"], t["wp_where"]]
        self._table(p, labels, t["wp_evidence"], self._fact_rows(findings))

    def _table(self, p: _Paper, labels: Sequence[str], under: str,
               rows: Iterable[tuple[list[Any] | None, str | None]]) -> None:
        """A findings table under 审计认定的事实: ``(row, text under it labelled ``under`` or None)`` each kept on
        one page, the section's title and the table's head with the first; ``(None, note)`` a note."""
        lead: float | None = _BLANK_PT + _SECTION_PT + _Paper.head_height(labels)
        for row, text in rows:
            if row is None:
                p.note(text or "")
                continue
            height = _Paper.row_height(row)
            if text is not None:
                height += _Paper.evidence_height(under, text)
            p.keep(height + (lead or 0.0))
            if lead is not None:
                p.section(self.t["wp_facts"])
                p.head(labels)
                lead = None
            p.row(row, money=3)
            if text is not None:
                p.evidence(under, text)

    def _fact_rows(self, findings: pd.DataFrame) -> Iterator[tuple[list[Any] | None, str | None]]:
        """The findings table's rows: ``(row, row as read or None)`` per cited row (the finding's id, severity,
        message and money on its first), ``(None, note)`` for what the caps leave out."""
        t = self.t
        shown = findings.iloc[:MAX_FINDINGS]
        cols = ["id", "fingerprint", "severity", "message" if self.zh else "message_en", "amount_fen", "refs"]
        data = shown[cols].to_dict("list")
        evidence = shown["evidence"].tolist() if "evidence" in shown.columns else [None] * len(shown)
        marks = self._triage_marks(shown)
        for fid, fp, sev, msg, fen, cited, read, mark in zip(*data.values(), evidence, marks, strict=True):
            refs, ev = _items(cited), _items(read)
            for j, ref in enumerate(refs[:MAX_REFS] or [{}]):
                head: list[Any] = ([f"{fid}\n{fp}{mark}", t.get(str(sev), sev), msg,
                                    None if fen is None or pd.isna(fen) else int(fen)]
                                   if j == 0 else [None, None, None, None])
                role = ref.get("role")
                entry = ev[j] if j < len(ev) else None
                yield ([*head, render("roles", role, self.lang) if role else None, self._where(ref)] if ref
                       else [*head, None, None]), self._cells(entry) if isinstance(entry, Mapping) else None
            if len(refs) > MAX_REFS:
                yield None, t["wp_more_refs"].format(n=len(refs) - MAX_REFS)
        if len(findings) > MAX_FINDINGS:
            yield None, t["wp_more_findings"].format(n=len(findings) - MAX_FINDINGS, cap=MAX_FINDINGS)

    def _triage_marks(self, findings: pd.DataFrame) -> list[str]:
        """Per finding, what its first cell adds in a run given decisions or a baseline: its triage status and its
        comparison with the baseline (``\n核实：确认\n持续``); nothing in any other run."""
        if not self.verified:
            return [""] * len(findings)
        from fundaudit.report.verification import since_label, statuses
        from fundaudit.triage import status_label

        since = findings["since_baseline"].tolist() if "since_baseline" in findings else [None] * len(findings)
        return ["\n" + self.t["wp_triage_status"].format(status=status_label(s, self.lang))
                + (f"\n{since_label(b, self.lang)}" if since_label(b, self.lang) else "")
                for s, b in zip(statuses(findings).tolist(), since, strict=True)]

    def excluded_paper(self) -> None:
        """FA-EXCLUDED: the findings excluded on verification, each with its rule, money, reason, verifier and date
        and the rows it cited; they are on no rule's paper and count in no total."""
        t = self.t
        f = self.excluded
        p = self._sheet(EXCLUDED_INDEX, t["wp_excluded_title"], t["wp_excluded_matter"])
        labels = [t["wp_finding"], t["severity"], t["message"], t["amount"], t["triage_col_reason"],
                  t["triage_col_by"]]
        self._table(p, labels, t["wp_where"], self._excluded_rows(f))
        total = _fen(f["amount_fen"]) if "amount_fen" in f else None
        end = [(t["wp_conclusion"], render("workpapers", "excluded_conclusion", self.lang, count=len(f),
                                           amount=format_fen(total or 0))),
               (t["wp_attachments"], "\n".join(self.attachments) or t["wp_none"])]
        p.keep(_BLANK_PT + sum(_field_height(text) for _, text in end))
        for i, (label, text) in enumerate(end):
            p.field(label, text, space=i == 0)
        p.done()

    def _excluded_rows(self, f: pd.DataFrame) -> Iterator[tuple[list[Any] | None, str | None]]:
        """FA-EXCLUDED's rows: the finding, its reason and verifier, and the rows it cited under it."""
        from fundaudit.report.verification import decision

        t = self.t
        cols = ["id", "fingerprint", "rule", "severity", "message" if self.zh else "message_en", "amount_fen",
                "refs", "triage"]
        for fid, fp, rule, sev, msg, fen, cited, given in zip(*f[cols].to_dict("list").values(), strict=True):
            tri = decision(given)
            row = [f"{fid}\n{fp}\n{rule}", t.get(str(sev), sev), msg,
                   None if fen is None or pd.isna(fen) else int(fen), tri.get("reason") or None,
                   t["wp_verified_by"].format(by=tri.get("by") or "", date=tri.get("date") or "").strip() or None]
            where = t["wp_cell_sep"].join(self._where(r) for r in _items(cited)[:MAX_REFS] if isinstance(r, Mapping))
            yield row, where or None

    def _where(self, ref: Mapping[str, Any]) -> str:
        key = "wp_location" if ref.get("sheet") else "wp_location_nosheet"
        return self.t[key].format(file=ref.get("file", ""), sheet=ref.get("sheet", ""), row=ref.get("row", ""))

    def _cells(self, entry: Mapping[str, Any]) -> str:
        """An evidence entry as one text: ``header：value；…``, or its note when the row cannot be shown."""
        cells = entry.get("cells")
        if not isinstance(cells, Mapping):
            return str(entry.get("note") or self.t["wp_none"])
        cell = self.t["wp_cell"]
        return self.t["wp_cell_sep"].join(cell.format(header=h, value="" if v is None else v) for h, v in cells.items())

    def _conclusion(self, r: Mapping[str, Any], findings: pd.DataFrame) -> str:
        """Counts and money by severity, the basis of the money, and what the findings still need."""
        t, lang = self.t, self.lang
        total = _fen(findings["amount_fen"])
        parts = [render("workpapers", "conclusion", lang, count=len(findings), amount=format_fen(total))
                 if total is not None else render("workpapers", "conclusion_no_money", lang, count=len(findings))]
        for sev in LEVELS:
            rows = findings[findings["severity"] == sev]
            if len(rows):
                fen = _fen(rows["amount_fen"])
                parts.append(render("workpapers", "conclusion_severity", lang, severity=t.get(sev, sev),
                                    count=len(rows), amount=format_fen(fen)) if fen is not None else
                             render("workpapers", "conclusion_severity_count", lang, severity=t.get(sev, sev),
                                    count=len(rows)))
        if not findings["severity"].isin(AT_ISSUE).all():
            parts.append(render("workpapers", "conclusion_info", lang))
        basis = r.get("amount_basis") if self.zh else r.get("amount_basis_en")
        if basis:
            parts.append(render("workpapers", "conclusion_amount_basis", lang, basis=basis))
        parts.append(render("workpapers", "conclusion_verify", lang))
        return "\n".join(parts)


class _Paper:
    """One worksheet written top to bottom: the row cursor and the kinds of rows a paper has."""

    def __init__(self, ws: Any, fmt: Mapping[str, Any]) -> None:
        self.ws, self.fmt, self.r = ws, fmt, 0
        self.y = 0.0  # points used on the current printed page (every row's height is set, so known)
        self.top = 0.0  # points the repeated rows take at the top of every page after the first
        self.breaks: list[int] = []

    def _set(self, height: float) -> None:
        """Set the current row's height, and follow where it lands on the printed page. A row's height is
        a whole number of pixels (0.75 pt each, as Excel stores it and xlsxwriter rounds it): counted as such,
        so the page model does not drift from the printed page over a long paper."""
        height = int(height * 4 / 3 + 0.5) * 0.75
        self.ws.set_row(self.r, height)
        self._place(height)

    def _place(self, height: float) -> None:
        if self.y + height > _PAGE_PT and self.y > self.top:
            self.y = self.top
        self.y += height

    def _blank(self) -> None:
        self._place(_BLANK_PT)
        self.r += 1

    def repeat(self) -> None:
        """The rows written so far are the ones repeated at the top of every printed page."""
        self.top = self.y

    def keep(self, height: float) -> None:
        """Start a new page here unless ``height`` points still fit on this one (a table's head is not left
        alone at the foot of a page, nor the conclusion split from its basis)."""
        if self.y + height > _PAGE_PT and self.y > self.top:
            self.breaks.append(self.r)
            self.y = self.top

    def done(self) -> None:
        if self.breaks:
            self.ws.set_h_pagebreaks(self.breaks)

    def _text(self, r: int, c: int, text: Any, fmt: Any) -> None:
        if text is None or text == "":
            self.ws.write_blank(r, c, None, fmt)
        elif isinstance(text, bool):
            self.ws.write_string(r, c, str(text), fmt)
        elif isinstance(text, int | float):
            self.ws.write_number(r, c, text, fmt)
        else:
            self.ws.write_string(r, c, neutralise(str(text)), fmt)

    def _merged(self, r: int, first: int, last: int, text: Any, fmt: Any) -> None:
        if first == last:
            self._text(r, first, text, fmt)
            return
        self.ws.merge_range(r, first, r, last, None, fmt)
        self._text(r, first, text, fmt)

    def title(self, text: str) -> None:
        self._set(30)
        self._merged(self.r, 0, _LAST, text, self.fmt["title"])
        self.r += 1

    def pair(self, label: str, value: Any, label2: str, value2: Any) -> None:
        """Two labelled fields on one row: A label, B:C value; D:E label, F value."""
        left, right = "" if value is None else str(value), "" if value2 is None else str(value2)
        self._set(max(wrapped_height((left, _span(1, 2)), (right, _span(5, 5))), 20))
        self._text(self.r, 0, label, self.fmt["label"])
        self._merged(self.r, 1, 2, left, self.fmt["value"])
        self._merged(self.r, 3, 4, label2, self.fmt["label"])
        self._text(self.r, 5, right, self.fmt["value"])
        self.r += 1

    def section(self, label: str) -> None:
        self._blank()
        self._set(_SECTION_PT)
        self._merged(self.r, 0, _LAST, label, self.fmt["section"])
        self.r += 1

    def field(self, label: str, text: str, *, warn: bool = False, space: bool = False) -> None:
        """A labelled field: label in A, the text in B:F, a row per line (wrapped), so a long field breaks
        across pages between its lines; ``space`` leaves a blank row above."""
        if space:
            self._blank()
        for i, line in enumerate(text.split("\n")):
            self._set(_field_height(line, label if i == 0 else ""))
            self._text(self.r, 0, label if i == 0 else None, self.fmt["label"])
            self._merged(self.r, 1, _LAST, line, self.fmt["warn" if warn else "value"])
            self.r += 1

    def sql(self, label: str, text: str) -> None:
        """The SQL as its own block, in a monospaced font, broken between words into lines of ``_SQL_WIDTH``
        characters, a row each (``fundaudit rules show RULE-ID --sql`` prints it laid out clause by clause;
        here it stays compact, to keep the paper short)."""
        self._text(self.r, 0, label, self.fmt["label"])
        first = True
        for line in text.split("\n"):
            for part in _sql_lines(line):
                self._set(LINE_PT + 3 if first else _SQL_ROW_PT)
                first = False
                self._text(self.r, 1, part, self.fmt["sql"])
                self.r += 1

    @staticmethod
    def head_height(labels: Sequence[str]) -> float:
        return wrapped_height(*((lab, _WIDTHS[c]) for c, lab in enumerate(labels)))

    def head(self, labels: Sequence[str]) -> None:
        self._set(self.head_height(labels))
        for c, label in enumerate(labels):
            self._text(self.r, c, label, self.fmt["head"])
        self.r += 1

    @staticmethod
    def row_height(values: Sequence[Any]) -> float:
        return wrapped_height(*((v, _WIDTHS[c]) for c, v in enumerate(values) if isinstance(v, str)))

    def row(self, values: Sequence[Any], *, money: int = 3) -> None:
        """A table row; column ``money`` holds fen, shown as yuan."""
        self._set(self.row_height(values))
        for c, v in enumerate(values):
            if c == money and isinstance(v, int) and not isinstance(v, bool):
                self.ws.write_number(self.r, c, v / 100, self.fmt["money"])
            else:
                self._text(self.r, c, v, self.fmt["cell"])
        self.r += 1

    @staticmethod
    def evidence_height(label: str, text: str) -> float:
        return wrapped_height((text, _span(2, _LAST)), (label, _WIDTHS[1]), size=_EVIDENCE_PT)

    def evidence(self, label: str, text: str) -> None:
        """The row as read, under the cited row: label in B, the cells in C:F."""
        self._set(self.evidence_height(label, text))
        self._text(self.r, 0, None, self.fmt["cell"])
        self._text(self.r, 1, label, self.fmt["evidence"])
        self._merged(self.r, 2, _LAST, text, self.fmt["evidence"])
        self.r += 1

    def note(self, text: str) -> None:
        self._set(wrapped_height((text, _span(2, _LAST)), size=_EVIDENCE_PT))
        self._merged(self.r, 2, _LAST, text, self.fmt["evidence"])
        self.r += 1


def _fen(amounts: pd.Series) -> int | None:
    """The exact sum of fen amounts (missing ones skipped); None when every one is missing (no money)."""
    fen = pd.to_numeric(amounts, errors="coerce").dropna()
    return int(fen.astype("int64").sum()) if len(fen) else None


def _sql_lines(line: str) -> list[str]:
    """``line`` broken between words into lines of about ``_SQL_WIDTH`` characters; a line that would start
    with an operator a spreadsheet reads as a formula (``-``, ``+``, ``=``, ``@``) leaves that first word on
    the line before, so the SQL is printed as it ran, with no ``'`` put in front."""
    parts = textwrap.wrap(line, _SQL_WIDTH - 8, break_on_hyphens=False) or [""]
    out = [parts[0]]
    for part in parts[1:]:
        rest = part
        if part[:1] in "-+=@":
            word, _, rest = part.partition(" ")
            out[-1] += " " + word
        if rest:
            out.append(rest)
    return out


def _items(value: Any) -> list[Any]:
    """A list cell of the findings frame (refs, evidence) as a list; anything else (missing) as none."""
    return list(value) if isinstance(value, list | tuple | np.ndarray) else []


def _is_ledger(kind: str) -> bool:
    from fundaudit.columns import catalogue

    spec = catalogue().get(kind)
    return bool(spec is not None and spec.ledger)


def _tables(sql: str | None) -> set[str]:
    """Names a query reads FROM or JOINs (its CTEs' names too; callers keep the input kinds). Tokens, not a
    parse: the same names at a fraction of the cost."""
    if not sql:
        return set()
    import sqlglot
    from sqlglot.tokens import TokenType

    try:
        tokens = sqlglot.tokenize(sql, read="duckdb")
    except sqlglot.errors.TokenError:
        return set()
    names = (TokenType.VAR, TokenType.IDENTIFIER)
    return {b.text for a, b in itertools.pairwise(tokens)
            if a.token_type in (TokenType.FROM, TokenType.JOIN) and b.token_type in names}
