"""Parameter *values* are validated on load, not at run time: a value that cannot be read as the type of
the column it meets, a pattern RE2 cannot compile, a negative cap, min above max, an unknown message
placeholder or lookup column, out-of-range or non-finite parameters (pack, override, --param,
``params=``). Each is one problem naming file, line, column and key path (or ``--param RULE.KEY``), and
exit code 2 from both ``fundaudit rules check`` and ``fundaudit audit``; nothing reaches the engine to
fail there as ``status: error``."""

from __future__ import annotations

from pathlib import Path

import pytest

import fundaudit
from fundaudit import RuleError
from fundaudit.cli import main
from fundaudit.rules.located import Unlocated
from fundaudit.rules.model import RuleSet, check_arg, parse_pack
from fundaudit.rules.shipped import shipped_dir, shipped_packs
from fundaudit.rules.signatures import CHECK_TYPES

BASE = """\
pack: values-test
version: "1"
rules:
  - id: T-BIG
    ledger: disbursements
    severity: warning
    params: {limit: 500}
    check: {type: range, column: amount, max: $limit}
    message: {zh: "金额 {amount} 超过 {limit}", en: "amount {amount} above {limit}"}
"""
CHECK = "    check: {type: range, column: amount, max: $limit}\n"
MONEY = 'an amount in yuan (1500 or "1,500.00")'
RE2 = "invalid regular expression {} (RE2 syntax: no look-arounds or back-references): {}"

# (pack edit, "line:col key.path: message" of the one problem)
CASES = {
    "param_not_money": (
        ("params: {limit: 500}", 'params: {limit: "five hundred"}'),
        f'7:14 rules[0].params.limit: value "five hundred" cannot be compared with amount (money) (expected {MONEY})',
    ),
    "literal_not_money": (
        ("max: $limit", 'max: "abc"'),
        f'8:42 rules[0].check.max: value "abc" cannot be compared with amount (money) (expected {MONEY})',
    ),
    "where_not_money": (
        (CHECK, CHECK + '    where: {column: amount, gt: "abc"}\n'),
        f'9:29 rules[0].where.gt: value "abc" cannot be compared with amount (money) (expected {MONEY})',
    ),
    "compare_date_with_money": (
        (CHECK, "    check: {type: compare, left: payment_date, op: le, right: amount}\n"),
        "8:56 rules[0].check.right: cannot compare payment_date (date) with amount (money): their types differ",
    ),
    "regex_unbalanced": (
        (CHECK, '    check: {type: regex, column: recipient_name, pattern: "(("}\n'),
        "8:50 rules[0].check.pattern: " + RE2.format('"(("', "missing ): (("),
    ),
    "regex_look_ahead": (
        (CHECK, '    check: {type: regex, column: recipient_name, pattern: "^(?!张)"}\n'),
        "8:50 rules[0].check.pattern: " + RE2.format('"^(?!张)"', "invalid perl operator: (?!"),
    ),
    "regex_back_reference": (
        (CHECK, '    check: {type: regex, column: recipient_name, pattern: "(.)\\\\1"}\n'),
        "8:50 rules[0].check.pattern: " + RE2.format('"(.)\\1"', "invalid escape sequence: \\1"),
    ),
    "cap_negative": (
        (CHECK, "    check: {type: group_cap, group_by: [recipient_id_no], measure: sum, column: amount, cap: -5}\n"),
        "8:89 rules[0].check.cap: value -5 is out of range (expected ≥ 0)",
    ),
    "min_above_max": (
        ("max: $limit", "min: 10, max: 5"),
        "8:51 rules[0].check.max: min (10) is greater than max (5)",
    ),
    "unknown_placeholder": (
        ('en: "amount {amount} above {limit}"', 'en: "amount {amount} above {nosuchfield}"'),
        "9:45 rules[0].message.en: message placeholder {nosuchfield} is neither a column of disbursements nor a "
        "field this rule provides (fields: amount, file, inclusive, limit, min, row, sheet)",
    ),
    "lookup_unknown_column": (
        (CHECK, "    check: {type: lookup, table: register, on: {recipient_id_no: no_such_reg_col}}\n"),
        "8:49 rules[0].check.on.recipient_id_no: register has no column no_such_reg_col",
    ),
    "param_not_finite": (
        ("params: {limit: 500}", "params: {limit: 1e400}"),
        "7:14 rules[0].params.limit: invalid value inf (expected a finite number)",
    ),
}


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    src = tmp_path / "aid.csv"
    src.write_text("姓名,金额,发放方式,发放日期\n甲,100,现金,2016-03-01\n乙,800,打卡,2016-03-02\n", encoding="utf-8")
    return src


