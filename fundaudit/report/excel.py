"""findings.xlsx: the workbook the committee files with its working papers and works through.

Sheets 汇总 / 疑点明细 / 拒收行 / 输入 / 规则 (Summary / Findings / Rejected rows / Inputs / Rules with
``lang="en"``), header rows frozen, filters on, widths set, money as numbers with two decimals. Every
text cell is written as a string (never a formula or link: ``strings_to_formulas`` and
``strings_to_urls`` off), and text that a spreadsheet would run if re-entered (starting with ``=``,
``+``, ``-``, ``@``, tab, CR, or their full-width forms) is prefixed with ``'``.

The Chinese workbook shows input kinds by their Chinese titles and rejection actions as 整行拒收 /
字段置空; the English one keeps the codes findings.json uses (``disbursements``, ``row_rejected``).
The money at issue on the summary sheet is ``summary.amount_at_issue``: error and warning findings only.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fundaudit.errors import Lang, render_note
from fundaudit.report.verification import active, decision, funnel, recurs_text, since_label

if TYPE_CHECKING:
    from fundaudit.run import AuditResult

__all__ = ["evidence_text", "neutralise", "write_excel"]

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "＝", "＋", "－", "＠")
MAX_CELL = 32_000

# The workbook's labels are the UI texts of templates/strings.yaml (one home for the HTML report, the
# workbook and the CLI): label used here -> strings.yaml key. ``xlsx_*`` keys are the workbook's own.
_LABELS = {
    "title": "xlsx_title", "version": "version", "generated": "generated", "period": "period",
    "profile": "profile", "masked": "masked", "masked_yes": "masked_yes", "masked_no": "xlsx_masked_no",
    "findings": "count", "amount": "amount", "amount_at_issue": "kpi_amount", "amount_note": "xlsx_amount_note",
    "by_severity": "xlsx_by_severity", "by_rule": "chart_by_rule", "severity": "severity", "rule": "rule",
    "count": "xlsx_count", "id": "finding_id", "kind": "ledger", "message": "message", "file": "file",
    "sheet": "sheet", "row": "row", "refs": "xlsx_refs", "values": "values", "fingerprint": "xlsx_fingerprint",
    "assignee": "xlsx_assignee", "response": "xlsx_response", "status": "xlsx_status", "column": "column",
    "value": "value", "reason": "reason", "action": "action", "header_row": "header_row",
    "rows_read": "rows_read", "rows_loaded": "rows_loaded", "rows_rejected": "rows_rejected",
    "rows_non_data": "rows_non_data", "amount_total": "amount_total", "sha256": "sha256", "notes": "xlsx_notes",
    "conserved": "conserved", "title_col": "rule_title", "ledger": "ledger", "rule_status": "status",
    "params": "params", "error": "error", "warning": "warning", "info": "info", "ran": "status_ran",
    "skipped": "status_skipped", "rule_error": "status_error", "packs": "packs", "evidence": "xlsx_evidence",
}
_ACTIONS = ("action_row_rejected", "action_field_blanked", "action_field_flagged")  # zh only: en shows the codes
_SHEET_KEYS = ("xlsx_sheet_summary", "nav_findings", "nav_rejected", "xlsx_sheet_inputs", "xlsx_sheet_rules")


LINE_PT = 14.0  # height of one wrapped line at a workbook's 10 pt
MAX_ROW_PT = 409.0  # Excel's limit


def text_width(text: str, size: float = 10.0) -> float:
    """Column units ``text`` takes at ``size`` pt: at 10 pt about two for a wide (CJK) character, less than one
    for the rest."""
    return sum(1.9 if unicodedata.east_asian_width(ch) in "WF" else 0.85 for ch in text) * size / 10


def wrapped_height(*cells: tuple[str, float], size: float = 10.0) -> float:
    """Row height (points) for wrapped ``(text, width)`` cells in a ``size`` pt font: the most lines any of
    them needs. xlsxwriter cannot measure text and neither Excel nor LibreOffice grows a row on opening, so
    without it a wrapped cell shows its first line only."""
    lines = max((sum(max(1, math.ceil(text_width(line, size) / max(width - 1, 1))) for line in text.split("\n"))
                 for text, width in cells if text), default=1)
    return min(lines * LINE_PT * size / 10 + 3, MAX_ROW_PT)


def _labels(lang: str) -> dict[str, str]:
    """The workbook's labels in ``lang``, by the names this module uses."""
    from fundaudit.report.html import strings

    s = strings()[lang]
    return {name: s[key] for name, key in _LABELS.items()} | ({a: s[a] for a in _ACTIONS} if lang == "zh" else {})


