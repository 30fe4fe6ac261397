"""The shipped dues rules and LEDGER-TOTAL reproduce the samples' answer key exactly: every planted
finding (refs and severity), and nothing else."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from fundaudit.engine import EngineResult, run_rules
from fundaudit.inputs import collect
from fundaudit.period import parse_period
from tests.rules.helpers import DUES_PACK, LEDGER_PACK, ROOT, pack

SAMPLES = ROOT / "samples"
RULES = [*pack(DUES_PACK).rules, *pack(LEDGER_PACK).rules]


@cache
def result() -> EngineResult:
    ledgers = collect([SAMPLES])
    return run_rules(ledgers, RULES, period=parse_period("2016"), region_code="341003")


def _key(finding: dict[str, Any]) -> tuple[str, tuple[tuple[str, str, str | None, int], ...]]:
    refs = sorted(finding["refs"], key=lambda r: (r["file"], r["sheet"] or "", r["row"]))
    return finding["severity"], tuple((r["kind"], r["file"], r["sheet"], int(r["row"])) for r in refs)


@pytest.mark.parametrize("rule_id", [r.id for r in RULES])
def test_findings_match_the_answer_key(rule_id: str) -> None:
    expected = json.loads((SAMPLES / "expected.json").read_text("utf-8"))["findings"][rule_id]
    res = result()
    (status,) = [s for s in res.statuses if s.id == rule_id]
    assert status.status == "ran", status.reason_en
    got = res.findings[res.findings["rule"] == rule_id].to_dict("records")
    assert sorted(map(_key, got)) == sorted(map(_key, expected))


def test_messages_are_filled_in() -> None:
    """No placeholder is left unrendered in any sample finding."""
    for f in result().findings.to_dict("records"):
        for text in (f["message"], f["message_en"]):
            assert "{" not in text and "}" not in text, (f["rule"], text)
