"""The samples' answer key for the hardship-aid, register and cross-ledger rules: every planted
finding found and no false alarm, refs and severity compared exactly (samples/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fundaudit.engine import EngineResult, run_rules
from fundaudit.inputs import collect
from fundaudit.period import parse_period
from tests.rules_aid.helpers import ROOT, shipped

SAMPLES = ROOT / "samples"
EXPECTED: dict[str, list[dict[str, Any]]] = json.loads((SAMPLES / "expected.json").read_text("utf-8"))["findings"]
OURS = ("DISB-", "REG-", "XL-")


@pytest.fixture(scope="module")
def result() -> EngineResult:
    ledgers = collect([Path(SAMPLES)])
    return run_rules(ledgers, list(shipped().values()), period=parse_period("2016"), region_code="341003")


def _key(finding: dict[str, Any]) -> tuple[str, tuple[tuple[str, str, str, int], ...]]:
    refs = tuple(sorted((r["kind"], r["file"], r["sheet"] or "", int(r["row"])) for r in finding["refs"]))
    return finding["severity"], refs


def test_every_rule_ran(result: EngineResult) -> None:
    assert {s.id: (s.status, s.reason_en) for s in result.statuses if s.status != "ran"} == {}
    assert {s.id for s in result.statuses} == {rid for rid in EXPECTED if rid.startswith(OURS)}


@pytest.mark.parametrize("rule_id", sorted(rid for rid in EXPECTED if rid.startswith(OURS)))
def test_findings_match_the_answer_key(result: EngineResult, rule_id: str) -> None:
    got = sorted(_key(f) for f in result.findings.to_dict("records") if f["rule"] == rule_id)
    want = sorted(_key(f) for f in EXPECTED[rule_id])
    assert got == want


def test_messages_name_their_values(result: EngineResult) -> None:
    for f in result.findings.to_dict("records"):
        for text in (f["message"], f["message_en"]):
            assert "{" not in text and "nan" not in text, (f["rule"], text)
