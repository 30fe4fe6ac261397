"""Hardship-aid (disbursements), register and cross-ledger check types, named after what each checks.

Every implementation renders one sqlglot query over the registered tables: the ``disbursements`` and
``register`` ledgers, and the reference tables ``staff``, ``caps``, ``dibao``, ``budget``, ``unions``,
``employers`` (and ``dues`` for the cross-ledger checks). Money is integer fen, dates midnight
timestamps; person names, addresses and IDs are compared through the engine's derived columns
(``<col>__key``, ``<col>__status``, ``<col>__birth``).

Conventions shared by the queries:

- a test needing a value the row does not have (blank date, blank account) does not fire on that row,
  unless the blank value is itself the finding (no approver, no 公示, no account);
- a payment is matched to its register files on the resident ID, and, when the ID finds no file, on
  the file number, but only where the two IDs cannot disagree (the payment's ID is blank or invalid,
  or the file has none); every finding that uses the register says how it matched (``matched_on``);
- the register is read as of the payment date: a file *is in force* on a date when it was filed on or
  before it and has no exit date or an exit date on or after it;
- where a rule has several reasons, the query returns ``problem`` (zh) and ``problem_en`` (en);
- ``_amount`` is the rule's ``amount:`` operand when it declares one, otherwise the money the check
  itself computes as at issue.

Readings where ``domain.md`` §7 and ``samples/README.md`` leave room:

- ``resident_id``: every invalid ID is a finding, whatever is wrong with it (the loader keeps an invalid
  ID as read, with its status); a blank ID is not; age is in full years on the date (on the 100th
  birthday a person is 100).
- IDs as matching keys (register joins, duplicates, caps, splits, staff): an invalid ID is matched as
  written (the same typo twice is evidence; it can never equal a valid ID), except one Excel stored as
  a number (``excel_number``: its last digits are lost), which matches nothing.
- ``filed_before_payment``: ``X(困难职工)`` in the programme list means X paid under a hardship
  category; a matched file without a filing date cannot show the payment came after filing, so it
  neither clears nor fires the row.
- ``paid_after_exit``: fires when no matched file is in force on the date (exit date + ``grace_days``)
  and one was closed before it; a recipient with no file at all is ``filed_before_payment``'s case.
- ``disclosure``: a 公示 with only one of its two dates is a warning (its length cannot be checked);
  ``calendar: working`` counts Monday–Friday (public holidays are not known).
- ``approval``: an approver without an approval date is not a finding.
- ``split_payment``: payments under the threshold within ``window_days`` *before* each payment are
  summed (so three payments can link); linked sets sharing a payment become one finding.
- ``year_end_share``: per 基层工会 value and calendar year; rows without a union form one group.
- ``hardship_eligibility``: a blank hardship spending counts as 0; 低保 is the ``dibao`` row of the
  audit year for the run's region (ambiguous when the table has several regions and none is chosen:
  then the file's own 低保标准, else nothing is compared).
- ``staff_relative``: names are never a key; addresses are compared through their matching keys.
- ``union_status`` / ``union_account``: the employer's union is the registry row whose
  ``employer_taxpayer_id`` is the dues row's taxpayer ID; ``grace_months`` widens both tests.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from string import Formatter
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.sql import ROW_ID, all_of, col, number, select, string, table
from fundaudit.errors import render, texts
from fundaudit.rules.values import WINDOW_FORMS, parse_window

__all__ = ["requires_file_programs"]

DISB = "disbursements"
REG = "register"
STAFF = "staff"
CAPS = "caps"
DIBAO = "dibao"
BUDGET = "budget"
UNIONS = "unions"
EMPLOYERS = "employers"
DUES = "dues"

# Register keys a payment can be matched on: name -> (disbursement column, register column).
MATCH_KEYS = {"id_no": ("recipient_id_no", "id_no"), "file_no": ("file_no", "file_no")}
# Bad statuses of the engine's resident-ID facts, with their wording.
ID_PROBLEMS = {
    code: texts("findings", f"resident_id.{code}")
    for code in ("bad_length", "bad_chars", "bad_checksum", "bad_birth_date", "excel_number")
}
# The two text columns a check's query gives a finding: the zh and the en problem (catalogue `findings`).
PROBLEM_COLS = ("problem", "problem_en")
EPOCH_MONDAY = "1900-01-01"  # a Monday: working days are counted from it


# --- small builders -------------------------------------------------------------------------------


def _nn(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Is(this=e, expression=exp.Null()))


def _null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.Null())


def _eq(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.EQ(this=a, expression=b)


def _as(e: exp.Expression, name: str) -> exp.Expression:
    return exp.alias_(e, name, quoted=True)


def _or(*parts: exp.Expression | None) -> exp.Expression:
    items = [p for p in parts if p is not None]
    return exp.Paren(this=exp.or_(*items)) if items else exp.false()


def _not(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Paren(this=e))


def _texts(e: exp.Expression, values: Iterable[Any]) -> exp.Expression:
    """``e IN ('a', 'b')`` (FALSE for an empty list)."""
    items = [string(str(v)) for v in values]
    return exp.In(this=e, expressions=items) if items else exp.false()


def _nums(e: exp.Expression, values: Iterable[int]) -> exp.Expression:
    """``e IN (1, 2)`` (FALSE for an empty list)."""
    items = [number(int(v)) for v in values]
    return exp.In(this=e, expressions=items) if items else exp.false()


def _case(whens: Sequence[tuple[Any, Any]], default: exp.Expression | None = None) -> exp.Case:
    out = exp.Case()
    for cond, value in whens:
        out = out.when(cond, value)
    return out.else_(default) if default is not None else out


def _par(e: exp.Expression) -> exp.Expression:
    """``e`` in parentheses when it is an operator expression (sqlglot does not add them)."""
    return exp.Paren(this=e) if isinstance(e, exp.Binary) else e


def _flag(cond: exp.Expression) -> exp.Expression:
    """1 when ``cond`` holds, else 0."""
    return _case([(cond, number(1))], number(0))


def _days(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    """Whole days from ``start`` to ``end``."""
    return exp.DateDiff(this=end, expression=start, unit=exp.var("DAY"))


def _add_days(d: exp.Expression, n: int) -> exp.Expression:
    return d if not n else exp.DateAdd(this=d, expression=number(n), unit=exp.var("DAY"))


def _add_months(d: exp.Expression, n: int) -> exp.Expression:
    return d if not n else exp.DateAdd(this=d, expression=number(n), unit=exp.var("MONTH"))


def _month_day(d: exp.Expression) -> exp.Expression:
    """``MMDD`` as a number (1201 for 1 December)."""
    return exp.Add(this=exp.Mul(this=exp.Month(this=d), expression=number(100)), expression=exp.Day(this=d))


def _age(birth: exp.Expression, on: exp.Expression) -> exp.Expression:
    """Full years from ``birth`` to ``on`` (a person is 100 on their 100th birthday)."""
    before_birthday = exp.LT(this=_month_day(on), expression=_month_day(birth))
    return exp.Sub(
        this=exp.Sub(this=exp.Year(this=on), expression=exp.Year(this=birth)), expression=_flag(before_birthday)
    )


def _rank(*keys: exp.Expression) -> exp.Expression:
    """A dense group number over ``keys`` (one finding per distinct key)."""
    return exp.Window(this=exp.Anonymous(this="DENSE_RANK"), order=exp.Order(expressions=list(keys)))


def _over(agg: exp.Expression, *partition: exp.Expression) -> exp.Expression:
    return exp.Window(this=agg, partition_by=list(partition))


def _problems(
    parts: Sequence[tuple[Any, str, str]], seps: tuple[str, str] = ("；", "; ")
) -> tuple[exp.Expression, exp.Expression]:
    """Every applying reason, joined (zh with '；', en with '; '), as two text expressions."""
    out = []
    for lang, sep in enumerate(seps, start=1):
        text: exp.Expression | None = None
        for cond, *words in parts:
            piece = _case([(cond, string(sep + words[lang - 1]))], string(""))
            text = piece if text is None else exp.DPipe(this=text, expression=piece)
        assert text is not None
        out.append(exp.Substring(this=exp.Paren(this=text), start=number(len(sep) + 1)))
    return out[0], out[1]


def _text_sql(template: str, **values: exp.Expression) -> exp.Expression:
    """A catalogue text whose ``{name}`` fields are SQL expressions, as literals and values joined by ``||``."""
    out: exp.Expression | None = None
    for literal, name, _spec, _conv in Formatter().parse(template):
        for piece in ([string(literal)] if literal else []) + ([values[name]] if name is not None else []):
            out = piece if out is None else exp.DPipe(this=out, expression=piece)
    return out if out is not None else string("")


def _problem_cols(code: str) -> list[exp.Expression]:
    """``problem`` and ``problem_en`` of a finding as the catalogue's ``findings.code`` texts."""
    return [_as(string(t), n) for t, n in zip(texts("findings", code), PROBLEM_COLS, strict=True)]


def _union_all(parts: Sequence[exp.Select]) -> exp.Expression:
    out: exp.Expression = parts[0]
    for p in parts[1:]:
        out = exp.union(out, p, distinct=False)
    return out


