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
from tests.checks.harness import resident_id as rid
from tests.checks.harness import run_yaml
from tests.checks.harness import sheet as frame
from tests.checks.test_generic import AID, fired

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
    """Each finding's rows in the rule's own ledger (the kind of its first ref), without the rows it cites."""
    return [[r["row"] for r in refs if r["kind"] == refs[0]["kind"]] for refs in found["refs"]]


def cited(found: pd.DataFrame) -> list[list[tuple[str, str, int]]]:
    """Each finding's refs into other inputs, as (role, kind, row), in finding order."""
    return [[(r["role"], r["kind"], r["row"]) for r in refs if r["kind"] != refs[0]["kind"]] for refs in found["refs"]]


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
                "(allowed: all, any, not, column, compare, maps_to)"
            ],
        ),
    ],
)
def test_flag_reasons_are_validated_on_load(reasons: str, expected: list[str]) -> None:
    check = f"{{type: flag, reasons: {reasons}}}"
    rule = f"    ledger: disbursements\n    severity: error\n    check: {check}\n    message: x\n"
    assert problems(rule) == expected


# --- lookup: as-of match, fallback key, reported values, reasons over the match ---------------------------

A, B, C, D, E = (rid("341003", "19800101", f"00{i}") for i in range(1, 6))
EXCEL = "3.41003198001E+17"  # an ID Excel stored as a number: its last digits are lost
REGISTER = frame(
    [
        {"file_no": "F1", "id_no": A, "filed_date": "2016-01-10"},
        {"file_no": "F1b", "id_no": A, "filed_date": "2016-03-01"},
        {"file_no": "F2", "id_no": B, "filed_date": "2015-01-01", "exit_date": "2016-02-01"},
        {"file_no": "F3", "filed_date": "2016-05-01"},
        {"file_no": "F4", "id_no": C, "filed_date": "2015-01-01"},
        {"file_no": "F5", "id_no": EXCEL, "filed_date": "2015-01-01"},
    ]
)
PAYMENTS = frame(
    [
        {"recipient_name": "甲", "recipient_id_no": A, "payment_date": "2016-03-05", "amount": "100"},
        {"recipient_name": "乙", "recipient_id_no": B, "payment_date": "2016-03-01", "amount": "100"},
        {"recipient_name": "丙", "recipient_id_no": D, "file_no": "F3", "payment_date": "2016-04-01", "amount": "100"},
        {"recipient_name": "丁", "recipient_id_no": E, "file_no": "F4", "payment_date": "2016-04-01", "amount": "100"},
        {"recipient_name": "戊", "recipient_id_no": EXCEL, "payment_date": "2016-04-01", "amount": "100"},
        {"recipient_name": "己", "file_no": "F1", "payment_date": "2016-01-05", "amount": "100"},
    ]
)
LOOKUP = """\
    ledger: disbursements
    severity: error
    check:
      type: lookup
      table: register
      on: {recipient_id_no: id_no}
      fallback_on: {file_no: file_no}
      report: {register_file_no: file_no, filed_date: filed_date}
      reasons:
        - when: {matched: false}
          problem: {zh: 无档案, en: no file}
        - when: {compare: {left: match.filed_date, op: gt, right: payment_date}}
          problem: {zh: "建档晚于发放（{filed_date}）", en: "filed {filed_date}, after payment"}
          severity: warning
    message: {zh: "{recipient_name}：{problem}（{matched_on}，{register_file_no}）", en: "{problem_en}"}
"""


def test_lookup_falls_back_reports_the_match_and_gives_reasons() -> None:
    found = run(LOOKUP, {"disbursements": PAYMENTS, "register": REGISTER})
    # 甲 and 乙 match on the ID, filed before payment; 丙 has no file under its ID and matches F3 on the file
    # number (filed after payment); 丁's file number F4 belongs to another valid ID; 戊's ID Excel stored as a
    # number matches nothing, not even the same damaged text; 己 has no ID and matches F1 on the file number.
    assert rows(found) == [[4], [5], [6], [7]]
    assert found["message"].tolist() == [
        "丙：建档晚于发放（2016-05-01）（档案编号，F3）",
        "丁：无档案（无（未匹配到档案），—）",
        "戊：无档案（无（未匹配到档案），—）",
        "己：建档晚于发放（2016-01-10）（档案编号，F1）",
    ]
    assert found["severity"].tolist() == ["warning", "error", "error", "warning"]
    assert [(v["matched_on"], v["register_file_no"], v["filed_date"]) for v in found["values"]] == [
        ("file_no", "F3", "2016-05-01"),
        ("none", None, None),
        ("none", None, None),
        ("file_no", "F1", "2016-01-10"),
    ]


