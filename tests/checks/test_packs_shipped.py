"""The shipped packs as a whole: what they declare, that a clean ledger fires no rule, and how rules
behave when columns, tables or the period are missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from fundaudit.columns import catalogue
from fundaudit.engine.checks import load_builtin
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.period import parse_period
from fundaudit.rules.model import Rule, param_args
from fundaudit.rules.signatures import CHECK_TYPES
from tests.checks.harness import (
    MIN_WAGE,
    RATIOS,
    dues_row,
    legacy15,
    monthly,
    rule,
    run,
    sheet,
    shipped,
    shipped_pack,
    uscc,
)

DUES_RULES = [
    ("DUES-RATE", "error"), ("DUES-CALC", "error"), ("DUES-PERIOD", "error"), ("DUES-LATE", "warning"),
    ("DUES-DUP", "error"), ("DUES-GAP", "warning"), ("DUES-BASE-MIN", "warning"), ("DUES-BASE-DROP", "warning"),
    ("DUES-TAXPAYER-ID", "error"), ("DUES-REFUND", "warning"), ("DUES-SPLIT-SUM", "error"),
    ("DUES-SPLIT-RATIO", "error"), ("DUES-FEE", "warning"), ("DUES-REMIT-LATE", "warning"),
    ("DUES-SME-REFUND", "warning"),
]
# domain.md §7.1 defaults, as parameters of the shipped pack (reference tables are inputs, not parameters)
DEFAULTS: dict[str, dict[str, Any]] = {
    "DUES-RATE": {"allowed_rates": [0.02], "rate_tol": 1e-9, "negate": False},
    "DUES-CALC": {"tol_yuan": 0.01},
    "DUES-PERIOD": {"allowed_lengths_months": [1, 3, 12]},
    "DUES-LATE": {"deadline_day": 15, "holiday_calendar": "none", "grace_days": 0,
                  "dates": ["filing_date", "payment_date", "treasury_date"]},
    "DUES-DUP": {"key": ["taxpayer_id", "fund_type", "period_start", "period_end"], "ignore_correction_pairs": True},
    "DUES-GAP": {"min_prior_payments": 2, "cadence": "infer"},
    "DUES-BASE-MIN": {"use_headcount": True, "region_code": None},
    "DUES-BASE-DROP": {"drop_ratio": 0.5, "lookback": 6, "min_history": 3},
    "DUES-TAXPAYER-ID": {"accept_legacy": True, "check_embedded_org_code": "warn"},
    "DUES-REFUND": {"match_window_months": 24},
    "DUES-SPLIT-SUM": {"ratio_tol": 0.0001, "tol_yuan_per_share": 0.01},
    "DUES-SPLIT-RATIO": {"grassroots_share": 0.6, "ratio_tol": 0.0001},
    "DUES-FEE": {"fee_ratio": 0.02, "tol_yuan": 0.01},
    "DUES-REMIT-LATE": {"max_days_to_settle": 30, "max_days_in_custody": 180, "custody_values": ["代管"]},
    "DUES-SME-REFUND": {"policy_years": [2020, 2021, 2022], "refund_share": "upper_level", "refund_deadline_days": 365},
}
DERIVED = {"_rid", "_in_period", "taxpayer_id__status", "taxpayer_id__org_ok"}


def all_rules() -> list[Rule]:
    return [*shipped_pack("dues").rules, *shipped_pack("ledger").rules]


class TestPacks:
    def test_dues_pack(self) -> None:
        p = shipped_pack("dues")
        assert (p.name, p.version) == ("fundaudit-dues", "1.0")
        assert [(r.id, r.severity) for r in p.rules] == DUES_RULES
        for r in p.rules:
            assert r.ledger == "dues"
            assert dict(r.params) == DEFAULTS[r.id], r.id
            assert set(r.title) == {"zh", "en"} and set(r.message) == {"zh", "en"}, r.id
            assert r.basis and "domain" in r.basis, r.id

    def test_ledger_pack(self) -> None:
        p = shipped_pack("ledger")
        (r,) = p.rules
        assert (p.name, p.version, r.id, r.ledger, r.severity, r.check_type) == (
            "fundaudit-ledger", "1.0", "LEDGER-TOTAL", "*", "error", "ledger_total")
        assert r.params == {"tol_yuan": 0.01}

    def test_signatures_and_implementations_agree(self) -> None:
        assert set(load_builtin()) == set(CHECK_TYPES)

    def test_every_param_is_used(self) -> None:
        """A parameter a user can set must reach the check (no decorative parameters): as ``$name`` in it, or
        filling the argument of its name that the check does not write."""
        for r in all_rules():
            text = repr(r.check)
            for name in r.params:
                assert f"${name}" in text or name in param_args(r.check_type, r.check), (r.id, name)


def _present(columns: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    return {k: frozenset(v | DERIVED) for k, v in columns.items()}


FULL = _present({k: set(catalogue()[k].columns) for k in ("dues", "min_wage", "ratios", "unions", "employers")}
                | {"ledger_totals": {"kind", "column", "declared", "covers_from", "covers_to", "file", "sheet", "row"}})

@pytest.mark.parametrize(
    ("rule_id", "drop", "lacks"),
    [
        ("DUES-FEE", ["fee_amount"], "fee_amount"),
        ("DUES-CALC", ["relief_amount"], "relief_amount"),
        ("DUES-RATE", ["rate"], "rate"),
        ("DUES-PERIOD", ["period_start"], "period_start"),
        ("DUES-DUP", ["fund_type"], "fund_type"),
        ("DUES-SME-REFUND", ["refund_paid"], "refund_paid"),
        # a flag: every reason lacks a column, and the skip names them all
        ("DUES-REMIT-LATE", ["settlement_flag", "settlement_date", "custody_flag"],
         "settlement_flag, settlement_date, custody_flag"),
        ("DUES-SPLIT-SUM", [c for c in dues_row() if c.startswith(("share_", "fee_"))],
         "share_grassroots_ratio, share_grassroots_amount"),
    ],
)
def test_missing_column_is_a_skip_with_the_reason(rule_id: str, drop: list[str], lacks: str) -> None:
    rows = sheet([dues_row(uscc(1), 1, rate="0.008")], drop=drop)
    res = run(rule_id, {"dues": rows}, expect_status="skipped")
    assert (res.status.reason, res.status.reason_en) == (
        f"dues 缺少所需的列：{lacks}", f"dues lacks the columns this rule needs: {lacks}"
    )
    assert res.findings.empty


@pytest.mark.parametrize(
    ("rule_id", "ledgers", "period", "reason"),
    [
        ("DUES-BASE-MIN", {}, "2016",
         "reference table min_wage is missing (give --ledger min_wage=FILE, or use a profile that ships it)"),
        ("DUES-GAP", {}, None,
         "the rule's arguments cannot be used on these inputs: DUES-GAP needs an audit period (--period)"),
        ("DUES-SPLIT-RATIO", {"ratios": [{"effective_from": "2015-01-01", "share_grassroots_ratio": "0.6"}]}, "2016",
         "ratios lacks the columns this rule needs: fund_type"),
    ],
)
def test_missing_reference_or_period_is_a_skip(rule_id: str, ledgers: dict[str, Any], period: str | None,
                                               reason: str) -> None:
    res = run(rule_id, {"dues": [dues_row()], **ledgers}, period=period, expect_status="skipped")
    assert res.status.reason_en == reason


def test_rule_without_its_ledger_is_skipped() -> None:
    res = run("DUES-RATE", {"min_wage": [{"region_code": "341003", "effective_from": "2015-11-01",
                                          "monthly": "1150"}]}, expect_status="skipped")
    assert res.status.reason_en == "input dues is missing (give --ledger dues=FILE)"


def test_bare_ledger_runs_or_skips_every_rule_and_fires_nothing() -> None:
    """Only identity, amount and period: every rule either runs clean or says why it cannot run."""
    rows = sheet([dues_row(uscc(i), i) for i in range(1, 4)],
                 drop=[c for c in dues_row() if c not in ("taxpayer_id", "taxpayer_name", "amount_paid", "period_start",
                                                          "period_end")])
    for r in all_rules():
        res = run(r.id, {"dues": rows}, expect_status="ran" if r.id in RUN_ON_BARE else "skipped")
        assert res.findings.empty, r.id


RUN_ON_BARE = {"DUES-PERIOD", "DUES-TAXPAYER-ID", "DUES-REFUND", "DUES-GAP"}  # the rest say what they lack


def test_ambiguous_region_is_a_skip_when_the_engine_lists_regions() -> None:
    r = rule("DUES-BASE-MIN")
    impl = load_builtin()["dues_base_min"]
    present = FULL
    ctx = CheckContext(r, r.args, present, parse_period("2016"), None, {"region_codes": {"min_wage": ["341003",
                                                                                                    "340102"]}})
    with pytest.raises(Skip) as info:
        impl(ctx)
    assert info.value.code == "skip_ambiguous_region" and info.value.fields == {"table": "min_wage"}
    one = CheckContext(r, r.args, present, parse_period("2016"), None, {"region_codes": {"min_wage": ["341003"]}})
    assert "'341003'" in impl(one).sql(dialect="duckdb")


def test_pack_values_are_literals_not_sql() -> None:
    """A parameter holding SQL text stays a string literal."""
    res = run("DUES-BASE-MIN", {"dues": [dues_row(uscc(1), 3, base="100.00", headcount=1)],
                                "min_wage": [{"region_code": "341003", "effective_from": "2015-11-01",
                                              "monthly": "1150"}]}, params={"region_code": "x' OR 1=1 --"})
    assert res.findings.empty
    assert "'x'' OR 1=1 --'" in (res.status.sql or "")


class TestClean:
    """A clean ledger of monthly and quarterly payers (with 2015 history) fires no dues rule."""

    RULES: ClassVar[list[str]] = [
        "DUES-RATE", "DUES-CALC", "DUES-PERIOD", "DUES-LATE", "DUES-DUP", "DUES-GAP", "DUES-BASE-MIN",
        "DUES-BASE-DROP", "DUES-TAXPAYER-ID", "DUES-REFUND", "DUES-SPLIT-SUM", "DUES-SPLIT-RATIO", "DUES-FEE",
        "DUES-REMIT-LATE", "DUES-SME-REFUND",
    ]

    @pytest.mark.parametrize("rule_id", RULES)
    def test_clean_ledger_fires_nothing(self, rule_id: str) -> None:
        rows = [
            *monthly(uscc(1), range(10, 13), year=2015),
            *monthly(uscc(1), range(1, 13)),
            *[dues_row(uscc(2), m, months=3, base="300000.00") for m in (1, 4, 7, 10)],
            *monthly(legacy15(3), range(1, 13), fund="工会筹备金", base="30000.00", headcount=5),
        ]
        res = run(rule_id, {"dues": rows, "min_wage": MIN_WAGE, "ratios": RATIOS}, region="341003")
        assert res.rows == []


# --- the aid packs (disbursements, register, cross) ---


def aid_rules() -> dict[str, Rule]:
    """The rules of the disbursements, register and cross-ledger packs, by id."""
    return {rid: r for rid, r in shipped().rules.items() if r.source in AID_PACKS}



AID_PACKS = ("rules/disbursements.yaml", "rules/register.yaml", "rules/cross.yaml")



def test_every_check_type_a_shipped_rule_does_not_use_is_generic() -> None:
    """Each specific check type exists for a shipped rule; only the generic vocabulary (the engine's
    generic module, found through the registry) may wait for a user's rule."""
    impls = load_builtin()
    used = {r.check_type for r in shipped().rules.values()}
    unused = {name: impls[name].__module__ for name in set(CHECK_TYPES) - used}
    assert {name: module for name, module in unused.items() if module != "fundaudit.engine.checks.generic"} == {}