def _sheet_names(lang: str) -> tuple[str, ...]:
    """The five sheet names in ``lang`` (Summary / Findings / Rejected rows / Inputs / Rules)."""
    from fundaudit.report.html import strings

    return tuple(strings()[lang][k] for k in _SHEET_KEYS)


def neutralise(value: Any) -> Any:
    """Text a spreadsheet could evaluate gets a leading ``'``; numbers and None pass unchanged."""
    if not isinstance(value, str):
        return value
    return _neutral(value)


# Text a spreadsheet would run: one of _DANGEROUS after any spaces (plain or ideographic).
_RISKY = re.compile("[ \u3000]*[" + re.escape("".join(_DANGEROUS)) + "]")
_LEAD = frozenset([*_DANGEROUS, " ", "\u3000"])  # the first characters such text can start with


def _neutral(text: str) -> str:
    """``neutralise`` of a str: cut at MAX_CELL, ``'`` before text a spreadsheet could evaluate."""
    if len(text) > MAX_CELL:
        text = text[:MAX_CELL]
    if text[:1] in _LEAD and _RISKY.match(text):
        return "'" + text
    return text


@contextlib.contextmanager
def safe_workbook(path: str | os.PathLike[str], **options: Any) -> Iterator[Any]:
    """An xlsxwriter workbook that never holds a formula or link made from text (strings stay strings), written
    under a temporary name beside ``path`` and renamed into place when the block completes (removed if it
    fails). ``options`` add to xlsxwriter's (``constant_memory``, ``default_format_properties``)."""
    import xlsxwriter

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        wb = xlsxwriter.Workbook(tmp, {"strings_to_formulas": False, "strings_to_urls": False,
                                       "strings_to_numbers": False, **options})
        yield wb
        wb.close()
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: The cell formats of a workbook people fill in and send back (triage answers, sample results): header cells,
#: fill-in headers and cells (unlocked, tinted), wrapped text, money.
_FILL_IN: dict[str, dict[str, Any]] = {
    "head": {"bold": True, "bg_color": "#DDE4EE", "border": 1, "text_wrap": True, "valign": "top"},
    "fill_head": {"bold": True, "bg_color": "#FFF2CC", "border": 1, "text_wrap": True, "valign": "top"},
    "wrap": {"text_wrap": True, "valign": "top"},
    "money": {"num_format": "#,##0.00", "valign": "top"},
    "fill": {"locked": False, "bg_color": "#FFF9E6", "text_wrap": True, "valign": "top", "border": 1,
             "border_color": "#D9D9D9"},
    "fill_money": {"locked": False, "bg_color": "#FFF9E6", "num_format": "#,##0.00", "valign": "top", "border": 1,
                   "border_color": "#D9D9D9"},
    "fill_date": {"locked": False, "bg_color": "#FFF9E6", "num_format": "yyyy-mm-dd", "valign": "top", "border": 1,
                  "border_color": "#D9D9D9"},
}


def header_key(text: Any) -> str:
    """How a header or answer typed into a fill-in workbook is matched: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


@functools.cache
def fill_in_headers(prefix: str, names: tuple[str, ...]) -> dict[str, str]:
    """A fill-in workbook's column header, in either language (the strings ``<prefix><name>``), by
    :func:`header_key` -> the column's name: how a workbook sent back is read whatever its language."""
    from fundaudit.report.html import strings

    return {header_key(strings()[lang][f"{prefix}{name}"]): name for lang in ("zh", "en") for name in names}


