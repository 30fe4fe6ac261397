"""The generic vocabulary an auditor writes rules in (issue 14 item 5): date operands, the engine's derived
ID/name facts as columns, ``flag`` (several reasons in one rule), rolling ``group_cap`` windows, and the
as-of ``lookup`` with a fallback key, reported values and reasons over the match. Every case goes through
real pack validation (``parse_pack``) and the engine (``run_rules``) on small ledgers; the proofs run
YAML rewrites of shipped rules on the samples and compare their findings with the shipped rules'."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fundaudit
from fundaudit import RuleError
from fundaudit.engine import run_rules
from fundaudit.period import parse_period
from fundaudit.rules.model import parse_pack
from tests.engine.test_generic_checks import AID, fired

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PROOF = Path(__file__).resolve().parent / "proof_pack.yaml"


def run(rule_yaml: str, ledgers: dict[str, Any], period: str | None = "2016") -> pd.DataFrame:
    """Findings of one rule (indented YAML of its keys after ``- id: T``) over ``ledgers``."""
    rule = parse_pack(f"pack: t\nrules:\n  - id: T-RULE\n{rule_yaml}", source="t.yaml").rules[0]
    loaded = {k: fundaudit.load(k, v) for k, v in ledgers.items()}
    res = run_rules(loaded, [rule], period=parse_period(period) if period else None)
    [status] = res.statuses
    assert status.status == "ran", status.reason_en
    return res.findings


def problems(rule_yaml: str) -> list[str]:
    """The load problems of one rule, rendered in English."""
    with pytest.raises(RuleError) as exc:
        parse_pack(f"pack: t\nrules:\n  - id: T-RULE\n{rule_yaml}", source="t.yaml")
    return [p.render("en") for p in exc.value.problems]


def rows(found: pd.DataFrame) -> list[list[int]]:
    return [[r["row"] for r in refs] for refs in found["refs"]]


# --- date operands and derived facts ------------------------------------------------------------------
# AID's approval → payment dates (row: approval, payment): 2: 01-05 → 01-05, 3: 01-31 (Sun) → 02-01 (Mon),
# 4: 02-04 → 02-03, 5: 12-30 (Fri) → 12-31 (Sat), 6: 02-01 → 02-01, 7: 2015 (outside the period).
# Its IDs: rows 2, 3, 4, 6 have a bad check character and were born in 1980, row 5 has none.


@pytest.mark.parametrize(
    ("check", "rows_"),
    [
        ("{type: compare, left: {days_between: [approval_date, payment_date]}, op: ge, right: 1}", [[2], [4], [6]]),
        (
            "{type: compare, left: {days_between: [approval_date, payment_date], inclusive: true}, op: ge, right: 2}",
            [[2], [4], [6]],
        ),
        # weekdays in (approval, payment]: Sun→Mon is 1, Fri→Sat is 0
        (
            "{type: compare, left: {days_between: [approval_date, payment_date], calendar: working}, op: ge, right: 1}",
            [[2], [4], [5], [6]],
        ),
        # weekdays in [approval, payment]: Sun→Mon is 1, Fri→Sat is 1
        (
            "{type: compare, left: {days_between: [approval_date, payment_date], calendar: working, inclusive: true},"
            " op: ge, right: 2}",
            [[2], [3], [4], [5], [6]],
        ),
        ("{type: compare, left: {month: payment_date}, op: eq, right: 2}", [[2], [5]]),
        ("{type: compare, left: {quarter: payment_date}, op: eq, right: 1}", [[5]]),
        ("{type: compare, left: {year: payment_date}, op: eq, right: 2016}", []),
        ("{type: compare, left: {add_days: [approval_date, 1]}, op: le, right: payment_date}", [[2], [4], [6]]),
        ("{type: compare, left: {add_months: [payment_date, 1]}, op: le, right: {period: end}}", [[5]]),
        ("{type: compare, left: payment_date, op: ge, right: {period: start}}", []),
        ("{type: compare, left: {month_end: payment_date}, op: eq, right: {value: '2016-02-29'}}", [[2], [5]]),
        ("{type: compare, left: {month_start: payment_date}, op: eq, right: {value: '2016-02-01'}}", [[2], [5]]),
        # the engine's derived facts
        ("{type: compare, left: {year: recipient_id_no__birth}, op: eq, right: 1990}", [[2], [3], [4], [6]]),
        ("{type: in_set, column: recipient_id_no__status, values: [ok, '']}", [[2], [3], [4], [6]]),
    ],
)
def test_date_operands_and_derived_facts(check: str, rows_: list[list[int]]) -> None:
    assert fired(check) == rows_


def test_period_end_without_a_period_is_today() -> None:
    assert fired("{type: compare, left: payment_date, op: lt, right: {period: end}}", period=None) == []


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (
            "{type: compare, left: {days_between: [amount, payment_date]}, op: gt, right: 1}",
            "t.yaml:6:50 rules[0].check.left.days_between[0]: days_between needs a date here; amount is money",
        ),
        (
            "{type: compare, left: {add_days: [payment_date, approval_date]}, op: gt, right: payment_date}",
            "t.yaml:6:60 rules[0].check.left.add_days[1]: add_days needs a number here; approval_date is date",
        ),
        (
            "{type: compare, left: {sub: [payment_date, amount]}, op: gt, right: 1}",
            "t.yaml:6:41 rules[0].check.left.sub[0]: sub works on numbers only; payment_date is date",
        ),
        (
            "{type: compare, left: {days_between: [approval_date, payment_date], calendar: lunar}, op: gt, right: 1}",
            't.yaml:6:80 rules[0].check.left.calendar: invalid value "lunar" (expected natural, working)',
        ),
        (
            "{type: compare, left: {period: middle}, op: gt, right: payment_date}",
            't.yaml:6:35 rules[0].check.left.period: invalid value "middle" (expected start, end)',
        ),
        (
            "{type: compare, left: recipient_id_no__age, op: gt, right: 1}",
            "t.yaml:6:28 rules[0].check.left: disbursements has no column recipient_id_no__age",
        ),
    ],
)
def test_date_operands_are_type_checked_on_load(check: str, expected: str) -> None:
    rule = f"    ledger: disbursements\n    severity: error\n    check: {check}\n    message: x\n"
    assert problems(rule) == [expected]


# --- flag: several reasons in one rule -----------------------------------------------------------------

FLAG = """\
    ledger: disbursements
    severity: error
    check:
      type: flag
      report: [recipient_name]
      reasons:
        - when: {column: payment_method, eq: 现金}
          problem: cash_payment.cash
        - when: {column: bank_account, is_null: true}
          problem: {zh: "无账号（{payment_date}，{amount}）", en: "no account ({payment_date}, {amount})"}
          severity: warning
        - when: {compare: {left: amount, op: gt, right: 1500}}
          problem: {zh: 大额, en: large}
          severity: info
    message: {zh: "{recipient_name}：{problem}", en: "{recipient_name}: {problem_en}"}
