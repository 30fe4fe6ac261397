"""The engine: how rules run. Inputs are registered on an in-process DuckDB (zero-copy through
Arrow), each rule's check type renders one SQL query (``fundaudit.engine.checks``), and the small
result sets become findings with provenance, exact money, messages and stable fingerprints
(``fundaudit.engine.findings``). A rule whose columns or tables are missing is *skipped* with the
reason; a rule that crashes is reported with ``status: error`` and the others still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlglot.expressions as exp

from fundaudit.columns import catalogue
from fundaudit.engine import sql
from fundaudit.engine.backend import Backend, EngineUnsupported, open_backend
from fundaudit.engine.checks import load_builtin
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.findings import Tables, add_evidence, add_subjects, build_findings
from fundaudit.engine.sql import ROW_ID, TOTALS
from fundaudit.errors import render
from fundaudit.facts import IN_PERIOD, add_facts
from fundaudit.ledger import TOTALS_COLUMNS, Ledger
from fundaudit.period import Period
from fundaudit.result import FINDING_FRAME_COLUMNS
from fundaudit.rules.model import Rule
from fundaudit.schemas import CANONICAL_DTYPES, TEXT

__all__ = ["EngineResult", "RuleStatus", "empty_ledgers", "input_tables", "rule_sql", "run_rules"]

_WANTED = "_wanted_rows"  # a temporary table: the ledger rows whose declared amount is looked up
Progress = Callable[[str], None]


@dataclass
class RuleStatus:
    """How one rule went: ran (with a count), skipped (with the reason) or error."""

    id: str
    title: Mapping[str, str]
    ledger: str
    severity: str
    check_type: str
    params: Mapping[str, Any]
    status: str
    findings: int = 0
    reason: str | None = None
    reason_en: str | None = None
    seconds: float = 0.0
    sql: str | None = None
    skip_code: str | None = None  # the catalogue code of the reason, when skipped
    skip_fields: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""  # the rule's own texts, for reports that describe the rule (working papers)
    basis: str = ""
    amount_basis: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, rule: Rule, status: str = "ran", **fields: Any) -> RuleStatus:
        """The status of ``rule``, with the rule's identity and texts copied from it."""
        return cls(rule.id, rule.title, rule.ledger, rule.severity, rule.check_type, rule.params, status,
                   description=rule.description, basis=rule.basis, amount_basis=rule.amount_basis, **fields)

    def to_dict(self) -> dict[str, Any]:
        """findings.json ``rules[]`` entry."""
        return {
            "id": self.id,
            "title": self.title.get("zh"),
            "title_en": self.title.get("en"),
            "ledger": self.ledger,
            "severity": self.severity,
            "status": self.status,
            "reason": self.reason,
            "reason_en": self.reason_en,
            "findings": self.findings,
            "params": dict(self.params),
            "sql": self.sql,
            "description": self.description,
            "basis": self.basis,
            "amount_basis": self.amount_basis.get("zh"),
            "amount_basis_en": self.amount_basis.get("en"),
        }


@dataclass
class EngineResult:
    """Findings of every rule and each rule's status."""

    findings: pd.DataFrame
    statuses: list[RuleStatus] = field(default_factory=list)


def run_rules(
    ledgers: Mapping[str, Ledger],
    rules: Sequence[Rule],
    *,
    period: Period | None = None,
    region_code: str | None = None,
    masked: bool = True,
    lang_progress: Progress | None = None,
    subject_key: bytes | None = None,
    engine: str = "duckdb",
    spark: Any = None,
) -> EngineResult:
    """Run ``rules`` over ``ledgers`` on ``engine``: a fresh in-process DuckDB connection (the default),
    or Spark (``spark``: a SparkSession; None starts a local one), where each rule runs as the same query
    transpiled by sqlglot and a query Spark cannot run makes its rule skip with the reason. With
    ``subject_key`` each finding carries its ``subject`` (:mod:`fundaudit.subject`); without, ``subject`` is None."""
    impls = load_builtin()
    con = open_backend(engine, spark)
    try:
        return _run(con, impls, ledgers, rules, period=period, region_code=region_code, masked=masked,
                    lang_progress=lang_progress, subject_key=subject_key)
    finally:
        con.close()