def test_lookup_as_of_the_row_date_picks_the_latest_match() -> None:
    rule = (
        "    ledger: disbursements\n    severity: error\n"
        "    check: {type: lookup, table: register, on: {recipient_id_no: id_no}, mode: not_exists,"
        " date: payment_date, valid_from: filed_date, valid_to: exit_date,"
        " report: {latest: file_no}, pick: latest, by: filed_date}\n"
        "    message: '{latest} {matched_on}'\n"
    )
    found = run(rule, {"disbursements": PAYMENTS, "register": REGISTER})
    # 甲 (paid 03-05) has F1 and F1b in force, the latest filed is F1b; 乙's F2 closed before the payment
    assert rows(found) == [[2]]
    assert found["message_en"].tolist() == ["F1b ID number"]
    assert cited(found) == [[("register_file", "register", 3)]]  # pick: latest cites F1b only, not F1 (in force too)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("report: {register_file_no: file_no,", "report: {register_file_no: file_nr,"),
            ["t.yaml:11:16 rules[0].check.report.register_file_no: register has no column file_nr (→ file_no?)"],
        ),
        (  # a reported name may not hide a column of the ledger or a field of the finding
            ("report: {register_file_no: file_no,", "report: {file_no: file_no,"),
            [
                "t.yaml:11:16 rules[0].check.report.file_no: invalid value file_no (expected a new name)",
                "t.yaml:18:15 rules[0].message.zh: message placeholder {register_file_no} is neither a column of "
                "disbursements nor a field this rule provides (→ file_no?) "
                "(fields: amount, file, file_no, filed_date, matched_on, problem, problem_en, row, sheet)",
            ],
        ),
        (
            ("report: {register_file_no: file_no,", "report: {matched_on: file_no,"),
            [
                "t.yaml:11:16 rules[0].check.report.matched_on: invalid value matched_on (expected a new name)",
                "t.yaml:18:15 rules[0].message.zh: message placeholder {register_file_no} is neither a column of "
                "disbursements nor a field this rule provides (→ file_no?) "
                "(fields: amount, file, filed_date, matched_on, problem, problem_en, row, sheet)",
            ],
        ),
        (
            ("left: match.filed_date,", "left: match.filed_dat,"),
            ["t.yaml:15:28 rules[0].check.reasons[1].when.compare.left: register has no column filed_dat"],
        ),
        (
            ("right: payment_date}}", "right: amount}}"),
            [
                "t.yaml:15:60 rules[0].check.reasons[1].when.compare.right: cannot compare match.filed_date (date) "
                "with amount (money): their types differ"
            ],
        ),
        (
            ("fallback_on: {file_no: file_no}", "fallback_on: {file_no: filed_date}"),
            [
                "t.yaml:10:21 rules[0].check.fallback_on.file_no: cannot compare disbursements.file_no (code) "
                "with register.filed_date (date): their types differ"
            ],
        ),
        (
            ("（{filed_date}）", "（{filed}）"),
            [
                "t.yaml:16:21 rules[0].check.reasons[1].problem.zh: message placeholder {filed} is neither a column "
                "of disbursements nor a field this rule provides (fields: register_file_no, filed_date, matched_on)"
            ],
        ),
    ],
)
def test_lookup_reasons_and_report_are_validated_on_load(change: tuple[str, str], expected: list[str]) -> None:
    assert change[0] in LOOKUP
    assert problems(LOOKUP.replace(*change)) == expected


# --- group_cap over rolling windows ------------------------------------------------------------------------
# AID by ID: …001X paid 01-05 (row 2) and 02-03 (row 4), 29 days apart; …0012 paid 2000 (row 3) and 1000.01
# (row 6) on 02-01; row 5 has no ID.


@pytest.mark.parametrize(
    ("args", "rows_"),
    [
        ("measure: sum, column: amount, cap: 3000, window: {days: 1}", [[3, 6]]),
        ("measure: sum, column: amount, cap: 3000.01, window: {days: 1}", []),
        ("measure: count, cap: 1, window: {days: 30}", [[2, 4], [3, 6]]),  # [02-03 − 29, 02-03] holds 01-05
        ("measure: count, cap: 1, window: {days: 29}", [[3, 6]]),
    ],
)
def test_group_cap_rolling_window(args: str, rows_: list[list[int]]) -> None:
    check = f"{{type: group_cap, group_by: [recipient_id_no], date: payment_date, {args}}}"
    assert fired(check) == rows_


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("{days: 0}", "t.yaml:6:112 rules[0].check.window.days: value 0 is out of range (expected ≥ 1)"),
        ("{weeks: 2}", "t.yaml:6:103 rules[0].check.window: wrong type: expected {days: N}, got {'weeks': 2}"),
    ],
)
def test_group_cap_rolling_window_is_validated(window: str, expected: str) -> None:
    args = f"date: payment_date, measure: count, cap: 1, window: {window}"
    check = f"{{type: group_cap, group_by: [recipient_id_no], {args}}}"
    rule = f"    ledger: disbursements\n    severity: error\n    check: {check}\n    message: x\n"
    assert problems(rule) == [expected]


# --- proofs: shipped rules rewritten in the vocabulary give the same findings on the samples --------------


@pytest.fixture(scope="module")
def samples_with_proofs() -> fundaudit.AuditResult:
    return fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016", rules=[PROOF])


@pytest.mark.parametrize(
    ("shipped", "rewritten", "count"), [("DISB-NOT-FILED", "X-NOT-FILED", 2), ("DISB-CASH", "X-CASH", 3)]
)
def test_rewritten_rule_finds_exactly_what_the_shipped_one_does(
    samples_with_proofs: fundaudit.AuditResult, shipped: str, rewritten: str, count: int
) -> None:
    status = {r["id"]: r for r in samples_with_proofs.rules}
    assert status[rewritten]["status"] == "ran", status[rewritten]["reason_en"]
    found = samples_with_proofs.findings.drop(columns=["id", "fingerprint", "rule"])
    want = found[samples_with_proofs.findings["rule"] == shipped].to_dict("records")
    got = found[samples_with_proofs.findings["rule"] == rewritten].to_dict("records")
    assert len(want) == count
    # same rows, severities, amounts, messages (zh, en) and values (matched_on, register_file_no, filed_date…)
    assert got == want


def test_flag_texts_may_name_the_rules_parameters() -> None:
    rule = (
        "    ledger: disbursements\n    severity: error\n    params: {min_days: 2}\n    check:\n      type: flag\n"
        "      reasons:\n"
        "        - when: {compare: {left: {days_between: [approval_date, payment_date], inclusive: true},"
        " op: lt, right: $min_days}}\n"
        "          problem: disclosure.too_short_days\n"
        "    message: {zh: '{problem}', en: '{problem_en}'}\n"
    )
    found = run(rule, {"disbursements": AID})
    assert rows(found) == [[2], [4], [6]]
    assert set(found["message"]) == {"公示不足 2 天"}
    assert set(found["message_en"]) == {"disclosed for less than 2 days"}