def _from_union(parts: Sequence[exp.Select], alias: str) -> exp.Expression:
    if len(parts) == 1:
        return parts[0].subquery(alias)
    return exp.Subquery(this=_union_all(parts), alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _amount(ctx: CheckContext, alias: str | None = None) -> list[exp.Expression]:
    """The rule's ``amount:`` as ``_amount`` (empty when it declares none)."""
    a = ctx.amount(alias)
    return [_as(a, "_amount")] if a is not None else []


def _need_ref(ctx: CheckContext, name: str, *columns: str) -> None:
    """Skip (naming the reference table) unless it is present with ``columns``."""
    if name not in ctx.present:
        raise Skip("skip_no_reference", table=name)
    ctx.need(*columns, table=name)


def _as_of(ctx: CheckContext) -> date:
    """The date the register is read at: the end of the audit period (else today)."""
    return ctx.period.end if ctx.period else date.today()


def _minus_months(d: date, months: int) -> date:
    total = d.year * 12 + d.month - 1 - months
    y, m = divmod(total, 12)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _period_years(ctx: CheckContext) -> list[int] | None:
    if ctx.period is None:
        return None
    return list(range(ctx.period.start.year, ctx.period.end.year + 1))


# --- resident ID ----------------------------------------------------------------------------------


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
        on = sql.date_lit(_as_of(ctx).isoformat())
    age = _age(birth, on)
    usable = ["ok", "legacy15"] if ctx.args["allow_15_digit"] else ["ok"]
    whens = [(_eq(status, string(code)), (string(zh), string(en))) for code, (zh, en) in ID_PROBLEMS.items()]
    whens.append((_eq(status, string("legacy15")), tuple(map(string, texts("findings", "resident_id.legacy15")))))
    out_of_range = exp.and_(
        _texts(status, usable), _nn(age), _not(exp.Between(this=age, low=number(lo), high=number(hi)))
    )
    years = exp.cast(age, exp.DataType.build("VARCHAR"))
    when = ("", "") if ctx.args["date"] else texts("findings", "resident_id.at_period_end")
    age_words = tuple(
        _text_sql(render("findings", "resident_id.age_out_of_range", lang, when=w, lo=lo, hi=hi), years=years)
        for lang, w in zip(("zh", "en"), when, strict=True)
    )
    problem = _case([(c, w[0]) for c, w in whens] + [(out_of_range, age_words[0])])
    problem_en = _case([(c, w[1]) for c, w in whens] + [(out_of_range, age_words[1])])
    fails = _or(
        exp.and_(_nn(status), _not(_texts(status, ["", *usable]))),
        out_of_range,
    )
    return (
        select(
            col(ROW_ID),
            col(name),
            _as(status, "id_status"),
            _as(birth, "birth"),
            _as(age, "age"),
            _as(problem, "problem"),
            _as(problem_en, "problem_en"),
            *_amount(ctx),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _nn(col(name)), fails]))
    )


def _matchable(name: str, alias: str | None = None) -> exp.Expression:
    """An ID usable as a matching key: present, and not one Excel stored as a number (its last digits
    are lost, so two such IDs being equal says nothing). Any other invalid ID is matched as written:
    the same text twice is evidence (the same typo in two places), and it can never equal a valid ID."""
    return exp.and_(
        _nn(col(name, alias)), exp.NEQ(this=col(f"{name}__status", alias), expression=string("excel_number"))
    )


def _key_present(key: str, name: str, alias: str | None = None) -> exp.Expression:
    """A register-matching key is usable: a matchable ID, or a present file number."""
    return _matchable(name, alias) if key == "id_no" else _nn(col(name, alias))


# --- payments against the register, as of the payment date ---------------------------------------


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
                .where(exp.and_(_key_present(was, loc, "d"), _eq(col(rem, "r2"), col(loc, "d"))))
            )
            conds.append(exp.Not(this=exp.Exists(this=earlier)))
        if tried and key == "file_no" and ctx.has("recipient_id_no") and ctx.has("id_no", table=REG):
            conds.append(  # a file number may not join two different valid IDs
                _or(
                    _null(col("recipient_id_no", "d")),
                    exp.NEQ(this=col("recipient_id_no__status", "d"), expression=string("ok")),
                    _null(col("id_no", "r")),
                    exp.NEQ(this=col("id_no__status", "r"), expression=string("ok")),
                )
            )
        parts.append(
            select(
                _as(col(ROW_ID, "d"), ROW_ID),
                _as(string(key), "matched_on"),
                *[_as(col(c, "r"), f"r_{c}") for c in dict.fromkeys(columns)],
            )
            .from_(table(DISB, "d"))
            .join(table(REG, "r"), on=_eq(col(remote, "r"), col(local, "d")))
            .where(exp.and_(*conds))
        )
        tried.append((key, local, remote))
    return _from_union(parts, "m")