"""


def test_flag_joins_every_applying_reason_and_takes_the_most_severe() -> None:
    found = run(FLAG, {"disbursements": AID})
    assert rows(found) == [[2], [3], [5]]
    assert found["message"].tolist() == [
        "甲：现金发放；无账号（2016-01-05，100.00）",
        "乙：大额",
        "丁：无账号（2016-12-31，1000.00）",
    ]
    assert found["message_en"].tolist() == [
        "甲: paid in cash; no account (2016-01-05, 100.00)",
        "乙: large",
        "丁: no account (2016-12-31, 1000.00)",
    ]
    assert found["severity"].tolist() == ["error", "info", "warning"]
    # the columns the reasons read, the reported ones and the problem texts (a text's fields are not values)
    assert [sorted(v) for v in found["values"]] == 3 * [
        ["amount", "bank_account", "payment_method", "problem", "problem_en", "recipient_name"]
    ]


def test_flag_reads_derived_facts_and_uses_the_catalogue_id_texts() -> None:
    rule = (
        "    ledger: disbursements\n    severity: error\n    check:\n      type: flag\n      reasons:\n"
        "        - {when: {column: recipient_id_no__status, eq: bad_checksum}, problem: resident_id.bad_checksum}\n"
        "    message: {zh: '{problem}', en: '{problem_en}'}\n"
    )
    found = run(rule, {"disbursements": AID})
    assert rows(found) == [[2], [3], [4], [6]]
    assert set(found["message_en"]) == {fundaudit.errors.texts("findings", "resident_id.bad_checksum")[1]}


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (
            "[{wen: {column: amount, gt: 1}, problem: cash_payment.cash}]",
            [
                "t.yaml:6:36 rules[0].check.reasons[0].wen: unknown key wen (allowed: when, problem, severity)",
                "t.yaml:6:35 rules[0].check.reasons[0]: missing required key when",
            ],
        ),
        (
            "[{when: {column: amont, gt: 1}, problem: cash_payment.cash}]",
            ["t.yaml:6:43 rules[0].check.reasons[0].when.column: disbursements has no column amont"],
        ),
        (
            "[{when: {column: amount, gt: 1}, problem: cash_payment.kash}]",
            [
                't.yaml:6:67 rules[0].check.reasons[0].problem: invalid value "cash_payment.kash" '
                "(expected a key of the catalogue's findings)"
            ],
        ),
        (
            "[{when: {column: amount, gt: 1}, problem: {zh: '{amont}'}}]",
            [
                "t.yaml:6:77 rules[0].check.reasons[0].problem.zh: message placeholder {amont} is neither a column "
                "of disbursements nor a field this rule provides (fields: )"
            ],
        ),
        (
            "[{when: {column: amount, gt: 1}, problem: cash_payment.cash, severity: fatal}]",
            ['t.yaml:6:95 rules[0].check.reasons[0].severity: invalid value "fatal" (expected error, warning, info)'],
        ),
        (
            "[{when: {matched: false}, problem: cash_payment.cash}]",
            [
                "t.yaml:6:43 rules[0].check.reasons[0].when.matched: unknown key matched "
                "(allowed: all, any, not, column, compare)"
            ],
        ),
    ],
)
def test_flag_reasons_are_validated_on_load(reasons: str, expected: list[str]) -> None:
    check = f"{{type: flag, reasons: {reasons}}}"
    rule = f"    ledger: disbursements\n    severity: error\n    check: {check}\n    message: x\n"
    assert problems(rule) == expected
