"""What each check type accepts: the argument schema a rule's ``check:`` block is validated against.

This is the *spec* half of every check type (what a rule may say); the engine's
``fundaudit/engine/checks/`` holds the *impl* half (how it runs, as SQL), registered under the same
names. ``tests/rules/test_signatures.py`` keeps the two registries equal.

Argument kinds: ``column`` / ``columns`` (canonical columns of the rule's ledger), ``kind`` (an input
kind), ``value`` / ``values`` (literals, typed by the column they are compared with: money in yuan,
dates as YYYY-MM-DD, rates as 0.02 or "2%"), ``number``, ``int``, ``bool``, ``str``, ``pattern`` (an
RE2 regular expression), ``condition`` (see ``conditions``), ``operand`` (a column, a number, or
``{add|sub|mul|div|min|max: [..]}``, ``{abs: x}``, ``{round_fen: x}``, ``{value: literal}``),
``mapping`` (free-form, checked by the check type), ``column_map`` (``{local column: column of the
input named by table}``), and ``choice`` (one of ``choices``).

Constraints on values are declared with the argument, as data, and checked on load and on every
override (user pack ``override``, profile, ``--param``, ``params=``): ``low``/``high`` bound numbers
(each number of a list or mapping), ``items`` types the elements of a list or the values of a mapping,
``length``/``min_items``/``ascending`` shape lists (``[low, high]`` pairs), ``typed_by`` names the
column argument whose catalogue type a literal must be readable as, ``table`` the argument naming the
input kind whose columns a column argument names, ``types`` the catalogue types a column may have.
A signature's ``relations`` tie two arguments (``le``: first ≤ second; ``comparable``: operands of
compatible types) and its ``fields`` are the values, beyond the ledger's columns, that its findings
offer to message templates.
"""

from __future__ import annotations

from fundaudit.rules.signatures_aid import AID_CHECK_TYPES
from fundaudit.rules.spec import Arg, Signature

__all__ = ["CHECK_TYPES", "Arg", "Signature"]


def _sig(
    name: str,
    doc: str,
    group: bool = False,
    *,
    relations: tuple[tuple[str, str, str], ...] = (),
    fields: tuple[str, ...] = (),
    **args: Arg,
) -> Signature:
    return Signature(name, doc, dict(args), group, relations, fields)


def _sig_args(name: str, doc: str, args: dict[str, Arg]) -> Signature:
    return Signature(name, doc, args)


_WINDOWS = ("all", "year", "quarter", "month")

