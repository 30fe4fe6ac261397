"""The 核实 round trip: findings out to the grassroots unions for verification, their answers back as decisions.

``export`` writes one workbook per grassroots union (or per rule, or one) from a run's findings.json: each finding
with its provenance, evidence and money, keyed by its fingerprint (shown as 疑点编号), and five columns to fill
(核实结论 from a drop-down, 理由, 证据索引, 核实人, 核实日期); the sheet is protected except those columns (no
password: protection prevents slips, not tampering), and a very hidden sheet lists the fingerprints the workbook
was sent with. ``load`` reads any set of filled workbooks (re-saved, re-sorted, rows deleted) through fundaudit's
own readers, so a problem names file, sheet and row as the user sees them; every problem is collected and raised
at once (:class:`TriageError`). ``write_decisions`` writes the decisions file (UTF-8 with BOM, so Excel opens it);
``merge`` lets a later decision for a fingerprint replace the earlier one, which is kept in ``history``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fundaudit.errors import ConfigError, InputError, Lang, ProblemsError, render
from fundaudit.report.excel import (
    fill_in_formats,
    fill_in_headers,
    finish_fill_in_sheet,
    header_key,
    neutralise,
    safe_workbook,
    wrapped_height,
)
from fundaudit.rules.severity import LEVELS

__all__ = ["ANSWERS", "BY", "DECISION_COLUMNS", "STATUSES", "TriageError", "apply", "export", "load",
           "read_baseline", "read_decisions", "status_label", "write_decisions"]

#: Every triage status a finding can have; ``pending`` until someone answers.
STATUSES = ("pending", "confirmed", "excluded", "in_progress", "rectified")
#: The answers a verifier picks from (the drop-down of 核实结论).
ANSWERS = STATUSES[1:]
#: How ``export`` splits the findings into workbooks.
BY = ("union", "rule", "none")
#: The decisions file's columns, in order.
DECISION_COLUMNS = ["fingerprint", "rule", "status", "reason", "evidence", "by", "date", "source_file",
                    "source_row", "history"]
FORMAT = "fundaudit-triage"  # first cell of the very hidden sheet: a workbook fundaudit exported
FORMAT_VERSION = "1"
META_SHEET = "_fundaudit"
_SHOWN = ("fingerprint", "id", "rule", "severity", "message", "amount", "refs", "evidence")
_FILL = ("answer", "reason", "evidence_index", "by", "date")  # the columns a verifier fills, in order
_WIDTHS = {"fingerprint": 22, "id": 9, "rule": 18, "severity": 8, "message": 50, "amount": 12, "refs": 34,
           "evidence": 60, "answer": 10, "reason": 30, "evidence_index": 14, "by": 10, "date": 12}
_HEADER_ROW = 3  # 1-based: a title row, a line of instructions, then the header
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f\\/:*?"<>|]+')


class TriageError(ProblemsError):
    """Answers that cannot be imported: every problem, each naming file, sheet and row (``problems``)."""

    def message(self, lang: Lang = "zh", *, masked: bool = True) -> str:
        """As :meth:`FundauditError.message`; a finding number it quotes is a hash, never masked as an account."""
        if not masked:
            return self._text(lang)
        from fundaudit.masking import mask_text

        return mask_text(self._text(lang), codes={str(f["fingerprint"]) for _, f in self.problems
                                                  if "fingerprint" in f})


def _strings(lang: str) -> dict[str, str]:
    from fundaudit.report.html import strings

    return strings()[lang]


def status_label(status: str, lang: str = "zh") -> str:
    """How a triage status reads in ``lang`` (确认, 排除, 整改中, 已整改, 待核实)."""
    return render("values", f"triage.{status}", lang)  # type: ignore[arg-type]


@functools.cache
def _answer_codes() -> dict[str, str]:
    """Every spelling an answer may have (its label in either language, its code) -> the status code."""
    out = {}
    for s in ANSWERS:
        out[header_key(s)] = s
        out[header_key(s.replace("_", " "))] = s
        for lang in ("zh", "en"):
            out[header_key(status_label(s, lang))] = s
    return out


def _header_names() -> dict[str, str]:
    """A column header in either language -> the column's name."""
    return fill_in_headers("triage_col_", (*_SHOWN, *_FILL))


# --- export ------------------------------------------------------------------------------------------------

