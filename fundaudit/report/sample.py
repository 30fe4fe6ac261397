"""sample.json and sample.xlsx (抽样清单), read back filled; evaluation.json and evaluation.xlsx.

sample.xlsx: sheet 1 the plan (population, method, parameters, seed, size and its working, algorithm), sheet 2
the selected items (provenance, the row as read, book amount, and 审定金额 / 错报金额 / 检查结论 to fill: the only
unlocked cells), sheet 3 the 全查 items (same columns), sheet 4 the rows not in the population; a very hidden
``_fundaudit`` sheet holds the plan's sha256 and each item's book amount, so ``sample evaluate`` can tell this
workbook from another plan's and never trusts an edited book amount. As triage's workbook: protected (no
password: it prevents slips, not tampering), printable (A4 landscape, one page wide, header on every page),
no cell a spreadsheet could run.

Reading back goes through fundaudit's own readers (a re-saved, re-sorted workbook is fine); every bad cell of
every sheet is collected and raised at once as :class:`SampleResultsError` naming file, sheet and row.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fundaudit.errors import ConfigError, InputError, ProblemsError, render
from fundaudit.report.excel import (
    fill_in_formats,
    fill_in_headers,
    finish_fill_in_sheet,
    header_key,
    neutralise,
    safe_workbook,
    wrapped_height,
)

if TYPE_CHECKING:
    from fundaudit.sampling import SamplePlan

__all__ = ["EVALUATION_FILES", "SAMPLE_FILES", "SampleResultsError", "plan_document", "read_plan", "read_results",
           "write_evaluation", "write_plan"]

SAMPLE_FILES = ("sample.json", "sample.xlsx")
EVALUATION_FILES = ("evaluation.json", "evaluation.xlsx")
FORMAT = "fundaudit-sample"  # first cell of the very hidden sheet
FORMAT_VERSION = "1"
META_SHEET = "_fundaudit"
_SHOWN = ("item", "file", "sheet", "row", "stratum", "hits", "book", "reason", "evidence")
_FILL = ("audited", "misstatement", "conclusion")
_WIDTHS = {"item": 9, "file": 26, "sheet": 12, "row": 7, "stratum": 10, "hits": 7, "book": 13, "reason": 16,
           "evidence": 60, "audited": 13, "misstatement": 13, "conclusion": 30}
_HEADER_ROW = 3  # 1-based: title, instructions, header


class SampleResultsError(ProblemsError):
    """A filled sample workbook that cannot be evaluated: every problem, each naming file, sheet and row."""


def _t(lang: str) -> dict[str, str]:
    from fundaudit.report.html import strings

    return strings()[lang]


# --- sample.json ---------------------------------------------------------------------------------------------

def _records(frame: pd.DataFrame, prefix: str, kind: str) -> list[dict[str, Any]]:
    from fundaudit.normalize import format_fen

    out = []
    for i, r in enumerate(frame.to_dict("records"), start=1):
        rec: dict[str, Any] = {"item": f"{prefix}{i:04d}" if prefix else None, "kind": kind, "file": r["file"],
                               "sheet": r["sheet"], "row": int(r["row"]),
                               "book": None if pd.isna(r["book"]) else format_fen(int(r["book"]))}
        if "hits" in r:
            rec["hits"] = int(r["hits"])
        if "stratum" in r and r["stratum"] is not None:
            rec["stratum"] = str(r["stratum"])
        if "reason" in r:
            rec["reason"] = str(r["reason"])
        ev = r.get("evidence")
        rec["cells"] = ev.get("cells") if isinstance(ev, dict) else None
        if isinstance(ev, dict) and ev.get("cells") is None and ev.get("note"):
            rec["note"] = str(ev["note"])
        if not prefix:
            rec.pop("item")
        out.append(rec)
    return out


def _sha(doc: Mapping[str, Any]) -> str:
    """sha256 of the document's canonical JSON without ``generated_at`` and ``plan_sha256``."""
    body = {k: v for k, v in doc.items() if k not in ("generated_at", "plan_sha256")}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def plan_document(plan: SamplePlan) -> dict[str, Any]:
    """sample.json's document: the plan, the strata, the items, the 全查 items, the rows left out, the inputs;
    ``plan_sha256`` over all of it but the timestamp."""
    from fundaudit._version import __version__
    from fundaudit.masking import mask_data

    kind = plan.plan["kind"]
    doc: dict[str, Any] = {
        "schema": FORMAT, "schema_version": 1, "fundaudit_version": __version__,
        "generated_at": plan.generated_at, "masked": plan.masked,
        "plan": plan.plan, "strata": plan.strata, "inputs": plan.inputs, "rows_rejected": plan.rejected,
        "items": _records(plan.items, "S", kind), "full": _records(plan.full, "H", kind),
        "excluded": _records(plan.excluded, "", kind),
    }
    if plan.masked:  # file and sheet names, cells: the evidence is masked by column type already; this is the net
        for key in ("items", "full", "excluded"):
            doc[key] = mask_data(doc[key], keep=("item", "book"))
    doc["plan_sha256"] = _sha(doc)
    return doc


