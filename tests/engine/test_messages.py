"""Finding messages never show a raw ``{placeholder}``: every shipped rule run on the samples with every
optional column of its ledger present (empty where the samples have none), and again with only the columns
the rule cannot run without; a check type's declared message fields are all in its findings."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fundaudit
from fundaudit.columns import catalogue
from fundaudit.engine import run_rules
from fundaudit.errors import RuleError
from fundaudit.ledger import Ledger
from fundaudit.period import parse_period
from fundaudit.rules.model import Rule, RuleSet, parse_pack
from fundaudit.rules.profiles import apply_profile, load_profile
from fundaudit.rules.shipped import shipped_packs
from fundaudit.rules.signatures import CHECK_TYPES
from fundaudit.schemas import CANONICAL_DTYPES, PROVENANCE
from tests.checks.harness import run

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BRACE = re.compile(r"[{}]")
PERIOD = parse_period("2016")


@pytest.fixture(scope="module")
def loaded() -> dict[str, Ledger]:
    return fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016").ledgers


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return apply_profile(RuleSet.build(shipped_packs()), load_profile("anhui-2016")).active()


def _run(ledgers: Mapping[str, Ledger], rules: list[Rule]) -> tuple[pd.DataFrame, dict[str, Any]]:
    res = run_rules(ledgers, rules, period=PERIOD, region_code=load_profile("anhui-2016").region_code)
    return res.findings, {s.id: s for s in res.statuses}


def _braces(findings: pd.DataFrame) -> list[tuple[str, str]]:
    return [(f["rule"], text) for f in findings.to_dict("records") for text in (f["message"], f["message_en"])
            if BRACE.search(text)]


def _with_every_column(ledger: Ledger) -> Ledger:
    """The ledger with every catalogue column of its kind (the ones the samples lack all empty)."""
    frame = ledger.frame.copy()
    for name, col in catalogue()[ledger.kind].columns.items():
        if name not in frame.columns:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype="object").astype(CANONICAL_DTYPES[col.type])
    return dataclasses.replace(ledger, frame=frame)


def _only(ledger: Ledger, columns: set[str]) -> Ledger:
    keep = [c for c in ledger.frame.columns if c in PROVENANCE or c in columns or c.split("__")[0] in columns]
    return dataclasses.replace(ledger, frame=ledger.frame[keep])


def test_every_column_present(loaded: dict[str, Ledger], rules: list[Rule]) -> None:
    ledgers = {kind: _with_every_column(led) for kind, led in loaded.items()}
    findings, status = _run(ledgers, rules)
    assert {rid for rid, s in status.items() if s.status != "ran"} == set()
    assert _braces(findings) == []
    assert set(findings["rule"]) == {r.id for r in rules}  # every rule fired, so every message was rendered
    by_id = {r.id: r for r in rules}
    lacking = {  # declared fields are what the findings carry
        (f["rule"], name)
        for f in findings.to_dict("records")
        for name in CHECK_TYPES[by_id[f["rule"]].check_type].fields
        if name not in f["values"]
    }
    assert lacking == set()


def test_only_the_columns_a_rule_needs(loaded: dict[str, Ledger], rules: list[Rule]) -> None:
    """Each rule on its ledger cut down to the columns without which it is skipped (found by asking it):
    the columns its message names but does not need are absent, and no message shows a raw placeholder."""
    fired: set[str] = set()
    not_provided: set[str] = set()
    for rule in rules:
        if rule.ledger not in loaded:
            continue
        needed: set[str] = set()
        for _ in range(10):
            ledgers = {**loaded, rule.ledger: _only(loaded[rule.ledger], needed)}
            findings, status = _run(ledgers, [rule])
            st = status[rule.id]
            if st.status == "skipped" and st.skip_code == "skip_no_columns" and st.skip_fields["table"] == rule.ledger:
                needed |= set(st.skip_fields["missing"])
                continue
            break
        assert st.status == "ran", (rule.id, st.status, st.reason_en)
        assert _braces(findings) == [], rule.id
        if len(findings):
            fired.add(rule.id)
        if any("（未提供）" in m for m in findings["message"]):
            assert all("(not provided)" in m for m in findings["message_en"]), rule.id
            not_provided.add(rule.id)
    # with only what they need, these find nothing in the samples: OVER-CAP's caps all name a category (see
    # test_absent_optional_columns_read_as_not_provided), YEAR-END's and BASE-MIN's groups need their
    # optional columns; LEDGER-TOTAL is on every ledger (its own tests)
    assert fired == {r.id for r in rules} - {"DISB-OVER-CAP", "DISB-YEAR-END", "DUES-BASE-MIN", "LEDGER-TOTAL"}
    # the rules whose messages name a column they can do without (the dues checks and staff_relative return
    # such columns themselves, empty: "—")
    assert not_provided == {
        "DISB-ACCOUNT-NAME", "DISB-ACCOUNT-SHARED", "DISB-AFTER-EXIT", "DISB-APPROVAL", "DISB-CASH", "DISB-CATEGORY",
        "DISB-DISCLOSURE", "DISB-DUP", "DISB-ID", "DISB-NOT-FILED", "DISB-SPLIT", "REG-DISCLOSURE",
        "REG-DUP-HOUSEHOLD", "REG-ELIGIBILITY", "REG-EXIT-STATE", "REG-ID", "REG-REVIEW-OVERDUE",
        "REG-STAFF-RELATIVE", "XL-MISSING-EMPLOYER", "XL-UNION-ACCOUNT", "XL-UNION-STATUS",
        "DUES-TAXPAYER-ID",  # a flag rule: an absent 纳税人名称 reads (not provided), no longer "—"
    }


def test_absent_optional_columns_read_as_not_provided() -> None:
    """The issue's examples, exactly: DISB-CASH without a 银行账号 column, DISB-OVER-CAP without 困难类别."""
    cash = {"recipient_name": "张三", "program": "生活救助", "amount": "800", "payment_method": "现金",
            "payment_date": "2016-05-10"}
    [f] = run("DISB-CASH", {"disbursements": [cash]}).findings.to_dict("records")
    assert f["message"] == "张三 的生活救助 800.00 元：现金发放（发放方式 现金，银行账号 （未提供））"
    assert f["message_en"] == "生活救助 of 800.00 yuan to 张三: paid in cash (method 现金, account (not provided))"
    caps = [{"program": "送温暖", "per_payment_cap": "1000", "per_year_cap": "3000"}]
    over = {"recipient_name": "李四", "recipient_id_no": "341003198001010014", "program": "送温暖", "amount": "1200",
            "payment_date": "2016-01-20"}
    [f] = run("DISB-OVER-CAP", {"disbursements": [over], "caps": caps}).findings.to_dict("records")
    assert f["message"] == (
        "李四（341003********0014）的送温暖（（未提供），2016-01-20）：单笔超过上限，金额 1200.00 元，上限 1000.00 元，"
        "超出 200.00 元"
    )
    assert f["message_en"] == (
        "送温暖 ((not provided), 2016-01-20) to 李四 (341003********0014): payment above the per-payment cap: "
        "1200.00 yuan against a cap of 1000.00 yuan, 200.00 over"
    )
    assert f["values"]["pay_cap"] == "1000.00" and f["values"]["year_cap"] == "3000.00"