def requires_file_programs(programs: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split ``programs_requiring_file``: plain programmes, and those written ``X(困难职工)`` that
    need a file only for hardship categories."""
    plain: list[str] = []
    hardship: list[str] = []
    for p in programs:
        text = unicodedata.normalize("NFKC", str(p)).strip()
        m = re.fullmatch(r"(.+?)\s*\((.+)\)", text)
        (hardship if m else plain).append(m.group(1) if m else text)
    return plain, hardship


def _file_columns(ctx: CheckContext, *wanted: str) -> list[str]:
    return [c for c in wanted if ctx.has(c, table=REG)]


@implements("filed_before_payment")
def filed_before_payment(ctx: CheckContext) -> exp.Select:
    """先建档后帮扶: some matched file was filed on or before the payment date."""
    ctx.need("program")
    plain, hardship = requires_file_programs(ctx.args["programs"])
    if hardship and not plain:
        ctx.need("aid_category")
    needs = _texts(col("program", "d"), plain)
    # "送温暖(困难职工)" needs the row's 困难类别; without that column the unconditional programmes still run
    if hardship and ctx.has("aid_category"):
        needs = _or(
            needs,
            exp.and_(
                _texts(col("program", "d"), hardship),
                _texts(col("aid_category", "d"), ctx.args["hardship_categories"]),
            ),
        )
    m = _register_matches(ctx, ["filed_date", *_file_columns(ctx, "file_no")])
    has_file_no = ctx.has("file_no", table=REG)
    agg = (
        select(
            col(ROW_ID),
            _as(exp.Min(this=col("matched_on")), "matched_on"),
            _as(exp.Min(this=col("r_filed_date")), "first_filed"),
            *([_as(exp.Min(this=col("r_file_no")), "register_file_no")] if has_file_no else []),
        )
        .from_(m)
        .group_by(col(ROW_ID))
    )
    pay = col("payment_date", "d") if ctx.has("payment_date") else exp.Null()
    no_file = _null(col(ROW_ID, "a"))
    later = exp.and_(_nn(pay), exp.GT(this=col("first_filed", "a"), expression=pay))
    problem, problem_en = _problems(
        [
            (no_file, *texts("findings", "filed_before_payment.no_file")),
            (later, *texts("findings", "filed_before_payment.filed_later")),
        ]
    )
    return (
        select(
            col(ROW_ID, "d"),
            *[col(c, "d") for c in ("program", "aid_category", "payment_date") if ctx.has(c)],
            _as(exp.Coalesce(this=col("matched_on", "a"), expressions=[string("none")]), "matched_on"),
            *([col("register_file_no", "a")] if has_file_no else []),
            _as(col("first_filed", "a"), "filed_date"),
            _as(problem, "problem"),
            _as(problem_en, "problem_en"),
            *_amount(ctx, "d"),
        )
        .from_(table(DISB, "d"))
        .join(agg.subquery("a"), on=_eq(col(ROW_ID, "a"), col(ROW_ID, "d")), join_type="left")
        .where(all_of([ctx.where("d"), needs, _or(no_file, later)]))
    )


def _in_force(on: exp.Expression, grace: int = 0) -> exp.Expression:
    """The matched file (``r_filed_date``, ``r_exit_date``) is in force on ``on``."""
    exit_ok = _or(_null(col("r_exit_date")), exp.LTE(this=on, expression=_add_days(col("r_exit_date"), grace)))
    return exp.and_(exp.LTE(this=col("r_filed_date"), expression=on), exit_ok)


@implements("paid_after_exit")
def paid_after_exit(ctx: CheckContext) -> exp.Select:
    """Paid when none of the recipient's files is in force and one was closed before the payment."""
    ctx.need("payment_date")
    grace = int(ctx.args["grace_days"] or 0)
    extra = _file_columns(ctx, "exit_reason", "status", "file_no")
    m = _register_matches(ctx, ["filed_date", "exit_date", *extra])
    pay = col("payment_date", "p")
    closed_before = exp.LT(this=_add_days(col("r_exit_date"), grace), expression=pay)
    per_file = (
        select(
            col(ROW_ID, "m"),
            col("matched_on"),
            col("r_exit_date"),
            *[col(f"r_{c}") for c in extra],
            _as(_flag(_in_force(pay, grace)), "_in_force"),
            _as(_flag(closed_before), "_closed"),
        )
        .from_(m)
        .join(table(DISB, "p"), on=_eq(col(ROW_ID, "p"), col(ROW_ID, "m")))
        .where(_nn(pay))
    )
    # the latest exit before the payment, per payment, with its reason
    ranked = select(
        exp.Star(),
        _as(_over(exp.Max(this=col("_in_force")), col(ROW_ID)), "_any_in_force"),
        _as(
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
            _as(col("r_exit_date"), "exit_date"),
            *[_as(col(f"r_{c}"), c if c != "file_no" else "register_file_no") for c in extra],
        )
        .from_(ranked.subquery("k"))
        .where(
            exp.and_(_eq(col("_n"), number(1)), _eq(col("_closed"), number(1)), _eq(col("_any_in_force"), number(0)))
        )
    )
    return (
        select(
            col(ROW_ID, "d"),
            *[col(c, "d") for c in ("program", "payment_date") if ctx.has(c)],
            col("matched_on", "x"),
            col("exit_date", "x"),
            *[col(c if c != "file_no" else "register_file_no", "x") for c in extra],
            *_amount(ctx, "d"),
        )
        .from_(table(DISB, "d"))
        .join(last.subquery("x"), on=_eq(col(ROW_ID, "x"), col(ROW_ID, "d")))
        .where(all_of([ctx.where("d")]))
    )


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
        same.append(exp.and_(_eq(paid, string(str(k))), _texts(col("r_category"), accepted)))
    same.append(exp.and_(_not(_texts(paid, list(mapping))), _eq(col("r_category"), paid)))
    pay = col("payment_date", "p")
    agg = (
        select(
            col(ROW_ID, "m"),
            _as(exp.Min(this=col("matched_on")), "matched_on"),
            _as(exp.Max(this=_flag(_or(*same))), "_same"),
            _as(exp.Min(this=col("r_category")), "file_category"),
            *([_as(exp.Min(this=col("r_file_no")), "register_file_no")] if extra else []),
        )
        .from_(m)
        .join(table(DISB, "p"), on=_eq(col(ROW_ID, "p"), col(ROW_ID, "m")))
        .where(exp.and_(_nn(pay), _nn(col("r_category")), _in_force(pay)))
        .group_by(col(ROW_ID, "m"))
    )
    return (
        select(
            col(ROW_ID, "d"),
            *[col(c, "d") for c in ("program", "aid_category", "payment_date") if ctx.has(c)],
            col("file_category", "a"),
            col("matched_on", "a"),
            *([col("register_file_no", "a")] if extra else []),
            *_amount(ctx, "d"),
        )
        .from_(table(DISB, "d"))
        .join(agg.subquery("a"), on=_eq(col(ROW_ID, "a"), col(ROW_ID, "d")))
        .where(
            all_of(
                [
                    ctx.where("d"),
                    _texts(col("aid_category", "d"), ctx.args["hardship_categories"]),
                    _eq(col("_same", "a"), number(0)),
                ]
            )
        )
    )


# --- the payment itself ---------------------------------------------------------------------------


@implements("cash_payment")
def cash_payment(ctx: CheckContext) -> exp.Select:
    """Cash, goods where goods are not allowed, or no bank account on a non-goods payment."""
    ctx.need("payment_method")
    method = col("payment_method")
    program = col("program") if ctx.has("program") else exp.Null()
    account = col("bank_account") if ctx.has("bank_account") else exp.Null()
    cash = exp.Coalesce(this=_texts(method, ctx.args["cash_words"]), expressions=[exp.false()])
    goods = _texts(method, ctx.args["in_kind_words"])
    goods_banned = exp.and_(
        goods, _not(exp.Coalesce(this=_texts(program, ctx.args["in_kind_allowed"]), expressions=[exp.false()]))
    )
    not_goods = _or(_null(method), _not(goods))
    no_account = exp.and_(_not(cash), not_goods, _null(account))
    bank = _or(_null(method), _texts(method, ctx.args["bank_methods"]))
    problem, problem_en = _problems(
        [
            (cash, *texts("findings", "cash_payment.cash")),
            (goods_banned, *texts("findings", "cash_payment.goods_banned")),
            (exp.and_(no_account, bank), *texts("findings", "cash_payment.bank_no_account")),
            (exp.and_(no_account, _not(bank)), *texts("findings", "cash_payment.no_account")),
        ]
    )
    passing = ctx.args["pass_through_programs"]
    pass_through = exp.Coalesce(this=_texts(program, passing), expressions=[exp.false()]) if passing else exp.false()
    return (
        select(
            col(ROW_ID),
            *[col(c) for c in ("program", "payment_method", "bank_account") if ctx.has(c)],
            _as(problem, "problem"),
            _as(problem_en, "problem_en"),
            *_amount(ctx),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _or(cash, goods_banned, no_account), _not(pass_through)]))
    )


@implements("account_holder")
def account_holder(ctx: CheckContext) -> exp.Select:
    """账户名 against 姓名, both as name keys (NFKC, no whitespace, one middle dot)."""
    ctx.need("account_holder", "recipient_name")
    holder, name = col("account_holder__key"), col("recipient_name__key")
    differs = exp.NEQ(this=holder, expression=name)
    if ctx.args["allow_family_holder"]:
        surname = exp.NEQ(
            this=exp.Substring(this=holder, start=number(1), length=number(1)),
            expression=exp.Substring(this=name, start=number(1), length=number(1)),
        )
        differs = exp.and_(differs, surname)
    return (
        select(
            col(ROW_ID),
            col("recipient_name"),
            col("account_holder"),
            *[col(c) for c in ("bank_account",) if ctx.has(c)],
            *_amount(ctx),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _nn(holder), _nn(name), differs]))
    )


@implements("shared_account")
def shared_account(ctx: CheckContext) -> exp.Select:
    """Accounts paid for ≥ N distinct recipient IDs; every row paid into such an account. With
    ``same_household_downgrade``, an account whose recipients all have register files at one
    address is a warning."""
    ctx.need("bank_account", "recipient_id_no")
    cols = [c for c in (ROW_ID, "bank_account", "recipient_id_no", "recipient_name") if ctx.has(c) or c == ROW_ID]
    base = (
        select(*[col(c) for c in cols], *_amount(ctx))
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _nn(col("bank_account"))]))
    )
    names = _cols_of(base)
    household = (
        bool(ctx.args["same_household_downgrade"]) and REG in ctx.present and ctx.has("id_no", "address", table=REG)
    )
    counted = base
    per_account = [_as(exp.Count(this=exp.Distinct(expressions=[col("recipient_id_no")])), "recipients")]
    if household:
        homes = (
            select(col("id_no"), _as(exp.Min(this=col("address__key")), "_home"))
            .from_(table(REG))
            .where(exp.and_(_matchable("id_no"), _nn(col("address__key"))))
            .group_by(col("id_no"))
        )
        counted = (
            select(*[col(c, "b") for c in names], col("_home", "h"))
            .from_(base.subquery("b"))
            .join(homes.subquery("h"), on=_eq(col("id_no", "h"), col("recipient_id_no", "b")), join_type="left")
        )
        homeless = _case([(_null(col("_home")), col("recipient_id_no"))])
        per_account += [
            _as(exp.Count(this=exp.Distinct(expressions=[col("_home")])), "_homes"),
            _as(exp.Count(this=exp.Distinct(expressions=[homeless])), "_homeless"),
        ]
    groups = (
        select(col("bank_account"), *per_account)
        .from_(counted.subquery("c"))
        .group_by(col("bank_account"))
        .having(
            exp.GTE(
                this=exp.Count(this=exp.Distinct(expressions=[col("recipient_id_no")])),
                expression=number(int(ctx.args["min_recipients"])),
            )
        )
    )
    severity: list[exp.Expression] = []
    if household:
        one_home = exp.and_(_eq(col("_homes", "g"), number(1)), _eq(col("_homeless", "g"), number(0)))
        severity = [_as(_case([(one_home, string("warning"))]), "_severity")]
    return (
        select(
            *[col(c, "b") for c in names],
            _as(_rank(col("bank_account", "b")), "_finding"),
            col("recipients", "g"),
            *severity,
        )
        .from_(base.subquery("b"))
        .join(groups.subquery("g"), on=_eq(col("bank_account", "g"), col("bank_account", "b")))
    )


def _cols_of(q: exp.Select) -> list[str]:
    return [e.alias_or_name for e in q.expressions]


