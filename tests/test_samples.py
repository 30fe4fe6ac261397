"""The samples' answer key, checked exactly: every input's kind, header row, counts and amount total,
every rejected row (no more, no fewer), and every shipped rule's findings (severity and refs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fundaudit.engine import EngineResult, run_rules
from fundaudit.inputs import collect
from fundaudit.normalize import format_fen
from fundaudit.period import parse_period
from tests.checks.harness import REGION, shipped

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def ledgers():  # type: ignore[no-untyped-def]
    return collect([SAMPLES])


def test_every_file_detected_as_its_kind(ledgers) -> None:  # type: ignore[no-untyped-def]
    kinds = {i.file: i.kind for led in ledgers.values() for i in led.inputs}
    assert kinds == {
        "dues_2016.xls": "dues",
        "disbursements_2016.xlsx": "disbursements",
        "register_2016.csv": "register",
        "unions.csv": "unions",
        "employers.csv": "employers",
        "staff.csv": "staff",
        "caps.csv": "caps",
        "ratios.csv": "ratios",
        "dibao.csv": "dibao",
        "min_wage.csv": "min_wage",
        "budget.csv": "budget",
    }


def test_input_counts_match_the_answer_key(ledgers) -> None:  # type: ignore[no-untyped-def]
    got = {(i.kind, i.file, i.sheet): i for led in ledgers.values() for i in led.inputs}
    for exp in EXPECTED["inputs"]:
        s = got[(exp["kind"], exp["file"], exp["sheet"])]
        assert (s.header_row, s.rows_read, s.rows_loaded, s.rows_rejected, s.rows_non_data) == (
            exp["header_row"],
            exp["rows_read"],
            exp["rows_loaded"],
            exp["rows_rejected"],
            exp["rows_non_data"],
        ), exp
        total = None if s.amount_total is None else format_fen(s.amount_total)
        assert total == exp["amount_total"], exp
    for s in got.values():
        assert s.conserved, s


def test_rejected_rows_match_the_answer_key_exactly(ledgers) -> None:  # type: ignore[no-untyped-def]
    got = sorted(
        (
            r["kind"],
            r["file"],
            r["sheet"] if isinstance(r["sheet"], str) else None,
            int(r["row"]),
            r["column"],
            r["reason"],
            r["action"],
        )
        for led in ledgers.values()
        for r in led.rejected.to_dict("records")
    )
    want = sorted(
        (r["kind"], r["file"], r["sheet"], r["row"], r["column"], r["reason"], r["action"])
        for r in EXPECTED["rejected_rows"]
    )
    assert got == want


def test_answer_key_covers_every_rule() -> None:
    rules = set(EXPECTED["findings"])
    assert "LEDGER-TOTAL" in rules
    assert len(rules) == 41
    for rule, findings in EXPECTED["findings"].items():
        assert findings, rule
        for f in findings:
            assert f["refs"], rule


@pytest.fixture(scope="module")
def result(ledgers) -> EngineResult:  # type: ignore[no-untyped-def]
    """Every shipped rule over the samples, for 2016 in the profile's region."""
    return run_rules(ledgers, shipped().active(), period=parse_period("2016"), region_code=REGION)


def _key(finding: dict[str, Any]) -> tuple[str, tuple[tuple[str, str, str, int], ...]]:
    # the rows a finding is about, not the rows of other inputs it cites (the answer key lists only those)
    own = [r for r in finding["refs"] if r["kind"] == finding.get("kind", r["kind"])]
    refs = tuple(sorted((r["kind"], r["file"], r["sheet"] or "", int(r["row"])) for r in own))
    return finding["severity"], refs


def test_every_rule_ran(result: EngineResult) -> None:
    assert {s.id: (s.status, s.reason_en) for s in result.statuses if s.status != "ran"} == {}
    assert [s.id for s in result.statuses] == list(shipped().rules)
    assert sorted(shipped().rules) == sorted(EXPECTED["findings"])


@pytest.mark.parametrize("rule_id", sorted(EXPECTED["findings"]))
def test_findings_match_the_answer_key(result: EngineResult, rule_id: str) -> None:
    got = sorted(_key(f) for f in result.findings.to_dict("records") if f["rule"] == rule_id)
    assert got == sorted(_key(f) for f in EXPECTED["findings"][rule_id])