def test_lookup_pick_latest_without_by_is_skipped_with_the_reason() -> None:
    rule = parse_pack(
        "pack: t\nrules:\n  - id: T-RULE\n    ledger: disbursements\n    severity: error\n"
        "    check: {type: lookup, table: register, on: {recipient_id_no: id_no}, report: {f: file_no}, pick: latest}\n"
        "    message: x\n",
        source="t.yaml",
    ).rules[0]
    loaded = {
        "disbursements": fundaudit.load("disbursements", PAYMENTS),
        "register": fundaudit.load("register", REGISTER),
    }
    [status] = run_rules(loaded, [rule]).statuses
    assert (status.status, status.reason_en) == (
        "skipped",
        "the rule's arguments cannot be used on these inputs: pick earliest/latest needs by",
    )


# --- migC: flag's computed values, say: first, reasons over absent columns; optional, months_between, mod, in ---
# (issue 14 item 5: what DUES-FEE, DUES-PERIOD and DUES-REMIT-LATE needed to be written in YAML)

DUES_FLAG = (
    "    ledger: dues\n    severity: warning\n    params: {{ratio: 0.02}}\n    check:\n      type: flag\n{check}"
    "    message: {{zh: '{{problem}}', en: '{{problem_en}}'}}\n"
)


def _dues(*changes: dict[str, str], drop: tuple[str, ...] = ()) -> pd.DataFrame:
    from tests.checks.harness import dues_row

    return frame([dues_row(**c) for c in changes], drop=list(drop))


def test_flag_values_are_computed_fields_for_texts_messages_values_and_amount() -> None:
    rule = DUES_FLAG.format(check=(
        "      values:\n"
        "        expected:\n"
        "          round_fen: {mul: [{sub: [amount_paid, {coalesce: [{optional: relief_amount}, 0]}]}, $ratio]}\n"
        "        gap: {sub: [fee_amount, {round_fen: {mul: [amount_paid, $ratio]}}]}\n"
        "      reasons:\n"
        "        - when: {compare: {left: fee_amount, op: gt, right: 0.5}}\n"
        "          problem: {zh: '应为 {expected}', en: 'should be {expected}'}\n"
    )) + "    amount: {abs: gap}\n"
    found = run(rule, {"dues": _dues({"fee_amount": "1.00", "amount_paid": "1000.00", "relief_amount": "100.00"},
                                     {"fee_amount": "0.10"})})
    assert rows(found) == [[2]]
    [f] = found.to_dict("records")
    assert (f["message"], f["message_en"], f["amount"]) == ("应为 18.00", "should be 18.00", "19.00")
    assert (f["values"]["expected"], f["values"]["gap"]) == ("18.00", "-19.00")


def test_optional_reads_an_absent_column_as_empty_and_a_plain_name_skips() -> None:
    check = (
        "      values: {basis: {sub: [amount_paid, {coalesce: [{optional: relief_amount}, 0]}]}}\n"
        "      reasons:\n        - when: {compare: {left: amount_paid, op: gt, right: 0}}\n"
        "          problem: {zh: '{basis}', en: '{basis}'}\n"
    )
    found = run(DUES_FLAG.format(check=check), {"dues": _dues({"amount_paid": "50.00"}, drop=("relief_amount",))})
    assert found["message"].tolist() == ["50.00"]
    rule = parse_pack(
        "pack: t\nrules:\n  - id: T-RULE\n" + DUES_FLAG.format(check=check.replace("{optional: relief_amount}",
                                                                                  "relief_amount")),
        source="t.yaml",
    ).rules[0]
    res = run_rules({"dues": fundaudit.load("dues", _dues({}, drop=("relief_amount",)))}, [rule],
                    period=parse_period("2016"))
    [status] = res.statuses
    assert (status.status, status.reason_en) == ("skipped", "dues lacks the columns this rule needs: relief_amount")


def test_flag_leaves_out_reasons_whose_columns_are_absent_and_says_the_first_when_asked() -> None:
    check = (
        "      say: {say}\n      report: [settlement_flag, custody_flag]\n"
        "      reasons:\n"
        "        - when: {{column: settlement_flag, in: [E]}}\n          problem: dues_remittance.flag_e\n"
        "        - when: {{compare: {{left: {{days_between: [treasury_date, settlement_date]}}, op: gt, right: 1}}}}\n"
        "          problem: dues_remittance.late\n"
        "        - when: {{column: custody_flag, in: [代管]}}\n          problem: dues_remittance.custody\n"
    )
    both = {"settlement_flag": "E", "treasury_date": "2016-02-10", "settlement_date": "2016-03-10"}
    found = run(DUES_FLAG.format(check=check.format(say="all")), {"dues": _dues(both)})
    assert found["message_en"].tolist() == [
        "settlement flag E (stuck, not transferred); settled too long after the treasury date"
    ]
    found = run(DUES_FLAG.format(check=check.format(say="first")), {"dues": _dues(both)})
    assert found["message_en"].tolist() == ["settlement flag E (stuck, not transferred)"]
    # no settlement_flag nor custody_flag column: their reasons are left out, the other runs, and an absent
    # `report` column is not a value
    lacking = _dues(both, drop=("settlement_flag", "custody_flag"))
    found = run(DUES_FLAG.format(check=check.format(say="all")), {"dues": lacking})
    assert found["message_en"].tolist() == ["settled too long after the treasury date"]
    assert sorted(found["values"][0]) == ["problem", "problem_en", "settlement_date", "treasury_date"]


