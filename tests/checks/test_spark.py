"""Every shipped rule's query, as the engine builds it, transpiles to Spark SQL without a construct
sqlglot knows Spark lacks (``unsupported_level=ErrorLevel.RAISE``), and the check is one that fails; and
Spark itself accepts every one of them (its analyser resolves each query's functions and types on the
engine's tables), for every shape the inputs give a query (all columns or few, with a period or without).

That the queries also *mean* the same on Spark is tests/engine/test_spark.py (the shipped pack run on both
engines); the SQL helpers that keep them so are tested here without Spark."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from fundaudit.columns import catalogue
from fundaudit.engine import checks, input_tables, sql
from fundaudit.engine.context import CheckContext
from fundaudit.period import parse_period
from tests.checks.harness import dues_row, execute, load, sheet, shipped


def to_spark(query: exp.Expr) -> str:
    """Spark SQL of ``query``; raises UnsupportedError on any construct sqlglot knows Spark lacks."""
    return query.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


# the few-columns inputs: what a bare export holds (the optional columns absent change the queries)
FEW = {
    "dues": ["taxpayer_id", "taxpayer_name", "amount_paid", "period_start", "period_end", "fund_type", "wage_base",
             "fee_amount", "refund_paid", "settlement_flag", "grassroots_account"],
    "disbursements": ["recipient_name", "recipient_id_no", "program", "amount", "payment_date", "payment_method",
                      "bank_account", "disclosure_start", "disclosure_end", "approver", "account_holder",
                      "aid_category"],
    "register": ["file_no", "id_no", "filed_date", "exit_date", "status", "category", "household_income_annual",
                 "disclosure_date", "exit_reason"],
    "caps": ["program", "per_payment_cap"],
    "staff": ["name", "id_no"],
    "unions": ["employer_taxpayer_id", "founded_date", "bank_account"],
    "employers": ["taxpayer_id", "headcount"],
    "budget": ["program", "allocated"],
    "dibao": ["monthly_dibao", "year"],
    "min_wage": ["effective_from", "monthly"],
}
# the rules FEW cannot serve (each skips, naming what it lacks: a column, or the ratios table)
# (REG-REVIEW-OVERDUE, a flag rule, needs 复核日期 as well as 建档日期: its last_review is their coalesce)
SKIP_ON_FEW = {"DUES-CALC", "DUES-LATE", "DUES-RATE", "DUES-SPLIT-RATIO", "DUES-SPLIT-SUM", "REG-REVIEW-OVERDUE"}
NEED_PERIOD = {"DUES-GAP"}  # skipped without an audit period: its query is built only with one


def inputs(few: bool) -> dict[str, pd.DataFrame]:
    """Every input kind as an empty sheet with all its canonical columns (or only those of FEW), except
    dues: one clean row and its 合计 footer (so LEDGER-TOTAL has declared totals to reconcile)."""
    columns = dict(FEW) if few else {kind: list(spec.columns) for kind, spec in catalogue().items()}
    out = {kind: pd.DataFrame({c: pd.Series([], dtype=object) for c in cols}) for kind, cols in columns.items()}
    row = {c: dues_row().get(c, "") for c in columns["dues"]}
    total = {**dict.fromkeys(row, ""), "taxpayer_id": "合计", "amount_paid": row["amount_paid"]}
    out["dues"] = sheet([row, total])
    return out


@functools.cache
def built_queries(period: str | None, few: bool = False) -> dict[str, exp.Expression]:
    """Each shipped rule's query, captured from the engine's own call of its check type (each rule run
    through the harness on :func:`inputs`)."""
    impls = checks.load_builtin()
    queries: dict[str, exp.Expression] = {}

    def capture(impl: Callable[[CheckContext], exp.Expression]) -> Callable[[CheckContext], Any]:
        def wrapped(ctx: CheckContext) -> exp.Expression:
            query = impl(ctx)
            queries[ctx.rule.id] = query
            return query
        return wrapped

    given = {kind: load(kind, frame) for kind, frame in inputs(few).items()}
    with pytest.MonkeyPatch.context() as mp:
        for name, impl in list(impls.items()):
            mp.setitem(checks.IMPLS, name, capture(impl))
        for rule_id, rule in shipped().rules.items():
            skips = (rule_id in NEED_PERIOD and not period) or (few and rule_id in SKIP_ON_FEW)
            execute(rule, given, period=period, expect_status="skipped" if skips else "ran")
    return queries


@pytest.mark.parametrize("few", [False, True], ids=["all columns", "few columns"])
@pytest.mark.parametrize("period", ["2016", None])
def test_every_shipped_rule_transpiles_to_spark(period: str | None, few: bool) -> None:
    queries = built_queries(period, few)
    skipped = (set() if period else NEED_PERIOD) | (SKIP_ON_FEW if few else set())
    assert sorted(queries) == sorted(set(shipped().rules) - skipped)
    failed = {}
    for rule_id, query in queries.items():
        try:
            to_spark(query)
        except UnsupportedError as exc:
            failed[rule_id] = str(exc)
    assert failed == {}


def test_the_spark_check_fails_on_what_spark_lacks() -> None:
    """A shipped rule's real query with a construct Spark lacks (a locking read) is refused, with
    sqlglot's reason; the same query without it passes."""
    query = built_queries("2016")["DISB-NOT-FILED"]
    assert isinstance(query, exp.Query)
    to_spark(query)
    locked = query.copy()
    locked.set("locks", [exp.Lock(update=True)])
    with pytest.raises(UnsupportedError) as info:
        to_spark(locked)
    assert str(info.value) == "Locking reads using 'FOR UPDATE/SHARE' are not supported"
    with pytest.raises(UnsupportedError):
        to_spark(sqlglot.parse_one("SELECT a FROM t FOR UPDATE", read="duckdb"))