def _run(
    con: Backend,
    impls: Mapping[str, Any],
    ledgers: Mapping[str, Ledger],
    rules: Sequence[Rule],
    *,
    period: Period | None,
    region_code: str | None,
    masked: bool,
    lang_progress: Progress | None,
    subject_key: bytes | None,
) -> EngineResult:
    tables = _register(con, ledgers, period)
    present, extra = _inputs(tables)
    statuses: list[RuleStatus] = []
    parts: list[pd.DataFrame] = []
    for i, rule in enumerate(rules, start=1):
        if lang_progress:
            lang_progress(f"[{i}/{len(rules)}] {rule.id}")
        st = RuleStatus.of(rule)
        t0 = time.perf_counter()
        try:
            if rule.ledger != "*" and rule.ledger not in present:
                raise Skip("skip_no_table", table=rule.ledger)
            ctx = CheckContext(rule, rule.args, present, period, region_code, extra)
            query = impls[rule.check_type](ctx)
            st.sql = con.sql(query)
            result = con.execute(query)
            result = _declared_amount(con, ctx, result)
            found = build_findings(rule, result, tables, masked=masked, units=ctx.units)
            st.findings = len(found)
            parts.append(found)
        except (Skip, EngineUnsupported) as s:
            if isinstance(s, EngineUnsupported):
                s = Skip("skip_engine_unsupported", engine=s.engine, detail=s.detail)
            st.status = "skipped"
            st.skip_code, st.skip_fields = s.code, dict(s.fields)
            st.reason = render("errors", s.code, "zh", **s.fields)
            st.reason_en = render("errors", s.code, "en", **s.fields)
        except Exception as exc:  # a crashing rule must not stop the others
            st.status = "error"
            st.reason = st.reason_en = f"{type(exc).__name__}: {exc}"[:500]
        st.seconds = time.perf_counter() - t0
        statuses.append(st)
    findings = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=FINDING_FRAME_COLUMNS)
    )
    findings = add_subjects(findings, subject_key)  # every finding's subject hashed, the raw IDs dropped
    findings = add_evidence(findings, ledgers, masked=masked)  # every ref's row as read, in one pass
    findings["id"] = [f"F{i:06d}" for i in range(1, len(findings) + 1)]
    return EngineResult(findings[FINDING_FRAME_COLUMNS], statuses)


def _inputs(tables: Tables) -> tuple[dict[str, frozenset[str]], dict[str, Any]]:
    """What a check's context says about the registered tables: their columns, and the facts some check
    types read (which ledgers declare totals of which columns, the regions of regional tables)."""
    present = {name: frozenset(t.columns) for name, t in tables.frames.items()}
    extra = {"total_kinds": tables.total_kinds, "total_columns": tables.total_columns,
             "region_codes": {name: sorted(str(v) for v in frame["region_code"].dropna().unique())
                              for name, frame in tables.frames.items() if "region_code" in frame.columns}}
    return present, extra


def empty_ledgers(kinds: Iterable[str]) -> dict[str, Ledger]:
    """Zero-row ledgers of ``kinds`` with every catalogue column in its canonical dtype, each declaring a
    合计 of every money column: what a query is built against when no data is read (``rules show --sql``)."""
    out = {}
    for kind in kinds:
        spec = catalogue()[kind]
        frame = pd.DataFrame({"file": pd.Series(dtype=TEXT), "sheet": pd.Series(dtype=TEXT),
                              "row": pd.Series(dtype="int64"),
                              **{n: pd.Series(dtype=CANONICAL_DTYPES[c.type]) for n, c in spec.columns.items()}})
        money = [n for n, c in spec.columns.items() if c.type == "money"] if spec.ledger else []
        totals = pd.DataFrame({"kind": kind, "file": "", "sheet": "", "row": 0, "type": "total", "label": "",
                               "column": money, "declared": 0, "covers_from": 0, "covers_to": 0},
                              columns=TOTALS_COLUMNS)
        none = pd.DataFrame()
        out[kind] = Ledger(kind, frame, none, none, totals, [])
    return out