def _window_key(spec: Any, d: exp.Expression, default: exp.Expression | None) -> exp.Expression:
    """An integer naming the window ``d`` falls in: the window's first day as YYYYMMDD, times ten,
    plus the kind (so two kinds never share a key)."""
    try:
        kind, start, end = parse_window(spec)
    except ValueError:  # validated on load; a Skip, not a crash, should anything get past it
        raise Skip("skip_bad_args", what=f"window {spec!r} ({WINDOW_FORMS})") from None
    y, md = exp.Year(this=d), _month_day(d)

    def key(first_year: exp.Expression, first_md: exp.Expression, tag: int) -> exp.Expression:
        ymd = exp.Add(this=exp.Mul(this=_par(first_year), expression=number(10000)), expression=_par(first_md))
        return exp.Add(this=exp.Mul(this=exp.Paren(this=ymd), expression=number(10)), expression=number(tag))

    if kind == "same_day":
        return key(y, md, 0)
    if kind == "month":
        return key(y, exp.Add(this=exp.Mul(this=exp.Month(this=d), expression=number(100)), expression=number(1)), 2)
    if kind == "year":
        return key(y, number(101), 3)
    wraps = start > end
    inside: exp.Expression = (
        _or(exp.GTE(this=md, expression=number(start)), exp.LTE(this=md, expression=number(end)))
        if wraps
        else exp.Between(this=md, low=number(start), high=number(end))
    )
    first_year: exp.Expression = (
        exp.Sub(this=y, expression=_flag(exp.LT(this=md, expression=number(start)))) if wraps else y
    )
    outside = default if default is not None else key(y, md, 0)
    return _case([(inside, key(first_year, number(start), 1))], outside)


@implements("duplicate_payment")
def duplicate_payment(ctx: CheckContext) -> exp.Select:
    """(a) one recipient + programme + window paid more than once; (b) one date + amount + account
    entered more than once. Groups sharing a row become one finding (the engine merges them)."""
    ctx.need("recipient_id_no", "program", "payment_date")
    windows: Mapping[str, Any] = dict(ctx.args["windows"] or {})
    d = col("payment_date")
    default = _window_key(windows.get("default", "same_day"), d, None)
    per_program = [
        (_eq(col("program"), string(str(p))), _window_key(spec, d, default))
        for p, spec in windows.items()
        if p != "default"
    ]
    window = _case(per_program, default) if per_program else default
    value_cols = [c for c in ("recipient_id_no", "program", "payment_date", "amount", "bank_account") if ctx.has(c)]
    a_keys = [col("recipient_id_no"), col("program"), col("_window")]
    a_rows = (
        select(col(ROW_ID), *[col(c) for c in value_cols], _as(window, "_window"), *_amount(ctx))
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _matchable("recipient_id_no"), _nn(col("program")), _nn(d)]))
    )
    a = select(
        exp.Star(),
        _as(_over(exp.Count(this=exp.Star()), *a_keys), "_n"),
        _as(_rank(*a_keys), "_g"),
        _as(string("same recipient, programme and window"), "_test"),
    ).from_(a_rows.subquery("a0"))
    parts = [
        select(
            *[col(c) for c in (ROW_ID, *value_cols)],
            *([col("_amount")] if ctx.amount() is not None else []),
            _as(exp.Mul(this=col("_g"), expression=number(2)), "_finding"),
            *_problem_cols("duplicate_payment.same_window"),
        )
        .from_(a.subquery("a1"))
        .where(exp.GT(this=col("_n"), expression=number(1)))
    ]
    if ctx.has("bank_account", "amount"):
        b_keys = [col("payment_date"), col("amount"), col("bank_account")]
        b_rows = (
            select(col(ROW_ID), *[col(c) for c in value_cols], *_amount(ctx))
            .from_(table(ctx.ledger))
            .where(all_of([ctx.where(), *[_nn(k) for k in b_keys]]))
        )
        b = select(exp.Star(), _as(_over(exp.Count(this=exp.Star()), *b_keys), "_n"), _as(_rank(*b_keys), "_g")).from_(
            b_rows.subquery("b0")
        )
        parts.append(
            select(
                *[col(c) for c in (ROW_ID, *value_cols)],
                *([col("_amount")] if ctx.amount() is not None else []),
                _as(exp.Add(this=exp.Mul(this=col("_g"), expression=number(2)), expression=number(1)), "_finding"),
                *_problem_cols("duplicate_payment.same_entry"),
            )
            .from_(b.subquery("b1"))
            .where(exp.GT(this=col("_n"), expression=number(1)))
        )
    return select(exp.Star()).from_(_from_union(parts, "u"))


# --- caps -----------------------------------------------------------------------------------------


def _dibao_by_year(ctx: CheckContext) -> exp.Select | None:
    """Monthly 低保 (fen) per year for the run's region; NULL where the region is ambiguous."""
    if DIBAO not in ctx.present or not ctx.has("monthly_dibao", "year", table=DIBAO):
        return None
    region = ctx.args.get("region_code") or ctx.region_code
    where = []
    if region and ctx.has("region_code", table=DIBAO):
        where.append(_eq(col("region_code"), string(str(region))))
    one_region = (
        _eq(exp.Count(this=exp.Distinct(expressions=[col("region_code")])), number(1))
        if ctx.has("region_code", table=DIBAO) and not region
        else exp.true()
    )
    value = _case([(one_region, exp.Max(this=col("monthly_dibao")))])
    return (
        select(col("year"), _as(value, "monthly_dibao"))
        .from_(table(DIBAO))
        .where(all_of([*where, _nn(col("monthly_dibao")), _nn(col("year"))]))
        .group_by(col("year"))
    )


def _caps(ctx: CheckContext, rows: exp.Select, alias: str) -> exp.Select:
    """``rows`` (with ``program``, ``aid_category``, ``payment_date``) plus the cap row that applies
    (the row's own category before the programme's blank-category row; its year before a blank
    year) as ``pay_cap`` and ``year_cap`` in fen (低保 multiples multiplied out)."""
    _need_ref(ctx, CAPS, "program")
    if not (ctx.has("per_payment_cap", table=CAPS) or ctx.has("per_year_cap", table=CAPS)):
        ctx.need("per_payment_cap", table=CAPS)
    c = "c"
    on = [_eq(col("program", c), col("program", alias))]
    order: list[exp.Expression] = []
    if ctx.has("category", table=CAPS):
        cat = col("aid_category", alias) if ctx.has("aid_category") else exp.Null()
        on.append(_or(_eq(col("category", c), cat), _null(col("category", c))))
        order.append(exp.Ordered(this=_flag(_null(col("category", c)))))
    if ctx.has("year", table=CAPS):
        on.append(_or(_eq(col("year", c), exp.Year(this=col("payment_date", alias))), _null(col("year", c))))
        order.append(exp.Ordered(this=_flag(_null(col("year", c)))))
    dibao = _dibao_by_year(ctx)
    basis = col("basis", c) if ctx.has("basis", table=CAPS) else exp.Null()
    monthly = col("monthly_dibao", "db") if dibao is not None else exp.Null()

    def cap(name: str) -> exp.Expression:
        if not ctx.has(name, table=CAPS):
            return exp.cast(exp.Null(), exp.DataType.build("DOUBLE"))
        value = col(name, c)
        multiple = exp.Div(this=exp.Mul(this=monthly, expression=value), expression=number(100))
        return _case(
            [
                (_eq(basis, string("dibao_multiple")), multiple),
                (_eq(basis, string("out_of_pocket")), exp.cast(exp.Null(), exp.DataType.build("DOUBLE"))),
            ],
            exp.cast(value, exp.DataType.build("DOUBLE")),
        )

    rank = exp.Window(
        this=exp.Anonymous(this="ROW_NUMBER"),
        partition_by=[col(ROW_ID, alias)],
        order=exp.Order(expressions=order or [exp.Ordered(this=col(ROW_ID, c))]),
    )
    q = (
        select(
            *[col(n, alias) for n in _cols_of(rows)],
            _as(cap("per_payment_cap"), "pay_cap"),
            _as(cap("per_year_cap"), "year_cap"),
            _as(rank, "_cap_rank"),
        )
        .from_(rows.subquery(alias))
        .join(table(CAPS, c), on=exp.and_(*on))
    )
    if dibao is not None:
        q = q.join(
            dibao.subquery("db"),
            on=_eq(col("year", "db"), exp.Year(this=col("payment_date", alias))),
            join_type="left",
        )
    return select(exp.Star()).from_(q.subquery("cr")).where(_eq(col("_cap_rank"), number(1)))