def finish_fill_in_sheet(ws: Any, *, header_row: int, last_row: int, columns: int, footer: str) -> None:
    """A fill-in sheet made ready to send: header frozen and filtered, printed for signing (A4 landscape, every
    column on one page's width, the header rows on every page, ``footer`` left and the page number right), and
    protected but for its unlocked fill-in cells (sorting and filtering still allowed)."""
    ws.freeze_panes(header_row + 1, 1)
    ws.autofilter(header_row, 0, last_row, columns - 1)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, header_row)
    ws.set_footer("&L" + neutralise(footer).replace("&", "&&") + "&R&P / &N")  # && is a literal &
    ws.protect("", {"sort": True, "autofilter": True, "format_columns": True, "format_rows": True,
                    "select_locked_cells": True, "select_unlocked_cells": True})


def fill_in_formats(wb: Any) -> dict[str, Any]:
    """The formats of a fill-in workbook (:data:`_FILL_IN`) added to ``wb``, by name."""
    return {name: wb.add_format(dict(spec)) for name, spec in _FILL_IN.items()}


def write_excel(result: AuditResult, path: str | os.PathLike[str], *, lang: str = "zh") -> Path:
    """Write findings.xlsx under a temporary name, then rename it into place."""
    t = _labels(lang)
    with safe_workbook(path, constant_memory=True) as wb:
        fmt = {
            "head": wb.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1, "text_wrap": True}),
            "money": wb.add_format({"num_format": "#,##0.00"}),
            "title": wb.add_format({"bold": True, "font_size": 14}),
            "warn": wb.add_format({"bold": True, "font_color": "#B00020"}),
            "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        }
        names = _sheet_names(lang)
        from fundaudit.triage import counted

        verified = active(result)
        f = result.findings
        kept = counted(f) if verified else None
        _summary(wb.add_worksheet(names[0]), result, t, fmt, lang)
        _findings(wb.add_worksheet(names[1]), f if kept is None else f[kept], t, fmt, lang, verified)
        _rejected(wb.add_worksheet(names[2]), result, t, fmt, lang)
        _inputs(wb.add_worksheet(names[3]), result, t, fmt, lang)
        _rules(wb.add_worksheet(names[4]), result, t, fmt, lang)
        if kept is not None:  # a run given decisions or a baseline: what verification set aside, and why
            from fundaudit.report.html import strings

            ui = strings()[lang]
            _findings(wb.add_worksheet(ui["xlsx_sheet_excluded"]), f[~kept], t, fmt, lang, verified)
            _resolved(wb.add_worksheet(ui["xlsx_sheet_resolved"]), result, t, fmt, lang)
            _stale(wb.add_worksheet(ui["xlsx_sheet_stale"]), result, t, fmt, lang)
        wb.set_properties({"title": t["title"], "comments": f"fundaudit {result.version}"})
    return Path(path)


def _header(ws: Any, columns: Sequence[tuple[str, int]], fmt: dict[str, Any], row: int = 0) -> None:
    for c, (name, width) in enumerate(columns):
        ws.write_string(row, c, neutralise(name), fmt["head"])
        ws.set_column(c, c, width)
    ws.freeze_panes(row + 1, 0)


def _cell(ws: Any, r: int, c: int, value: Any, fmt: dict[str, Any], money: bool = False) -> None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        ws.write_blank(r, c, None)
    elif money:
        ws.write_number(r, c, int(value) / 100, fmt["money"])
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        ws.write_number(r, c, value)
    else:
        ws.write_string(r, c, neutralise(str(value)))


