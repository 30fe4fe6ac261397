"""Register-matching check types: each payment read against the recipient's hardship register files,
as of the payment date.

Rules: DISB-AFTER-EXIT (``paid_after_exit``), DISB-CATEGORY (``category_matches_file``); DISB-NOT-FILED is
a ``lookup`` in rules/disbursements.yaml. Signatures: ``fundaudit/rules/signatures/register_match.py``.
Tests: ``tests/checks/test_register_match.py``.

- A payment is matched to its register files on the resident ID, and, when the ID finds no file, on
  the file number, but only where the two IDs cannot disagree (the payment's ID is blank or invalid,
  or the file has none); every finding says how it matched (``matched_on``).
- A file *is in force* on a date when it was filed on or before it and has no exit date or an exit
  date on or after it.
- ``paid_after_exit``: fires when no matched file is in force on the date (exit date + ``grace_days``)
  and one was closed before it; a recipient with no file at all is DISB-NOT-FILED's case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    DISB,
    REG,
    amount_column,
    matchable,
)
from fundaudit.engine.context import CheckContext
from fundaudit.engine.sql import (
    ROW_ID,
    add_days,
    all_of,
    any_of,
    col,
    eq,
    flag,
    from_union,
    in_texts,
    is_null,
    named,
    negate,
    not_null,
    number,
    over_partition,
    select,
    string,
    table,
)

__all__: list[str] = []


# Register keys a payment can be matched on: name -> (disbursement column, register column).
MATCH_KEYS = {"id_no": ("recipient_id_no", "id_no"), "file_no": ("file_no", "file_no")}


def _key_present(key: str, name: str, alias: str | None = None) -> exp.Expression:
    """A register-matching key is usable: a matchable ID, or a present file number."""
    return matchable(name, alias) if key == "id_no" else not_null(col(name, alias))


def _register_matches(ctx: CheckContext, columns: Sequence[str]) -> exp.Expression:
    """Every (payment, file) pair: ``_rid`` of the payment, ``matched_on``, and the file's ``columns``
    (as ``r_<name>``). The first key's matches, else the fallback key's."""
    ctx.need(*columns, table=REG)  # the register is an input, not a reference table a profile ships
    keys = [ctx.args["match_on"]]
    if ctx.args["fallback_on"] not in ("none", keys[0]):
        keys.append(ctx.args["fallback_on"])
    usable = [k for k in keys if ctx.has(MATCH_KEYS[k][0]) and ctx.has(MATCH_KEYS[k][1], table=REG)]
    if not usable:
        local, remote = MATCH_KEYS[keys[0]]
        ctx.need(local)
        ctx.need(remote, table=REG)
    parts = []
    tried: list[tuple[str, str, str]] = []
    for key in usable:
        local, remote = MATCH_KEYS[key]
        conds = [_key_present(key, local, "d")]
        for was, loc, rem in tried:  # only payments the earlier keys found no file for
            earlier = (
                select(number(1))
                .from_(table(REG, "r2"))
                .where(exp.and_(_key_present(was, loc, "d"), eq(col(rem, "r2"), col(loc, "d"))))
            )
            conds.append(exp.Not(this=exp.Exists(this=earlier)))
        if tried and key == "file_no" and ctx.has("recipient_id_no") and ctx.has("id_no", table=REG):
            conds.append(  # a file number may not join two different valid IDs
                any_of(
                    is_null(col("recipient_id_no", "d")),
                    exp.NEQ(this=col("recipient_id_no__status", "d"), expression=string("ok")),
                    is_null(col("id_no", "r")),
                    exp.NEQ(this=col("id_no__status", "r"), expression=string("ok")),
                )
            )
        parts.append(
            select(
                named(col(ROW_ID, "d"), ROW_ID),
                named(string(key), "matched_on"),
                *[named(col(c, "r"), f"r_{c}") for c in dict.fromkeys(columns)],
            )
            .from_(table(DISB, "d"))
            .join(table(REG, "r"), on=eq(col(remote, "r"), col(local, "d")))
            .where(exp.and_(*conds))
        )
        tried.append((key, local, remote))
    return from_union(parts, "m")


def _file_columns(ctx: CheckContext, *wanted: str) -> list[str]:
    return [c for c in wanted if ctx.has(c, table=REG)]


def _payments_with(
    ctx: CheckContext,
    found: exp.Select,
    alias: str,
    shown: Sequence[str],
    values: Sequence[exp.Expression],
    *conditions: exp.Expression,
    join_type: str = "",
) -> exp.Select:
    """The rule's payments (``d``, its ``where`` and ``conditions``) joined on ``_rid`` to ``found``
    (aliased ``alias``): the payment's ``shown`` columns it has, ``values``, and its ``amount:``."""
    return (
        select(col(ROW_ID, "d"), *[col(c, "d") for c in shown if ctx.has(c)], *values, *amount_column(ctx, "d"))
        .from_(table(DISB, "d"))
        .join(found.subquery(alias), on=eq(col(ROW_ID, alias), col(ROW_ID, "d")), join_type=join_type or None)
        .where(all_of([ctx.where("d"), *conditions]))
    )


