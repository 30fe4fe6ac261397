"""Identity check types: are the resident IDs (GB 11643) valid (DUES-TAXPAYER-ID, GB 32100, is a
``flag`` rule over the engine's taxpayer-ID facts: rules/dues.yaml).

Rules: DISB-ID and REG-ID (``resident_id``).
Signatures: ``fundaudit/rules/signatures/identity.py``. Tests: ``tests/checks/test_identity.py``.

Readings where ``domain.md`` §7 leaves room:

- ``resident_id``: every invalid ID is a finding, whatever is wrong with it (the loader keeps an invalid
  ID as read, with its status); a blank ID is not; age is in full years on the date (on the 100th
  birthday a person is 100).
"""

from __future__ import annotations

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    amount_column,
    as_of_date,
)
from fundaudit.engine.context import CheckContext
from fundaudit.engine.sql import (
    ROW_ID,
    all_of,
    any_of,
    case,
    col,
    eq,
    flag,
    in_texts,
    month_day,
    named,
    negate,
    not_null,
    number,
    select,
    string,
    table,
    text_sql,
)
from fundaudit.errors import render, texts

# Bad statuses of the engine's resident-ID facts, with their wording.
ID_PROBLEMS = {
    code: texts("findings", f"resident_id.{code}")
    for code in ("bad_length", "bad_chars", "bad_checksum", "bad_birth_date", "excel_number")
}


def _age(birth: exp.Expression, on: exp.Expression) -> exp.Expression:
    """Full years from ``birth`` to ``on`` (a person is 100 on their 100th birthday)."""
    before_birthday = exp.LT(this=month_day(on), expression=month_day(birth))
    return exp.Sub(
        this=exp.Sub(this=exp.Year(this=on), expression=exp.Year(this=birth)), expression=flag(before_birthday)
    )


@implements("resident_id")
def resident_id(ctx: CheckContext) -> exp.Select:
    """GB 11643 facts from the engine's derived columns, and the age on the date."""
    name = ctx.args["column"]
    ctx.need(name)
    status, birth = col(f"{name}__status"), col(f"{name}__birth")
    lo, hi = (int(v) for v in ctx.args["age_range"])
    if ctx.args["date"]:
        ctx.need(ctx.args["date"])
        on: exp.Expression = col(ctx.args["date"])
    else:
        on = sql.date_lit(as_of_date(ctx).isoformat())
    age = _age(birth, on)
    usable = ["ok", "legacy15"] if ctx.args["allow_15_digit"] else ["ok"]
    whens = [(eq(status, string(code)), (string(zh), string(en))) for code, (zh, en) in ID_PROBLEMS.items()]
    whens.append((eq(status, string("legacy15")), tuple(map(string, texts("findings", "resident_id.legacy15")))))
    out_of_range = exp.and_(
        in_texts(status, usable), not_null(age), negate(exp.Between(this=age, low=number(lo), high=number(hi)))
    )
    years = exp.cast(age, exp.DataType.build("VARCHAR"))
    when = ("", "") if ctx.args["date"] else texts("findings", "resident_id.at_period_end")
    age_words = tuple(
        text_sql(render("findings", "resident_id.age_out_of_range", lang, when=w, lo=lo, hi=hi), years=years)
        for lang, w in zip(("zh", "en"), when, strict=True)
    )
    problem = case([(c, w[0]) for c, w in whens] + [(out_of_range, age_words[0])])
    problem_en = case([(c, w[1]) for c, w in whens] + [(out_of_range, age_words[1])])
    fails = any_of(
        exp.and_(not_null(status), negate(in_texts(status, ["", *usable]))),
        out_of_range,
    )
    return (
        select(
            col(ROW_ID),
            col(name),
            named(status, "id_status"),
            named(birth, "birth"),
            named(age, "age"),
            named(problem, "problem"),
            named(problem_en, "problem_en"),
            *amount_column(ctx),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), not_null(col(name)), fails]))
    )