def _only_problem(text: str, source: str = "c.yaml") -> str:
    with pytest.raises(RuleError) as exc:
        parse_pack(text, source=source)
    problems = [p.render("en") for p in exc.value.problems]
    assert len(problems) == 1, problems
    return problems[0]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_value_is_one_located_problem(case: str) -> None:
    edit, expected = CASES[case]
    text = BASE.replace(*edit)
    assert text != BASE
    assert _only_problem(text) == f"c.yaml:{expected}"


@pytest.mark.parametrize("case", list(CASES))
def test_bad_value_exits_2_from_rules_check_and_audit(
    case: str, tmp_path: Path, ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit, expected = CASES[case]
    pack = tmp_path / "c.yaml"
    pack.write_text(BASE.replace(*edit), encoding="utf-8")
    assert main(["rules", "check", str(pack), "--lang", "en"]) == 2
    out, err = capsys.readouterr()
    assert f"{pack}:{expected}" in err.splitlines()
    assert "valid" not in out and "Traceback" not in err
    args = ["audit", "--ledger", f"disbursements={ledger}", "--rules", str(pack), "--lang", "en"]
    assert main([*args, "--format", "json", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{pack}:{expected}" in err.splitlines() and "Traceback" not in err


def test_the_fixed_pack_is_valid_and_runs(tmp_path: Path, ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "c.yaml"
    pack.write_text(BASE, encoding="utf-8")
    assert main(["rules", "check", str(pack), "--lang", "en"]) == 0
    assert f"{pack}: valid (1 rules)" in capsys.readouterr().out
    result = fundaudit.audit({"disbursements": ledger}, rules=[pack])
    [status] = [r for r in result.rules if r["id"] == "T-BIG"]
    assert (status["status"], status["findings"]) == ("ran", 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{column: payment_date, between: [2016-12-01, 2016-01-01]}",
            '9:35 rules[0].where.between: low ("2016-12-01") is greater than high ("2016-01-01")',
        ),
        (
            "{column: payment_date, ge: 2016-13-01}",
            '9:35 rules[0].where.ge: value "2016-13-01" cannot be compared with payment_date (date) '
            '(expected a date ("2016-03-01"))',
        ),
        (
            "{column: amount, in: [100, abc]}",
            '9:39 rules[0].where.in[1]: value "abc" cannot be compared with amount (money) '
            '(expected an amount in yuan (1500 or "1,500.00"))',
        ),
        (
            '{column: recipient_name, matches: "a++"}',
            '9:37 rules[0].where.matches: invalid regular expression "a++" (RE2 syntax: no look-arounds or '
            "back-references): bad repetition operator: ++",
        ),
        (
            "{compare: {left: {add: [payment_date, 1]}, op: lt, right: amount}}",
            "9:36 rules[0].where.compare.left.add[0]: add works on numbers only; payment_date is date",
        ),
        (
            "{compare: {left: payment_date, op: lt, right: {value: soon}}}",
            '9:59 rules[0].where.compare.right.value: value "soon" cannot be compared with date '
            '(expected a date ("2016-03-01"))',
        ),
        (
            "{compare: {left: amount, op: lt, right: 5, tolerance: -1}}",
            "9:55 rules[0].where.compare.tolerance: value -1 is out of range (expected ≥ 0)",
        ),
    ],
)
def test_condition_values_are_typed_by_their_column(text: str, expected: str) -> None:
    problem = _only_problem(BASE.replace(CHECK, CHECK + f"    where: {text}\n"))
    assert problem == f"c.yaml:{expected}"


def test_amount_must_be_money_and_lookup_keys_comparable() -> None:
    assert _only_problem(BASE + "    amount: payment_date\n") == (
        "c.yaml:10:5 rules[0].amount: wrong type: expected money (an amount column or a sum of them), got date"
    )
    lookup = "    check: {type: lookup, table: register, on: {payment_date: id_no}, valid_from: status}\n"
    with pytest.raises(RuleError) as exc:
        parse_pack(BASE.replace(CHECK, lookup), source="c.yaml")
    assert [p.render("en") for p in exc.value.problems] == [
        "c.yaml:8:49 rules[0].check.on.payment_date: cannot compare disbursements.payment_date (date) with "
        "register.id_no (resident_id): their types differ",
        "c.yaml:8:71 rules[0].check.valid_from: wrong type: expected a column of type date, got status (enum)",
    ]


def test_a_parameter_used_twice_is_one_problem() -> None:
    text = BASE.replace("max: $limit", "min: $limit, max: $limit").replace("limit: 500", "limit: abc")
    assert _only_problem(text) == (
        'c.yaml:7:14 rules[0].params.limit: value "abc" cannot be compared with amount (money) '
        '(expected an amount in yuan (1500 or "1,500.00"))'
    )


def test_nested_parameter_problems_point_at_the_parameter() -> None:
    text = BASE.replace(
        CHECK,
        "    check:\n      type: conditional\n      if: {column: amount, gt: 0}\n"
        "      then: {compare: {left: amount, op: le, right: 1000, tolerance: $limit}}\n",
    ).replace("limit: 500", "limit: -1")
    assert _only_problem(text) == "c.yaml:7:14 rules[0].params.limit: value -1 is out of range (expected ≥ 0)"


# --- part 2: declared constraints on every override: --param, params=, profile, user pack --------

PARAM_CASES = [
    ("DISB-SPLIT.window_days=-5", "--param DISB-SPLIT.window_days: value -5 is out of range (expected ≥ 0)"),
    ("DUES-LATE.deadline_day=32", "--param DUES-LATE.deadline_day: value 32 is out of range (expected 1 to 31)"),
    ("DUES-LATE.grace_days=-1", "--param DUES-LATE.grace_days: value -1 is out of range (expected ≥ 0)"),
    ("DISB-YEAR-END.share=1.5", "--param DISB-YEAR-END.share: value 1.5 is out of range (expected 0 to 1)"),
    (
        "DUES-BASE-DROP.drop_ratio=-0.1",
        "--param DUES-BASE-DROP.drop_ratio: value -0.1 is out of range (expected 0 to 1)",
    ),
    (
        "DISB-ID.age_range=[100,16]",
        "--param DISB-ID.age_range: invalid value [100, 16] (expected [low, high], low ≤ high)",
    ),
    ("DISB-ID.age_range=[16]", "--param DISB-ID.age_range: wrong type: expected a list of 2 values, got [16]"),
    ("REG-ID.age_range=[16,900]", "--param REG-ID.age_range[1]: value 900 is out of range (expected 0 to 150)"),
    (
        "DISB-SPLIT.threshold_default=1e400",
        "--param DISB-SPLIT.threshold_default: invalid value inf (expected a finite number)",
    ),
    ("DISB-SPLIT.window_days=1.5", "--param DISB-SPLIT.window_days: wrong type: expected a whole number, got 1.5"),
    ("DUES-DUP.key=[taxpayer_id,nosuch]", "--param DUES-DUP.key[1]: dues has no column nosuch"),
    (
        "XL-STAFF-RELATIVE.match_on=[idno]",
        '--param XL-STAFF-RELATIVE.match_on[0]: invalid value "idno" (expected id_no, bank_account, phone, address)',
    ),
    (
        'DISB-DUP.windows={送温暖: "13-01..02-29"}',
        '--param DISB-DUP.windows.送温暖: invalid value "13-01..02-29" (expected same_day | month | year | '
        "MM-DD..MM-DD)",
    ),
    # DUES-PERIOD.allowed_lengths_months=[0, 3] is no longer refused: DUES-PERIOD is a flag in YAML and its
    # parameter a list compared with `in` (a length of 0 matches no period); a rule's own params carry no bounds.
    (
        "REG-ELIGIBILITY.multipliers={深度困难: -1}",
        "--param REG-ELIGIBILITY.multipliers.深度困难: value -1 is out of range (expected ≥ 0)",
    ),
]


@pytest.mark.parametrize(("param", "expected"), PARAM_CASES)
def test_param_values_are_checked_against_declared_constraints(
    param: str, expected: str, tmp_path: Path, ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["audit", "--ledger", f"disbursements={ledger}", "--param", param, "--lang", "en"]
    assert main([*args, "--format", "json", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err.splitlines(), err
    assert not (tmp_path / "o" / "findings.json").exists()


def test_api_params_are_checked_like_param(ledger: Path) -> None:
    with pytest.raises(RuleError) as exc:
        fundaudit.audit(
            {"disbursements": ledger}, params={"DISB-SPLIT": {"window_days": -5}, "DISB-ID": {"age_range": [50, 20]}}
        )
    assert [p.render("en") for p in exc.value.problems] == [
        "--param DISB-SPLIT.window_days: value -5 is out of range (expected ≥ 0)",
        "--param DISB-ID.age_range: invalid value [50, 20] (expected [low, high], low ≤ high)",
    ]


def test_good_params_still_apply(ledger: Path) -> None:
    result = fundaudit.audit(
        {"disbursements": ledger},
        params={
            "DISB-SPLIT": {"window_days": 0},
            "DISB-ID": {"age_range": [18, 18]},
            "DUES-LATE": {"deadline_day": 31},
        },
    )
    assert result.run["params"]["DISB-SPLIT"]["window_days"] == 0


OVERRIDE = """\
pack: c4
override:
  DISB-SPLIT:
    params:
      window_days: -5
  DISB-YEAR-END: {params: {share: 1.5}, message: {zh: "年末 {nosuch}"}}
  DISB-CASH: {where: {column: amount, gt: "abc"}}
  DUES-CALC: {params: {tol_yuan: -1}}
  DISB-NOPE: {severity: info}
disable: [DUES-GAP, DUES-GAPP]
"""
OVERRIDE_PROBLEMS = [
    "c4.yaml:5:7 override.DISB-SPLIT.params.window_days: value -5 is out of range (expected ≥ 0)",
    "c4.yaml:6:28 override.DISB-YEAR-END.params.share: value 1.5 is out of range (expected 0 to 1)",
    "c4.yaml:6:51 override.DISB-YEAR-END.message.zh: message placeholder {nosuch} is neither a column of "
    "disbursements nor a field this rule provides (fields: amount, days, file, row, share, share_pct, sheet, "
    "year_end, year_total)",
    f'c4.yaml:7:39 override.DISB-CASH.where.gt: value "abc" cannot be compared with amount (money) (expected {MONEY})',
    "c4.yaml:8:24 override.DUES-CALC.params.tol_yuan: value -1 is out of range (expected ≥ 0)",
    "c4.yaml:9:3 override.DISB-NOPE: unknown rule id DISB-NOPE (→ DISB-DUP?)",
    "c4.yaml:10:21 disable[1]: unknown rule id DUES-GAPP (→ DUES-GAP?)",
]


def test_override_problems_are_located_in_the_user_pack(
    tmp_path: Path, ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(RuleError) as exc:
        RuleSet.build([*shipped_packs(), parse_pack(OVERRIDE, source="c4.yaml")])
    assert [p.render("en") for p in exc.value.problems] == OVERRIDE_PROBLEMS
    pack = tmp_path / "c4.yaml"
    pack.write_text(OVERRIDE, encoding="utf-8")
    expected = [f"{tmp_path}/{p}" for p in OVERRIDE_PROBLEMS]
    assert main(["rules", "check", str(pack), "--lang", "en"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing printed as valid before the overrides were resolved
    assert err.splitlines()[1:] == expected
    assert (
        main(
            [
                "audit",
                "--ledger",
                f"disbursements={ledger}",
                "--rules",
                str(pack),
                "--lang",
                "en",
                "--format",
                "json",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.splitlines()[1:] == expected


def test_shipped_rule_redefined_is_located_at_its_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "dup.yaml"
    pack.write_text(
        "pack: dup\nrules:\n  - id: T-OK\n    ledger: dues\n    severity: info\n"
        "    check: {type: not_null, columns: [amount_paid]}\n    message: x\n"
        "  - id: DISB-CASH\n    ledger: disbursements\n    severity: error\n"
        "    check: {type: not_null, columns: [amount]}\n    message: x\n",
        encoding="utf-8",
    )
    assert main(["rules", "check", str(pack), "--lang", "en"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[1:] == [
        f"{pack}:8:5 rules[1].id: rule id DISB-CASH is defined twice (also in rules/disbursements.yaml); "
        "use override to change a shipped rule"
    ]


def test_rules_check_of_several_packs_reports_all_before_any_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(BASE, encoding="utf-8")
    bad.write_text(BASE.replace("T-BIG", "T-BAD").replace("max: $limit", "min: 10, max: 5"), encoding="utf-8")
    assert main(["rules", "check", str(good), str(bad), "--lang", "en"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"{bad}:8:51 rules[0].check.max: min (10) is greater than max (5)" in err


def test_shipped_packs_check_valid_in_place(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in shipped_dir().glob("*.yaml"))
    assert main(["rules", "check", *files, "--lang", "en"]) == 0
    assert capsys.readouterr().out.count(": valid (") == len(files)


# --- the constraints themselves ------------------------------------------------------------------


def test_every_default_satisfies_its_declared_constraints() -> None:
    loc = Unlocated("signatures")
    for sig in CHECK_TYPES.values():
        for name, arg in sig.args.items():
            if arg.low is not None and arg.high is not None:
                assert arg.low <= arg.high, (sig.name, name)
            if arg.default is None:
                continue
            found = check_arg(loc, f"{sig.name}.{name}", arg, arg.default, None, {})
            assert found == [], [p.render("en") for p in found]
        for _rel, a, b in sig.relations:
            assert a in sig.args and b in sig.args, sig.name


def test_shipped_rules_and_profiles_pass_every_check() -> None:
    from fundaudit.rules.model import apply_params
    from fundaudit.rules.profiles import load_profile, profile_names

    ruleset = RuleSet.build(shipped_packs())
    assert len(ruleset.rules) == 41
    for name in profile_names():
        prof = load_profile(name)
        apply_params(ruleset, {k: v for k, v in prof.params.items() if k in ruleset.rules}, source=name)