def _json_bytes(doc: Mapping[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False) + "\n").encode("utf-8")


def write_plan(plan: SamplePlan, out: Path, *, lang: str = "zh") -> list[Path]:
    """Write sample.json and sample.xlsx into ``out``, replacing the previous run's as one set
    (:class:`~fundaudit.report.outdir.ReportDir`)."""
    from fundaudit.report.outdir import ReportDir

    doc = plan_document(plan)
    with ReportDir(out) as reports, reports.staging() as staging:
        (staging / "sample.json").write_bytes(_json_bytes(doc))
        _write_workbook(staging / "sample.xlsx", doc, lang=lang)
    return [out / name for name in SAMPLE_FILES]


def read_plan(plan: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """sample.json's document, checked: its format, and its ``plan_sha256`` against its content (an edited plan
    is refused)."""
    if isinstance(plan, Mapping):
        doc, name = dict(plan), "<plan>"
    else:
        name = str(plan)
        try:
            doc = json.loads(Path(plan).read_bytes().decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError("sample_not_plan", file=name, why=type(exc).__name__) from exc
    if not isinstance(doc, dict) or doc.get("schema") != FORMAT or not isinstance(doc.get("plan"), dict):
        raise InputError("sample_not_plan", file=name, why="schema")
    if doc.get("plan_sha256") != _sha(doc):
        raise InputError("sample_plan_changed", file=name)
    return doc


# --- sample.xlsx ---------------------------------------------------------------------------------------------

def _plan_rows(doc: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """(label, value) lines of the plan sheet."""
    from fundaudit.columns import catalogue

    t = _t(lang)
    p = doc["plan"]
    spec = catalogue()[p["kind"]]

    def cv(d: Mapping[str, Any]) -> str:
        return t["sample_count_value"].format(count=d["count"], value=d["value"])

    rows = [
        (t["sample_plan_kind"], f"{spec.title_zh if lang == 'zh' else spec.title_en} ({p['kind']})"),
        (t["sample_plan_column"], p["column"]),
        (t["sample_plan_method"], t[f"sample_method_{p['method']}"]),
        (t["sample_plan_confidence"], f"{p['confidence']:.0%}" if p["confidence"] * 100 % 1 == 0
         else f"{p['confidence']:.2%}"),
        (t["sample_plan_tolerable"], p.get("tolerable") or "—"),
        (t["sample_plan_expected"], p.get("expected") or "—"),
        (t["sample_plan_high_value"], p.get("high_value") or "—"),
        (t["sample_plan_seed"], str(p["seed"])),
        (t["sample_plan_population"], cv(p["population"])),
        (t["sample_plan_excluded"], cv(p["excluded"])),
        (t["sample_plan_full"], cv(p["full_examination"])),
        (t["sample_plan_sampling_population"], cv(p["sampling_population"])),
        (t["sample_plan_size"], str(p["size"]) + (f" ({t['sample_col_hits']} {p['hits']})"
                                                   if p["method"] == "mus" else "")),
        (t["sample_plan_formula"], str(p.get("formula") or "")),
    ]
    if p.get("interval") is not None:
        rows.append((t["sample_plan_interval"], str(p["interval"])))
        rows.append((t["sample_plan_start"], f"{p['start']:.10f}"))
    if p.get("strata"):
        rows.append((t["sample_plan_strata"], json.dumps(p["strata"], ensure_ascii=False)))
        rows.append((t["sample_plan_allocation"], str(p.get("allocation"))))
        for s in doc.get("strata", []):
            rows.append((f"  {t['sample_col_stratum']} {s['stratum']}",
                         t["sample_stratum_line"].format(low=s["low"] or "-", high=s["high"] or "-",
                                                         count=s["count"], value=s["value"], size=s["size"])))
    rows += [
        (t["sample_plan_algorithm"], f"{p['algorithm']['name']} v{p['algorithm']['version']}"),
        (t["sample_plan_inputs"], "\n".join(f"{i.get('file')}" + (f" [{i['sheet']}]" if i.get("sheet") else "")
                                            + f": {i.get('rows_loaded')}" for i in doc.get("inputs", []))),
        (t["sample_plan_rejected"], str(doc.get("rows_rejected", 0))),
        (t["sample_plan_masked"], t["masked_yes"] if doc.get("masked") else t["xlsx_masked_no"]),
        (t["generated"], str(doc.get("generated_at", ""))),
        ("plan_sha256", str(doc["plan_sha256"])),
    ]
    return rows


def _cells_text(rec: Mapping[str, Any]) -> str:
    cells = rec.get("cells")
    if isinstance(cells, dict):
        return "; ".join(f"{k}={v}" for k, v in cells.items() if str(v).strip())
    return str(rec.get("note") or "")


def _write_workbook(path: Path, doc: Mapping[str, Any], *, lang: str) -> None:

    t = _t(lang)
    with safe_workbook(path) as wb:
        bold = wb.add_format({"bold": True, "valign": "top"})
        fmt = fill_in_formats(wb)
        head, fill_head, wrap, money = fmt["head"], fmt["fill_head"], fmt["wrap"], fmt["money"]
        fill, fill_money = fmt["fill"], fmt["fill_money"]
        title = wb.add_format({"bold": True, "font_size": 14})

        ws = wb.add_worksheet(t["sample_sheet_plan"])
        ws.write_string(0, 0, neutralise(t["sample_title"]), title)
        ws.set_column(0, 0, 24)
        ws.set_column(1, 1, 90, wrap)
        for r, (label, value) in enumerate(_plan_rows(doc, lang), start=2):
            ws.write_string(r, 0, neutralise(label), bold)
            ws.write_string(r, 1, neutralise(value), wrap)
            ws.set_row(r, wrapped_height((value, 90)))
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})

        method = doc["plan"]["method"]
        shown = [c for c in _SHOWN if c != "reason" and (c != "hits" or method == "mus")
                 and (c != "stratum" or method == "stratified")]
        _items_sheet(wb, t["sample_sheet_items"], doc["items"], shown, True, t, lang,
                     (head, fill_head, wrap, money, fill, fill_money, title))
        _items_sheet(wb, t["sample_sheet_full"], doc["full"], [c for c in _SHOWN if c not in ("hits", "stratum")],
                     True, t, lang, (head, fill_head, wrap, money, fill, fill_money, title))
        _items_sheet(wb, t["sample_sheet_excluded"], doc["excluded"],
                     [c for c in _SHOWN if c not in ("item", "hits", "stratum")], False, t, lang,
                     (head, fill_head, wrap, money, fill, fill_money, title))

        meta = wb.add_worksheet(META_SHEET)
        meta.very_hidden()
        rows = [[FORMAT, FORMAT_VERSION], ["plan_sha256", str(doc["plan_sha256"])], ["item", "book"]]
        rows += [[str(i["item"]), str(i["book"])] for i in [*doc["items"], *doc["full"]]]
        for r, values in enumerate(rows):
            for c, v in enumerate(values):
                meta.write_string(r, c, neutralise(v))
        meta.protect()


def _items_sheet(wb: Any, name: str, records: Sequence[Mapping[str, Any]], shown: list[str], fillable: bool,
                 t: Mapping[str, str], lang: str, fmts: tuple[Any, ...]) -> None:

    head, fill_head, wrap, money, fill, fill_money, title = fmts
    ws = wb.add_worksheet(name)
    columns = [*shown, *(_FILL if fillable else ())]
    ws.write_string(0, 0, neutralise(name), title)
    ws.merge_range(1, 0, 1, len(columns) - 1,
                   neutralise(t["sample_instructions"] if fillable else t["sample_excluded_help"]),
                   wb.add_format({"valign": "top", "text_wrap": True}))
    ws.set_row(1, 30)
    h = _HEADER_ROW - 1
    for c, col in enumerate(columns):
        ws.set_column(c, c, _WIDTHS[col], wrap if col not in _FILL else None)
        ws.write_string(h, c, t[f"sample_col_{col}"], fill_head if col in _FILL else head)
    for i, rec in enumerate(records, start=h + 1):
        values = {"item": rec.get("item"), "file": rec.get("file"), "sheet": rec.get("sheet") or "",
                  "stratum": rec.get("stratum") or "", "evidence": _cells_text(rec),
                  "reason": t.get(f"sample_reason_{rec.get('reason')}", str(rec.get("reason") or ""))}
        ws.set_row(i, wrapped_height((str(values["evidence"]), _WIDTHS["evidence"]),
                                     (str(values["file"]), _WIDTHS["file"])))
        for c, col in enumerate(columns):
            if col == "row":
                ws.write_number(i, c, int(rec["row"]))
            elif col == "hits":
                ws.write_number(i, c, int(rec.get("hits", 1)))
            elif col == "book":
                if rec.get("book") is not None:
                    ws.write_number(i, c, float(str(rec["book"])), money)
            elif col in ("audited", "misstatement"):
                ws.write_blank(i, c, None, fill_money)
            elif col == "conclusion":
                ws.write_blank(i, c, None, fill)
            else:
                ws.write_string(i, c, neutralise(str(values[col] or "")), wrap)
    last = h + max(len(records), 1)
    finish_fill_in_sheet(ws, header_row=h, last_row=last, columns=len(columns), footer=name)


# --- reading a filled workbook back --------------------------------------------------------------------------

def _header_names() -> dict[str, str]:
    """A column header in either language -> the column's name."""
    return fill_in_headers("sample_col_", (*_SHOWN, *_FILL))


def read_results(path: str | os.PathLike[str], doc: Mapping[str, Any], *, partial: bool = False) -> pd.DataFrame:
    """One row per item and 全查 item of the plan ``doc``: ``item``, ``book`` (fen, from the plan), ``audited``
    (fen), ``examined``, ``note`` (检查结论). Problems (another plan's workbook, an unknown or repeated item, an
    amount that is no amount, a 错报金额 that is not 账面 − 审定, an item not examined unless ``partial``) are
    collected over every sheet and raised as one :class:`SampleResultsError`. With ``partial`` an item not
    examined counts as wholly misstated (审定金额 0), the conservative reading."""
    from fundaudit.io import read_grids
    from fundaudit.normalize import parse_money

    grids = read_grids(path)
    file = grids[0].file if grids else str(path)
    meta = next((g for g in grids if g.sheet == META_SHEET), None)
    if meta is None or not len(meta.cells) or meta.cells.iat[0, 0] != FORMAT:
        raise SampleResultsError("sample_bad_results", count=1, problems=[("sample_not_export", {"file": file})])
    cells = meta.cells
    if cells.shape[0] < 2 or cells.iat[1, 1] != doc.get("plan_sha256"):
        raise SampleResultsError("sample_bad_results", count=1, problems=[("sample_other_plan", {"file": file})])
    from fundaudit.sampling import _fen_of

    book = {i["item"]: _fen_of(i["book"]) for i in [*doc["items"], *doc["full"]]}
    names = _header_names()
    problems: list[tuple[str, dict[str, Any]]] = []
    found: dict[str, dict[str, Any]] = {}
    for grid in grids:
        if grid.sheet == META_SHEET:
            continue
        c = grid.cells
        header_at = next((r for r in range(min(len(c), 20))
                          if any(names.get(header_key(v)) == "item" for v in c.iloc[r])), None)
        if header_at is None:
            continue
        col_of: dict[str, Any] = {}
        for j, v in c.iloc[header_at].items():
            n = names.get(header_key(v))
            if n and n not in col_of:
                col_of[n] = j
        if "audited" not in col_of:
            continue
        body = c.iloc[header_at + 1:]
        rows = pd.Series(grid.rows[header_at + 1:], index=body.index)
        get = {n: (body[col_of[n]].astype(str).str.strip() if n in col_of else pd.Series("", index=body.index))
               for n in ("item", *_FILL)}
        audited = parse_money(get["audited"])
        stated = parse_money(get["misstatement"])
        where = {"file": grid.file, "sheet": grid.sheet}
        for i in body.index[get["item"].ne("")]:  # one step per sample item, not per ledger row
            item, row = get["item"][i], int(rows[i])
            at = {**where, "row": row, "item": item}
            if item not in book:
                problems.append(("sample_unknown_item", at))
                continue
            if item in found:
                problems.append(("sample_duplicate_item", {**at, "first": found[item]["row"]}))
                continue
            a_raw, s_raw = get["audited"][i], get["misstatement"][i]
            a = audited.values[i]
            entry: dict[str, Any] = {"row": row, "note": get["conclusion"][i], "audited": None}
            found[item] = entry
            if audited.reason[i] is not None:
                problems.append(("sample_bad_audited", {**at, "value": a_raw}))
                continue
            if pd.isna(a):
                if s_raw:
                    problems.append(("sample_misstatement_without_audited", at))
                elif not partial:
                    problems.append(("sample_not_examined", at))
                continue
            entry["audited"] = int(a)
            s = stated.values[i]
            if stated.reason[i] is not None:
                problems.append(("sample_bad_misstatement", {**at, "value": s_raw}))
            elif not pd.isna(s) and int(s) != book[item] - int(a):
                from fundaudit.normalize import format_fen

                problems.append(("sample_misstatement_mismatch", {**at, "value": s_raw,
                                                                  "expected": format_fen(book[item] - int(a))}))
    missing = [k for k in book if k not in found]
    if missing and not partial:
        problems.append(("sample_items_missing", {"file": file, "count": len(missing),
                                                  "items": ", ".join(missing[:20])
                                                  + (" …" if len(missing) > 20 else "")}))
    if problems:
        raise SampleResultsError("sample_bad_results", count=len(problems), problems=problems)
    out = []
    for item, b in book.items():
        e = found.get(item) or {"audited": None, "note": ""}
        examined = e["audited"] is not None
        out.append({"item": item, "book": b, "audited": e["audited"] if examined else 0, "examined": examined,
                    "note": e.get("note", "")})
    return pd.DataFrame(out, columns=["item", "book", "audited", "examined", "note"]).astype(
        {"book": "int64", "audited": "int64", "examined": bool})


# --- evaluation.json / evaluation.xlsx -----------------------------------------------------------------------

def write_evaluation(result: Mapping[str, Any], out: Path, *, in_place: bool, lang: str = "zh") -> list[Path]:
    """Write evaluation.json and evaluation.xlsx into ``out``: beside sample.json (``in_place``: each file under a
    temporary name, then renamed; the plan's files stay), or into a report folder of their own (one set)."""
    from fundaudit.report.json import write_atomic

    data = _json_bytes(result)
    if in_place:
        if out.is_symlink() or not out.is_dir():
            raise ConfigError("out_dir_not_dir", path=str(out))
        write_atomic(out / "evaluation.json", data)
        _write_evaluation_workbook(out / "evaluation.xlsx", result, lang=lang)
    else:
        from fundaudit.report.outdir import ReportDir

        with ReportDir(out) as reports, reports.staging() as staging:
            (staging / "evaluation.json").write_bytes(data)
            _write_evaluation_workbook(staging / "evaluation.xlsx", result, lang=lang)
    return [out / name for name in EVALUATION_FILES]


def evaluation_lines(result: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """The evaluation's working as (label, value) lines in ``lang``."""
    t = _t(lang)
    w = result["working"]
    lines = [
        (t["sample_plan_method"], t[f"sample_method_{result['method']}"]),
        (t["eval_estimator"], t[f"eval_estimator_{result['estimator']}"]),
        (t["sample_plan_confidence"], f"{result['confidence']:g}"),
        (t["eval_examined"], f"{result['examined']} / {result['examined'] + result['not_examined']}"),
        (t["eval_sample_misstated"], f"{result['sample']['misstated']} / {result['sample']['items']}"),
        (t["eval_sample_misstatement"], result["sample"]["misstatement"]),
    ]
    if result["estimator"] == "stringer":
        lines.append((t["sample_plan_interval"], w["interval"]))
        lines.append((t["eval_basic_precision"], f"{w['interval']} × {w['factors'][0]:.4f} = {w['basic_precision']}"))
        for s in w["steps"]:
            lines.append((t["eval_step"].format(rank=s["rank"]),
                          f"{w['interval']} × {s['taint']:.4f} × ({s['factor']:.4f} − "
                          f"{s['factor'] - s['increment']:.4f}) = {s['amount']}"))
        lines.append((t["eval_projected_under"], w["projected_understatement"]))
    else:
        lines.append((t["eval_standard_error"], w["standard_error"]))
        lines.append((t["eval_t"], f"t({result['confidence']:g}, {w['df']}) = {w['t']:.4f}"
                      if w.get("t") is not None else "-"))
        for s in w.get("strata", []):
            lines.append((f"  {t['sample_col_stratum']} {s.get('stratum')}",
                          f"n={s['n']}, N={s['population_count']}, {t['eval_projected']} {s['projected']}"))
    lines += [
        (t["eval_projected"], result["projected_misstatement"]),
        (t["eval_upper_sample"], result["upper_bound_sample"]),
        (t["eval_known"], f"{result['known_misstatement']} ({t['eval_known_over']} {result['known_overstatement']})"),
        (t["eval_projected_total"], result["projected_total"]),
        (t["eval_upper"], result["upper_bound"]),
        (t["sample_plan_tolerable"], result.get("tolerable") or "-"),
        (t["eval_conclusion"], render("values", f"sample.{result['conclusion']}", lang)  # type: ignore[arg-type]
         if result.get("conclusion") else "-"),
    ]
    return lines


def _write_evaluation_workbook(path: Path, result: Mapping[str, Any], *, lang: str) -> None:

    t = _t(lang)
    with safe_workbook(path) as wb:
        bold = wb.add_format({"bold": True, "valign": "top"})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        head = wb.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1})
        money = wb.add_format({"num_format": "#,##0.00"})
        ws = wb.add_worksheet(t["eval_sheet"])
        ws.write_string(0, 0, neutralise(t["eval_title"]), wb.add_format({"bold": True, "font_size": 14}))
        ws.set_column(0, 0, 30)
        ws.set_column(1, 1, 80, wrap)
        for r, (label, value) in enumerate(evaluation_lines(result, lang), start=2):
            ws.write_string(r, 0, neutralise(label), bold)
            ws.write_string(r, 1, neutralise(str(value)), wrap)
        ws2 = wb.add_worksheet(t["eval_sheet_items"])
        cols = ["item", "book", "audited", "misstatement", "taint", "examined", "conclusion"]
        labels = {"taint": t["eval_col_taint"], "examined": t["eval_col_examined"]}
        for c, col in enumerate(cols):
            ws2.write_string(0, c, labels.get(col) or t[f"sample_col_{col}"], head)
            ws2.set_column(c, c, 14 if col != "conclusion" else 40)
        for r, it in enumerate(result["items"], start=1):
            ws2.write_string(r, 0, it["item"])
            for c, key in ((1, "book"), (2, "audited"), (3, "misstatement")):
                ws2.write_number(r, c, float(it[key]), money)
            if it["taint"] is not None:
                ws2.write_number(r, 4, float(it["taint"]))
            ws2.write_string(r, 5, t["eval_yes"] if it["examined"] else t["eval_no"])
            ws2.write_string(r, 6, neutralise(str(it.get("note") or "")))
        ws2.freeze_panes(1, 1)