def _pack(check: str, message: str, extra: str = "") -> str:
    return (
        'pack: t\nversion: "1"\nrules:\n  - id: T-1\n    ledger: disbursements\n    severity: warning\n'
        f"    check: {check}\n    message: {{zh: \"{message}\", en: \"{message}\"}}\n{extra}"
    )


@pytest.mark.parametrize(
    ("check", "name"),
    [
        ("{type: lookup, table: register, on: {recipient_id_no: id_no}, report: {filed_date: filed_date}}",
         "first_filed"),
        ("{type: aid_cap}", "monthly_dibao"),
        ("{type: split_payment}", "pay_cap"),
        ("{type: split_payment}", "year_cap"),
    ],
)
def test_rules_check_refuses_a_field_the_check_type_does_not_provide(check: str, name: str) -> None:
    """These passed ``rules check`` and then printed literally: they are no longer declared fields."""
    with pytest.raises(RuleError) as exc:
        parse_pack(_pack(check, f"x {{{name}}}"), source="u.yaml")
    got = [(p.code, p.fields["name"], p.render("en").split(" rules[0].")[0]) for p in exc.value.problems]
    assert got == [("pack_unknown_placeholder", name, "u.yaml:8:15"), ("pack_unknown_placeholder", name,
                                                                      f"u.yaml:8:{15 + len(name) + 12}")]


def test_aid_cap_provides_pay_cap_and_year_cap() -> None:
    pack = parse_pack(_pack("{type: aid_cap}", "{amount} 上限 {pay_cap} / {year_cap}", "    amount: amount\n"))
    [rule] = RuleSet.build([pack]).active()
    caps = fundaudit.load("caps", pd.DataFrame({"program": ["送温暖"], "per_payment_cap": ["1000"],
                                                "per_year_cap": ["3000"]}))
    pays = fundaudit.load("disbursements", pd.DataFrame({"recipient_id_no": ["341003198001010014"],
                                                         "program": ["送温暖"], "amount": ["1200"],
                                                         "payment_date": ["2016-01-20"]}))
    found = run_rules({"disbursements": pays, "caps": caps}, [rule], period=PERIOD).findings
    assert found["message"].tolist() == ["1200.00 上限 1000.00 / 3000.00"]


def test_group_cap_uses_the_declared_amount() -> None:
    """A user group_cap rule's ``amount:`` was validated and then dropped: the finding had no amount."""
    pack = parse_pack(_pack("{type: group_cap, group_by: [recipient_name], measure: count, cap: 1}",
                            "{recipient_name} {total} 笔，{amount} 元", "    amount: {add: [amount, in_kind_value]}\n"))
    [rule] = RuleSet.build([pack]).active()
    pays = fundaudit.load("disbursements", pd.DataFrame({
        "recipient_name": ["甲", "甲", "乙"], "amount": ["100", "250.50", "900"], "in_kind_value": ["10", "0", "0"],
    }))
    [f] = run_rules({"disbursements": pays}, [rule], period=None).findings.to_dict("records")
    assert (f["amount"], f["amount_fen"]) == ("360.50", 36050)
    assert f["message"] == "甲 2 笔，360.50 元"