def export(findings: str | os.PathLike[str] | Mapping[str, Any], out: str | os.PathLike[str], *,
           by: str = "union", lang: str = "zh") -> list[Path]:
    """Write the verification workbooks for a run's findings (a findings.json path or its parsed document) into
    ``out``: one per grassroots union (``by="union"``; findings without one in their own workbook), per rule, or
    one (``"none"``). Returns the paths written, in order."""
    if by not in BY:
        raise ConfigError("triage_bad_by", value=by, allowed=", ".join(BY))
    doc, sha = _read_findings(findings)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    titles = {r.get("id"): (r.get("title") if lang == "zh" else r.get("title_en") or r.get("title"))
              for r in doc.get("rules", [])}
    paths: list[Path] = []
    used: set[str] = set()
    for group, items in _groups(doc.get("findings", []), by, lang).items():
        path = target / _file_name(group, lang, used)
        _write_workbook(path, items, group=group, by=by, lang=lang, sha=sha, doc=doc, titles=titles)
        paths.append(path)
    return paths


def _read_findings(findings: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The findings document and the sha256 of its bytes (of its canonical JSON when given parsed)."""
    if isinstance(findings, Mapping):
        raw = json.dumps(findings, ensure_ascii=False, sort_keys=True).encode()
        return dict(findings), hashlib.sha256(raw).hexdigest()
    path = Path(findings)
    try:
        raw = path.read_bytes()
        doc = json.loads(raw.decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("triage_not_findings", file=str(path), why=type(exc).__name__) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise InputError("triage_not_findings", file=str(path), why="no findings list")
    return doc, hashlib.sha256(raw).hexdigest()


def union_of(finding: Mapping[str, Any]) -> str | None:
    """The grassroots union a finding belongs to: its ``union`` field, else the union its values name."""
    got = finding.get("union")
    if not got:
        values = finding.get("values") or {}
        got = values.get("grassroots_union") or values.get("union_name")
    return (str(got).strip() or None) if got else None


def _groups(findings: Sequence[Mapping[str, Any]], by: str, lang: str) -> dict[str, list[Mapping[str, Any]]]:
    """Findings by workbook: sorted by name, the findings without a union last."""
    none = _strings(lang)["triage_no_union"]
    everything = _strings(lang)["triage_all"]
    out: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        key = union_of(f) or "" if by == "union" else str(f.get("rule", "")) if by == "rule" else everything
        out.setdefault(key, []).append(f)
    ordered = {k: out[k] for k in sorted(k for k in out if k)}
    if "" in out:
        ordered[none] = out[""]
    return ordered


def _file_name(group: str, lang: str, used: set[str]) -> str:
    """``疑点核实_<group>.xlsx``: characters no file system takes replaced, at most 80 characters, unique."""
    stem = _UNSAFE_NAME.sub("_", f"{_strings(lang)['triage_file']}_{group}").strip(" .")[:80] or "triage"
    name, n = f"{stem}.xlsx", 1
    while name.casefold() in used:
        n += 1
        name = f"{stem}_{n}.xlsx"
    used.add(name.casefold())
    return name


def _ref_text(r: Mapping[str, Any], lang: str) -> str:
    where = f"{r.get('file')}" + (f" [{r['sheet']}]" if r.get("sheet") else "") + f" {r.get('row')}"
    role = r.get("role")
    what = render("roles", str(role), lang) if role else str(r.get("kind"))  # type: ignore[arg-type]
    return f"{what}: {where}"


def _evidence_text(entries: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for e in entries:
        cells = e.get("cells") or {}
        body = "; ".join(f"{k}={v}" for k, v in cells.items() if str(v).strip())
        lines.append(f"{e.get('file')} {e.get('row')}: {body}" if body else str(e.get("note") or ""))
    return "\n".join(x for x in lines if x)


def _write_workbook(path: Path, items: Sequence[Mapping[str, Any]], *, group: str, by: str, lang: str, sha: str,
                    doc: Mapping[str, Any], titles: Mapping[Any, Any]) -> None:

    t = _strings(lang)
    with safe_workbook(path) as wb:
        fmt = fill_in_formats(wb)
        head, fill_head, wrap, money = fmt["head"], fmt["fill_head"], fmt["wrap"], fmt["money"]
        fill, fill_date = fmt["fill"], fmt["fill_date"]
        ws = wb.add_worksheet(t["triage_sheet"])
        columns = [*_SHOWN, *_FILL]
        ws.write_string(0, 0, neutralise(f"{t['triage_title']} — {group}"), wb.add_format({"bold": True,
                                                                                         "font_size": 14}))
        # across every column, so it shows whole (text stops at the frozen first column otherwise)
        ws.merge_range(1, 0, 1, len(_SHOWN) + len(_FILL) - 1, neutralise(t["triage_instructions"]),
                       wb.add_format({"valign": "top"}))
        h = _HEADER_ROW - 1
        for c, name in enumerate(columns):
            ws.set_column(c, c, _WIDTHS[name], wrap if name not in _FILL else None)
            ws.write_string(h, c, t[f"triage_col_{name}"], fill_head if name in _FILL else head)
        severity = {s: t.get(s, s) for s in LEVELS}
        for i, f in enumerate(items, start=h + 1):
            shown = {
                "fingerprint": f.get("fingerprint"), "id": f.get("id"),
                "rule": f"{f.get('rule')} {titles.get(f.get('rule')) or ''}".strip(),
                "severity": severity.get(str(f.get("severity")), f.get("severity")),
                "message": f.get("message") if lang == "zh" else f.get("message_en") or f.get("message"),
                "refs": "\n".join(_ref_text(r, lang) for r in f.get("refs") or []),
                "evidence": _evidence_text(f.get("evidence") or []),
            }
            ws.set_row(i, wrapped_height(*((str(shown[n] or ""), _WIDTHS[n]) for n in _SHOWN if n != "amount")))
            for c, name in enumerate(columns):
                if name == "amount":
                    amount = f.get("amount")
                    if amount not in (None, ""):
                        ws.write_number(i, c, float(str(amount)), money)
                elif name in _FILL:
                    ws.write_blank(i, c, None, fill_date if name == "date" else fill)
                else:
                    ws.write_string(i, c, neutralise(str(shown[name] or "")), wrap)
        last = h + max(len(items), 1)
        answer_col = columns.index("answer")
        ws.data_validation(h + 1, answer_col, last, answer_col, {
            "validate": "list", "source": [status_label(s, lang) for s in ANSWERS],
            "error_title": t["triage_col_answer"], "error_message": t["triage_answer_help"]})
        finish_fill_in_sheet(ws, header_row=h, last_row=last, columns=len(columns), footer=group)
        meta = wb.add_worksheet(META_SHEET)
        meta.very_hidden()
        rows: list[list[str]] = [[FORMAT, FORMAT_VERSION], ["findings_sha256", sha],
                                 ["generated_at", str(doc.get("generated_at", ""))], ["by", by],
                                 ["group", group], ["fingerprint", "rule", "id"]]
        rows += [[str(f.get("fingerprint")), str(f.get("rule")), str(f.get("id"))] for f in items]
        for r, values in enumerate(rows):
            for c, v in enumerate(values):
                meta.write_string(r, c, neutralise(v))
        meta.protect()


# --- import ------------------------------------------------------------------------------------------------

def load(paths: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """The decisions in filled verification workbooks (``DECISION_COLUMNS`` without ``history``), in file and
    row order. A row without an answer is not a decision (its finding stays pending). Every problem of every
    workbook is collected and raised as one :class:`TriageError`, so nothing is half imported."""
    from fundaudit.io import read_grids

    problems: list[tuple[str, dict[str, Any]]] = []
    frames = []
    for p in paths:
        grids = read_grids(p)
        meta = next((g for g in grids if g.sheet == META_SHEET), None)
        file = grids[0].file if grids else str(p)
        sent = _sent(meta)
        if sent is None:
            problems.append(("triage_not_export", {"file": file}))
            continue
        found = False
        for grid in grids:
            if grid.sheet == META_SHEET:
                continue
            got = _answers(grid, sent, problems)
            if got is not None:
                found = True
                frames.append(got)
        if not found:
            problems.append(("triage_no_sheet", {"file": file}))
    out = (pd.concat(frames, ignore_index=True) if frames
           else pd.DataFrame(columns=DECISION_COLUMNS[:-1]))
    problems.sort(key=lambda p: (str(p[1].get("file", "")), str(p[1].get("sheet") or ""), int(p[1].get("row", 0))))
    problems += _conflicts(out)
    if problems:
        raise TriageError("triage_bad_answers", count=len(problems), problems=problems)
    return out.drop_duplicates(["fingerprint"]).reset_index(drop=True)[DECISION_COLUMNS[:-1]]


def _sent(meta: Any) -> dict[str, str] | None:
    """Fingerprint -> rule of the findings a workbook was exported with (None: not a workbook fundaudit wrote)."""
    if meta is None or meta.cells.shape[1] < 2 or not len(meta.cells) or meta.cells.iat[0, 0] != FORMAT:
        return None
    cells = meta.cells
    start = cells.index[cells[0].eq("fingerprint")]
    if not len(start):
        return None
    body = cells.loc[start[0] + 1:]
    return dict(zip(body[0].tolist(), body[1].tolist(), strict=True))


def _answers(grid: Any, sent: Mapping[str, str], problems: list[tuple[str, dict[str, Any]]]) -> pd.DataFrame | None:
    """The answered rows of one sheet, or None when it is no verification sheet (no 疑点编号 header)."""
    from fundaudit.normalize import parse_date

    cells: pd.DataFrame = grid.cells
    names = _header_names()
    header_at = None
    for r in range(min(len(cells), 20)):
        if any(names.get(header_key(str(v))) == "fingerprint" for v in cells.iloc[r]):
            header_at = r
            break
    if header_at is None:
        return None
    col_of = {}
    for c, v in cells.iloc[header_at].items():
        name = names.get(header_key(str(v)))
        if name and name not in col_of:
            col_of[name] = c
    body = cells.iloc[header_at + 1:]
    rows = pd.Series(grid.rows[header_at + 1:], index=body.index)
    get = {n: (body[col_of[n]].astype(str).str.strip() if n in col_of else pd.Series("", index=body.index))
           for n in ("fingerprint", *_FILL)}
    where = {"file": grid.file, "sheet": grid.sheet}
    filled = pd.concat([get[n].ne("") for n in _FILL], axis=1).any(axis=1)
    fp = get["fingerprint"]
    for r in rows[fp.eq("") & filled]:
        problems.append(("triage_no_fingerprint", {**where, "row": int(r)}))
    answered = fp.ne("") & filled
    status = get["answer"].map(lambda v: _answer_codes().get(header_key(v)) if v else None)
    for i in body.index[answered & get["answer"].eq("")]:
        problems.append(("triage_answer_missing", {**where, "row": int(rows[i]), "fingerprint": fp[i]}))
    bad = answered & get["answer"].ne("") & status.isna()
    allowed = "、".join(status_label(s, "zh") for s in ANSWERS) + " / " + ", ".join(ANSWERS)
    for i in body.index[bad]:
        problems.append(("triage_unknown_status", {**where, "row": int(rows[i]), "value": get["answer"][i],
                                                   "allowed": allowed}))
    for i in body.index[answered & status.eq("excluded") & get["reason"].eq("")]:
        problems.append(("triage_exclude_needs_reason", {**where, "row": int(rows[i]), "fingerprint": fp[i]}))
    for i in body.index[answered & ~fp.isin(list(sent))]:
        problems.append(("triage_unknown_fingerprint", {**where, "row": int(rows[i]), "fingerprint": fp[i]}))
    dates = parse_date(get["date"], datemode=grid.datemode)
    for i in body.index[answered & dates.invalid]:
        problems.append(("triage_bad_date", {**where, "row": int(rows[i]), "value": get["date"][i]}))
    keep = answered & status.notna()
    return pd.DataFrame({
        "fingerprint": fp[keep], "rule": fp[keep].map(sent).fillna(""), "status": status[keep],
        "reason": get["reason"][keep], "evidence": get["evidence_index"][keep], "by": get["by"][keep],
        "date": dates.values[keep].dt.strftime("%Y-%m-%d").fillna(""),
        "source_file": grid.file, "source_row": rows[keep].astype("int64"),
    }).assign(source_sheet=grid.sheet)


def _conflicts(decisions: pd.DataFrame) -> list[tuple[str, dict[str, Any]]]:
    """Two different answers for one fingerprint in one import, each pair named by both places."""
    if decisions.empty:
        return []
    content = ["status", "reason", "evidence", "by", "date"]
    distinct = decisions.drop_duplicates(["fingerprint", *content])
    twice = distinct[distinct["fingerprint"].duplicated(keep=False)]
    out = []
    for fp, group in twice.groupby("fingerprint", sort=False):
        first, *others = group.to_dict("records")
        for other in others:
            out.append(("triage_conflict", {"fingerprint": fp, "first": _place(first), "second": _place(other)}))
    return out


def _place(d: Mapping[str, Any]) -> str:
    sheet = f" [{d['source_sheet']}]" if d.get("source_sheet") else ""
    return f"{d['source_file']}{sheet} {d['source_row']}"


# --- the decisions file ------------------------------------------------------------------------------------

def read_decisions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A decisions file written by :func:`write_decisions` (every column text; ``history`` a JSON list)."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError("triage_bad_decisions", file=str(path), why=type(exc).__name__) from exc
    missing = [c for c in DECISION_COLUMNS if c not in df.columns]
    bad = sorted(set(df.get("status", pd.Series(dtype=str))) - set(STATUSES))
    if missing or bad:
        why = ", ".join(missing) if missing else ", ".join(bad)
        raise InputError("triage_bad_decisions", file=str(path), why=why)
    return df[DECISION_COLUMNS]


def write_decisions(decisions: pd.DataFrame, path: str | os.PathLike[str], *, merge: bool = False) -> Path:
    """Write ``decisions`` (from :func:`load`) as the decisions file at ``path``. With ``merge`` the file's
    existing decisions are kept, and a new decision for a fingerprint already there replaces it, the replaced
    one (with its own history) moving into ``history``. Written under a temporary name, then renamed."""
    target = Path(path)
    new = decisions[DECISION_COLUMNS[:-1]].astype(str).assign(history="[]")
    if merge and target.exists():
        old = read_decisions(target).set_index("fingerprint", drop=False)
        replaced = new["fingerprint"].isin(old.index)
        if replaced.any():
            new.loc[replaced, "history"] = [_history(old.loc[fp]) for fp in new.loc[replaced, "fingerprint"]]
        new = pd.concat([old[~old.index.isin(new["fingerprint"])].reset_index(drop=True), new],
                        ignore_index=True)
    from fundaudit.report.json import write_atomic

    text: str = new[DECISION_COLUMNS].to_csv(index=False)
    return write_atomic(target, text.encode("utf-8-sig"))


def _history(row: pd.Series) -> str:
    earlier = json.loads(row["history"] or "[]")
    entry = {c: row[c] for c in DECISION_COLUMNS[1:-1]}
    return json.dumps([entry, *earlier], ensure_ascii=False)


# --- decisions and a baseline applied to a run's findings --------------------------------------------------

#: Statuses whose findings stay in the counts, the money at issue and ``--fail-on``; ``excluded`` ones leave.
COUNTED = ("pending", "confirmed", "in_progress", "rectified")


def read_baseline(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A previous run's findings.json, as the baseline a run is compared with."""
    return _read_findings(path)[0]


#: What ``apply`` says about recurrence (findings.json ``run.recurrence``): computed; not computed because the
#: baseline's subjects were hashed with another key (or it names no key but has subjects); not computed because
#: the baseline's findings carry no subject (made before subjects existed).
RECURRENCE = ("ok", "key_mismatch", "no_subjects")


def apply(findings: pd.DataFrame, *, decisions: pd.DataFrame | None = None,
          baseline: Mapping[str, Any] | None = None,
          subject_key_id: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``findings`` with the columns ``triage`` (status, reason, evidence, by, date), ``since_baseline``
    (``new``/``persisting``, None without a baseline) and ``recurs_after`` (the baseline's finding of the same rule
    about the same ``subject``, when the finding itself is new), and what the run reports beside them:
    ``resolved_since_baseline`` (baseline findings that no longer occur, with their last triage),
    ``stale_decisions`` (decisions for fingerprints that occur neither now nor among the resolved) and
    ``recurrence`` (one of ``RECURRENCE``; None without a baseline).

    A decision in ``decisions`` wins over the baseline's own triage of the same fingerprint; a persisting finding
    without a new decision keeps the baseline's. Recurrence is computed only when the baseline's
    ``run.subject_key_id`` is ``subject_key_id`` (the key this run's subjects were hashed with): subjects made with
    another key never match, and saying "no recurrence" then would be a silent miss."""
    out = findings.copy()
    fps = out["fingerprint"].astype(str)
    prior: dict[str, dict[str, Any]] = {}
    old: list[Mapping[str, Any]] = list(baseline.get("findings", [])) if baseline else []
    for f in old:
        t = f.get("triage")
        if isinstance(t, Mapping) and t.get("status") not in (None, "pending"):
            prior[str(f.get("fingerprint"))] = dict(t)
    given: dict[str, dict[str, Any]] = {}
    rules: dict[str, str] = {}  # a decision's rule, for the stale ones
    if decisions is not None and len(decisions):
        for rec in decisions.to_dict("records"):  # one step per decision, not per ledger row
            given[str(rec["fingerprint"])] = {k: str(rec.get(k) or "") for k in
                                              ("status", "reason", "evidence", "by", "date")}
            rules[str(rec["fingerprint"])] = str(rec.get("rule") or "")
    pending = {"status": "pending", "reason": "", "evidence": "", "by": "", "date": ""}
    out["triage"] = [given.get(fp) or prior.get(fp) or dict(pending) for fp in fps]
    now = set(fps)
    recurrence = None
    if baseline is not None:
        before = {str(f.get("fingerprint")) for f in old}
        out["since_baseline"] = ["persisting" if fp in before else "new" for fp in fps]
        recurrence = _recurrence_state(baseline, old, subject_key_id)
        decided = {**prior, **given}
        by_subject: dict[tuple[str, str], Mapping[str, Any]] = {}
        for f in old if recurrence == "ok" else []:  # the first decided finding, else the first, in baseline order
            if f.get("subject"):
                k = (str(f.get("rule")), str(f.get("subject")))
                if k not in by_subject or (str(by_subject[k].get("fingerprint")) not in decided
                                           and str(f.get("fingerprint")) in decided):
                    by_subject[k] = f
        period = (baseline.get("run") or {}).get("period")
        out["recurs_after"] = [
            _recurrence(by_subject.get((str(rule), str(subj))), period, decided)
            if since == "new" and isinstance(subj, str) and subj else None
            for rule, subj, since in zip(out["rule"], out.get("subject", pd.Series(None, index=out.index)),
                                         out["since_baseline"], strict=True)]
    else:
        out["since_baseline"] = None
        out["recurs_after"] = None
    resolved = [{"fingerprint": f.get("fingerprint"), "rule": f.get("rule"), "severity": f.get("severity"),
                 "message": f.get("message"), "message_en": f.get("message_en"), "amount": f.get("amount"),
                 "refs": f.get("refs"), "triage": given.get(str(f.get("fingerprint")))
                 or prior.get(str(f.get("fingerprint"))) or dict(pending)}
                for f in old if str(f.get("fingerprint")) not in now]
    known = now | {str(r["fingerprint"]) for r in resolved}
    stale = [{"fingerprint": fp, "rule": rules.get(fp, ""), **d} for fp, d in given.items() if fp not in known]
    return out, {"resolved_since_baseline": resolved, "stale_decisions": stale, "recurrence": recurrence}


def _recurrence_state(baseline: Mapping[str, Any], old: Sequence[Mapping[str, Any]],
                      subject_key_id: str | None) -> str:
    """Whether recurrence can be computed against ``baseline`` (one of ``RECURRENCE``)."""
    theirs = (baseline.get("run") or {}).get("subject_key_id")
    if theirs is None and not any(f.get("subject") for f in old):
        return "no_subjects"
    if theirs is None or subject_key_id is None or str(theirs) != subject_key_id:
        return "key_mismatch"
    return "ok"


def _recurrence(earlier: Mapping[str, Any] | None, period: Any,
                decided: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """``recurs_after`` of a new finding: the earlier finding's fingerprint, the baseline's period, and the
    decision on it (given in this run, else the baseline's own triage; pending when none)."""
    if earlier is None:
        return None
    fp = str(earlier.get("fingerprint"))
    t = decided.get(fp) or {"status": "pending"}
    return {"fingerprint": fp, "period": period, "status": t.get("status"), "reason": t.get("reason", ""),
            "date": t.get("date", "")}


def status_of(findings: pd.DataFrame) -> pd.Series:
    """Each finding's triage status (``pending`` where it has none, as in a run given no decisions)."""
    if "triage" not in findings.columns:
        return pd.Series("pending", index=findings.index, dtype=object)
    return findings["triage"].map(lambda t: str(t.get("status") or "pending") if isinstance(t, Mapping)
                                  else "pending").astype(object)


def counted(findings: pd.DataFrame) -> pd.Series:
    """Which findings count towards ``--fail-on``, the money at issue and the headline counts (not excluded)."""
    return status_of(findings).ne("excluded")