def _summary(ws: Any, result: AuditResult, t: dict[str, str], fmt: dict[str, Any], lang: str) -> None:
    s = result.summary
    run = result.run
    period = run.get("period") or {}
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 60)
    ws.write_string(0, 0, t["title"], fmt["title"])
    rows: list[tuple[str, Any]] = [
        (t["version"], result.version),
        (t["generated"], result.generated_at),
        (t["period"], f"{period.get('start', '')} .. {period.get('end', '')}" if period else "—"),
        (t["profile"], run.get("profile", "")),
        (t["masked"], t["masked_yes"] if result.masked else t["masked_no"]),
        (t["findings"], s["findings"]),
    ]
    r = 2
    for label, value in rows:
        ws.write_string(r, 0, label)
        _cell(ws, r, 1, value, fmt)
        if label == t["masked"] and not result.masked:
            ws.write_string(r, 1, neutralise(str(value)), fmt["warn"])
        r += 1
    ws.write_string(r, 0, t["amount_at_issue"])
    ws.write_number(r, 1, float(s["amount_at_issue"]), fmt["money"])  # error + warning findings only
    ws.write_string(r, 2, t["amount_note"])
    r += 2
    ws.write_string(r, 0, t["by_severity"], fmt["head"])
    ws.write_string(r, 1, t["count"], fmt["head"])
    for sev, n in s["by_severity"].items():
        r += 1
        ws.write_string(r, 0, t.get(sev, sev))
        ws.write_number(r, 1, n)
    r += 2
    ws.write_string(r, 0, t["by_rule"], fmt["head"])
    ws.write_string(r, 1, t["count"], fmt["head"])
    for rule, n in sorted(s["by_rule"].items()):
        r += 1
        ws.write_string(r, 0, neutralise(rule))
        ws.write_number(r, 1, n)
    r += 2
    ws.write_string(r, 0, t["packs"], fmt["head"])
    for p in run.get("rule_packs", []):
        r += 1
        ws.write_string(r, 0, neutralise(f"{p['name']} {p['version']}"))
        ws.write_string(r, 1, neutralise(p["sha256"]))
    if active(result):
        _funnel(ws, r + 2, result, t, fmt, lang)


def _funnel(ws: Any, r: int, result: AuditResult, t: dict[str, str], fmt: dict[str, Any], lang: str) -> None:
    """The verification funnel on the summary sheet from row ``r``: each stage's count and money at issue, and the
    one-line summary the command line prints."""
    from fundaudit.report.html import strings
    from fundaudit.report.verification import funnel_line
    from fundaudit.triage import status_label

    ui = strings()[lang]
    shown: Lang = "en" if lang == "en" else "zh"
    ws.write_string(r, 0, ui["triage_h"], fmt["head"])
    ws.write_string(r, 1, t["count"], fmt["head"])
    ws.write_string(r, 2, t["amount"], fmt["head"])
    row = funnel(result.findings).iloc[0]
    stages = [("found", ui["funnel_found"]), ("verified", ui["funnel_verified"]), ("upheld", ui["funnel_upheld"]),
              *((s, "  " + status_label(s, shown)) for s in ("confirmed", "in_progress", "rectified")),
              ("excluded", status_label("excluded", shown)), ("pending", status_label("pending", shown))]
    for stage, label in stages:
        r += 1
        ws.write_string(r, 0, label)
        ws.write_number(r, 1, int(row[f"{stage}_n"]))
        ws.write_number(r, 2, int(row[f"{stage}_fen"]) / 100, fmt["money"])
    ws.write_string(r + 1, 0, neutralise(funnel_line(result, shown)))


def _findings(ws: Any, f: pd.DataFrame, t: dict[str, str], fmt: dict[str, Any], lang: str,
              verified: bool = False) -> None:
    """The findings ``f``, a row each; with ``verified`` (a run given decisions or a baseline) five more columns:
    the triage status, its reason, who decided when, and the comparison with the baseline."""
    cols = [
        (t["id"], 10),
        (t["rule"], 20),
        (t["severity"], 8),
        (t["kind"], 24 if lang == "zh" else 14),
        (t["message"], 60),
        (t["amount"], 14),
        (t["file"], 24),
        (t["sheet"], 12),
        (t["row"], 7),
        (t["refs"], 30),
        (t["values"], 40),
        (t["assignee"], 10),
        (t["response"], 24),
        (t["status"], 10),
        (t["fingerprint"], 22),
        (t["evidence"], 80),
    ]
    if verified:
        from fundaudit.report.html import strings

        ui = strings()[lang]
        cols += [(ui["triage_col_answer"], 10), (ui["triage_col_reason"], 30), (ui["triage_col_by"], 10),
                 (ui["triage_col_date"], 12), (ui["triage_col_since"], 16)]
    _header(ws, cols, fmt)
    msg_col = "message" if lang == "zh" else "message_en"
    n = len(f)
    if n:
        # A column at a time (the values to_dict("records") gives), then one pass writing the rows in
        # order, as constant_memory needs.
        keys = ["id", "rule", "severity", "kind", msg_col, "values", "refs", "fingerprint"]
        data = f[keys].to_dict("list")
        evidence = f["evidence"].tolist() if "evidence" in f else [None] * n
        fen = f["amount_fen"] if "amount_fen" in f else pd.Series([None] * n, index=f.index, dtype=object)
        money = [None if na else int(v) / 100 for v, na in zip(fen.tolist(), fen.isna().tolist(), strict=True)]
        labels = _memo(lambda s: t.get(s, s))
        kinds = _memo(lambda k: _kind(k, lang))
        to_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(v, ensure_ascii=False), one encoder
        refs = [r or [{}] for r in data["refs"]]
        firsts = [r[0] for r in refs]
        columns = [
            data["id"],
            data["rule"],
            [labels(s) for s in data["severity"]],
            [kinds(k) for k in data["kind"]],
            data[msg_col],
            [x.get("file") for x in firsts],
            [x.get("sheet") for x in firsts],
            [x.get("row") for x in firsts],
            ["; ".join(_ref_text(r) for r in rs) if len(rs) > 1 else "" for rs in refs],
            [to_json(v) if v else "" for v in data["values"]],
            data["fingerprint"],
            [evidence_text(e, lang) if e else "" for e in evidence],
        ]
        places = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 14, 15]
        if verified:
            columns += _triage_columns(f, lang)
            places += [16, 17, 18, 19, 20]
        _rows(ws, columns, places, fmt, money=(5, money))
    ws.autofilter(0, 0, max(n, 1), len(cols) - 1)


