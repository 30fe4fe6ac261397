"""The same findings on Spark as on DuckDB (issue 17): the whole shipped pack runs on the samples on both
engines, on a Spark in multi-process mode (``local-cluster[2,1,1024]``: two executor JVMs), and every
finding (fingerprint, rule, severity, refs, amount, messages, values, evidence…) and every rule's status
is the same. Skipped, saying why, where pyspark or Java is absent (``tests/conftest.py::spark``)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlglot.expressions as exp

from fundaudit.engine import EngineResult, checks, run_rules
from fundaudit.engine.context import CheckContext
from fundaudit.inputs import collect
from fundaudit.ledger import Ledger
from fundaudit.period import parse_period
from fundaudit.result import FINDING_FRAME_COLUMNS
from tests.checks.harness import REGION, shipped

pytestmark = pytest.mark.spark

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def ledgers() -> dict[str, Ledger]:
    return collect([SAMPLES])


def statuses(result: EngineResult) -> list[tuple[Any, ...]]:
    """Each rule's id, status, finding count and (when skipped) its reason."""
    return [(s.id, s.status, s.findings, s.skip_code, s.reason_en) for s in result.statuses]


def findings(result: EngineResult) -> list[dict[str, Any]]:
    """Every finding as plain values (missing ones None), every column of the findings frame."""
    frame = result.findings[FINDING_FRAME_COLUMNS].astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


@pytest.mark.parametrize("period", ["2016", None], ids=["period 2016", "no period"])
def test_the_shipped_pack_finds_the_same_on_spark(ledgers: dict[str, Ledger], spark: Any, period: str | None) -> None:
    rules = shipped().active()
    per = parse_period(period) if period else None
    on_duckdb = run_rules(ledgers, rules, period=per, region_code=REGION)
    on_spark = run_rules(ledgers, rules, period=per, region_code=REGION, engine="spark", spark=spark)
    assert len(rules) == 41
    ran = [s.id for s in on_duckdb.statuses if s.status == "ran"]
    assert len(ran) == (41 if period else 40)  # without a period DUES-GAP skips (on both)
    assert statuses(on_spark) == statuses(on_duckdb)
    by_rule = {r: [f for f in findings(on_duckdb) if f["rule"] == r] for r in ran}
    for rule_id in ran:  # one rule at a time, so a difference names its rule
        assert [f for f in findings(on_spark) if f["rule"] == rule_id] == by_rule[rule_id], rule_id
    assert findings(on_spark) == findings(on_duckdb)
    assert len(on_spark.findings) == (68 if period else len(on_duckdb.findings))
    for duck, spark_st in zip(on_duckdb.statuses, on_spark.statuses, strict=True):  # each reports the SQL it ran
        assert (duck.sql is None) == (spark_st.sql is None)
        if duck.sql is not None:
            assert "`" in spark_st.sql and "fundaudit_" not in spark_st.sql and '"' in duck.sql