@pytest.mark.parametrize(
    ("left", "op", "right", "rows_"),
    [
        ("{months_between: [period_start, period_end], inclusive: true}", "in", "[3]", [[3]]),
        ("{months_between: [period_start, period_end]}", "eq", "0", [[2]]),
        ("{mod: [{month: period_start}, 3]}", "eq", "1", [[2], [3]]),
        ("{mod: [12, {months_between: [period_start, period_start]}]}", "eq", "0", []),  # mod 0 is empty
        ("{month: period_start}", "not_in", "[1, 2]", [[3]]),
    ],
)
def test_months_between_mod_and_in(left: str, op: str, right: str, rows_: list[list[int]]) -> None:
    check = (
        f"      reasons:\n        - when: {{compare: {{left: {left}, op: {op}, right: {right}}}}}\n"
        "          problem: {zh: x, en: x}\n"
    )
    found = run(DUES_FLAG.format(check=check), {"dues": _dues({"month": 1}, {"month": 4, "months": 3})})
    assert rows(found) == rows_


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("{compare: {left: period_start, op: in, right: [1]}}",
         "rules[0].check.reasons[0].when.compare.right[0]: value 1 cannot be compared with date "
         '(expected a date ("2016-03-01"))'),
        ("{compare: {left: {month: period_start}, op: in, right: 3}}",
         "rules[0].check.reasons[0].when.compare.right: wrong type: expected a list of values, got 3"),
        ("{compare: {left: {months_between: [period_start, amount_paid]}, op: eq, right: 1}}",
         "rules[0].check.reasons[0].when.compare.left.months_between[1]: months_between needs a date here; "
         "amount_paid is money"),
        ("{compare: {left: {mod: [period_start, 2]}, op: eq, right: 1}}",
         "rules[0].check.reasons[0].when.compare.left.mod[0]: mod works on numbers only; period_start is date"),
        ("{compare: {left: {optional: no_such}, op: eq, right: 1}}",
         "rules[0].check.reasons[0].when.compare.left.optional: dues has no column no_such"),
    ],
)
def test_new_operands_are_checked_on_load(when: str, expected: str) -> None:
    check = f"      reasons:\n        - when: {when}\n          problem: {{zh: x, en: x}}\n"
    assert [p.split(" ", 1)[1] for p in problems(DUES_FLAG.format(check=check))] == [expected]


def test_flag_values_and_amount_are_checked_on_load() -> None:
    check = (
        "      values: {amount_paid: {abs: fee_amount}, d: {add: [period_start, 1]}}\n"
        "      reasons:\n        - when: {column: fee_amount, gt: 0}\n          problem: {zh: x, en: x}\n"
    )
    found = problems(DUES_FLAG.format(check=check) + "    amount: {abs: nothing}\n")
    assert [p.split(" ", 1)[1] for p in found] == [
        "rules[0].check.values.amount_paid: invalid value amount_paid (expected a new name)",
        "rules[0].amount.abs: dues has no column nothing",
    ]


# --- flag: computed values, reasons over optional columns, a reason chosen by a parameter (issue 14, migB) --

FLAG_OPTIONAL = (
    "    ledger: disbursements\n    severity: error\n    check:\n      type: flag\n"
    "      values: {wait: {days_between: [approval_date, payment_date]}}\n"
    "      reasons:\n"
    "        - when: {column: payment_method, in: [现金]}\n"
    "          problem: cash_payment.cash\n"
    "        - when: {compare: {left: approver__key, op: eq, right: handler__key}}\n"
    "          problem: approval.by_handler\n"
    "    message: {zh: '{problem}，{wait} 天', en: '{problem_en}, {wait} days'}\n"
)


def test_flag_leaves_out_a_reason_whose_columns_the_input_lacks() -> None:
    """AID has no 审批人 or 经办人: the rule runs on its other reason (it was skipped); with them, both hold."""
    found = run(FLAG_OPTIONAL, {"disbursements": AID})
    assert rows(found) == [[2]]
    assert (found["message"].tolist(), found["message_en"].tolist()) == (["现金发放，0 天"], ["paid in cash, 0 days"])
    assert found["values"].tolist()[0]["wait"] == 0
    both = AID.assign(审批人=["吴斌", "吴 斌", "张三", "", "李四", ""], 经办人=["吴斌", "吴斌", "王五", "", "", ""])
    found = run(FLAG_OPTIONAL, {"disbursements": both})
    assert rows(found) == [[2], [3]]
    assert found["message"].tolist() == ["现金发放；审批人即经办人，0 天", "审批人即经办人，1 天"]


def test_flag_without_a_usable_reason_is_skipped_naming_the_columns() -> None:
    rule = parse_pack(
        "pack: t\nrules:\n  - id: T-RULE\n" + FLAG_OPTIONAL.replace("payment_method, in: [现金]", "handler, in: [x]"),
        source="t.yaml",
    ).rules[0]
    [status] = run_rules({"disbursements": fundaudit.load("disbursements", AID)}, [rule]).statuses
    assert (status.status, status.skip_fields["missing"]) == ("skipped", ("handler", "approver"))


def test_flag_values_are_reported_and_offered_to_the_message() -> None:
    rule = FLAG_OPTIONAL.replace("{wait: {days_between: [approval_date, payment_date]}}",
                                 "{wait: {days_between: [approval_date, payment_date], calendar: working}, "
                                 "due: {add_days: [payment_date, 30]}}").replace("{wait} 天'", "{wait} 天 {due}'")
    found = run(rule, {"disbursements": AID})
    assert found["message"].tolist() == ["现金发放，0 天 2016-02-04"]
    assert {k: found["values"].tolist()[0][k] for k in ("wait", "due")} == {"wait": 0, "due": "2016-02-04"}


@pytest.mark.parametrize(
    ("compute", "expected"),
    [
        ("{amount: {value: 1}}",
         "t.yaml:8:16 rules[0].check.values.amount: invalid value amount (expected a new name)"),
        ("{payment_date: {value: 1}}",
         "t.yaml:8:16 rules[0].check.values.payment_date: invalid value payment_date (expected a new name)"),
        ("{wait: nosuch}", "t.yaml:8:16 rules[0].check.values.wait: disbursements has no column nosuch"),
        ("{wait: {add: [payment_date, 1]}}",
         "t.yaml:8:29 rules[0].check.values.wait.add[0]: add works on numbers only; payment_date is date"),
        ("[wait]", "t.yaml:8:7 rules[0].check.values: wrong type: expected a mapping {name: operand}, got ['wait']"),
    ],
)
def test_flag_values_are_validated_on_load(compute: str, expected: str) -> None:
    rule = FLAG_OPTIONAL.replace("{wait: {days_between: [approval_date, payment_date]}}", compute)
    assert problems(rule.replace("，{wait} 天", "").replace(", {wait} days", "")) == [expected]


