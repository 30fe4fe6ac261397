"""index.html: the exception report the audit committee (经审) reads (CONTRACT.md §7).

One self-contained file that works offline: inline CSS, a small inline vanilla-JS for sorting and
filtering, inline SVG charts, nothing loaded from anywhere (a Content-Security-Policy ``<meta>`` forbids
it). Chinese by default, English with ``lang="en"``; every UI text lives in
``templates/strings.yaml``.

Escaping (reliability.md §2.B): Jinja2 with ``autoescape=True`` and ``StrictUndefined``, templates
shipped in the package, no ``|safe`` on anything, every attribute quoted, no data inside ``<script>``
(the script reads the DOM), no data in ``href`` (links point at anchors this module numbers).

Personal data arrives already masked in the result (unless the run was ``--unmask``ed, which the report
says in a red banner on its first screen); as defence in depth, a finding value whose name marks it as
an ID, account or phone (catalogue types, or names ending in ``id_no``/``account``/``phone``) that is
still unmasked is masked here, in the values and in the message that quotes it.

The DOM is capped (``max_rows_per_rule`` findings per rule, ``max_rows`` in all, ``max_rejected``
rejected rows, long texts cut at ``max_text`` characters); the report says how many more exist and
that the full lists are in findings.xlsx / findings.json. Charts and counts always cover every finding.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fundaudit.errors import catalogue as messages_catalogue
from fundaudit.errors import render, render_note
from fundaudit.inputs import NOT_LEDGER_TYPE
from fundaudit.masking import mask_value
from fundaudit.report.json import write_atomic
from fundaudit.result import AT_ISSUE
from fundaudit.rules.severity import LEVELS, Severity, rank

if TYPE_CHECKING:
    from fundaudit.run import AuditResult

__all__ = ["LANGS", "MAX_EVIDENCE", "MAX_EVIDENCE_PER_RULE", "MAX_EVIDENCE_REFS", "MAX_REJECTED", "MAX_ROWS",
           "MAX_ROWS_PER_RULE", "MAX_TEXT", "render_html", "strings", "write_html"]

LANGS = ("zh", "en")
MAX_ROWS_PER_RULE = 2_000
MAX_ROWS = 10_000
MAX_REJECTED = 2_000
MAX_TEXT = 1_000
MAX_EVIDENCE = 2_000  # findings whose rows as read the page embeds, in the whole report
MAX_EVIDENCE_PER_RULE = 100  # … and per rule (its first rendered findings), so every rule shows some
MAX_EVIDENCE_REFS = 20  # rows as read embedded per finding (a group finding may cite hundreds)
CHART_BARS = 15

SEVERITY_COLOR: dict[str, str] = {Severity.ERROR: "#c0392b", Severity.WARNING: "#d68910", Severity.INFO: "#2e86c1"}
NEUTRAL_COLOR = "#4a6fa5"
OTHER_COLOR = "#9aa5b1"
VERIFIED_COLOR = "#5b7db1"
STATUS_COLOR: dict[str, str] = {"confirmed": "#c0392b", "in_progress": "#d68910", "rectified": "#1e8449",
                                "excluded": "#9aa5b1", "pending": "#d5dde8"}

# The date that places a finding in a month, per input kind (looked up on the finding's first ref); its
# grassroots union is the finding's own `union` (the engine reads it from the catalogue's `union` columns).
MONTH_COLUMNS = {"disbursements": ("payment_date",), "register": ("filed_date",), "dues": ("period_start",)}
FALLBACK_MONTH_COLUMNS = ("payment_date", "period_start", "filed_date", "filing_date", "approval_date")


@functools.cache
def strings() -> dict[str, dict[str, str]]:
    """Every UI text by language: ``strings()["zh"]["title"]``."""
    from importlib import resources

    from ruamel.yaml import YAML

    text = resources.files("fundaudit.report").joinpath("templates/strings.yaml").read_text("utf-8")
    raw = YAML(typ="safe", pure=True).load(text)
    return {lang: {key: str(v[lang]) for key, v in raw.items()} for lang in LANGS}


@functools.cache
def value_labels() -> dict[str, str]:
    """Chinese labels of derived finding values (``difference`` → 差额), from templates/value_labels.yaml."""
    from importlib import resources

    from ruamel.yaml import YAML

    text = resources.files("fundaudit.report").joinpath("templates/value_labels.yaml").read_text("utf-8")
    return {str(k): str(v) for k, v in (YAML(typ="safe", pure=True).load(text) or {}).items()}


@functools.cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("fundaudit.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def write_html(result: AuditResult, path: str | os.PathLike[str], *, lang: str = "zh",
               max_rows_per_rule: int = MAX_ROWS_PER_RULE, max_rows: int = MAX_ROWS,
               max_rejected: int = MAX_REJECTED, max_evidence: int = MAX_EVIDENCE) -> Path:
    """Write the HTML report of ``result`` to ``path`` (under a temporary name, then renamed)."""
    html = render_html(result, lang=lang, max_rows_per_rule=max_rows_per_rule, max_rows=max_rows,
                       max_rejected=max_rejected, max_evidence=max_evidence)
    return write_atomic(Path(path), html.encode("utf-8"))


def render_html(result: AuditResult, *, lang: str = "zh", max_rows_per_rule: int = MAX_ROWS_PER_RULE,
                max_rows: int = MAX_ROWS, max_rejected: int = MAX_REJECTED, max_evidence: int = MAX_EVIDENCE) -> str:
    """The report as one HTML string. The first MAX_EVIDENCE_PER_RULE rendered findings of each rule, up to
    ``max_evidence`` in all, carry their rows as read, shown on a click (a ``<details>``); the page says when
    other findings carry none."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    ctx = _Context(result, lang, strings()[lang])
    template = _environment().get_template("report.html.j2")
    groups = ctx.groups(max_rows_per_rule, max_rows, max_evidence)
    without = sum(1 for g in groups for r in g["rows"] if not r["evidence"])
    evidence_cap = (ctx.t["evidence_cap"].format(n=_count(without), per_rule=_count(MAX_EVIDENCE_PER_RULE),
                                                 total=_count(max(max_evidence, 0)))
                    if without and "evidence" in result.findings else "")
    return str(template.render(
        evidence_cap=evidence_cap,
        t=ctx.t,
        lang=lang,
        meta=ctx.meta(),
        kpis=ctx.kpis(),
        charts=ctx.charts(),
        inputs=ctx.inputs(),
        skipped=ctx.skipped_inputs(),
        rule_summary=ctx.rule_summary(),
        groups=groups,
        rejected=ctx.rejected(max_rejected),
        not_run=ctx.not_run(),
        manifest=ctx.manifest(),
        verification=ctx.verification(),
    ))