def _triage_columns(f: pd.DataFrame, lang: str) -> list[list[Any]]:
    """Per finding: its triage status (as it reads), reason, who decided and when, and its comparison with the
    baseline (新增 / 持续, and when it recurs after an earlier decision)."""
    from fundaudit.triage import status_label

    shown: Lang = "en" if lang == "en" else "zh"
    blank = [None] * len(f)
    tri = [t if isinstance(t, dict) else {} for t in f["triage"].tolist()]
    since = f["since_baseline"].tolist() if "since_baseline" in f else blank
    recurs = f["recurs_after"].tolist() if "recurs_after" in f else blank
    labels = _memo(lambda s: status_label(s, shown))
    return [
        [labels(str(x.get("status") or "pending")) for x in tri],
        [x.get("reason") or None for x in tri],
        [x.get("by") or None for x in tri],
        [x.get("date") or None for x in tri],
        ["; ".join(p for p in (since_label(s, shown), recurs_text(a, shown)) if p) or None
         for s, a in zip(since, recurs, strict=True)],
    ]


def _resolved(ws: Any, result: AuditResult, t: dict[str, str], fmt: dict[str, Any], lang: str) -> None:
    """The baseline's findings that no longer occur, with their last triage."""
    from fundaudit.report.html import strings
    from fundaudit.triage import status_label

    ui = strings()[lang]
    shown: Lang = "en" if lang == "en" else "zh"
    cols = [(t["fingerprint"], 22), (t["rule"], 20), (t["severity"], 8), (t["message"], 60), (t["amount"], 14),
            (t["refs"], 40), (ui["triage_col_last"], 10), (ui["triage_col_reason"], 30)]
    _header(ws, cols, fmt)
    for i, r in enumerate(result.resolved_since_baseline, start=1):
        tri = decision(r.get("triage"))
        values = [r.get("fingerprint"), r.get("rule"), t.get(str(r.get("severity")), r.get("severity")),
                  r.get("message") if lang == "zh" else r.get("message_en") or r.get("message"), None,
                  "; ".join(_ref_text(x) for x in r.get("refs") or [] if isinstance(x, dict)),
                  status_label(str(tri.get("status") or "pending"), shown), tri.get("reason") or None]
        for c, v in enumerate(values):
            _cell(ws, i, c, v, fmt)
        if r.get("amount") not in (None, ""):
            ws.write_number(i, 4, float(str(r["amount"])), fmt["money"])
    ws.autofilter(0, 0, max(len(result.resolved_since_baseline), 1), len(cols) - 1)