def test_shipped_packs_follow_the_catalog() -> None:
    rules = aid_rules()
    assert sorted(rules) == sorted(
        [
            "DISB-ID",
            "DISB-NOT-FILED",
            "DISB-AFTER-EXIT",
            "DISB-CASH",
            "DISB-ACCOUNT-NAME",
            "DISB-ACCOUNT-SHARED",
            "DISB-DUP",
            "DISB-OVER-CAP",
            "DISB-CATEGORY",
            "DISB-DISCLOSURE",
            "DISB-APPROVAL",
            "DISB-SPLIT",
            "DISB-YEAR-END",
            "REG-ID",
            "REG-DUP-HOUSEHOLD",
            "REG-ELIGIBILITY",
            "REG-REVIEW-OVERDUE",
            "REG-EXIT-STATE",
            "REG-DISCLOSURE",
            "REG-STAFF-RELATIVE",
            "XL-STAFF-RELATIVE",
            "XL-MISSING-EMPLOYER",
            "XL-UNION-STATUS",
            "XL-UNION-ACCOUNT",
            "XL-FUND-OVERSPEND",
        ]
    )
    severities = {rid: r.severity for rid, r in rules.items()}
    assert severities["DISB-YEAR-END"] == "info"
    assert {rid for rid, s in severities.items() if s == "warning"} == {
        "DISB-ACCOUNT-NAME",
        "DISB-CATEGORY",
        "DISB-SPLIT",
        "REG-ELIGIBILITY",
        "REG-REVIEW-OVERDUE",
        "REG-DISCLOSURE",
        "REG-STAFF-RELATIVE",
        "XL-STAFF-RELATIVE",
        "XL-MISSING-EMPLOYER",
    }
    for r in rules.values():
        assert r.title.get("zh") and r.title.get("en") and r.basis, r.id
        assert r.message.get("zh") and r.message.get("en"), r.id
        if r.ledger == "disbursements":
            assert r.amount == "amount", r.id
    assert rules["DISB-DISCLOSURE"].params == {"min_days": 5, "calendar": "natural"}
    assert rules["DISB-SPLIT"].params["window_days"] == 30



