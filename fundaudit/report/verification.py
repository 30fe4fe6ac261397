"""What a run given decisions or a baseline (``audit(triage=, baseline=)``) adds to every report: the funnel of
verification (疑点 → 已核实 → 确认 / 排除, with count and money at issue, overall and per grassroots union), the
labels of a finding's triage status and of its comparison with the baseline, and the one-line summary the command
line and the working papers print. One home for these, so the HTML report, the workbooks and the CLI agree.

The money of a stage is its findings' money at issue, as ``summary.by_triage`` counts it: error and warning
amounts only (:data:`fundaudit.result.AT_ISSUE`); a finding's union is the one its verification workbook was sent
to (:func:`fundaudit.triage.union_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from fundaudit.errors import Lang, render
from fundaudit.result import at_issue_fen

if TYPE_CHECKING:
    from fundaudit.run import AuditResult

__all__ = ["STAGES", "UPHELD", "active", "decision", "funnel", "funnel_line", "recurs_text", "since_label", "statuses",
           "unions"]

#: Statuses that keep a finding as a problem after verification (确认 in the funnel, split by status).
UPHELD = ("confirmed", "in_progress", "rectified")
#: The funnel's stages, in order: every finding, those verified (not pending), upheld, excluded, still pending.
STAGES = ("found", "verified", "upheld", "excluded", "pending")


def active(result: AuditResult) -> bool:
    """Whether the run was given decisions or a baseline (its findings carry ``triage``): only then do the reports
    show verification; every other run's reports are as they always were."""
    return "triage" in result.findings.columns


def decision(value: Any) -> Mapping[str, Any]:
    """A finding's ``triage`` (or a resolved finding's last one) as a mapping: empty when it has none."""
    return value if isinstance(value, Mapping) else {}


def statuses(findings: pd.DataFrame) -> pd.Series:
    """Each finding's triage status (``pending`` where it has none): :func:`fundaudit.triage.status_of`."""
    from fundaudit.triage import status_of

    return status_of(findings)


def unions(findings: pd.DataFrame) -> pd.Series:
    """Each finding's grassroots union, as the verification workbooks group them (None: no union)."""
    from fundaudit.triage import union_of

    blank = [None] * len(findings)
    named = findings["union"].tolist() if "union" in findings.columns else blank
    values = findings["values"].tolist() if "values" in findings.columns else blank
    return pd.Series([union_of({"union": u if isinstance(u, str) else None,
                                "values": v if isinstance(v, Mapping) else {}})
                      for u, v in zip(named, values, strict=True)], index=findings.index, dtype=object)


def funnel(findings: pd.DataFrame, *, by_union: bool = False) -> pd.DataFrame:
    """Count and money at issue (fen) per stage: columns ``<stage>_n`` and ``<stage>_fen`` for every stage of
    ``STAGES`` and every status of ``UPHELD``. One row for all findings (index ``None``), or with ``by_union`` one
    per grassroots union, sorted by name, the findings without a union last (index ``None``; no row when there is
    no finding)."""
    from fundaudit.triage import STATUSES

    status = statuses(findings)
    key = unions(findings) if by_union else pd.Series(None, index=findings.index, dtype=object)
    frame = pd.DataFrame({"key": key.fillna("\uffff"), "status": status, "fen": at_issue_fen(findings), "n": 1})
    grouped = frame.groupby(["key", "status"], sort=True)[["n", "fen"]].sum()
    counts = grouped["n"].unstack(fill_value=0).reindex(columns=list(STATUSES), fill_value=0)
    money = grouped["fen"].unstack(fill_value=0).reindex(columns=list(STATUSES), fill_value=0)
    if not len(counts):
        counts = pd.DataFrame(0, index=["\uffff"], columns=list(STATUSES))
        money = counts.copy()
    out = pd.DataFrame(index=counts.index)
    for suffix, part in (("n", counts), ("fen", money)):
        out[f"found_{suffix}"] = part.sum(axis=1)
        out[f"verified_{suffix}"] = out[f"found_{suffix}"] - part["pending"]
        out[f"upheld_{suffix}"] = part[list(UPHELD)].sum(axis=1)
        out[f"excluded_{suffix}"] = part["excluded"]
        out[f"pending_{suffix}"] = part["pending"]
        for s in UPHELD:
            out[f"{s}_{suffix}"] = part[s]
    out = out.astype("int64")
    out.index = pd.Index([None if k == "\uffff" else k for k in out.index], dtype=object)
    return out.iloc[:0] if by_union and not len(findings) else out


def since_label(since: Any, lang: Lang) -> str:
    """How a finding's ``since_baseline`` reads (新增 / 持续), '' without a baseline."""
    return render("values", f"since_baseline.{since}", lang) if since in ("new", "persisting") else ""


def _period_text(period: Any) -> str:
    """A run's period as a label: ``2016`` for a calendar year, else ``start..end``."""
    if not isinstance(period, Mapping):
        return ""
    start, end = str(period.get("start") or ""), str(period.get("end") or "")
    if start[5:] == "01-01" and end[5:] == "12-31" and start[:4] == end[:4]:
        return start[:4]
    return f"{start}..{end}"


def recurs_text(recurs: Any, lang: Lang) -> str:
    """A finding's ``recurs_after`` as text (曾于 2016 确认), '' when it recurs after nothing."""
    if not isinstance(recurs, Mapping):
        return ""
    from fundaudit.report.html import strings
    from fundaudit.triage import status_label

    return strings()[lang]["triage_recurs"].format(period=_period_text(recurs.get("period")),
                                                   status=status_label(str(recurs.get("status") or "pending"), lang))


def funnel_line(result: AuditResult, lang: Lang) -> str:
    """The funnel on one line, as the command line prints it after the findings line: ``核实：68 个疑点，已核实 12
    （确认 9，排除 3），待核实 56；新增 5，持续 63，已解决 2，失效决定 1`` (the comparison with the baseline only when
    there was one)."""
    from fundaudit.report.html import strings

    t = strings()[lang]
    row = funnel(result.findings).iloc[0]
    line = t["cli_triage_line"].format(found=row["found_n"], verified=row["verified_n"], upheld=row["upheld_n"],
                                       excluded=row["excluded_n"], pending=row["pending_n"])
    by = result.summary.get("by_baseline")
    after = [t["cli_triage_since"].format(**by)] if by is not None else []
    after.append(t["cli_triage_stale"].format(n=len(result.stale_decisions)))
    return t["cli_clause_sep"].join([line, t["cli_triage_sep"].join(after)])