def rule_sql(rule: Rule, ledgers: Mapping[str, Ledger], *, period: Period | None = None,
             region_code: str | None = None) -> str:
    """The DuckDB SQL ``rule`` runs on ``ledgers``, built and not run, so zero-row ledgers
    (:func:`empty_ledgers`) will do; raises :class:`Skip` where the rule would be skipped. Regions are
    then chosen in SQL (the engine's list of a table's regions comes from its rows)."""
    present, extra = _inputs(input_tables(ledgers, period))
    if rule.ledger != "*" and rule.ledger not in present:
        raise Skip("skip_no_table", table=rule.ledger)
    ctx = CheckContext(rule, rule.args, present, period, region_code, {**extra, "region_codes": {}})
    return sql.to_sql(load_builtin()[rule.check_type](ctx))


def _declared_amount(con: Backend, ctx: CheckContext, result: pd.DataFrame) -> pd.DataFrame:
    """The rule's ``amount:`` for result rows of its ledger, where the check type did not return it.

    A check type that selects ``_amount`` itself (most do) decides; for the others (``group_cap``,
    ``unique``, ``lookup``, the register checks...) the declared operand is evaluated here, on the
    rows each finding points at, so a declared ``amount:`` is never validated and then dropped."""
    amount = ctx.amount("t")
    if amount is None or "_amount" in result.columns or result.empty:
        return result
    own = result["_table"].astype(str).eq(ctx.ledger) if "_table" in result else pd.Series(True, index=result.index)
    con.register(_WANTED, pd.DataFrame({ROW_ID: result.loc[own, ROW_ID].unique()}))
    try:
        query = (
            sql.select(sql.col(ROW_ID, "t"), exp.alias_(amount, "_amount", quoted=True))
            .from_(sql.table(ctx.ledger, "t"))
            .join(sql.table(_WANTED, "w"), on=exp.EQ(this=sql.col(ROW_ID, "w"), expression=sql.col(ROW_ID, "t")))
        )
        values = con.execute(query).set_index(ROW_ID)["_amount"]
    finally:
        con.unregister(_WANTED)
    result["_amount"] = result[ROW_ID].map(values).where(own)
    return result


def _register(con: Backend, ledgers: Mapping[str, Ledger], period: Period | None) -> Tables:
    """Register every input (plus row ids, in-period flags and ID check facts) and the declared totals."""
    tables = input_tables(ledgers, period)
    for name, frame in tables.frames.items():
        con.register(name, frame)
    return tables


def input_tables(ledgers: Mapping[str, Ledger], period: Period | None = None) -> Tables:
    """The tables rules run on, by name: every input's frame with its row ids (``_rid``), in-period flags
    (``_in_period``) and derived facts (``<col>__status``, ``__birth``, ``__key``, ``__org_ok``), and the
    declared totals (``ledger_totals``) when a ledger has any. What the engine registers, and what
    ``audit.duckdb`` holds (:mod:`fundaudit.report.db`)."""
    frames: dict[str, pd.DataFrame] = {}
    for kind, ledger in ledgers.items():
        df = add_facts(kind, ledger.frame, period)
        frames[kind] = df
    totals = [led.totals for led in ledgers.values() if len(led.totals)]
    total_kinds: list[str] = []
    total_columns: dict[str, list[str]] = {}
    if totals:
        t = pd.concat(totals, ignore_index=True)
        t["sheet"] = t["sheet"].astype("str")
        t[ROW_ID] = np.arange(len(t), dtype="int64")
        t[IN_PERIOD] = True
        t["declared"] = t["declared"].astype("int64")
        frames[TOTALS] = t
        total_kinds = sorted(t["kind"].unique())
        total_columns = {k: sorted(t.loc[t["kind"] == k, "column"].unique()) for k in total_kinds}
    return Tables(frames, total_kinds, total_columns)