def test_message_may_not_name_an_undeclared_computed_value() -> None:
    assert problems(FLAG_OPTIONAL.replace("{wait} days", "{wat} days")) == [
        "t.yaml:14:41 rules[0].message.en: message placeholder {wat} is neither a column of disbursements nor a "
        "field this rule provides (→ wait?) "
        "(fields: amount, file, problem, problem_en, row, sheet, wait)"
    ]


@pytest.mark.parametrize(("calendar", "zh", "en"), [
    ("natural", "公示不足 5 天", "disclosed for less than 5 days"),
    ("working", "公示不足 5 个工作日", "disclosed for less than 5 working days"),
])
def test_a_reason_chosen_by_a_parameter_value(calendar: str, zh: str, en: str) -> None:
    """DISB-DISCLOSURE's two too-short reasons are guarded by ``{value: $calendar}``: one text per calendar."""
    from tests.checks.harness import payment
    from tests.checks.harness import run as run_shipped

    rows_ = [payment(disclosure_start="2016-04-08", disclosure_end="2016-04-10", payment_date="2016-04-14")]
    [f] = run_shipped("DISB-DISCLOSURE", {"disbursements": rows_}, params={"calendar": calendar}).findings.to_dict(
        "records")
    assert (f["values"]["problem"], f["values"]["problem_en"], f["values"]["days"]) == (
        zh, en, 3 if calendar == "natural" else 1)


# --- migA: conditions on optional columns ({optional: …, absent: …}), flag's `unless`, empty lists -----

OPTIONAL = """    ledger: disbursements
    severity: error
    params: {exempt: []}
    check:
      type: flag
      unless: {optional: {column: program, in: $exempt}}
      reasons:
        - when: {column: payment_method, in: [现金]}
          problem: cash_payment.cash
        - when: {optional: {column: bank_account, is_null: true}, absent: ABSENT}
          problem: cash_payment.no_account
    message: {zh: "{recipient_name}：{problem}", en: "{recipient_name}: {problem_en}"}
"""
NO = "非银行方式发放且没有银行账号"  # cash_payment.no_account
PAYS = {"recipient_name": ["甲", "乙", "丙"], "payment_method": ["现金", "打卡", "打卡"],
        "program": ["互助保障", "生活救助", "生活救助"], "bank_account": ["", "", "6222020000000009"]}


@pytest.mark.parametrize(
    ("absent", "drop", "exempt", "messages"),
    [
        ("true", [], [], [f"甲：现金发放；{NO}", f"乙：{NO}"]),
        ("true", ["bank_account", "program"], [], [f"甲：现金发放；{NO}", f"乙：{NO}", f"丙：{NO}"]),
        ("false", ["bank_account"], [], ["甲：现金发放"]),
        ("true", [], ["互助保障"], [f"乙：{NO}"]),
        ("true", ["program"], ["互助保障"], [f"甲：现金发放；{NO}", f"乙：{NO}"]),
    ],
)
def test_optional_conditions_read_an_absent_column_as_told_and_never_skip(
    absent: str, drop: list[str], exempt: list[str], messages: list[str]
) -> None:
    """A column the input lacks makes an ``{optional: …}`` part ``absent`` (default false) instead of
    skipping the rule; ``unless`` exempts rows, and an empty ``in`` list holds for no row."""
    rule = OPTIONAL.replace("ABSENT", absent).replace("exempt: []", f"exempt: {exempt}".replace("'", ""))
    pays = pd.DataFrame({k: v for k, v in PAYS.items() if k not in drop})
    assert run(rule, {"disbursements": pays})["message"].tolist() == messages


def test_optional_condition_is_validated_on_load() -> None:
    assert problems(OPTIONAL.replace("ABSENT", "maybe")) == [
        't.yaml:13:67 rules[0].check.reasons[1].when.absent: wrong type: expected true or false, got "maybe"'
    ]


WHERE_PARAM = """    ledger: disbursements
    severity: error
    params: {progs: [互助保障], limit: 10}
    where: {all: [{column: program, in: $progs}, {column: amount, gt: $limit}]}
    check: {type: flag, reasons: [{when: {column: payment_method, in: [现金]}, problem: cash_payment.cash}]}
    message: {zh: "{recipient_name}", en: "{recipient_name}"}
"""


def test_where_names_the_rules_parameters_and_they_are_checked_where_written() -> None:
    pays = pd.DataFrame({**PAYS, "amount": ["100", "100", "5"]})
    pays["payment_method"] = ["现金", "现金", "现金"]
    assert run(WHERE_PARAM, {"disbursements": pays})["message"].tolist() == ["甲"]
    wider = WHERE_PARAM.replace("progs: [互助保障], limit: 10", "progs: [互助保障, 生活救助], limit: 1")
    assert run(wider, {"disbursements": pays})["message"].tolist() == ["甲", "乙", "丙"]
    assert problems(WHERE_PARAM.replace("limit: 10", 'limit: "abc"')) == [
        't.yaml:6:29 rules[0].params.limit: value "abc" cannot be compared with amount (money) '
        '(expected an amount in yuan (1500 or "1,500.00"))'
    ]
    assert problems(WHERE_PARAM.replace("$limit", "$limt")) == [
        "t.yaml:7:67 rules[0].where.all[1].gt: refers to undefined parameter $limt (→ limit?)"
    ]


SURNAME = """    ledger: disbursements
    severity: warning
    params: {family: false}
    check:
      type: flag
      report: [account_holder, bank_account]
      reasons:
        - when:
            all:
              - {compare: {left: account_holder__key, op: ne, right: recipient_name__key}}
              - any:
                  - {not: {value: $family}}
                  - {compare: {left: {prefix: [account_holder__key, 1]}, op: ne, right: {prefix: [recipient_name, 1]}}}
          problem: account_holder.differs
    message: {zh: "{account_holder}/{bank_account}", en: "{problem_en}"}
"""
HOLDERS = {"recipient_name": ["徐华", "徐华", "汪建英"], "account_holder": ["徐明", "汪辉宏", "汪　建英"]}