@implements("aid_cap")
def aid_cap(ctx: CheckContext) -> exp.Select:
    """Per payment: amount > cap. Per year: the recipient's total in (programme, category, year) >
    the yearly cap, one finding listing those rows."""
    ctx.need("program", "amount", "payment_date")
    ctx.units.update(cap="money", total="money", amount="money", excess="money", pay_cap="money", year_cap="money")
    value_cols = [c for c in ("recipient_id_no", "program", "aid_category", "payment_date", "amount") if ctx.has(c)]
    status = [col("recipient_id_no__status")] if ctx.has("recipient_id_no") else []
    rows = (
        select(col(ROW_ID), *[col(c) for c in value_cols], *status, *_amount(ctx))
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _nn(col("amount")), _nn(col("payment_date")), _nn(col("program"))]))
    )
    capped = _caps(ctx, rows, "d")
    keep = [c for c in _cols_of(rows) if c not in ("amount",)]
    amount_col = [col("_amount")] if ctx.amount() is not None else []
    per_payment = (
        select(
            *[col(c) for c in keep if c != "_amount"],
            col("amount"),
            *amount_col,
            _as(exp.Neg(this=_par(exp.Add(this=col(ROW_ID), expression=number(1)))), "_finding"),
            _as(col("pay_cap"), "cap"),
            col("pay_cap"),
            col("year_cap"),
            _as(col("amount"), "total"),
            _as(exp.Sub(this=col("amount"), expression=col("pay_cap")), "excess"),
            *_problem_cols("aid_cap.per_payment"),
        )
        .from_(capped.subquery("p"))
        .where(exp.and_(_nn(col("pay_cap")), exp.GT(this=col("amount"), expression=col("pay_cap"))))
    )
    parts = [per_payment]
    if ctx.has("recipient_id_no"):
        keys = [
            col("recipient_id_no"),
            col("program"),
            col("aid_category") if ctx.has("aid_category") else exp.Null(),
            exp.Year(this=col("payment_date")),
        ]
        totals = select(
            exp.Star(),
            _as(_over(exp.Sum(this=col("amount")), *keys), "_total"),
            _as(_rank(*keys), "_g"),
        ).from_(select(exp.Star()).from_(capped.subquery("y0")).where(_matchable("recipient_id_no")).subquery("y1"))
        parts.append(
            select(
                *[col(c) for c in keep if c != "_amount"],
                col("amount"),
                *amount_col,
                _as(col("_g"), "_finding"),
                _as(col("year_cap"), "cap"),
                col("pay_cap"),
                col("year_cap"),
                _as(col("_total"), "total"),
                _as(exp.Sub(this=col("_total"), expression=col("year_cap")), "excess"),
                *_problem_cols("aid_cap.per_year"),
            )
            .from_(totals.subquery("y"))
            .where(exp.and_(_nn(col("year_cap")), exp.GT(this=col("_total"), expression=col("year_cap"))))
        )
    return select(exp.Star()).from_(_from_union(parts, "u"))


# --- disclosure and approval ----------------------------------------------------------------------


def _working_days(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    """Monday–Friday days in [start, end] (public holidays not known)."""

    def before(d: exp.Expression) -> exp.Expression:  # weekdays from the epoch Monday up to d (exclusive)
        n = _days(sql.date_lit(EPOCH_MONDAY), d)
        weeks = exp.Mul(this=exp.IntDiv(this=n, expression=number(7)), expression=number(5))
        rest = exp.Least(this=exp.Mod(this=n, expression=number(7)), expressions=[number(5)])
        return exp.Add(this=weeks, expression=rest)

    return exp.Sub(this=_par(before(_add_days(end, 1))), expression=_par(before(start)))


@implements("disclosure")
def disclosure(ctx: CheckContext) -> exp.Select:
    """No 公示 ⇒ the rule's severity; too short, incomplete or not ended before payment ⇒ warning."""
    ctx.need("disclosure_start", "disclosure_end")
    s, e = col("disclosure_start"), col("disclosure_end")
    pay = col("payment_date") if ctx.has("payment_date") else exp.Null()
    natural = ctx.args["calendar"] == "natural"
    length = exp.Add(this=_days(s, e), expression=number(1)) if natural else _working_days(s, e)
    missing = exp.and_(_null(s), _null(e))
    short = exp.and_(_nn(s), _nn(e), exp.LT(this=length, expression=number(int(ctx.args["min_days"]))))
    late = exp.and_(_nn(e), _nn(pay), exp.GTE(this=e, expression=pay))
    half = _or(exp.and_(_null(s), _nn(e)), exp.and_(_nn(s), _null(e)))
    short_code = "disclosure.too_short_days" if natural else "disclosure.too_short_working_days"
    problem, problem_en = _problems(
        [
            (missing, *texts("findings", "disclosure.missing")),
            (half, *texts("findings", "disclosure.incomplete")),
            (short, *texts("findings", short_code, min_days=ctx.args["min_days"])),
            (late, *texts("findings", "disclosure.late")),
        ]
    )
    return (
        select(
            col(ROW_ID),
            *[col(c) for c in ("disclosure_start", "disclosure_end", "payment_date") if ctx.has(c)],
            _as(_case([(exp.and_(_nn(s), _nn(e)), length)]), "days"),
            _as(_case([(missing, exp.Null())], string("warning")), "_severity"),
            _as(problem, "problem"),
            _as(problem_en, "problem_en"),
            *_amount(ctx),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _or(missing, half, short, late)]))
    )


@implements("approval")
def approval(ctx: CheckContext) -> exp.Select:
    """No approver ⇒ the rule's severity; approved after payment, or approver = handler or
    recipient ⇒ warning."""
    ctx.need("approver")
    who = col("approver__key")
    missing = _null(col("approver")) if ctx.args["require_approver"] else exp.false()
    late = (
        exp.and_(
            _nn(col("approval_date")),
            _nn(col("payment_date")),
            exp.GT(this=col("approval_date"), expression=col("payment_date")),
        )
        if ctx.has("approval_date", "payment_date")
        else exp.false()
    )
    is_handler = _eq(who, col("handler__key")) if ctx.has("handler") else exp.false()
    is_recipient = _eq(who, col("recipient_name__key")) if ctx.has("recipient_name") else exp.false()
    conflicts = [
        (late, *texts("findings", "approval.late")),
        (exp.Coalesce(this=is_handler, expressions=[exp.false()]), *texts("findings", "approval.by_handler")),
        (exp.Coalesce(this=is_recipient, expressions=[exp.false()]), *texts("findings", "approval.by_recipient")),
    ]
    problem, problem_en = _problems([(missing, *texts("findings", "approval.missing")), *conflicts])
    return (
        select(
            col(ROW_ID),
            *[col(c) for c in ("approver", "approval_date", "handler", "recipient_name", "payment_date") if ctx.has(c)],
            _as(_case([(missing, exp.Null())], string("warning")), "_severity"),
            _as(problem, "problem"),
            _as(problem_en, "problem_en"),
            *_amount(ctx),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _or(missing, *[c for c, _, _ in conflicts])]))
    )


# --- split payments and year-end rush -------------------------------------------------------------


@implements("split_payment")
def split_payment(ctx: CheckContext) -> exp.Select:
    """For each payment under the threshold, the payments under it to the same recipient and
    programme in the ``window_days`` before it (itself included); two or more summing above the
    threshold form a finding (sets sharing a payment merge)."""
    ctx.need("recipient_id_no", "program", "amount", "payment_date")
    ctx.units.update(threshold="money", total="money")
    value_cols = [c for c in ("recipient_id_no", "program", "aid_category", "payment_date", "amount") if ctx.has(c)]
    present = [_nn(col(c)) for c in ("program", "amount", "payment_date")]
    rows = (
        select(col(ROW_ID), *[col(c) for c in value_cols], *_amount(ctx))
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _matchable("recipient_id_no"), *present]))
    )
    fixed = number(sql.to_fen(ctx.args["threshold_default"]))
    names = _cols_of(rows)
    if ctx.args["threshold"] == "per_payment_cap" and CAPS in ctx.present and ctx.has("program", table=CAPS):
        capped = select(col(ROW_ID), col("pay_cap")).from_(_caps(ctx, rows, "d").subquery("k0"))
        base = (
            select(
                *[col(c, "d") for c in names],
                _as(exp.Coalesce(this=col("pay_cap", "k"), expressions=[fixed]), "threshold"),
            )
            .from_(rows.subquery("d"))
            .join(capped.subquery("k"), on=_eq(col(ROW_ID, "k"), col(ROW_ID, "d")), join_type="left")
        )
    else:
        base = select(*[col(c) for c in names], _as(fixed, "threshold")).from_(rows.subquery("d"))
    under = select(exp.Star()).from_(base.subquery("b")).where(exp.LT(this=col("amount"), expression=col("threshold")))
    days = _days(col("payment_date", "o"), col("payment_date", "e"))
    linked = exp.and_(
        _eq(col("recipient_id_no", "o"), col("recipient_id_no", "e")),
        _eq(col("program", "o"), col("program", "e")),
    )
    in_window = exp.Between(this=days, low=number(0), high=number(int(ctx.args["window_days"])))
    pairs = (
        select(
            _as(col(ROW_ID, "e"), "_anchor"),
            _as(col(ROW_ID, "o"), "_member"),
            col("amount", "o"),
            col("threshold", "e"),
        )
        .from_(under.subquery("e"))
        .join(under.subquery("o"), on=linked)
        .where(in_window)
    )
    anchors = (
        select(
            col("_anchor"), _as(exp.Sum(this=col("amount")), "total"), _as(exp.Max(this=col("threshold")), "threshold")
        )
        .from_(pairs.subquery("p"))
        .group_by(col("_anchor"))
        .having(
            exp.and_(
                exp.GTE(this=exp.Count(this=exp.Star()), expression=number(2)),
                exp.GT(this=exp.Sum(this=col("amount")), expression=exp.Max(this=col("threshold"))),
            )
        )
    )
    return (
        select(
            *[col(c, "r") for c in _cols_of(rows)],
            _as(col("_anchor", "a"), "_finding"),
            col("total", "a"),
            col("threshold", "a"),
        )
        .from_(anchors.subquery("a"))
        .join(pairs.subquery("p2"), on=_eq(col("_anchor", "p2"), col("_anchor", "a")))
        .join(rows.subquery("r"), on=_eq(col(ROW_ID, "r"), col("_member", "p2")))
    )