def test_a_query_spark_cannot_run_skips_its_rule_saying_so(
    ledgers: dict[str, Ledger], spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule whose query uses what Spark lacks (DuckDB's ``regexp_full_match``, which sqlglot passes through)
    is skipped on Spark with the catalogue's reason, in both languages; on DuckDB it runs."""
    rule = shipped().rules["DISB-DUP"]
    impl = checks.load_builtin()[rule.check_type]

    def unportable(ctx: CheckContext) -> exp.Select:
        query = impl(ctx)
        full = exp.Anonymous(this="regexp_full_match", expressions=[exp.Literal.string("a"), exp.Literal.string("a")])
        return query.where(full)

    monkeypatch.setitem(checks.IMPLS, rule.check_type, unportable)
    (duck,) = run_rules(ledgers, [rule], period=parse_period("2016"), region_code=REGION).statuses
    assert (duck.status, duck.findings) == ("ran", 2)
    (st,) = run_rules(ledgers, [rule], period=parse_period("2016"), region_code=REGION, engine="spark",
                      spark=spark).statuses
    assert (st.status, st.findings, st.skip_code) == ("skipped", 0, "skip_engine_unsupported")
    assert st.skip_fields["engine"] == "Spark"
    assert st.skip_fields["detail"].startswith("UNRESOLVED_ROUTINE: [UNRESOLVED_ROUTINE] Cannot resolve routine "
                                               "`REGEXP_FULL_MATCH`")
    assert st.reason_en.startswith("this rule's query cannot run on Spark (not run, rather than give a different "
                                   "answer): UNRESOLVED_ROUTINE")
    assert st.reason.startswith("该规则的查询无法在 Spark 上运行（未运行，以免结果不同）：UNRESOLVED_ROUTINE")


def test_spark_leaves_the_sessions_own_views_alone(ledgers: dict[str, Ledger], spark: Any) -> None:
    """The engine's tables are views with a run's own prefix, dropped when it ends: a user's view named
    ``dues`` is neither replaced nor read, and no view of the run is left behind."""
    spark.sql("SELECT 1 AS x").createOrReplaceTempView("dues")
    try:
        before = sorted(t.name for t in spark.catalog.listTables())
        result = run_rules(ledgers, [shipped().rules["DUES-DUP"]], period=parse_period("2016"), region_code=REGION,
                           engine="spark", spark=spark)
        assert [(s.status, s.findings) for s in result.statuses] == [("ran", 2)]
        assert sorted(t.name for t in spark.catalog.listTables()) == before
        assert [r.asDict() for r in spark.table("dues").collect()] == [{"x": 1}]
    finally:
        spark.catalog.dropTempView("dues")


# Seeds of the generated ledgers (FUNDAUDIT_SPARK_SEEDS="1 2 3" runs more; each is one pack run per engine).
SEEDS = [int(s) for s in os.environ.get("FUNDAUDIT_SPARK_SEEDS", "2016").split()]


def blanked(ledgers: dict[str, Ledger], seed: int) -> dict[str, Ledger]:
    """The samples' ledgers with a seeded sixth of every data cell emptied and a tenth of the rows repeated:
    NULLs in every column a rule reads (sort keys, LEAST/GREATEST operands, dates, group keys), and groups
    that change. The derived facts the engine reads are kept as loaded (both engines see the same tables)."""
    rng = np.random.default_rng(seed)
    out = {}
    for kind, led in ledgers.items():
        frame = led.frame
        if kind in ("dues", "disbursements", "register", "unions", "staff", "employers") and len(frame):
            frame = frame.copy()
            for c in [c for c in frame.columns if c not in ("file", "sheet", "row") and "__" not in c]:
                frame[c] = frame[c].mask(rng.random(len(frame)) < 1 / 6)
            again = frame[rng.random(len(frame)) < 0.1]
            frame = pd.concat([frame, again], ignore_index=True)
        out[kind] = dataclasses.replace(led, frame=frame)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_ledgers_find_the_same_on_spark(ledgers: dict[str, Ledger], spark: Any, seed: int) -> None:
    """Seeded random ledgers (the samples with cells emptied and rows repeated): each rule's status and findings
    are the same on both engines, wherever its NULLs fall."""
    rules = shipped().active()
    data = blanked(ledgers, seed)
    on_duckdb = run_rules(data, rules, period=parse_period("2016"), region_code=REGION)
    on_spark = run_rules(data, rules, period=parse_period("2016"), region_code=REGION, engine="spark", spark=spark)
    assert statuses(on_spark) == statuses(on_duckdb)
    for rule_id in [s.id for s in on_duckdb.statuses]:
        assert [f for f in findings(on_spark) if f["rule"] == rule_id] == [
            f for f in findings(on_duckdb) if f["rule"] == rule_id], rule_id
    assert findings(on_spark) == findings(on_duckdb)