def test_prefix_operand_and_true_false_parameter_conditions() -> None:
    """``{prefix: [text, n]}`` is a text's first n characters; ``{value: $flag}`` a true/false parameter as a
    condition; a ``report``ed column the input lacks reads as not provided (the rule still runs)."""
    pays = pd.DataFrame(HOLDERS)
    assert run(SURNAME, {"disbursements": pays})["message"].tolist() == ["徐明/（未提供）", "汪辉宏/（未提供）"]
    assert run(SURNAME.replace("family: false", "family: true"), {"disbursements": pays})["message"].tolist() == [
        "汪辉宏/（未提供）"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("family: false", "family: 1"),
        ("[account_holder__key, 1]", "[account_holder__key, 0]"),
        ("[recipient_name, 1]", "[amount, 1]"),
    ],
)
def test_prefix_and_value_conditions_are_validated(change: str, expected: str) -> None:
    found = problems(SURNAME.replace(*((change, expected))))
    assert [p.split(": ", 1)[0].split(" ", 1)[1] for p in found] == [
        {
            "family: 1": "rules[0].params.family",  # located where the value is written
            "[account_holder__key, 0]": "rules[0].check.reasons[0].when.all[1].any[1].compare.left.prefix[1]",
            "[amount, 1]": "rules[0].check.reasons[0].when.all[1].any[1].compare.right.prefix[0]",
        }[expected]
    ]


def test_a_missing_derived_fact_is_reported_as_its_column() -> None:
    rule = parse_pack(f"pack: t\nrules:\n  - id: T-RULE\n{SURNAME}", source="t.yaml").rules[0]
    pays = fundaudit.load("disbursements", pd.DataFrame({"recipient_name": ["徐华"]}))
    [status] = run_rules({"disbursements": pays}, [rule]).statuses
    assert (status.status, status.skip_fields["missing"]) == ("skipped", ("account_holder",))


# --- migD: the age operand, compare's `between`, a flag rule's parameter `limits` ------------------------
AGES = """    ledger: disbursements
    severity: error
    params: {span: [16, 100]}
    check:
      type: flag
      values: {years: {age: [recipient_id_no__birth, payment_date]}}
      limits: {span: {items: int, low: 0, high: 150, length: 2, ascending: true}}
      reasons:
        - when: {not: {compare: {left: {age: [recipient_id_no__birth, payment_date]}, op: between, right: $span}}}
          problem: {zh: "{years} 岁", en: "{years}"}
    message: {zh: "{problem}", en: "{problem_en}"}
"""


def test_age_is_in_full_years_and_between_includes_both_ends() -> None:
    """Aged 15 the day before the 16th birthday, 16 on it, 100 on the 100th, 101 after: ``between`` keeps
    16 and 100 (both ends), a person is a year older on the birthday, 29 February counts from 1 March."""
    pays = pd.DataFrame(
        {
            "recipient_id_no": [rid("341003", "20000615", "012")] * 2
            + [rid("341003", "19160105", "013"), rid("341003", "19150105", "014"), rid("341003", "19960229", "016")],
            "payment_date": ["2016-06-14", "2016-06-15", "2016-01-05", "2016-01-05", "2012-02-28"],
        }
    )
    found = run(AGES, {"disbursements": pays}, period=None)
    assert found["message"].tolist() == ["15 岁", "101 岁", "15 岁"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("[16, 100]", "[100, 16]", "t.yaml:6:14 rules[0].params.span: invalid value [100, 16] "
         "(expected [low, high], low ≤ high)"),
        ("[16, 100]", "[16, 900]", "t.yaml:6:25 rules[0].params.span[1]: value 900 is out of range "
         "(expected 0 to 150)"),
        ("[16, 100]", "[16]", "t.yaml:6:14 rules[0].params.span: wrong type: expected a list of 2 values, got [16]"),
        ("ascending: true", "ascending: 1", "t.yaml:10:65 rules[0].check.limits.span.ascending: wrong type: "
         "expected true or false, got 1"),
    ],
)
def test_limits_bound_a_flag_rules_parameters(old: str, new: str, expected: str) -> None:
    """A parameter out of its ``limits`` is one problem, at the parameter (not at every ``$span``)."""
    assert problems(AGES.replace(old, new, 1)) == [expected]


def test_between_needs_a_low_and_a_high() -> None:
    found = problems(AGES.replace("right: $span", "right: [16]"))
    assert [p.split(": ", 1)[0].split(" ", 1)[1] for p in found] == [
        "rules[0].check.reasons[0].when.not.compare.right"
    ]


# --- lookup: {any_match|no_match: cond} over the matched rows, report_when (issue 14, DISB-AFTER-EXIT) ----

AFTER_EXIT = """    ledger: disbursements
    severity: error
    title: {zh: 脱困后发放, en: Paid after exit}
    check:
      type: lookup
      table: register
      on: {recipient_id_no: id_no}
      report: {closed: exit_date}
      pick: latest
      by: exit_date
      report_when: {compare: {left: match.exit_date, op: lt, right: payment_date}}
      reasons:
        - when:
            all:
              - no_match:
                  all:
                    - {compare: {left: match.filed_date, op: le, right: payment_date}}
                    - any:
                        - {column: match.exit_date, is_null: true}
                        - {compare: {left: payment_date, op: le, right: match.exit_date}}
              - any_match: {compare: {left: match.exit_date, op: lt, right: payment_date}}
          problem: {zh: 已关闭, en: closed}
    message: {zh: "{recipient_name} {closed}", en: "{recipient_name} {closed}"}
"""