@implements("year_end_share")
def year_end_share(ctx: CheckContext) -> exp.Select:
    """Per union and year: money paid in the last ``days`` days of the year ÷ money paid in the year
    > ``share`` ⇒ one finding listing that union's year-end payments."""
    ctx.need("amount", "payment_date")
    ctx.units.update(year_end="money", year_total="money")
    d = col("payment_date")
    year_end = exp.DateFromParts(year=exp.Year(this=d), month=number(12), day=number(31))
    tail = exp.LT(this=_days(d, year_end), expression=number(int(ctx.args["days"])))
    keys: list[exp.Expression] = [col("grassroots_union")] if ctx.has("grassroots_union") else []
    keys.append(exp.Year(this=d))
    value_cols = [c for c in ("grassroots_union", "payment_date", "amount") if ctx.has(c)]
    scored = (
        select(
            col(ROW_ID),
            *[col(c) for c in value_cols],
            *_amount(ctx),
            _as(_flag(tail), "_tail"),
            _as(_over(exp.Sum(this=col("amount")), *keys), "year_total"),
            _as(_over(exp.Sum(this=_case([(tail, col("amount"))], number(0))), *keys), "year_end"),
            _as(_rank(*keys), "_finding"),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _nn(d), _nn(col("amount"))]))
    )
    share = number(ctx.args["share"])
    over = exp.GT(this=col("year_end"), expression=exp.Mul(this=share, expression=col("year_total")))
    pct = exp.Round(
        this=exp.Div(this=exp.Mul(this=number(100.0), expression=col("year_end")), expression=col("year_total")),
        decimals=number(1),
    )
    return (
        select(
            *[col(c) for c in (ROW_ID, *value_cols)],
            *([col("_amount")] if ctx.amount() is not None else []),
            col("_finding"),
            col("year_end"),
            col("year_total"),
            _as(pct, "share_pct"),
        )
        .from_(scored.subquery("s"))
        .where(exp.and_(_eq(col("_tail"), number(1)), exp.GT(this=col("year_total"), expression=number(0)), over))
    )


# --- register -------------------------------------------------------------------------------------


@implements("household_duplicate")
def household_duplicate(ctx: CheckContext) -> exp.Select:
    """Active files sharing an ID, or (``normalized_address`` in household_keys) an address key."""
    ctx.need("status", "id_no")
    active = _texts(col("status"), ctx.args["active_status"])
    value_cols = [c for c in ("file_no", "name", "id_no", "status") if ctx.has(c)]
    tests = [("id_no", col("id_no"), *texts("findings", "household_duplicate.id_no"))]
    usable = {"id_no": _matchable("id_no")}
    if "normalized_address" in ctx.args["household_keys"] and ctx.has("address"):
        tests.append(
            (
                "address",
                col("address__key"),
                *texts("findings", "household_duplicate.address"),
            )
        )
    parts = []
    for i, (_name, key, zh, en) in enumerate(tests):
        rows = (
            select(
                col(ROW_ID),
                *[col(c) for c in value_cols],
                _as(_over(exp.Count(this=exp.Star()), key), "_n"),
                _as(_rank(key), "_g"),
            )
            .from_(table(ctx.ledger))
            .where(all_of([ctx.where(), active, usable.get(_name, _nn(key))]))
        )
        parts.append(
            select(
                *[col(c) for c in (ROW_ID, *value_cols)],
                _as(
                    exp.Add(this=exp.Mul(this=col("_g"), expression=number(len(tests))), expression=number(i)),
                    "_finding",
                ),
                _as(string(zh), "problem"),
                _as(string(en), "problem_en"),
            )
            .from_(rows.subquery(f"h{i}"))
            .where(exp.GT(this=col("_n"), expression=number(1)))
        )
    return select(exp.Star()).from_(_from_union(parts, "u"))


@implements("hardship_eligibility")
def hardship_eligibility(ctx: CheckContext) -> exp.Select:
    """Deep / relative: (income − spending) > 低保 × multiplier × 12 × household size (no division,
    so exactly at the limit passes). Accident: spending < ratio × income."""
    ctx.need("category", "household_income_annual")
    ctx.units.update(per_capita_monthly="money", limit="money", monthly_dibao="money")
    income = col("household_income_annual", "r")
    spending = (
        exp.Coalesce(this=col("hardship_spending", "r"), expressions=[number(0)])
        if ctx.has("hardship_spending")
        else number(0)
    )
    category = col("category", "r")
    multipliers: Mapping[str, Any] = ctx.args["multipliers"] or {}
    dibao = _dibao_by_year(ctx)
    year = number(_as_of(ctx).year)
    row_dibao = col("local_dibao", "r") if ctx.has("local_dibao") else exp.Null()
    monthly = exp.Coalesce(this=col("monthly_dibao", "db"), expressions=[row_dibao]) if dibao is not None else row_dibao
    if dibao is None and not ctx.has("local_dibao"):
        raise Skip("skip_no_reference", table=DIBAO)
    size = col("household_size", "r") if ctx.has("household_size") else exp.Null()
    mult = (
        _case([(_eq(category, string(str(k))), number(float(v))) for k, v in multipliers.items()])
        if multipliers
        else exp.Null()
    )
    limit = exp.Mul(this=monthly, expression=mult)
    net = exp.Sub(this=income, expression=spending)
    too_rich = exp.and_(
        _texts(category, list(multipliers)),
        _nn(size),
        exp.GT(this=size, expression=number(0)),
        _nn(monthly),
        exp.GT(this=net, expression=exp.Mul(this=exp.Mul(this=limit, expression=number(12)), expression=size)),
    )
    ratio = number(ctx.args["accident_loss_ratio"])
    accident = exp.and_(
        _eq(category, string(str(ctx.args["accident_category"]))),
        exp.GT(this=income, expression=number(0)),
        exp.LT(this=spending, expression=exp.Mul(this=ratio, expression=income)),
    )
    per_capita = _case(
        [
            (
                exp.GT(this=size, expression=number(0)),
                exp.Div(this=exp.Div(this=_par(net), expression=number(12.0)), expression=size),
            )
        ]
    )
    loss_pct = _case(
        [
            (
                exp.GT(this=income, expression=number(0)),
                exp.Round(
                    this=exp.Div(this=exp.Mul(this=number(100.0), expression=spending), expression=income),
                    decimals=number(1),
                ),
            )
        ]
    )
    problem, problem_en = _problems(
        [
            (too_rich, *texts("findings", "hardship_eligibility.too_rich")),
            (
                accident,
                *texts("findings", "hardship_eligibility.accident_loss", ratio=f"{ctx.args['accident_loss_ratio']:g}"),
            ),
        ]
    )
    q = select(
        col(ROW_ID, "r"),
        *[
            col(c, "r")
            for c in ("file_no", "name", "category", "household_size", "household_income_annual", "hardship_spending")
            if ctx.has(c)
        ],
        _as(per_capita, "per_capita_monthly"),
        _as(limit, "limit"),
        _as(monthly, "monthly_dibao"),
        _as(loss_pct, "loss_pct"),
        _as(problem, "problem"),
        _as(problem_en, "problem_en"),
    ).from_(table(ctx.ledger, "r"))
    if dibao is not None:
        q = q.join(dibao.subquery("db"), on=_eq(col("year", "db"), year), join_type="left")
    return q.where(all_of([ctx.where("r"), _nn(income), _or(too_rich, accident)]))


@implements("review_overdue")
def review_overdue(ctx: CheckContext) -> exp.Select:
    """Active files whose last review (else filing) is more than ``max_months`` before the period end."""
    ctx.need("status")
    last_cols = [c for c in ("reviewed_date", "filed_date") if ctx.has(c)]
    if not last_cols:
        ctx.need("reviewed_date")
    last = (
        col(last_cols[0])
        if len(last_cols) == 1
        else exp.Coalesce(this=col(last_cols[0]), expressions=[col(last_cols[1])])
    )
    as_of = _as_of(ctx)
    cutoff = _minus_months(as_of, int(ctx.args["max_months"]))
    return (
        select(
            col(ROW_ID),
            *[col(c) for c in ("file_no", "name", "status", "filed_date", "reviewed_date") if ctx.has(c)],
            _as(last, "last_review"),
            _as(sql.date_lit(cutoff.isoformat()), "due_by"),
            _as(sql.date_lit(as_of.isoformat()), "as_of"),
        )
        .from_(table(ctx.ledger))
        .where(
            all_of(
                [
                    ctx.where(),
                    _texts(col("status"), ctx.args["active_status"]),
                    _nn(last),
                    exp.LT(this=last, expression=sql.date_lit(cutoff.isoformat())),
                ]
            )
        )
    )