def _stale(ws: Any, result: AuditResult, t: dict[str, str], fmt: dict[str, Any], lang: str) -> None:
    """Decisions whose finding occurs neither now nor in the baseline."""
    from fundaudit.report.html import strings
    from fundaudit.triage import STATUSES, status_label

    ui = strings()[lang]
    shown: Lang = "en" if lang == "en" else "zh"
    cols = [(t["fingerprint"], 22), (ui["triage_col_answer"], 10), (ui["triage_col_reason"], 30),
            (ui["triage_col_evidence_index"], 14), (ui["triage_col_by"], 10), (ui["triage_col_date"], 12)]
    _header(ws, cols, fmt)
    for i, d in enumerate(result.stale_decisions, start=1):
        status = str(d.get("status") or "")
        values = [d.get("fingerprint"),
                  status_label(status, shown) if status in STATUSES else status, d.get("reason") or None,
                  d.get("evidence") or None, d.get("by") or None, d.get("date") or None]
        for c, v in enumerate(values):
            _cell(ws, i, c, v, fmt)
    ws.autofilter(0, 0, max(len(result.stale_decisions), 1), len(cols) - 1)


def _rows(ws: Any, columns: Sequence[list[Any]], places: Sequence[int], fmt: dict[str, Any],
          money: tuple[int, list[float | None]] | None = None) -> None:
    """Rows 1.. in order (as constant_memory needs), ``columns[k]`` at column ``places[k]`` as ``_cell``
    writes them, and ``money`` (column, yuan or None) in the money format: plain text straight to
    write_string, None skipped (a blank cell without a format writes nothing)."""
    write_string, write_number, money_fmt = ws.write_string, ws.write_number, fmt["money"]
    money_col, amounts = money if money is not None else (0, [None] * len(columns[0]))
    for i, (amount, *row) in enumerate(zip(amounts, *columns, strict=True), start=1):
        for c, value in zip(places, row, strict=True):
            if type(value) is str:
                write_string(i, c, _neutral(value))
            elif value is not None:
                _cell(ws, i, c, value, fmt)
        if amount is not None:
            write_number(i, money_col, amount, money_fmt)


def _memo(fn: Any) -> Any:
    """``fn`` remembering its results (the few distinct severities and kinds of many findings)."""
    seen: dict[Any, Any] = {}

    def get(key: Any) -> Any:
        try:
            return seen[key]
        except KeyError:
            seen[key] = out = fn(key)
            return out
        except TypeError:  # unhashable
            return fn(key)

    return get


def _kind(kind: Any, lang: str) -> Any:
    """An input kind as the sheet shows it: its Chinese title in zh, the code (as ``--ledger`` takes
    it) in en."""
    if lang != "zh" or not isinstance(kind, str):
        return kind
    from fundaudit.columns import catalogue
    from fundaudit.report.html import strings

    spec = catalogue().get(kind)
    return strings()["zh"]["cross_ledger"] if kind == "*" else (spec.title_zh if spec is not None else kind)


def evidence_text(entries: Sequence[Any], lang: str = "zh") -> str:
    """A finding's evidence as text, one line per ref: ``file[sheet]:5: 姓名=张三; 金额=1000; …`` (the row's
    non-empty cells as read, in the columns' order), or the location and why the row cannot be shown."""
    lines = []
    for e in entries:
        if not isinstance(e, dict):
            continue
        cells = e.get("cells")
        if isinstance(cells, dict):
            shown = "; ".join(f"{h}={v}" for h, v in cells.items() if v != "")
        else:
            why = e.get("note") or ""
            shown = why.render(lang) if hasattr(why, "render") else str(why)  # a catalogue Note, in ``lang``
        lines.append(f"{_ref_text(e)}: {shown}")
    return "\n".join(lines)


def _ref_text(r: dict[str, Any]) -> str:
    where = r.get("file", "")
    if r.get("sheet"):
        where += f"[{r['sheet']}]"
    return f"{where}:{r.get('row')}"