# --- helpers -------------------------------------------------------------------------------------

def _yuan(fen: int | None) -> str:
    """Fen as yuan with thousands separators: 123456789 → '1,234,567.89' (exact, no floats)."""
    if fen is None:
        return ""
    q, r = divmod(abs(int(fen)), 100)
    return f"{'-' if fen < 0 else ''}{q:,}.{r:02d}"


def _heading(label: str) -> str:
    """A label as a heading: its first letter upper case (``excluded`` → ``Excluded``; Chinese unchanged)."""
    return label[:1].upper() + label[1:]


def _isna(v: Any) -> bool:
    if v is None or isinstance(v, str):
        return v is None
    if v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _text(v: Any) -> str:
    """Any value as display text (None/NaN → '')."""
    if isinstance(v, str):
        return v
    if _isna(v):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dict | list | tuple):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def _sev_key(v: Any) -> str:
    """A severity as a CSS/filter key: one of the severities, or 'other'."""
    s = _text(v)
    return s if s in LEVELS else "other"


def _count(n: int) -> str:
    return f"{n:,}"


def _param_value(v: Any) -> str:
    """A parameter value as the user writes it in a pack or ``--param``: JSON style (true, false,
    null, [1, 3], {"a": 1}), strings as they are."""
    if isinstance(v, str):
        return v
    try:
        return json.dumps(v, ensure_ascii=False, default=str)
    except ValueError:  # NaN and friends
        return _text(v)


def _params_text(params: Mapping[str, Any] | None) -> str:
    if not params:
        return ""
    return "; ".join(f"{k} = {_param_value(v)}" for k, v in params.items())


def _refs_list(refs: Any) -> list[Mapping[str, Any]]:
    if refs is None or (isinstance(refs, float) and math.isnan(refs)):
        return []
    return [r for r in list(refs) if isinstance(r, Mapping)]