@implements("disclosed_before_filing")
def disclosed_before_filing(ctx: CheckContext) -> exp.Select:
    """公示日期 missing (when required) or after 建档日期."""
    ctx.need("disclosure_date", "filed_date")
    shown, filed = col("disclosure_date"), col("filed_date")
    missing = _null(shown) if ctx.args["require"] else exp.false()
    late = exp.and_(_nn(shown), _nn(filed), exp.GT(this=shown, expression=filed))
    problem, problem_en = _problems(
        [
            (missing, *texts("findings", "disclosed_before_filing.missing")),
            (late, *texts("findings", "disclosed_before_filing.late")),
        ]
    )
    return (
        select(
            col(ROW_ID),
            *[col(c) for c in ("file_no", "name", "disclosure_date", "filed_date") if ctx.has(c)],
            _as(problem, "problem"),
            _as(problem_en, "problem_en"),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), _or(missing, late)]))
    )


# --- cross-ledger ---------------------------------------------------------------------------------

# Staff fields and the column each target table holds them in (address through its matching key).
STAFF_FIELDS = {
    DISB: {"id_no": "recipient_id_no", "bank_account": "bank_account"},
    REG: {"id_no": "id_no", "bank_account": "bank_account", "phone": "phone", "address": "address__key"},
}
STAFF_KEY = {"id_no": "id_no", "bank_account": "bank_account", "phone": "phone", "address": "address__key"}
STAFF_FIELD_ZH = {g: render("values", f"matched_on.{g}", "zh") for g in STAFF_KEY}
PERSON = {DISB: "recipient_name", REG: "name"}


def _relation_note(ctx: CheckContext) -> list[exp.Expression]:
    """'，汪建华的姐妹' / ', sister of 汪建华' for a listed relative; empty for staff themselves."""
    if not ctx.has("relation_of", table=STAFF):
        return [_as(string(""), "relation_note"), _as(string(""), "relation_note_en")]
    of = col("relation_of", "s")
    relative = texts("findings", "staff_relative.relative")

    def rel(lang: int) -> exp.Expression:
        given = exp.Coalesce(this=col("relation", "s"), expressions=[string(relative[lang])])
        return given if ctx.has("relation", table=STAFF) else string(relative[lang])

    zh, en = (
        _text_sql(render("findings", "staff_relative.of", lang), of=of, relation=rel(i))
        for i, lang in enumerate(("zh", "en"))
    )
    return [
        _as(_case([(_nn(of), zh)], string("")), "relation_note"),
        _as(_case([(_nn(of), en)], string("")), "relation_note_en"),
    ]


@implements("staff_relative")
def staff_relative(ctx: CheckContext) -> exp.Select:
    """Rows of the rule's ledger sharing a value with anyone on the staff list: payments (ID, account;
    XL-STAFF-RELATIVE) or register files (ID, account, phone, address; REG-STAFF-RELATIVE), so each
    match is one finding of the rule that describes it. A rule on the ``staff`` list itself checks
    both. One finding per payment or file, naming the person and the field."""
    _need_ref(ctx, STAFF, "name")
    ctx.units.update(paid="money")
    fields = [f for f in ctx.args["match_on"] if f in STAFF_KEY]
    roles = [str(r) for r in ctx.args["roles"]]
    has_role = ctx.has("role", table=STAFF)
    staff_where = None if "all" in roles or not has_role else _texts(col("role", "s"), roles)
    targets = {ctx.ledger: STAFF_FIELDS[ctx.ledger]} if ctx.ledger in STAFF_FIELDS else STAFF_FIELDS
    parts = []
    for target, mapping in targets.items():
        if target not in ctx.present:
            continue
        usable = [
            f
            for f in fields
            if f in mapping
            and ctx.has(mapping[f].removesuffix("__key"), table=target)
            and ctx.has(STAFF_KEY[f].removesuffix("__key"), table=STAFF)
        ]
        if not usable:
            continue
        own_where = ctx.where("t") if target == ctx.ledger else None
        hits = [
            select(
                _as(col(ROW_ID, "t"), ROW_ID),
                _as(col(ROW_ID, "s"), "_staff"),
                *[_as(number(int(f == g)), f"_m_{g}") for g in usable],
            )
            .from_(table(target, "t"))
            .join(table(STAFF, "s"), on=_eq(col(STAFF_KEY[f], "s"), col(mapping[f], "t")))
            .where(all_of([_matchable(mapping[f], "t") if f == "id_no" else _nn(col(mapping[f], "t")),
                           staff_where, own_where]))
            for f in usable
        ]
        flags = (
            select(col(ROW_ID), col("_staff"), *[_as(exp.Max(this=col(f"_m_{g}")), f"_m_{g}") for g in usable])
            .from_(_from_union(hits, "h"))
            .group_by(col(ROW_ID), col("_staff"))
        )
        matched_zh, matched = _problems(
            [(_eq(col(f"_m_{g}", "f"), number(1)), STAFF_FIELD_ZH[g], g) for g in usable], ("、", ", ")
        )
        values = {
            "id_no": col(mapping["id_no"], "t") if "id_no" in usable else None,
            "bank_account": col("bank_account", "t") if "bank_account" in usable else None,
            "phone": col("phone", "t") if "phone" in usable else None,
        }
        amount = col("amount", "t") if target == DISB and ctx.has("amount", table=DISB) else None
        person = col(PERSON[target], "t") if ctx.has(PERSON[target], table=target) else exp.Null()
        text = exp.DataType.build("VARCHAR")
        parts.append(
            select(
                col(ROW_ID, "f"),
                _as(string(target), "_table"),
                _as(exp.cast(person, text), "person"),
                _as(col("name", "s"), "staff_name"),
                _as(exp.cast(col("role", "s") if has_role else exp.Null(), text), "role"),
                *_relation_note(ctx),
                _as(matched, "matched_on"),
                _as(matched_zh, "matched_zh"),
                *[_as(exp.cast(v if v is not None else exp.Null(), text), k) for k, v in values.items()],
                # the payment, as a value: `_amount` would be empty on register files, and the engine
                # renders a finding without money in a rule that has some as NaN, not null
                _as(exp.cast(amount if amount is not None else exp.Null(), exp.DataType.build("BIGINT")), "paid"),
            )
            .from_(flags.subquery("f"))
            .join(table(target, "t"), on=_eq(col(ROW_ID, "t"), col(ROW_ID, "f")))
            .join(table(STAFF, "s"), on=_eq(col(ROW_ID, "s"), col("_staff", "f")))
        )
    if not parts:  # no field both sides have: skip naming what is missing
        for target, mapping in targets.items():
            if target in ctx.present:
                ctx.need(*[mapping[f].removesuffix("__key") for f in fields if f in mapping], table=target)
        ctx.need(*[STAFF_KEY[f].removesuffix("__key") for f in fields], table=STAFF)
        raise Skip("skip_no_table", table=" / ".join(targets))
    return select(exp.Star()).from_(_from_union(parts, "u"))


@implements("employer_without_dues")
def employer_without_dues(ctx: CheckContext) -> exp.Select:
    """Roster employers (not excluded, with staff) with no dues row in the period (matched on the
    taxpayer ID, or on the name when the dues row has none)."""
    ctx.need("taxpayer_id", "headcount")
    if DUES not in ctx.present:
        raise Skip("skip_no_table", table=DUES)
    ctx.need("taxpayer_id", table=DUES)
    e = "e"
    paid = [_eq(col("taxpayer_id", "x"), col("taxpayer_id", e))]
    if ctx.has("name") and ctx.has("taxpayer_name", table=DUES):
        paid.append(_eq(col("taxpayer_name", "x"), col("name", e)))
    exists = [
        exp.Exists(this=select(number(1)).from_(table(DUES, "x")).where(exp.and_(p, col("_in_period", "x"))))
        for p in paid
    ]
    status = (
        _or(_null(col("status", e)), _not(_texts(col("status", e), ctx.args["exclude_status"])))
        if ctx.has("status") and ctx.args["exclude_status"]
        else None
    )
    years = _period_years(ctx)
    in_roster_period = (
        _or(
            _null(col("period", e)),
            _texts(exp.Substring(this=col("period", e), start=number(1), length=number(4)), [str(y) for y in years]),
        )
        if years and ctx.has("period")
        else None
    )
    return (
        select(
            col(ROW_ID, e),
            *[col(c, e) for c in ("taxpayer_id", "name", "headcount", "status") if ctx.has(c)],
        )
        .from_(table(ctx.ledger, e))
        .where(
            all_of(
                [
                    ctx.where(e),
                    _nn(col("taxpayer_id", e)),
                    exp.GTE(this=col("headcount", e), expression=number(int(ctx.args["min_headcount"]))),
                    status,
                    in_roster_period,
                    *[exp.Not(this=x) for x in exists],
                ]
            )
        )
    )


def _union_exists(cond: exp.Expression) -> exp.Expression:
    """Some registry union of the row's employer satisfies ``cond`` (alias ``u``; dues row ``d``)."""
    on = _eq(col("employer_taxpayer_id", "u"), col("taxpayer_id", "d"))
    return exp.Exists(this=select(number(1)).from_(table(UNIONS, "u")).where(exp.and_(on, cond)))


