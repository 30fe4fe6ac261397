"""Every shipped hardship-aid, register and cross-ledger query renders for DuckDB and transpiles to
Spark SQL, with every column present and with few; missing inputs are skips with a reason."""

from __future__ import annotations

import pytest
import sqlglot

from fundaudit.columns import catalogue
from fundaudit.engine.checks import load_builtin
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.period import parse_period
from fundaudit.rules.signatures import CHECK_TYPES, cross, identity, payments, procedure, register, register_match
from tests.rules_aid.helpers import fired, shipped

# the families the former signatures/aid.py was split into
AID_SIGNATURES = [
    s for f in (identity, register_match, payments, procedure, register, cross) for s in f.SIGNATURES
    if s.name != "taxpayer_id"  # a dues check type
]


def _present(kinds: dict[str, set[str] | None]) -> dict[str, frozenset[str]]:
    """Registered tables as the engine sees them: columns, row ids and derived columns."""
    out = {}
    for kind, wanted in kinds.items():
        cols = set(catalogue()[kind].columns) if wanted is None else set(wanted)
        derived = set()
        for name in cols:
            ctype = catalogue()[kind].columns[name].type
            if ctype in ("resident_id", "taxpayer_id"):
                derived |= {f"{name}__status", f"{name}__birth", f"{name}__org_ok"}
            if ctype == "name" or name == "address":
                derived.add(f"{name}__key")
        out[kind] = frozenset(cols | derived | {"_rid", "_in_period", "file", "sheet", "row"})
    return out


FULL = _present({k: None for k in catalogue()})
FEW = _present(
    {
        "disbursements": {
            "recipient_name",
            "recipient_id_no",
            "program",
            "amount",
            "payment_date",
            "payment_method",
            "bank_account",
            "disclosure_start",
            "disclosure_end",
            "approver",
            "account_holder",
            "aid_category",
        },
        "register": {
            "file_no",
            "id_no",
            "filed_date",
            "exit_date",
            "status",
            "category",
            "household_income_annual",
            "disclosure_date",
            "exit_reason",
        },
        "caps": {"program", "per_payment_cap"},
        "staff": {"name", "id_no"},
        "dues": {"taxpayer_id", "fund_type", "period_start", "period_end", "amount_paid", "grassroots_account"},
        "unions": {"employer_taxpayer_id", "founded_date", "bank_account"},
        "employers": {"taxpayer_id", "headcount"},
        "budget": {"program", "allocated"},
        "dibao": {"monthly_dibao", "year"},
    }
)


@pytest.mark.parametrize("present", [FULL, FEW], ids=["all columns", "few columns"])
@pytest.mark.parametrize("period", ["2016", None])
def test_every_query_transpiles_to_spark(present: dict[str, frozenset[str]], period: str | None) -> None:
    impls = load_builtin()
    rendered = 0
    for rule in shipped().values():
        ctx = CheckContext(rule, rule.args, present, parse_period(period) if period else None, "341003")
        try:
            query = impls[rule.check_type](ctx)
        except Skip:
            assert present is FEW, rule.id
            continue
        duck = query.sql(dialect="duckdb")
        spark = query.sql(dialect="spark")
        sqlglot.parse_one(duck, read="duckdb")
        sqlglot.parse_one(spark, read="spark")
        rendered += 1
    assert rendered == len(shipped()) or present is FEW
    assert rendered >= 20


def test_every_aid_check_type_is_implemented_and_used() -> None:
    impls = load_builtin()
    assert {s.name for s in AID_SIGNATURES} <= set(impls)
    assert {s.name for s in AID_SIGNATURES} <= set(CHECK_TYPES)
    used = {r.check_type for r in shipped().values()}
    assert {s.name for s in AID_SIGNATURES} <= used


def test_shipped_packs_follow_the_catalog() -> None:
    rules = shipped()
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
    fired(rule_id, inputs, expect_status="skipped")