@pytest.mark.spark
@pytest.mark.parametrize("few", [False, True], ids=["all columns", "few columns"])
@pytest.mark.parametrize("period", ["2016", None])
def test_spark_accepts_every_shipped_rules_query(spark: Any, period: str | None, few: bool) -> None:
    """Spark's analyser resolves every query (functions, types, columns) on the tables the engine registers for
    :func:`inputs`: what sqlglot cannot know Spark lacks (DuckDB's ``LIST``, a BIGINT day count…) fails here."""
    from fundaudit.engine.spark import SparkBackend

    ledgers = {kind: load(kind, frame) for kind, frame in inputs(few).items()}
    backend = SparkBackend(spark)
    try:
        for name, frame in input_tables(ledgers, parse_period(period) if period else None).frames.items():
            backend.register(name, frame)
        refused = {}
        for rule_id, query in built_queries(period, few).items():
            try:
                backend.spark.sql(backend._runnable(query))  # analysed, not run
            except Exception as exc:
                refused[rule_id] = str(exc).splitlines()[0]
    finally:
        backend.close()
    assert refused == {}


# --- the SQL helpers that keep a query's meaning on Spark (no Spark needed) ------------------------------


def test_least_and_greatest_are_null_when_any_argument_is_on_both_engines() -> None:
    """``{min: …}``/``{max: …}`` and working days are NULL when an argument is: sqlglot guards DuckDB's LEAST
    (which skips NULLs) but writes Spark's bare, which skips them too; the guard is written by the engine."""
    for op, fn in (("min", "LEAST"), ("max", "GREATEST")):
        e, _ = sql.operand({op: ["amount", "fee_amount"]}, "dues")
        duck, spark = sql.to_sql(e, "duckdb"), sql.to_sql(e, "spark")
        assert duck == (f'CASE WHEN "amount" IS NULL OR "fee_amount" IS NULL THEN NULL '
                        f'ELSE {fn}("amount", "fee_amount") END')
        assert spark == (f"CASE WHEN `amount` IS NULL OR `fee_amount` IS NULL THEN NULL "
                         f"ELSE {fn}(`amount`, `fee_amount`) END")


def test_date_shifts_count_in_int_and_materialized_is_duckdbs_alone() -> None:
    """Spark's date_add/add_months take an INT count; ``AS MATERIALIZED`` (a DuckDB hint) is left out for Spark."""
    shifted = sql.operand({"add_months": ["payment_date", "headcount"]}, "disbursements")[0]
    assert sql.to_sql(shifted, "spark") == "ADD_MONTHS(`payment_date`, CAST(`headcount` AS INT))"
    q = sqlglot.parse_one("WITH m AS MATERIALIZED (SELECT 1 AS x) SELECT x FROM m", read="duckdb")
    assert sql.to_sql(q, "duckdb") == "WITH m AS MATERIALIZED (SELECT 1 AS x) SELECT x FROM m"
    assert sql.to_sql(q, "spark") == "WITH m AS (SELECT 1 AS x) SELECT x FROM m"
    assert q.sql(dialect="spark") == "WITH m AS MATERIALIZED (SELECT 1 AS x) SELECT x FROM m"  # sqlglot's own


def test_a_median_over_a_window_frame_is_spark_percentile() -> None:
    """Spark's MEDIAN refuses a window frame (INVALID_WINDOW_SPEC_FOR_AGGREGATION_FUNC); PERCENTILE(x, 0.5) is
    the same exact interpolated median and takes one. A MEDIAN aggregate, and DuckDB's text, stay as they were."""
    w = sql.window(sqlglot.exp.Median(this=sql.col("b")), [sql.col("t")], [sql.col("p")], (6, 1))
    frame = "ROWS BETWEEN 6 PRECEDING AND 1 PRECEDING)"
    assert sql.to_sql(w, "duckdb") == 'MEDIAN("b") OVER (PARTITION BY "t" ORDER BY "p" ASC ' + frame
    assert sql.to_sql(w, "spark") == "PERCENTILE(`b`, 0.5) OVER (PARTITION BY `t` ORDER BY `p` ASC NULLS LAST " + frame
    agg = sqlglot.exp.Median(this=sql.col("b"))
    assert sql.to_sql(agg, "spark") == "MEDIAN(`b`)"


def test_a_bare_order_key_sorts_nulls_last_on_spark_as_on_duckdb() -> None:
    """A key given bare to ORDER BY (a group number's DENSE_RANK, a result's order) sorts NULLs last on DuckDB
    and first on Spark unless said: the Spark SQL says NULLS LAST; DuckDB's text is as it was."""
    q = sql.select("x", sql.named(sql.dense_rank(sql.col("k")), "g")).from_(sql.table("t")).order_by(sql.col("x"))
    assert sql.to_sql(q, "duckdb") == 'SELECT "x", DENSE_RANK() OVER (ORDER BY "k") AS "g" FROM t ORDER BY "x"'
    assert sql.to_sql(q, "spark") == ("SELECT `x`, DENSE_RANK() OVER (ORDER BY `k` ASC NULLS LAST) AS `g` FROM t "
                                      "ORDER BY `x` ASC NULLS LAST")