@pytest.mark.parametrize(
    ("rule_id", "inputs"),
    [
        (
            "XL-UNION-STATUS",
            {
                "dues": [
                    {
                        "taxpayer_id": "E",
                        "fund_type": "工会经费",
                        "period_start": "2016-01-01",
                        "period_end": "2016-01-31",
                        "amount_paid": "1",
                    }
                ]
            },
        ),
        ("XL-MISSING-EMPLOYER", {"employers": [{"taxpayer_id": "E", "headcount": "3"}]}),
        ("XL-FUND-OVERSPEND", {"budget": [{"program": "送温暖", "year": "2016", "allocated": "1"}]}),
        ("XL-STAFF-RELATIVE", {"disbursements": [{"recipient_name": "甲", "amount": "1"}]}),
        ("REG-ELIGIBILITY", {"register": [{"file_no": "F", "category": "深度困难", "household_income_annual": "1"}]}),
    ],
)
def test_missing_reference_is_a_skip(rule_id: str, inputs: dict[str, list[dict[str, str]]]) -> None:
    run(rule_id, inputs, expect_status="skipped")



# Issue 14 item 5: the shipped rules written as compositions of generic check types (YAML only), and those still
# a Python check type, each for the reason docs/rule-language.md ("Shipped rules: YAML or code") gives.
GENERIC_FAMILIES = {"generic", "flag", "lookup"}
IN_YAML = {
    "DISB-ACCOUNT-NAME", "DISB-AFTER-EXIT", "DISB-APPROVAL", "DISB-CASH", "DISB-CATEGORY", "DISB-DISCLOSURE",
    "DISB-ID", "DISB-NOT-FILED", "DUES-CALC", "DUES-FEE", "DUES-PERIOD", "DUES-RATE", "DUES-REMIT-LATE",
    "DUES-SPLIT-SUM", "DUES-TAXPAYER-ID", "REG-DISCLOSURE", "REG-EXIT-STATE", "REG-ID", "REG-REVIEW-OVERDUE",
    "XL-MISSING-EMPLOYER", "XL-UNION-ACCOUNT",
}


def test_at_least_half_of_the_shipped_rules_are_yaml_compositions() -> None:
    from fundaudit.engine.checks import family_of, load_builtin
    from fundaudit.rules.shipped import shipped_packs

    load_builtin()
    rules = {r.id: family_of(r.check_type) for p in shipped_packs() for r in p.rules}
    assert {rid for rid, fam in rules.items() if fam in GENERIC_FAMILIES} == IN_YAML
    assert 2 * len(IN_YAML) >= len(rules) == 41
    documented = (Path(__file__).resolve().parents[2] / "docs" / "rule-language.md").read_text("utf-8")
    still_code = sorted(set(rules) - IN_YAML)
    assert [rid for rid in still_code if f"`{rid}`" not in documented] == []  # each says why it is code
