"""Identity check types: are the resident IDs (GB 11643) and taxpayer IDs (GB 32100) valid.

Rules: DISB-ID and REG-ID (``resident_id``), DUES-TAXPAYER-ID (``taxpayer_id``).
Signatures: ``fundaudit/rules/signatures/identity.py``. Tests: ``tests/checks/test_identity.py``.

Readings where ``domain.md`` §7 leaves room:

- ``resident_id``: every invalid ID is a finding, whatever is wrong with it (the loader keeps an invalid
  ID as read, with its status); a blank ID is not; age is in full years on the date (on the 100th
  birthday a person is 100).
- ``taxpayer_id``: blank IDs are not its business (the loader rejects dues rows without one).
"""

from __future__ import annotations

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    DUES,
    amount_column,
    as_of_date,
    present_columns,
    reportable,
)
from fundaudit.engine.context import CheckContext
from fundaudit.engine.sql import (
    ROW_ID,
    all_of,
    any_of,
    case,
    col,
    eq,
    first_reason,
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


@implements("taxpayer_id")
def taxpayer_id(ctx: CheckContext) -> exp.Select:
    """GB 32100 on 18 characters (alphabet and 18th character ⇒ error; a wrong embedded GB 11714
    organisation code ⇒ ``check_embedded_org_code`` severity); 15 characters = legacy region +
    organisation code (a wrong organisation code check ⇒ the embedded-code severity), 20 = legacy
    individual (resident ID + 2 digits, its check ⇒ error); legacy forms are an error unless
    ``accept_legacy``. Blank IDs are not this rule's business (the loader rejects rows without one)."""
    name = ctx.args["column"]
    status_name, org_name = f"{name}__status", f"{name}__org_ok"
    ctx.need(name, status_name)
    d = "d"
    status = col(status_name, d)
    length = exp.Length(this=col(name, d))
    org_mode = ctx.args["check_embedded_org_code"]
    org_severity = "error" if org_mode == "error" else "warning"

    def st(*values: str) -> exp.Expression:
        return exp.In(this=status, expressions=[string(v) for v in values])

    reasons: list[tuple[exp.Expr, str, str, str]] = [
        (
            st("bad_length"),
            *texts("findings", "taxpayer_id.bad_length"),
            "error",
        ),
        (st("bad_chars"), *texts("findings", "taxpayer_id.bad_chars"), "error"),
    ]
    if not ctx.args["accept_legacy"]:
        legacy = any_of(
            st("legacy15", "legacy20"),
            exp.and_(st("bad_checksum"), exp.In(this=length, expressions=[number(15), number(20)])),
        )
        reasons.append((legacy, *texts("findings", "taxpayer_id.legacy_refused"), "error"))
    reasons += [
        (
            exp.and_(st("bad_checksum"), exp.NEQ(this=length, expression=number(15))),
            *texts("findings", "taxpayer_id.bad_checksum"),
            "error",
        ),
    ]
    if org_mode != "off":
        reasons.append(
            (
                exp.and_(st("bad_checksum"), eq(length, number(15))),
                *texts("findings", "taxpayer_id.legacy_org_code"),
                org_severity,
            )
        )
        if ctx.has(org_name):
            reasons.append(
                (
                    exp.and_(st("ok"), eq(col(org_name, d), exp.false())),
                    *texts("findings", "taxpayer_id.embedded_org_code"),
                    org_severity,
                )
            )
    severity = case([(c, string(sev)) for c, _, _, sev in reasons])
    return (
        select(
            col(ROW_ID, d),
            named(col(name, d), name),
            *(present_columns(ctx, ["taxpayer_name"], d) if ctx.ledger == DUES else []),
            *first_reason([(c, z, e) for c, z, e, _ in reasons]),
            named(severity, "_severity"),
            *amount_column(ctx, d),
        )
        .from_(table(ctx.ledger, d))
        .where(all_of([reportable(ctx, d), not_null(col(name, d)), any_of(*[r[0] for r in reasons])]))
    )