def _closed_files_and_four_payments() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Register files of A (two closed, one filed after the payment), B (one closed, one in force) and C (in force
    at the payment), and a payment on 2016-05-01 to each of A, B, C and D (D has no file)."""
    reg = frame(
        [
            {"id_no": A, "filed_date": "2014-01-01", "exit_date": "2015-06-30"},
            {"id_no": A, "filed_date": "2015-01-01", "exit_date": "2016-02-29"},
            {"id_no": A, "filed_date": "2016-06-01"},  # filed after the payment: neither in force nor closed
            {"id_no": B, "filed_date": "2014-01-01", "exit_date": "2015-06-30"},
            {"id_no": B, "filed_date": "2016-01-01"},
            {"id_no": C, "filed_date": "2014-01-01", "exit_date": "2016-12-31"},
        ]
    )
    pays = frame(
        [
            {"recipient_name": n, "recipient_id_no": i, "payment_date": "2016-05-01"}
            for n, i in (("甲", A), ("乙", B), ("丙", C), ("丁", D))
        ]
    )
    return reg, pays


def test_any_match_and_no_match_read_each_matched_row_and_report_when_chooses_the_reported_one() -> None:
    reg, pays = _closed_files_and_four_payments()
    found = run(AFTER_EXIT, {"disbursements": pays, "register": reg})
    # 甲: both files closed, the latest (2016-02-29) reported; 乙: a file in force; 丙: in force; 丁: no file
    assert found["message"].tolist() == ["甲 2016-02-29"]


def test_any_match_is_validated_inside_and_only_in_a_lookup() -> None:
    tail = ", op: lt, right: payment_date}}\n          problem"
    bad = AFTER_EXIT.replace(f"match.exit_date{tail}", f"match.exit_dat{tail}")
    assert [p.split(": ", 1)[0].split(" ", 1)[1] for p in problems(bad)] == [
        "rules[0].check.reasons[0].when.all[1].any_match.compare.left"
    ]
    flag_rule = """    ledger: disbursements
    severity: error
    title: {zh: t, en: t}
    check:
      type: flag
      reasons:
        - when: {any_match: {column: payment_date, is_null: true}}
          problem: {zh: t, en: t}
    message: {zh: "{problem}", en: "{problem_en}"}
"""
    assert [p.split(": ", 1)[0].split(" ", 1)[1] for p in problems(flag_rule)] == [
        "rules[0].check.reasons[0].when.any_match"
    ]


MAPS_TO = """    ledger: disbursements
    severity: warning
    title: {zh: 类别, en: category}
    params:
      category_map: {相对困难: [相对困难, 深度困难]}
    check:
      type: flag
      reasons:
        - when: {not: {maps_to: {from: aid_category, to: program, map: $category_map}}}
          problem: {zh: 不符, en: differs}
    message: {zh: "{recipient_name}", en: "{recipient_name}"}
"""


def test_maps_to_accepts_the_mapped_values_and_else_the_same_value() -> None:
    pays = frame(
        [
            {"recipient_name": n, "aid_category": c, "program": p}
            for n, c, p in (
                ("甲", "相对困难", "深度困难"),  # mapped: accepted
                ("乙", "相对困难", "意外致困"),  # mapped, not among the accepted
                ("丙", "意外致困", "意外致困"),  # no key: the same value
                ("丁", "意外致困", "深度困难"),  # no key, another value
            )
        ]
    )
    assert run(MAPS_TO, {"disbursements": pays})["message"].tolist() == ["乙", "丁"]
    unmapped = MAPS_TO.replace("{相对困难: [相对困难, 深度困难]}", "{}")
    assert run(unmapped, {"disbursements": pays})["message"].tolist() == ["甲", "乙", "丁"]
    bad = MAPS_TO.replace("to: program", "to: no_such_col")
    assert [p.split(": ", 1)[0].split(" ", 1)[1] for p in problems(bad)] == [
        "rules[0].check.reasons[0].when.not.maps_to.to"
    ]


# --- lookup `in_period`, `fallback_when: no_match`, `{as_text: …}` (XL-MISSING-EMPLOYER) ---------------------

PAID_PACK = """pack: t
rules:
  - id: T-PAID
    ledger: employers
    severity: warning
    title: {zh: t, en: t}
    check:
      type: lookup
      table: dues
      on: {taxpayer_id: taxpayer_id}
      fallback_on: {name: taxpayer_name}
      in_period: true
      fallback_when: no_match
    message: {zh: "{name}", en: "{name}"}