@dataclass
class _Context:
    result: AuditResult
    lang: str
    t: Mapping[str, str]
    excluded: bool = False  # the findings excluded on verification instead of the counted ones

    # -- small pieces -----------------------------------------------------------------------------
    def cut(self, v: Any, limit: int = MAX_TEXT) -> str:
        s = _text(v)
        if len(s) <= limit:
            return s
        return s[:limit] + self.t["truncated"].format(n=_count(len(s)))

    def sev(self, v: Any) -> str:
        s = _text(v)
        return self.t[s] if s in LEVELS else self.cut(s, 50)

    def pick(self, zh: Any, en: Any) -> str:
        """The text in the report's language (the other one when it is missing)."""
        first, second = (en, zh) if self.lang == "en" else (zh, en)
        return _text(first) or _text(second)

    def kind_title(self, kind: Any) -> str:
        from fundaudit.columns import catalogue

        spec = catalogue().get(_text(kind))
        if _text(kind) == "*":
            return self.t["cross_ledger"]
        if spec is None:
            return _text(kind)
        return spec.title_en if self.lang == "en" else spec.title_zh

    @functools.cached_property
    def column_labels(self) -> dict[tuple[str, str], str]:
        """(kind, canonical column) → the header users know (first Chinese alias) in zh."""
        from fundaudit.columns import catalogue

        out: dict[tuple[str, str], str] = {}
        if self.lang != "zh":
            return out
        for kind, spec in catalogue().items():
            for name, col in spec.columns.items():
                label = col.header_zh
                if label:
                    out[(kind, name)] = label
        return out

    @functools.cached_property
    def any_kind_labels(self) -> dict[str, str]:
        """Canonical column → its Chinese header in whichever input kind has one (zh only)."""
        out: dict[str, str] = {}
        for (_kind, name), label in self.column_labels.items():
            out.setdefault(name, label)
        return out

    def label(self, kind: str, column: str) -> str:
        """The label of a finding value: in zh the header users know for a column of the finding's
        kind, else the Chinese name of a derived value, else that column's header in another kind;
        in en (or when none is known) the name itself."""
        if self.lang != "zh":
            return column
        return (self.column_labels.get((kind, column)) or value_labels().get(column)
                or self.any_kind_labels.get(column) or column)

    @functools.cached_property
    def findings(self) -> pd.DataFrame:
        """The findings this report counts: in a run given decisions, those not excluded on verification (with
        ``excluded``, only those); every finding otherwise."""
        f = self.result.findings
        if "triage" in f.columns and len(f):
            from fundaudit.triage import counted

            keep = counted(f)
            f = f[~keep if self.excluded else keep].reset_index(drop=True)
        return f if len(f) else pd.DataFrame(columns=["id", "rule", "severity", "kind", "message", "message_en",
                                                      "amount", "amount_fen", "values", "refs"])

    @functools.cached_property
    def rule_keys(self) -> pd.Series:
        """Each finding's rule id as text, in one plain array (a findings frame put together from
        many pieces can hold its text in thousands of chunks, slow to group again and again)."""
        f = self.findings
        if not len(f):
            return pd.Series(dtype=object)
        return pd.Series(f["rule"].astype(str).to_numpy(dtype=object), index=f.index, dtype=object)

    @functools.cached_property
    def rule_positions(self) -> dict[Any, np.ndarray]:
        """Rule id → the positions of its findings, in order (one grouping instead of a selection per
        rule)."""
        keys = self.rule_keys
        return keys.groupby(keys, sort=False).indices if len(keys) else {}

    @functools.cached_property
    def columns(self) -> dict[str, list[Any]]:
        """The finding columns the rows show, as lists (``None`` where the frame has no such column)."""
        f = self.findings
        return {c: f[c].tolist() if c in f else [None] * len(f)
                for c in ("id", "severity", "kind", "values", "refs", "evidence", "amount", "message", "message_en",
                          "fingerprint", "rule", "triage", "since_baseline", "recurs_after")}

    @functools.cached_property
    def rules_by_id(self) -> dict[str, dict[str, Any]]:
        return {str(r.get("id")): r for r in self.result.rules}

    @functools.cached_property
    def amount_fen(self) -> pd.Series:
        f = self.findings
        if "amount_fen" not in f:
            return pd.Series(0, index=f.index, dtype="int64")
        return pd.to_numeric(f["amount_fen"], errors="coerce").fillna(0).round().astype("int64")

    @functools.cached_property
    def amount_at_issue_fen(self) -> pd.Series:
        """Per finding, the amount that counts towards the money at issue (0 for info findings)."""
        f = self.findings
        counts = f["severity"].isin(AT_ISSUE) if len(f) else pd.Series(False, index=f.index)
        return self.amount_fen.where(counts, 0)

    # -- first screen -----------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        run = self.result.run
        per = run.get("period")
        period = f"{per.get('start')} – {per.get('end')}" if isinstance(per, Mapping) else self.t["period_none"]
        argv = run.get("argv") or []
        return {
            "version": _text(self.result.version),
            "generated_at": _text(self.result.generated_at),
            "period": period,
            "profile": _text(run.get("profile")),
            "region": _text(run.get("region_code")),
            "masked": bool(self.result.masked),
            "argv": self.cut(shlex.join(str(a) for a in argv)),
        }

    def kpis(self) -> dict[str, Any]:
        f = self.findings
        by_sev = f["severity"].value_counts() if len(f) else pd.Series(dtype="int64")
        status = Counter(_text(r.get("status")) for r in self.result.rules)
        inputs = self.result.inputs
        return {
            "findings": _count(len(f)),
            "severities": [{"key": s, "label": self.t[s], "count": _count(int(by_sev.get(s, 0)))}
                           for s in LEVELS],
            "amount": _yuan(int(self.amount_at_issue_fen.sum())),
            "inputs": _count(len(inputs)),
            "rows_read": _count(sum(int(i.get("rows_read") or 0) for i in inputs)),
            "rules": _count(len(self.result.rules)),
            "rules_detail": self.t["kpi_rules_detail"].format(
                ran=status.get("ran", 0), skipped=status.get("skipped", 0), error=status.get("error", 0)),
        }

    def inputs(self) -> list[dict[str, Any]]:
        out = []
        for i in self.result.inputs:
            read, loaded = int(i.get("rows_read") or 0), int(i.get("rows_loaded") or 0)
            rej, non = int(i.get("rows_rejected") or 0), int(i.get("rows_non_data") or 0)
            fmt = " / ".join(x for x in (_text(i.get("format")), _text(i.get("encoding"))) if x)
            out.append({
                "kind": self.kind_title(i.get("kind")),
                "file": self.cut(i.get("file"), 300),
                "sheet": self.cut(i.get("sheet"), 300),
                "header_row": _text(i.get("header_row")),
                "read": _count(read), "loaded": _count(loaded), "rejected": _count(rej), "non_data": _count(non),
                "read_n": read, "loaded_n": loaded, "rejected_n": rej, "non_data_n": non,
                "ok": read == loaded + rej + non,
                "amount_total": self.money_text(i.get("amount_total")),
                "format": fmt,
                "unmapped": self.cut("、".join(_text(c) for c in i.get("unmapped_columns") or []), 500),
                "notes": self.cut("; ".join(self.note(n) for n in i.get("notes") or []), 500),
                "sha256": _text(i.get("sha256")),
            })
        return out

    def skipped_inputs(self) -> dict[str, Any]:
        """Files found and not audited: those that could not be (a warning on the first screen) and those of
        other types (listed only), each with its reason code and message in the report's language."""
        rows = [{"file": self.cut(s.get("file"), 300), "sheet": self.cut(s.get("sheet"), 300),
                 "reason": self.cut(s.get("reason"), 100),
                 "message": self.cut(self.pick(s.get("message"), s.get("message_en"))),
                 "ledger_like": s.get("reason") != NOT_LEDGER_TYPE}
                for s in self.result.skipped_inputs]
        unaudited = sum(1 for r in rows if r["ledger_like"])
        return {"rows": rows, "unaudited": unaudited,
                "banner": self.t["skipped_inputs_banner"].format(n=_count(unaudited))}

    def note(self, n: Any) -> str:
        """A reader's note (fundaudit.errors.Note, or plain text) in the report's language."""
        return render_note(n, "en" if self.lang == "en" else "zh") if isinstance(n, str) else _text(n)

    @staticmethod
    def money_text(v: Any) -> str:
        """A findings.json money string ('1234.50') with thousands separators."""
        s = _text(v)
        if not s:
            return ""
        neg = s.startswith("-")
        whole, _, frac = s.lstrip("-").partition(".")
        if not whole.isdigit():
            return s
        return f"{'-' if neg else ''}{int(whole):,}.{(frac or '00')}"

    # -- charts -----------------------------------------------------------------------------------
    def charts(self) -> list[dict[str, Any]]:
        f = self.findings
        rule_counts = f["rule"].astype(str).value_counts() if len(f) else pd.Series(dtype="int64")
        rule_items = []
        for rid, n in rule_counts.items():
            sev = _text(self.rules_by_id.get(str(rid), {}).get("severity"))
            rule_items.append((str(rid), int(n), SEVERITY_COLOR.get(sev, NEUTRAL_COLOR), self.rule_title(str(rid))))
        by_union, by_month = self.union_and_month()
        return [
            _hbar("by-rule", self.t["chart_by_rule"], _top(rule_items, CHART_BARS, self.t["chart_other"]),
                  self.t["chart_empty"]),
            _hbar("by-union", self.t["chart_by_union"],
                  _top([(k, v, NEUTRAL_COLOR, k) for k, v in by_union], CHART_BARS, self.t["chart_other"]),
                  self.t["chart_empty"]),
            _vbar("by-month", self.t["chart_by_month"], by_month, self.t["chart_empty"]),
        ]

    def rule_title(self, rid: str) -> str:
        r = self.rules_by_id.get(rid, {})
        return self.pick(r.get("title"), r.get("title_en")) or rid

    def union_and_month(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """Findings per grassroots union (the finding's ``union``) and per month (from its first ref's row)."""
        f = self.findings
        none = self.t["chart_none"]
        if not len(f):
            return [], self.month_axis([])
        first = [(_refs_list(r) or [{}])[0] for r in f["refs"]]
        keys = pd.DataFrame({
            "kind": [_text(r.get("kind")) for r in first],
            "file": [_text(r.get("file")) for r in first],
            "sheet": [_text(r.get("sheet")) for r in first],
            "row": pd.to_numeric(pd.Series([r.get("row") for r in first]), errors="coerce").fillna(-1).astype("int64"),
        })
        keys["_pos"] = range(len(keys))
        named = f["union"].map(_text) if "union" in f else pd.Series("", index=f.index)
        union = pd.Series(named.where(named.ne(""), none).to_numpy(), index=keys["_pos"], dtype=object)
        month = pd.Series(none, index=keys["_pos"], dtype=object)
        for kind, part in keys.groupby("kind", sort=False):
            ledger = self.result.ledgers.get(str(kind))
            if ledger is None or not ledger.row_count:
                continue
            mcols = [c for c in MONTH_COLUMNS.get(str(kind), FALLBACK_MONTH_COLUMNS) if c in ledger.frame][:1]
            if not mcols:
                continue
            keys = part[["file", "sheet", "row"]].assign(sheet=part["sheet"].where(part["sheet"].ne(""), None))
            found = ledger.lookup(keys, mcols)  # the finding's first row, wherever the ledger's rows are held
            months = pd.to_datetime(found[mcols[0]], errors="coerce").dt.strftime("%Y-%m")
            got = months.notna().to_numpy()
            month.loc[part["_pos"].to_numpy()[got]] = months.to_numpy()[got]
        by_union = [(str(k), int(v)) for k, v in union.value_counts().items()]
        return by_union, self.month_axis([(str(k), int(v)) for k, v in month.value_counts().items()])

    def month_axis(self, counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Every month of the audit period (zeros included), months outside it, and '—' last."""
        got = dict(counts)
        months = {k for k in got if k != self.t["chart_none"]}
        per = self.result.run.get("period")
        if isinstance(per, Mapping) and per.get("start") and per.get("end"):
            try:
                rng = pd.period_range(str(per["start"])[:7], str(per["end"])[:7], freq="M")
            except ValueError:
                rng = pd.PeriodIndex([], freq="M")
            if len(rng) <= 36:
                months |= {str(p) for p in rng}
        out = [(m, got.get(m, 0)) for m in sorted(months)]
        if self.t["chart_none"] in got:
            out.append((self.t["chart_none"], got[self.t["chart_none"]]))
        return out

    # -- by rule ----------------------------------------------------------------------------------
    @functools.cached_property
    def _ordered_rules(self) -> list[str]:
        return self.ordered_rules()

    def ordered_rules(self) -> list[str]:
        """Rules with findings: by severity, then as the packs list them (unknown ids last)."""
        f = self.findings
        present = list(self.rule_positions) if len(f) else []
        order = {rid: i for i, rid in enumerate(self.rules_by_id)}

        def key(rid: str) -> tuple[int, int, str]:
            sev = _text(self.rules_by_id.get(rid, {}).get("severity"))
            return (rank(sev), order.get(rid, len(order)), rid)

        return sorted(present, key=key)

    def rule_summary(self) -> list[dict[str, Any]]:
        return self._rule_summary

    @functools.cached_property
    def _rule_summary(self) -> list[dict[str, Any]]:
        f = self.findings
        amounts = (self.amount_at_issue_fen.groupby(self.rule_keys).sum() if len(f)
                   else pd.Series(dtype="int64"))
        out = []
        for i, rid in enumerate(self._ordered_rules):
            r = self.rules_by_id.get(rid, {})
            raw = r.get("severity") or self.columns["severity"][self.rule_positions[rid][0]]
            sev = _sev_key(raw)
            n, fen = len(self.rule_positions[rid]), int(amounts.get(rid, 0))
            out.append({"anchor": f"rule-{i + 1}", "id": self.cut(rid, 200),
                        "title": self.cut(self.rule_title(rid), 300), "ledger": self.kind_title(r.get("ledger")),
                        "severity": sev, "severity_label": self.sev(raw), "severity_n": rank(sev),
                        "count": _count(n), "count_n": n, "amount": _yuan(fen) if fen else "", "amount_n": fen})
        return out

    def groups(self, per_rule: int, total: int, evidence: int = MAX_EVIDENCE) -> list[dict[str, Any]]:
        """The rule groups of the findings section: at most ``per_rule`` findings per rule and ``total`` in all,
        the first MAX_EVIDENCE_PER_RULE of each rule (``evidence`` in all) with their rows as read."""
        f = self.findings
        if not len(f):
            return []
        summary = self.rule_summary()
        budget = max(total, 0)
        evidence_budget = max(evidence, 0)
        out = []
        for s, rid in zip(summary, self._ordered_rules, strict=True):
            idx = self.rule_positions[rid]
            take = min(len(idx), max(per_rule, 0), budget)
            budget -= take
            with_rows = min(take, MAX_EVIDENCE_PER_RULE, evidence_budget)
            evidence_budget -= with_rows
            r = self.rules_by_id.get(rid, {})
            out.append({**s, "params": self.cut(_params_text(r.get("params")), 2000),
                        "rows": self.finding_rows(idx[:take], with_rows), "hidden": len(idx) - take,
                        "more": self.t["more_rows"].format(n=_count(len(idx) - take), cap=_count(per_rule),
                                                           total=_count(total))})
        return out

    def finding_rows(self, positions: np.ndarray, evidence: int = 0) -> list[dict[str, Any]]:
        """The table rows of the findings at ``positions``, the first ``evidence`` with their rows as read."""
        f = self.findings
        fen = self.amount_fen.to_numpy()[positions]
        msg_col = "message_en" if self.lang == "en" and "message_en" in f else "message"
        other_col = "message" if msg_col == "message_en" else None
        rows = []
        at = positions.tolist()
        cols = {c: [self.columns[c][p] for p in at] for c in ("id", "severity", "kind", "values", "refs", "amount",
                                                              "fingerprint", "rule", "triage", "since_baseline",
                                                              "recurs_after")}
        verified = "triage" in f.columns  # a run given decisions or a baseline
        rows_as_read = [self.columns["evidence"][p] for p in at[:evidence]]
        rows_as_read += [None] * (len(at) - len(rows_as_read))
        messages = [self.columns[msg_col][p] for p in at]
        fallback = [self.columns[other_col][p] for p in at] if other_col else messages
        for i, amount in enumerate(fen.tolist()):
            sev = _sev_key(cols["severity"][i])
            kind = _text(cols["kind"][i])
            values = cols["values"][i]
            message = _text(messages[i]) or _text(fallback[i])
            if isinstance(values, Mapping) and self.result.masked:
                values, message = self.remask(values, message)
            value_items = self.value_items(kind, values) if isinstance(values, Mapping) else []
            refs = _refs_list(cols["refs"][i])
            has_amount = not _isna(cols["amount"][i])
            rows.append({
                "id": self.cut(cols["id"][i], 100),
                "severity": sev, "severity_label": self.sev(sev), "severity_n": rank(sev),
                "message": self.cut(message),
                "amount": _yuan(amount) if has_amount else "", "amount_n": amount if has_amount else "",
                "vals": value_items,
                "refs": self.ref_groups(refs),
                "ref_key": self.ref_key(refs),
                **self.evidence_rows(rows_as_read[i]),
                **(self.triage_cells(cols["fingerprint"][i], cols["rule"][i], cols["triage"][i],
                                     cols["since_baseline"][i], cols["recurs_after"][i]) if verified else {}),
            })
        return rows

    def triage_cells(self, fingerprint: Any, rule: Any, triage: Any, since: Any, recurs: Any) -> dict[str, Any]:
        """A finding's verification as the tables show it: its status (and who decided when), its comparison with
        the baseline (新增 / 持续, and 曾于 2016 确认 when it recurs after an earlier decision)."""
        from fundaudit.report.verification import recurs_text, since_label
        from fundaudit.triage import status_label

        lang: Any = "en" if self.lang == "en" else "zh"
        t = triage if isinstance(triage, Mapping) else {}
        status = _text(t.get("status")) or "pending"
        return {"fingerprint": self.cut(fingerprint, 100), "rule": self.cut(rule, 200),
                "status": status, "status_label": status_label(status, lang) if triage is not None else "",
                "reason": self.cut(t.get("reason")), "by": self.cut(t.get("by"), 200),
                "date": self.cut(t.get("date"), 40), "since": _text(since),
                "since_label": since_label(since, lang), "recurs": self.cut(recurs_text(recurs, lang), 300)}

    def evidence_rows(self, entries: Any) -> dict[str, Any]:
        """A finding's rows as read for the page (``evidence``: location, role and the non-empty cells of each,
        at most MAX_EVIDENCE_REFS; ``evidence_more``: what is left out)."""
        if not isinstance(entries, list) or not entries:
            return {"evidence": [], "evidence_more": ""}
        out = []
        for e in entries[:MAX_EVIDENCE_REFS]:
            if not isinstance(e, Mapping):
                continue
            where = " › ".join(x for x in (_text(e.get("file")), _text(e.get("sheet"))) if x)
            where = f"{where} › {self.t['row']} {_text(e.get('row'))}"
            role = _text(e.get("role"))
            if role in messages_catalogue()["roles"]:
                role = render("roles", role, "en" if self.lang == "en" else "zh")
            cells = e.get("cells")
            note: Any = e.get("note")
            out.append({
                "where": self.cut(where, 400), "role": self.cut(role, 100),
                "cells": ([(self.cut(k, 200), self.cut(v, 300)) for k, v in cells.items() if _text(v)]
                          if isinstance(cells, Mapping) else []),
                "note": self.cut(note.render(self.lang) if hasattr(note, "render") else _text(note), 400),
            })
        more = len(entries) - MAX_EVIDENCE_REFS
        return {"evidence": out, "evidence_more": self.t["evidence_more"].format(n=_count(more)) if more > 0 else ""}

    @functools.cached_property
    def personal_keys(self) -> dict[str, str]:
        """Value names that hold personal data → 'resident_id' or 'account' (catalogue types, plus
        derived names such as ``registry_account`` that a check adds)."""
        from fundaudit.columns import catalogue

        out: dict[str, str] = {}
        for spec in catalogue().values():
            for name, col in spec.columns.items():
                if col.type == "resident_id":
                    out[name] = "resident_id"
                elif col.type in ("account", "phone"):
                    out[name] = "account"
        return out

    def personal_type(self, key: str) -> str | None:
        if key in self.personal_keys:
            return self.personal_keys[key]
        if key.endswith(("id_no", "_idno", "id_number")):
            return "resident_id"
        if key.endswith(("account", "account_no", "phone", "mobile")):
            return "account"
        return None

    def remask(self, values: Mapping[Any, Any], message: str) -> tuple[dict[str, Any], str]:
        """Defence in depth for a masked run: a personal value that reached the report unmasked (a
        check's derived column the engine did not know was personal) is masked here, in the values
        and wherever the message quotes it."""
        out = {str(k): v for k, v in values.items()}
        for key, v in out.items():
            ptype = self.personal_type(key)
            if ptype is None or not isinstance(v, str) or "*" in v or sum(c.isdigit() for c in v) < 7:
                continue
            masked = mask_value(v, ptype)
            out[key] = masked
            message = message.replace(v, masked)
        return out, message

    def value_items(self, kind: str, values: Mapping[Any, Any]) -> list[tuple[str, str]]:
        """(label, text) per non-empty value; a value ``x`` with an English twin ``x_en`` shows once,
        in the report's language."""
        vals = {str(k): v for k, v in values.items()}
        out = []
        for k, v in vals.items():
            if k.endswith("_en") and k[:-3] in vals:
                continue
            twin = vals.get(f"{k}_en")
            shown = self.pick(v, twin) if twin is not None else self.code_text(kind, k, v)
            if shown:
                out.append((self.cut(self.label(kind, k), 200), self.cut(shown, 300)))
        return out

    def code_text(self, kind: str, name: str, value: Any) -> str:
        """A value as shown: in zh a code (``id_status`` ``bad_checksum``, ``fund_type`` ``union_fund``,
        ``matched_on`` ``id_no, phone``, ``column`` ``amount``) by its catalogue name, so no English code
        shows in the Chinese report; anything else (and every value in en) as its text."""
        text = _text(value)
        if self.lang != "zh" or not text:
            return text
        if name == "column":
            return self.label(kind, text)
        names = messages_catalogue()["values"]
        parts = text.split(", ")
        if all(f"{name}.{p}" in names for p in parts):
            return "、".join(names[f"{name}.{p}"]["zh"] for p in parts)
        return text

    def ref_groups(self, refs: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        """Every ref, grouped by (file, sheet): 'a.xlsx › 送温暖 › 12, 15, 17'."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for r in refs:
            grouped.setdefault((_text(r.get("file")), _text(r.get("sheet"))), []).append(_text(r.get("row")))
        return [{"file": self.cut(file, 300), "sheet": self.cut(sheet, 300),
                 "rows": self.cut(", ".join(rows), 2000)} for (file, sheet), rows in grouped.items()]

    @staticmethod
    def ref_key(refs: Sequence[Mapping[str, Any]]) -> str:
        """Sort key of a finding's first ref: file, sheet, zero-padded row."""
        if not refs:
            return ""
        r = refs[0]
        row = r.get("row")
        num = int(row) if isinstance(row, int | float) and not _isna(row) else 0
        return f"{_text(r.get('file'))[:200]}\u0001{_text(r.get('sheet'))[:100]}\u0001{num:010d}"

    # -- the rest ---------------------------------------------------------------------------------
    def rejected(self, cap: int) -> dict[str, Any]:
        rej = self.result.rejected_rows
        total = len(rej)
        part = rej.head(max(cap, 0))
        recs = part.to_dict("records") if len(part) else []
        rows = []
        for r in recs:
            action = _text(r.get("action"))
            key = f"action_{action}"
            rows.append({
                "kind": self.kind_title(r.get("kind")),
                "file": self.cut(r.get("file"), 300), "sheet": self.cut(r.get("sheet"), 300),
                "row": _text(r.get("row")), "column": self.cut(r.get("column"), 300),
                "value": self.cut(r.get("value"), 300),
                "message": self.cut(self.pick(r.get("message"), r.get("message_en")) or r.get("reason")),
                "reason": self.cut(r.get("reason"), 100),
                "action": self.t.get(key, action),
            })
        return {"rows": rows, "total": total, "total_text": _count(total),
                "more": self.t["more_rejected"].format(n=_count(total - len(rows))), "hidden": total - len(rows)}

    def not_run(self) -> list[dict[str, Any]]:
        out = []
        for r in self.result.rules:
            status = _text(r.get("status"))
            if status == "ran":
                continue
            key = f"status_{status}"
            out.append({"id": self.cut(r.get("id"), 200), "title": self.cut(self.rule_title(_text(r.get("id"))), 300),
                        "ledger": self.kind_title(r.get("ledger")), "severity": _sev_key(r.get("severity")),
                        "severity_label": self.sev(r.get("severity")), "status": status,
                        "status_label": self.t.get(key, status),
                        "reason": self.cut(self.pick(r.get("reason"), r.get("reason_en")))})
        return out

    def manifest(self) -> dict[str, Any]:
        run = self.result.run
        packs = [{"name": self.cut(p.get("name"), 300), "version": self.cut(p.get("version"), 100),
                  "sha256": _text(p.get("sha256")), "source": self.cut(p.get("source"), 500)}
                 for p in run.get("rule_packs") or [] if isinstance(p, Mapping)]
        params = [{"id": self.cut(rid, 200), "params": self.cut(_params_text(p), 2000)}
                  for rid, p in (run.get("params") or {}).items() if p]
        return {"packs": packs, "params": params}

    # -- verification (a run given decisions or a baseline) -------------------------------------------
    def verification(self) -> dict[str, Any] | None:
        """The funnel (overall and per grassroots union), the findings excluded on verification, the baseline's
        findings resolved since and the stale decisions; None in a run without decisions or baseline (the report
        is then as it always was)."""
        from fundaudit.report.verification import UPHELD, active, funnel
        from fundaudit.triage import status_label

        if not active(self.result):
            return None
        lang: Any = "en" if self.lang == "en" else "zh"
        t = self.t
        every = self.result.findings
        overall = funnel(every).iloc[0]
        labels = {s: _heading(status_label(s, lang)) for s in ("pending", "excluded", *UPHELD)}

        def cell(row: pd.Series, stage: str) -> dict[str, Any]:
            n, fen = int(row[f"{stage}_n"]), int(row[f"{stage}_fen"])
            return {"n": n, "count": _count(n), "fen": fen, "amount": _yuan(fen)}

        stages = ("found", "verified", "upheld", "excluded", "pending")
        unions = [{"union": self.cut(k if k is not None else t["triage_no_union"], 300), "none": k is None,
                   "cells": [cell(row, s) for s in stages]} for k, row in funnel(every, by_union=True).iterrows()]
        split = [(labels[s], int(overall[f"{s}_n"]), STATUS_COLOR[s]) for s in UPHELD]
        chart = _funnel([
            (t["funnel_found"], cell(overall, "found"), [(t["funnel_found"], int(overall["found_n"]), NEUTRAL_COLOR)]),
            (t["funnel_verified"], cell(overall, "verified"),
             [(t["funnel_verified"], int(overall["verified_n"]), VERIFIED_COLOR)]),
            (t["funnel_upheld"], cell(overall, "upheld"), split),
            (labels["excluded"], cell(overall, "excluded"),
             [(labels["excluded"], int(overall["excluded_n"]), STATUS_COLOR["excluded"])]),
            (labels["pending"], cell(overall, "pending"),
             [(labels["pending"], int(overall["pending_n"]), STATUS_COLOR["pending"])]),
        ], t, total=int(overall["found_n"]))
        excluded = _Context(self.result, self.lang, self.t, excluded=True)
        n_excluded = len(excluded.findings) if "triage" in excluded.findings.columns else 0
        return {
            "chart": chart,
            "heads": [t["funnel_found"], t["funnel_verified"], t["funnel_upheld"], labels["excluded"],
                      labels["pending"]],
            "total": [cell(overall, s) for s in stages],
            "unions": unions,
            "split": t["cli_list_sep"].join(t["funnel_split"].format(label=lab, n=_count(n)) for lab, n, _ in split),
            "excluded": excluded.finding_rows(np.arange(n_excluded)) if n_excluded else [],
            "resolved": [self.baseline_row(r) for r in self.result.resolved_since_baseline],
            "stale": [self.stale_row(d) for d in self.result.stale_decisions],
        }

    def baseline_row(self, r: Mapping[str, Any]) -> dict[str, Any]:
        """A finding of the baseline that no longer occurs, with its last verification."""
        from fundaudit.report.verification import decision
        from fundaudit.triage import status_label

        tri = decision(r.get("triage"))
        status = _text(tri.get("status")) or "pending"
        return {"fingerprint": self.cut(r.get("fingerprint"), 100), "rule": self.cut(r.get("rule"), 200),
                "severity": _sev_key(r.get("severity")), "severity_label": self.sev(r.get("severity")),
                "message": self.cut(self.pick(r.get("message"), r.get("message_en"))),
                "amount": self.money_text(r.get("amount")),
                "status_label": status_label(status, "en" if self.lang == "en" else "zh"),
                "reason": self.cut(tri.get("reason")), "refs": self.ref_groups(_refs_list(r.get("refs")))}

    def stale_row(self, d: Mapping[str, Any]) -> dict[str, Any]:
        """A decision whose finding occurs neither now nor in the baseline."""
        from fundaudit.triage import STATUSES, status_label

        status = _text(d.get("status"))
        return {"fingerprint": self.cut(d.get("fingerprint"), 100),
                "status_label": status_label(status, "en" if self.lang == "en" else "zh") if status in STATUSES
                else self.cut(status, 50),
                "reason": self.cut(d.get("reason")), "by": self.cut(d.get("by"), 200),
                "date": self.cut(d.get("date"), 40)}


# --- SVG bar charts (geometry computed here, the template only draws) ------------------------------

def _top(items: list[tuple[str, int, str, str]], n: int, other: str) -> list[tuple[str, int, str, str]]:
    """The ``n`` largest (label, count, colour, tooltip) items, the rest summed into ``other``."""
    items = sorted(items, key=lambda x: -x[1])
    if len(items) <= n + 1:
        return items
    rest = sum(x[1] for x in items[n:])
    return [*items[:n], (other, rest, OTHER_COLOR, other)]


def _short(label: str, limit: int) -> str:
    """Cut a label to about ``limit`` columns (CJK characters count double)."""
    width = 0
    for i, ch in enumerate(label):
        width += 2 if ord(ch) > 0x2E7F else 1
        if width > limit:
            return label[:i] + "…"
    return label


def _hbar(key: str, title: str, items: Iterable[tuple[str, int, str, str]], empty: str) -> dict[str, Any]:
    items = list(items)
    label_w, bar_w, row_h, pad = 170, 200, 20, 6
    peak = max((x[1] for x in items), default=0) or 1
    bars = []
    for i, (label, n, color, tip) in enumerate(items):
        y = pad + i * row_h
        w = max(round(bar_w * n / peak), 1 if n else 0)
        bars.append({"label": _short(label, 26), "tip": f"{tip[:300]}: {n:,}", "value": f"{n:,}",
                     "x": label_w, "y": y, "w": w, "h": row_h - 6, "color": color,
                     "ty": y + row_h - 9, "vx": label_w + w + 4})
    height = pad * 2 + max(len(items), 1) * row_h
    return {"key": key, "title": title, "kind": "hbar", "width": label_w + bar_w + 60, "height": height,
            "bars": bars, "empty": empty if not items else "", "label_x": label_w - 6}


def _vbar(key: str, title: str, items: Sequence[tuple[str, int]], empty: str) -> dict[str, Any]:
    """Vertical bars per month: month numbers under the bars, the year under the first month of
    each year; any other label (the '—' of findings without a date) as it is."""
    items = list(items)
    plot_h, top, bottom, left = 150, 18, 34, 8
    slot = max(min(36, 420 // max(len(items), 1)), 14)
    peak = max((x[1] for x in items), default=0) or 1
    bars = []
    last_year = ""
    for i, (label, n) in enumerate(items):
        h = max(round(plot_h * n / peak), 1 if n else 0)
        x = left + i * slot
        is_month = len(label) == 7 and label[4] == "-" and label[:4].isdigit() and label[5:].isdigit()
        year = label[:4] if is_month and label[:4] != last_year else ""
        last_year = label[:4] if is_month else last_year
        bars.append({"label": str(int(label[5:])) if is_month else label, "year": year,
                     "tip": f"{label}: {n:,}", "value": f"{n:,}" if n else "",
                     "x": x + 3, "y": top + plot_h - h, "w": slot - 6, "h": h, "color": NEUTRAL_COLOR,
                     "tx": x + slot / 2, "ty": top + plot_h + 13, "yx": x + 2, "yy": top + plot_h + 27,
                     "vy": top + plot_h - h - 4})
    width = left * 2 + max(len(items), 1) * slot
    return {"key": key, "title": title, "kind": "vbar", "width": max(width, 200), "height": top + plot_h + bottom,
            "bars": bars, "empty": empty if not any(x[1] for x in items) else "", "base_y": top + plot_h,
            "x0": left, "x1": left + max(len(items), 1) * slot}


def _funnel(stages: Sequence[tuple[str, Mapping[str, Any], Sequence[tuple[str, int, str]]]], t: Mapping[str, str],
            total: int) -> dict[str, Any]:
    """The verification funnel: a centred bar per stage (width by count, of ``total``), made of its parts
    ``(label, count, colour)``, with the stage's label on the left and its count and money on the right."""
    label_w, bar_w, row_h, pad = 190, 300, 30, 6
    peak = max(total, 1)
    rows = []
    for i, (label, cell, parts) in enumerate(stages):
        y = pad + i * row_h
        width = round(bar_w * sum(n for _, n, _ in parts) / peak)
        x = label_w + (bar_w - width) / 2
        segs = []
        for part_label, n, color in parts:
            w = round(bar_w * n / peak)
            if n:
                segs.append({"x": round(x, 1), "w": max(w, 1), "color": color, "tip": f"{part_label[:300]}: {n:,}"})
            x += w
        rows.append({"label": _short(label, 30), "tip": f"{label[:300]}: {cell['count']}", "y": y, "h": row_h - 8,
                     "ty": y + row_h - 13, "segs": segs,
                     "value": t["funnel_value"].format(n=cell["count"], amount=cell["amount"])})
    return {"width": label_w + bar_w + 230, "height": pad * 2 + len(stages) * row_h, "rows": rows,
            "label_x": label_w - 8, "value_x": label_w + bar_w + 8, "title": t["triage_h"]}