def test_messages_are_filled_in(result: EngineResult) -> None:
    """No placeholder is left unrendered and no missing value printed in any sample finding."""
    for f in result.findings.to_dict("records"):
        for text in (f["message"], f["message_en"]):
            assert "{" not in text and "}" not in text and "nan" not in text, (f["rule"], text)


# What each finding of a rule that reads a second input cites of it, as (kind, role) sets, one per finding
# (issue 15 item 1). The two findings citing nothing: DISB-NOT-FILED's payment to someone with no file at all
# (nothing matched), and REG-ELIGIBILITY's accident test (it reads no 低保 row).
CITED = {
    "DISB-ACCOUNT-SHARED": [{("register", "register_file")}],
    "DISB-AFTER-EXIT": [{("register", "register_file")}] * 2,
    "DISB-CATEGORY": [{("register", "register_file")}],
    "DISB-NOT-FILED": [set(), {("register", "register_file")}],
    "DISB-OVER-CAP": [{("caps", "cap")}] * 2,
    "DISB-SPLIT": [{("caps", "cap")}],
    "DUES-BASE-MIN": [{("min_wage", "min_wage")}] * 2,
    "DUES-SPLIT-RATIO": [{("ratios", "ratio")}] * 2,
    "REG-ELIGIBILITY": [set(), {("dibao", "dibao")}],
    "REG-STAFF-RELATIVE": [{("staff", "staff")}, {("staff", "staff"), ("staff", "officer")}],
    "XL-STAFF-RELATIVE": [{("staff", "staff"), ("staff", "officer")}],
    "XL-UNION-ACCOUNT": [{("unions", "union")}],
    "XL-UNION-STATUS": [{("unions", "union")}] * 2,
}
# Findings without money at issue, each because none is at stake (every rule's amount_basis says why):
# register files are no payment; a missing month or a missing employer has no declared amount to quote.
NO_MONEY = {"REG-EXIT-STATE": 3, "REG-ID": 2, "REG-DUP-HOUSEHOLD": 2, "REG-ELIGIBILITY": 2, "REG-DISCLOSURE": 2,
            "REG-STAFF-RELATIVE": 2, "REG-REVIEW-OVERDUE": 1, "DUES-GAP": 1, "XL-MISSING-EMPLOYER": 1}


def test_findings_cite_the_rows_of_other_inputs_they_rest_on(result: EngineResult) -> None:
    got: dict[str, list[set[tuple[str, str]]]] = {}
    for f in result.findings.to_dict("records"):
        cited = {(r["kind"], r["role"]) for r in f["refs"] if r["kind"] != f["kind"]}
        if cited or f["rule"] in CITED:
            got.setdefault(f["rule"], []).append(cited)
    assert {k: sorted(v, key=sorted) for k, v in got.items()} == {k: sorted(v, key=sorted) for k, v in CITED.items()}


def test_every_finding_has_money_at_issue_unless_none_is_at_stake(result: EngineResult) -> None:
    none = result.findings.loc[result.findings["amount"].isna(), "rule"].value_counts().to_dict()
    assert none == NO_MONEY
    assert sum(NO_MONEY.values()) == 16  # of the samples' 68 findings (19 before issue 15)


def test_findings_name_their_grassroots_union(result: EngineResult) -> None:
    """A payment's or register file's 基层工会; a dues row's union code by its registry name, else (a code the
    registry does not hold: 筹备金 paid to the federation) its employer; none for a budget line, an employer
    without dues, a 合计 row."""
    f = result.findings
    assert sorted(f.loc[f["union"].isna(), "rule"]) == ["LEDGER-TOTAL", "XL-FUND-OVERSPEND", "XL-FUND-OVERSPEND",
                                                        "XL-MISSING-EMPLOYER"]
    named = f[f["union"].notna()]
    assert named.loc[named["kind"] != "dues", "union"].str.endswith("工会").all()
    dues = named[named["kind"] == "dues"]
    assert (int(dues["union"].str.endswith("工会").sum()), int((~dues["union"].str.endswith("工会")).sum())) == (16, 7)
    assert "黄山区三口物流有限公司" in set(dues["union"])  # DUES-GAP: code 34100300000 is no registered union