"""
ROSTER = [
    {"taxpayer_id": "E1", "name": "甲公司", "headcount": "3"},
    {"taxpayer_id": "E2", "name": "乙公司", "headcount": "3"},
]
PAID_ROWS = [  # 甲's ID paid only in 2015; in 2016 a row under its name (another ID) pays
    {"taxpayer_id": "E1", "taxpayer_name": "甲公司", "period_start": "2015-01-01", "period_end": "2015-12-31"},
    {"taxpayer_id": "X9", "taxpayer_name": "甲公司", "period_start": "2016-01-01", "period_end": "2016-12-31"},
]


@pytest.mark.parametrize(
    ("change", "flagged"),
    [
        (None, ["乙公司"]),  # the ID finds no in-period row, so the name is tried, and finds one
        ("      fallback_when: no_match\n", ["乙公司", "甲公司"]),  # default no_row: the 2015 row stops the fallback
        ("      in_period: true\n", ["乙公司"]),  # without in_period, the 2015 row matches
    ],
)
def test_lookup_in_period_and_fallback_when(change: str | None, flagged: list[str]) -> None:
    text = PAID_PACK if change is None else PAID_PACK.replace(change, "")
    out = run_yaml(text, {"employers": ROSTER, "dues": PAID_ROWS})
    assert sorted(out.findings["message"].tolist()) == flagged


def test_as_text_operand_and_its_validation() -> None:
    text = PAID_PACK.replace(
        "    check:\n",
        "    where: {compare: {left: {prefix: [period, 4]}, op: eq, right: {as_text: {year: {period: end}}}}}\n"
        "    check:\n",
    )
    roster = [{**ROSTER[0], "period": "2016年"}, {**ROSTER[1], "period": "2015年"}]
    assert run_yaml(text, {"employers": roster, "dues": PAID_ROWS[:1]}).findings["message"].tolist() == ["甲公司"]
    bad = text.replace("{as_text: {year: {period: end}}}", "{as_text: no_such_col}")
    with pytest.raises(RuleError) as exc:
        parse_pack(bad, source="t.yaml")
    assert [p.render("en").split(": ", 1)[0].split(" ", 1)[1] for p in exc.value.problems] == [
        "rules[0].where.compare.right.as_text"
    ]


# --- lookup: a finding cites the rows of `table` it matched, with their role (issue 15) ----------------------
# REGISTER rows: 2 F1 (A), 3 F1b (A), 4 F2 (B), 5 F3 (no ID), 6 F4 (C), 7 F5 (EXCEL);
# PAYMENTS rows: 2 甲 (A), 3 乙 (B), 4 丙 (D, F3), 5 丁 (E, F4), 6 戊 (EXCEL), 7 己 (no ID, F1).


def _rule_sql(rule_yaml: str) -> str:
    rule = parse_pack(f"pack: t\nrules:\n  - id: T-RULE\n{rule_yaml}", source="t.yaml").rules[0]
    loaded = {k: fundaudit.load(k, v) for k, v in {"disbursements": PAYMENTS, "register": REGISTER}.items()}
    [status] = run_rules(loaded, [rule], period=parse_period("2016")).statuses
    return str(status.sql)


def test_lookup_findings_cite_the_fallback_match_and_nothing_without_a_match() -> None:
    found = run(LOOKUP, {"disbursements": PAYMENTS, "register": REGISTER})
    assert rows(found) == [[4], [5], [6], [7]]
    # 丙 matched F3 on the file number, 己 F1; 丁 and 戊 matched nothing: no_match findings cite nothing
    assert cited(found) == [[("register_file", "register", 5)], [], [], [("register_file", "register", 2)]]


MATCHED = LOOKUP.replace(
    """        - when: {matched: false}
          problem: {zh: 无档案, en: no file}
        - when: {compare: {left: match.filed_date, op: gt, right: payment_date}}""",
    "        - when: {matched: true}",
)


def test_lookup_findings_on_a_matched_reason_cite_every_matched_row() -> None:
    assert MATCHED != LOOKUP
    found = run(MATCHED, {"disbursements": PAYMENTS, "register": REGISTER})
    assert rows(found) == [[2], [3], [4], [7]]
    assert cited(found) == [
        [("register_file", "register", 2), ("register_file", "register", 3)],  # 甲: F1 and F1b
        [("register_file", "register", 4)],
        [("register_file", "register", 5)],  # fallback on the file number
        [("register_file", "register", 2)],
    ]


def test_lookup_not_exists_without_report_cites_every_matched_row() -> None:
    rule = (
        "    ledger: disbursements\n    severity: error\n"
        "    check: {type: lookup, table: register, on: {recipient_id_no: id_no}, mode: not_exists}\n"
        "    message: x\n"
    )
    found = run(rule, {"disbursements": PAYMENTS, "register": REGISTER})
    assert rows(found) == [[2], [3], [6]]  # the plain lookup compares IDs as they are (戊's damaged one too)
    assert cited(found) == [
        [("register_file", "register", 2), ("register_file", "register", 3)],
        [("register_file", "register", 4)],
        [("register_file", "register", 7)],
    ]


def test_lookup_report_when_chooses_the_cited_rows_else_every_match_is_cited() -> None:
    reg, pays = _closed_files_and_four_payments()
    ledgers = {"disbursements": pays, "register": reg}
    latest = run(AFTER_EXIT, ledgers)  # pick latest by exit_date among the files closed before the payment
    assert cited(latest) == [[("register_file", "register", 3)]]
    least = AFTER_EXIT.replace("      pick: latest\n      by: exit_date\n", "").replace(
        """        - when:
            all:
              - no_match:""",
        """        - when: {matched: true}
          problem: {zh: 有档, en: filed}
        - when:
            all:
              - no_match:""",
    )
    assert least != AFTER_EXIT
    found = run(least, ledgers)
    assert found["message"].tolist() == ["甲 2015-06-30", "乙 2015-06-30", "丙 —"]
    assert cited(found) == [
        [("register_file", "register", 2), ("register_file", "register", 3)],  # the two closed before 05-01
        [("register_file", "register", 5)],  # the closed one, not the one in force
        [("register_file", "register", 7)],  # report_when chose none: every match
    ]


def test_lookup_that_only_fires_without_a_match_keeps_the_semi_join_and_cites_nothing() -> None:
    rule = (
        "    ledger: disbursements\n    severity: error\n"
        "    check: {type: lookup, table: register, on: {recipient_id_no: id_no}, fallback_on: {file_no: file_no}}\n"
        "    message: x\n"
    )
    found = run(rule, {"disbursements": PAYMENTS, "register": REGISTER})
    assert rows(found) == [[5], [6]]
    assert cited(found) == [[], []]
    assert "_match_rid" not in _rule_sql(rule) and "_ref:" not in _rule_sql(rule)
    assert "_match_rid" in _rule_sql(MATCHED)


def test_lookup_cite_names_the_role_of_the_cited_rows() -> None:
    as_staff = MATCHED.replace("      fallback_on:", "      cite: staff\n      fallback_on:")
    assert as_staff != MATCHED
    found = run(as_staff, {"disbursements": PAYMENTS, "register": REGISTER})
    assert cited(found)[0] == [("staff", "register", 2), ("staff", "register", 3)]
    assert problems(as_staff.replace("cite: staff", "cite: boss")) == [
        "t.yaml:10:7 rules[0].check.cite: invalid value boss (expected dues_record, payment, register_file, union, "
        "employer, staff, officer, ratio, cap, dibao, min_wage, budget_line, declared_total)"
    ]