CHECK_TYPES: dict[str, Signature] = {
    s.name: s
    for s in [
        # --- generic: a user can write a rule with these and no Python --------------------------------
        _sig(
            "not_null",
            "Are the columns filled in? Fires when any (mode: any) or all (mode: all) are empty.",
            columns=Arg("columns", True, min_items=1),
            mode=Arg("choice", default="any", choices=("any", "all")),
        ),
        _sig(
            "in_set",
            "Is the value one of the allowed values? (negate: must not be one of them)",
            column=Arg("column", True),
            values=Arg("values", True, typed_by="column"),
            negate=Arg("bool", default=False),
            tolerance=Arg("number", default=0, low=0),
        ),
        _sig(
            "range",
            "Is the value within [min, max]?",
            relations=(("le", "min", "max"),),
            column=Arg("column", True),
            min=Arg("value", typed_by="column"),
            max=Arg("value", typed_by="column"),
            inclusive=Arg("bool", default=True),
        ),
        _sig(
            "regex",
            "Does the text match the pattern (RE2 syntax)? (negate: must not match)",
            column=Arg("column", True),
            pattern=Arg("pattern", True),
            negate=Arg("bool", default=False),
        ),
        _sig(
            "unique",
            "Is the key unique? One finding per set of rows sharing a key.",
            group=True,
            fields=("count",),
            columns=Arg("columns", True, min_items=1),
        ),
        _sig(
            "compare",
            "Does `left op right` hold (within tolerance)? Rows where a side is empty are skipped.",
            relations=(("comparable", "left", "right"),),
            left=Arg("operand", True),
            op=Arg("choice", True, choices=("eq", "ne", "lt", "le", "gt", "ge")),
            right=Arg("operand", True),
            tolerance=Arg("number", default=0, low=0),
        ),
        _sig_args(
            "conditional",
            "When `if` holds, does `then` hold too?",
            {"if": Arg("condition", True), "then": Arg("condition", True)},
        ),
        _sig(
            "date_order",
            "Are the dates in order (each on or before the next, plus grace days)?",
            columns=Arg("columns", True, min_items=2, types=("date",)),
            strict=Arg("bool", default=False),
            grace_days=Arg("int", default=0, low=0),
        ),
        _sig(
            "group_cap",
            "Does a group's sum, count or distinct count within a window stay within the cap? "
            "One finding per group over the cap, listing its rows.",
            group=True,
            fields=("total", "cap"),
            group_by=Arg("columns", True, min_items=1),
            measure=Arg("choice", True, choices=("sum", "count", "count_distinct")),
            column=Arg("column"),
            cap=Arg("number", True, low=0),
            date=Arg("column", types=("date",)),
            window=Arg("choice", default="all", choices=_WINDOWS),
        ),
        _sig(
            "lookup",
            "Does a matching row exist in another input (optionally as of a date)? "
            "mode exists: fires when none matches; not_exists: fires when one does.",
            table=Arg("kind", True),
            on=Arg("column_map", True, table="table"),
            mode=Arg("choice", default="exists", choices=("exists", "not_exists")),
            date=Arg("column", types=("date",)),
            valid_from=Arg("column", table="table", types=("date",)),
            valid_to=Arg("column", table="table", types=("date",)),
            where=Arg("condition", table="table", doc="a condition on the other input's rows"),
        ),
        # --- dues (tax-collected union funds) ---------------------------------------------------------
        _sig(
            "dues_period",
            "Is the levy period well formed: start ≤ end, on month boundaries, an allowed "
            "length, and money not in the treasury before the period starts?",
            fields=("months", "problem", "problem_en"),
            allowed_lengths_months=Arg("values", default=[1, 3, 12], items="int", low=1, high=120, min_items=1),
        ),
        _sig(
            "dues_deadline",
            "Was the return filed, paid and in the treasury by the deadline (day N of the "
            "month after the period ends, plus grace days)?",
            fields=("deadline", "days_late"),
            deadline_day=Arg("int", default=15, low=1, high=31),
            grace_days=Arg("int", default=0, low=0),
            holiday_calendar=Arg("choice", default="none", choices=("none",), doc="no holiday shift yet"),
            dates=Arg("columns", default=["filing_date", "payment_date", "treasury_date"], types=("date",)),
        ),
        _sig(
            "dues_duplicate",
            "Is one taxpayer, fund type and overlapping period paid more than once (net of "
            "correction pairs), or one e-voucher number used twice?",
            group=True,
            fields=("payments",),
            key=Arg("columns", default=["taxpayer_id", "fund_type", "period_start", "period_end"], min_items=1),
            ignore_correction_pairs=Arg("bool", default=True),
        ),
        _sig(
            "dues_gap",
            "Does an employer with earlier payments skip a period within the audit window?",
            group=True,
            fields=("gap_start", "gap_end", "missing"),
            min_prior_payments=Arg("int", default=2, low=1),
            cadence=Arg("choice", default="infer", choices=("infer", "monthly", "quarterly")),
        ),
        _sig(
            "dues_base_min",
            "Is the wage base at least the minimum wage × headcount for the period?",
            fields=("min_wage", "minimum", "months", "staff"),
            use_headcount=Arg("bool", default=True),
            region_code=Arg("str"),
        ),
        _sig(
            "dues_base_drop",
            "Does the wage base fall far below the employer's recent median?",
            fields=("floor", "history", "median"),
            drop_ratio=Arg("number", default=0.5, low=0, high=1),
            lookback=Arg("int", default=6, low=1),
            min_history=Arg("int", default=3, low=1),
        ),
        _sig(
            "taxpayer_id",
            "Does the taxpayer ID pass GB 32100 (and its embedded GB 11714 check)?",
            fields=("problem", "problem_en"),
            column=Arg("column", default="taxpayer_id"),
            accept_legacy=Arg("bool", default=True),
            check_embedded_org_code=Arg("choice", default="warn", choices=("error", "warn", "off")),
        ),
        _sig(
            "dues_refund",
            "Does a refund (negative payment) trace to an earlier payment of the same taxpayer, fund type and period?",
            match_window_months=Arg("int", default=24, low=0),
        ),
        _sig(
            "dues_split_sum",
            "Do the applied ratios add up to 1, and the shares plus fee to the basis?",
            fields=("basis", "difference", "problem", "problem_en", "ratio_sum", "share_total"),
            ratio_tol=Arg("number", default=0.0001, low=0, high=1),
            tol_yuan_per_share=Arg("number", default=0.01, low=0),
        ),
        _sig(
            "dues_split_ratio",
            "Are the applied shares those of the ratio schedule in force for the period?",
            fields=("mismatched", "mismatched_en", "schedule_from"),
            grassroots_share=Arg("number", default=0.6, low=0, high=1),
            ratio_tol=Arg("number", default=0.0001, low=0, high=1),
        ),
        _sig(
            "dues_fee",
            "Is the handling fee basis × fee ratio (half-up to the fen), and none kept on refunds?",
            fields=("basis", "difference", "expected_fee"),
            fee_ratio=Arg("number", default=0.02, low=0, high=1),
            tol_yuan=Arg("number", default=0.01, low=0),
        ),
        _sig(
            "dues_remittance",
            "Was the grassroots share settled in time, not stuck in error, not too long in custody?",
            fields=("days_to_settle", "problem", "problem_en"),
            max_days_to_settle=Arg("int", default=30, low=0),
            max_days_in_custody=Arg("int", default=180, low=0),
            custody_values=Arg("values", default=["代管"], doc="custody_flag values meaning 'held in custody'"),
        ),
        _sig(
            "dues_sme_refund",
            "In policy years, is the small/micro refund due and paid in full and on time; "
            "are refunds paid only where due?",
            fields=("problem", "problem_en", "refund_expected"),
            policy_years=Arg("values", default=[2020, 2021, 2022], items="int", low=1900, high=2100),
            refund_share=Arg("choice", default="upper_level", choices=("upper_level", "all")),
            refund_deadline_days=Arg("int", default=365, low=0),
        ),
        # --- every ledger ------------------------------------------------------------------------------
        _sig(
            "ledger_total",
            "Does each 合计/小计 row's declared amount equal the sum of the rows it covers?",
            fields=("column", "declared", "difference", "label", "loaded"),
            tol_yuan=Arg("number", default=0.01, low=0),
        ),
    ]
}

# The hardship-aid, register and cross-ledger check types live in their own module (one family per file).
CHECK_TYPES.update(AID_CHECK_TYPES)