@implements("union_status")
def union_status(ctx: CheckContext) -> exp.Select:
    """工会经费 without a union existing for the period ⇒ error; 筹备金 although the union was
    founded before the period started ⇒ warning (``grace_months`` widen both)."""
    ctx.need("taxpayer_id", "fund_type", "period_start", "period_end")
    _need_ref(ctx, UNIONS, "employer_taxpayer_id", "founded_date")
    grace = int(ctx.args["grace_months"] or 0)
    start, end = col("period_start", "d"), col("period_end", "d")
    not_dissolved = (
        _or(_null(col("dissolved_date", "u")), exp.GTE(this=col("dissolved_date", "u"), expression=end))
        if ctx.has("dissolved_date", table=UNIONS)
        else exp.true()
    )
    exists = _union_exists(
        exp.and_(exp.LTE(this=col("founded_date", "u"), expression=_add_months(start, grace)), not_dissolved)
    )
    founded_before = _union_exists(
        exp.and_(exp.LT(this=_add_months(col("founded_date", "u"), grace), expression=start), not_dissolved)
    )
    union_fund = exp.and_(_eq(col("fund_type", "d"), string("union_fund")), exp.Not(this=exists))
    prep_fund = exp.and_(_eq(col("fund_type", "d"), string("prep_fund")), founded_before)
    first = (
        select(
            col("employer_taxpayer_id"),
            _as(exp.Min(this=col("founded_date")), "founded_date"),
            *([_as(exp.Min(this=col("union_name")), "union_name")] if ctx.has("union_name", table=UNIONS) else []),
        )
        .from_(table(UNIONS))
        .group_by(col("employer_taxpayer_id"))
    )
    problem, problem_en = _problems(
        [
            (union_fund, *texts("findings", "union_status.no_union")),
            (prep_fund, *texts("findings", "union_status.prep_after_founding")),
        ]
    )
    fund = col("fund_type", "d")
    return (
        select(
            col(ROW_ID, "d"),
            *[
                col(c, "d")
                for c in ("taxpayer_id", "taxpayer_name", "fund_type", "period_start", "period_end")
                if ctx.has(c)
            ],
            *[
                _as(_case([(_eq(fund, string("union_fund")), string(u))], string(p)), name)
                for u, p, name in zip(
                    texts("values", "fund_type.union_fund"),
                    texts("values", "fund_type.prep_fund"),
                    ("fund_name", "fund_name_en"),
                    strict=True,
                )
            ],
            col("founded_date", "f"),
            *([col("union_name", "f")] if ctx.has("union_name", table=UNIONS) else []),
            _as(_case([(union_fund, exp.Null())], string("warning")), "_severity"),
            _as(problem, "problem"),
            _as(problem_en, "problem_en"),
            *_amount(ctx, "d"),
        )
        .from_(table(DUES, "d"))
        .join(first.subquery("f"), on=_eq(col("employer_taxpayer_id", "f"), col("taxpayer_id", "d")), join_type="left")
        .where(
            all_of(
                [
                    ctx.where("d"),
                    _nn(col("taxpayer_id", "d")),
                    _nn(start),
                    _nn(end),
                    _or(union_fund, prep_fund),
                ]
            )
        )
    )


@implements("union_account")
def union_account(ctx: CheckContext) -> exp.Select:
    """工会经费 rows whose grassroots account is none of the registry accounts of the employer's union
    (rows without an account, and employers the registry holds no account for, are not compared)."""
    ctx.need("taxpayer_id", "fund_type", "grassroots_account")
    _need_ref(ctx, UNIONS, "employer_taxpayer_id", "bank_account")
    known = _union_exists(_nn(col("bank_account", "u")))
    same = _union_exists(_eq(col("bank_account", "u"), col("grassroots_account", "d")))
    registry = (
        select(col("employer_taxpayer_id"), _as(exp.Min(this=col("bank_account")), "registry_account"))
        .from_(table(UNIONS))
        .where(_nn(col("bank_account")))
        .group_by(col("employer_taxpayer_id"))
    )
    return (
        select(
            col(ROW_ID, "d"),
            *[
                col(c, "d")
                for c in ("taxpayer_id", "taxpayer_name", "grassroots_account", "grassroots_account_name")
                if ctx.has(c)
            ],
            col("registry_account", "g"),
            *_amount(ctx, "d"),
        )
        .from_(table(DUES, "d"))
        .join(
            registry.subquery("g"), on=_eq(col("employer_taxpayer_id", "g"), col("taxpayer_id", "d")), join_type="left"
        )
        .where(
            all_of(
                [
                    ctx.where("d"),
                    _eq(col("fund_type", "d"), string("union_fund")),
                    _nn(col("grassroots_account", "d")),
                    known,
                    exp.Not(this=same),
                ]
            )
        )
    )


@implements("fund_overspend")
def fund_overspend(ctx: CheckContext) -> exp.Select:
    """Per allocation row (programme, year, and union when given): aid paid > allocation ⇒ the rule's
    severity; paid < ``min_spend_ratio`` × allocation ⇒ info."""
    ctx.need("program", "allocated")
    if DISB not in ctx.present:
        raise Skip("skip_no_table", table=DISB)
    ctx.need("program", "amount", "payment_date", table=DISB)
    ctx.units.update(spent="money", allocated="money", difference="money")
    years = _period_years(ctx)
    b = "b"
    year = col("year", b) if ctx.has("year") else (number(ctx.period.end.year) if ctx.period else exp.Null())
    paid_year = exp.Year(this=col("payment_date"))
    by_program = (
        select(col("program"), _as(paid_year, "y"), _as(exp.Sum(this=col("amount")), "spent"))
        .from_(table(DISB))
        .where(_nn(col("payment_date")))
        .group_by(col("program"), paid_year)
    )
    spent: exp.Expression = col("spent", "p")
    q_joins: list[tuple[Any, Any]] = [
        (by_program.subquery("p"), exp.and_(_eq(col("program", "p"), col("program", b)), _eq(col("y", "p"), year)))
    ]
    by_union_ok = ctx.has("grassroots_union") and ctx.has("grassroots_union", table=DISB)
    if by_union_ok:
        by_union = (
            select(
                col("program"), col("grassroots_union"), _as(paid_year, "y"), _as(exp.Sum(this=col("amount")), "spent")
            )
            .from_(table(DISB))
            .where(_nn(col("payment_date")))
            .group_by(col("program"), col("grassroots_union"), paid_year)
        )
        q_joins.append(
            (
                by_union.subquery("pu"),
                exp.and_(
                    _eq(col("program", "pu"), col("program", b)),
                    _eq(col("grassroots_union", "pu"), col("grassroots_union", b)),
                    _eq(col("y", "pu"), year),
                ),
            )
        )
        spent = _case([(_null(col("grassroots_union", b)), col("spent", "p"))], col("spent", "pu"))
    spent = exp.Coalesce(this=spent, expressions=[number(0)])
    allocated = col("allocated", b)
    over = exp.GT(this=spent, expression=allocated)
    under = exp.LT(this=spent, expression=exp.Mul(this=number(ctx.args["min_spend_ratio"]), expression=allocated))
    union = col("grassroots_union", b) if ctx.has("grassroots_union") else exp.Null()
    scope = _case(
        [(_nn(union), exp.DPipe(this=exp.DPipe(this=string("（"), expression=union), expression=string("）")))],
        string(""),
    )
    scope_en = _case(
        [(_nn(union), exp.DPipe(this=exp.DPipe(this=string(" ("), expression=union), expression=string(")")))],
        string(""),
    )
    q = select(
        col(ROW_ID, b),
        *[col(c, b) for c in ("program", "grassroots_union") if ctx.has(c)],
        _as(scope, "scope"),
        _as(scope_en, "scope_en"),
        _as(year, "year"),
        _as(allocated, "allocated"),
        _as(spent, "spent"),
        _as(exp.Sub(this=spent, expression=allocated), "difference"),
        _as(
            exp.Round(
                this=exp.Div(this=exp.Mul(this=number(100.0), expression=spent), expression=allocated),
                decimals=number(1),
            ),
            "spent_pct",
        ),
        _as(_case([(over, exp.Null())], string("info")), "_severity"),
        _as(
            _case([(over, exp.Sub(this=spent, expression=allocated))], exp.Sub(this=allocated, expression=spent)),
            "_amount",
        ),
        *[
            _as(_case([(over, string(o))], string(u)), name)
            for o, u, name in zip(
                texts("findings", "fund_overspend.over"),
                texts("findings", "fund_overspend.under"),
                PROBLEM_COLS,
                strict=True,
            )
        ],
    ).from_(table(ctx.ledger, b))
    for sub, on in q_joins:
        q = q.join(sub, on=on, join_type="left")
    return q.where(
        all_of(
            [
                ctx.where(b),
                _nn(allocated),
                exp.GT(this=allocated, expression=number(0)),
                _nums(year, years) if years and ctx.has("year") else None,
                _or(over, under),
            ]
        )
    )