def _in_force(on: exp.Expression, grace: int = 0) -> exp.Expression:
    """The matched file (``r_filed_date``, ``r_exit_date``) is in force on ``on``."""
    exit_ok = any_of(is_null(col("r_exit_date")), exp.LTE(this=on, expression=add_days(col("r_exit_date"), grace)))
    return exp.and_(exp.LTE(this=col("r_filed_date"), expression=on), exit_ok)


@implements("paid_after_exit")
def paid_after_exit(ctx: CheckContext) -> exp.Select:
    """Paid when none of the recipient's files is in force and one was closed before the payment."""
    ctx.need("payment_date")
    grace = int(ctx.args["grace_days"] or 0)
    extra = _file_columns(ctx, "exit_reason", "status", "file_no")
    m = _register_matches(ctx, ["filed_date", "exit_date", *extra])
    pay = col("payment_date", "p")
    closed_before = exp.LT(this=add_days(col("r_exit_date"), grace), expression=pay)
    per_file = (
        select(
            col(ROW_ID, "m"),
            col("matched_on"),
            col("r_exit_date"),
            *[col(f"r_{c}") for c in extra],
            named(flag(_in_force(pay, grace)), "_in_force"),
            named(flag(closed_before), "_closed"),
        )
        .from_(m)
        .join(table(DISB, "p"), on=eq(col(ROW_ID, "p"), col(ROW_ID, "m")))
        .where(not_null(pay))
    )
    # the latest exit before the payment, per payment, with its reason
    ranked = select(
        exp.Star(),
        named(over_partition(exp.Max(this=col("_in_force")), col(ROW_ID)), "_any_in_force"),
        named(
            exp.Window(
                this=exp.Anonymous(this="ROW_NUMBER"),
                partition_by=[col(ROW_ID)],
                order=exp.Order(
                    expressions=[
                        exp.Ordered(this=col("_closed"), desc=True),
                        exp.Ordered(this=col("r_exit_date"), desc=True, nulls_first=False),
                    ]
                ),
            ),
            "_n",
        ),
    ).from_(per_file.subquery("f"))
    last = (
        select(
            col(ROW_ID),
            col("matched_on"),
            named(col("r_exit_date"), "exit_date"),
            *[named(col(f"r_{c}"), c if c != "file_no" else "register_file_no") for c in extra],
        )
        .from_(ranked.subquery("k"))
        .where(exp.and_(eq(col("_n"), number(1)), eq(col("_closed"), number(1)), eq(col("_any_in_force"), number(0))))
    )
    values = [
        col("matched_on", "x"),
        col("exit_date", "x"),
        *[col(c if c != "file_no" else "register_file_no", "x") for c in extra],
    ]
    return _payments_with(ctx, last, "x", ("program", "payment_date"), values)


@implements("category_matches_file")
def category_matches_file(ctx: CheckContext) -> exp.Select:
    """The paid hardship category against the category of the file(s) in force on the payment date."""
    ctx.need("aid_category", "payment_date")
    extra = _file_columns(ctx, "file_no")
    m = _register_matches(ctx, ["filed_date", "exit_date", "category", *extra])
    paid = col("aid_category", "p")
    mapping: Mapping[str, Any] = ctx.args["category_map"] or {}
    same: list[exp.Expression] = []
    for k, v in mapping.items():
        accepted = v if isinstance(v, list) else [v]
        same.append(exp.and_(eq(paid, string(str(k))), in_texts(col("r_category"), accepted)))
    same.append(exp.and_(negate(in_texts(paid, list(mapping))), eq(col("r_category"), paid)))
    pay = col("payment_date", "p")
    agg = (
        select(
            col(ROW_ID, "m"),
            named(exp.Min(this=col("matched_on")), "matched_on"),
            named(exp.Max(this=flag(any_of(*same))), "_same"),
            named(exp.Min(this=col("r_category")), "file_category"),
            *([named(exp.Min(this=col("r_file_no")), "register_file_no")] if extra else []),
        )
        .from_(m)
        .join(table(DISB, "p"), on=eq(col(ROW_ID, "p"), col(ROW_ID, "m")))
        .where(exp.and_(not_null(pay), not_null(col("r_category")), _in_force(pay)))
        .group_by(col(ROW_ID, "m"))
    )
    values = [col("file_category", "a"), col("matched_on", "a"), *([col("register_file_no", "a")] if extra else [])]
    return _payments_with(
        ctx,
        agg,
        "a",
        ("program", "aid_category", "payment_date"),
        values,
        in_texts(col("aid_category", "d"), ctx.args["hardship_categories"]),
        eq(col("_same", "a"), number(0)),
    )