def _rejected(ws: Any, result: AuditResult, t: dict[str, str], fmt: dict[str, Any], lang: str) -> None:
    cols = [
        (t["kind"], 24 if lang == "zh" else 14),
        (t["file"], 24),
        (t["sheet"], 12),
        (t["row"], 7),
        (t["column"], 16),
        (t["value"], 24),
        (t["reason"], 50),
        (t["action"], 14),
    ]
    _header(ws, cols, fmt)
    rej = result.rejected_rows
    msg = "message" if lang == "zh" else "message_en"
    if len(rej):
        keys = ["kind", "file", "sheet", "row", "column", "value", msg, "action"]
        data = rej[[k for k in keys if k in rej]].to_dict("list")  # the values of to_dict("records")
        blank = [None] * len(rej)
        kinds = _memo(lambda k: _kind(k, lang))
        actions = _memo(lambda a: t.get(f"action_{a}", a))  # 整行拒收 / 字段置空 in zh; the code in en
        columns = [data.get(k, blank) for k in keys]
        columns[0] = [kinds(v) for v in columns[0]]
        columns[3] = [None if v is None else int(v) for v in columns[3]]
        columns[7] = [actions(v) for v in columns[7]]
        _rows(ws, columns, range(len(keys)), fmt)
    ws.autofilter(0, 0, max(len(rej), 1), len(cols) - 1)


def _inputs(ws: Any, result: AuditResult, t: dict[str, str], fmt: dict[str, Any], lang: str) -> None:
    cols = [
        (t["kind"], 24 if lang == "zh" else 14),
        (t["file"], 30),
        (t["sheet"], 12),
        (t["header_row"], 8),
        (t["rows_read"], 9),
        (t["rows_loaded"], 9),
        (t["rows_rejected"], 9),
        (t["rows_non_data"], 9),
        (t["conserved"], 9),
        (t["amount_total"], 16),
        (t["sha256"], 66),
        (t["notes"], 60),
    ]
    _header(ws, cols, fmt)
    shown: Lang = "en" if lang == "en" else "zh"
    for i, inp in enumerate(result.inputs, start=1):
        ok = inp["rows_read"] == inp["rows_loaded"] + inp["rows_rejected"] + inp["rows_non_data"]
        values = [
            _kind(inp["kind"], lang),
            inp["file"],
            inp["sheet"],
            inp["header_row"],
            inp["rows_read"],
            inp["rows_loaded"],
            inp["rows_rejected"],
            inp["rows_non_data"],
            "✓" if ok else "✗",
        ]
        for c, v in enumerate(values):
            _cell(ws, i, c, v, fmt)
        total = inp["amount_total"]
        if total is not None:
            ws.write_number(i, 9, float(total), fmt["money"])
        _cell(ws, i, 10, inp["sha256"], fmt)
        _cell(ws, i, 11, "; ".join(render_note(n, shown) for n in inp.get("notes") or []), fmt)
    from fundaudit.report.html import strings

    not_audited = strings()[shown]["skipped_inputs_title"]  # files found and not audited, with the reason
    skipped = result.skipped_inputs
    for i, skip in enumerate(skipped, start=len(result.inputs) + 1):
        _cell(ws, i, 0, not_audited, fmt)
        _cell(ws, i, 1, skip["file"], fmt)
        _cell(ws, i, 2, skip["sheet"], fmt)
        _cell(ws, i, 11, skip["message" if shown == "zh" else "message_en"], fmt)
    ws.autofilter(0, 0, max(len(result.inputs) + len(skipped), 1), len(cols) - 1)


def _rules(ws: Any, result: AuditResult, t: dict[str, str], fmt: dict[str, Any], lang: str) -> None:
    cols = [
        (t["rule"], 20),
        (t["title_col"], 30),
        (t["ledger"], 24 if lang == "zh" else 14),
        (t["severity"], 8),
        (t["rule_status"], 10),
        (t["findings"], 8),
        (t["reason"], 40),
        (t["params"], 50),
    ]
    _header(ws, cols, fmt)
    for i, r in enumerate(result.rules, start=1):
        status = {"ran": t["ran"], "skipped": t["skipped"], "error": t["rule_error"]}.get(r["status"], r["status"])
        values = [
            r["id"],
            r["title"] if lang == "zh" else r.get("title_en"),
            _kind(r["ledger"], lang),
            t.get(r["severity"]),
            status,
            r["findings"],
            r["reason"] if lang == "zh" else r.get("reason_en"),
            json.dumps(r.get("params", {}), ensure_ascii=False),
        ]
        for c, v in enumerate(values):
            _cell(ws, i, c, v, fmt)
    ws.autofilter(0, 0, max(len(result.rules), 1), len(cols) - 1)
