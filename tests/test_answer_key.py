"""The samples' answer key, checked exactly through the public API with the anhui-2016 profile:
every planted anomaly found, no false alarm, every rule of the catalog shipped and running."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import fundaudit

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def result() -> fundaudit.AuditResult:
    return fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016")


def _own(finding: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a finding is about (its kind's), without the rows of other inputs it cites."""
    return [r for r in finding["refs"] if r["kind"] == finding["kind"]]


def _key(refs: list[dict[str, Any]]) -> tuple[tuple[str, str, str | None, int], ...]:
    return tuple(sorted((r["kind"], r["file"], r["sheet"], int(r["row"])) for r in refs))


def test_every_catalog_rule_is_shipped_and_ran(result: fundaudit.AuditResult) -> None:
    status = {r["id"]: r for r in result.rules}
    assert set(EXPECTED["findings"]) <= set(status), sorted(set(EXPECTED["findings"]) - set(status))
    not_ran = {rid: (s["status"], s["reason_en"]) for rid, s in status.items() if s["status"] != "ran"}
    assert not not_ran


def test_findings_match_the_answer_key_exactly(result: fundaudit.AuditResult) -> None:
    got: dict[str, set[tuple[Any, ...]]] = {}
    for f in result.findings.to_dict("records"):
        got.setdefault(f["rule"], set()).add((f["severity"], _key(_own(f))))
    want = {
        rule: {(f["severity"], _key(f["refs"])) for f in findings} for rule, findings in EXPECTED["findings"].items()
    }
    shipped = {r["id"] for r in result.rules}
    mismatches = {}
    for rule in sorted(shipped | set(got)):
        missed = want.get(rule, set()) - got.get(rule, set())
        false_alarms = got.get(rule, set()) - want.get(rule, set())
        if missed or false_alarms:
            mismatches[rule] = {"missed": sorted(missed), "false_alarms": sorted(false_alarms)}
    assert not mismatches, json.dumps(mismatches, ensure_ascii=False, indent=1, default=str)


def test_findings_json_shape(result: fundaudit.AuditResult, tmp_path: Path) -> None:
    path = result.to_json(tmp_path / "findings.json")
    doc = json.loads(path.read_text("utf-8"))
    assert set(doc) == {
        "schema_version",
        "fundaudit_version",
        "generated_at",
        "run",
        "inputs",
        "skipped_inputs",
        "rejected_rows",
        "rules",
        "summary",
        "findings",
    }
    assert doc["run"]["profile"] == "anhui-2016"
    assert [(p["name"], p["source"]) for p in doc["run"]["rule_packs"]] == [
        ("fundaudit-dues", "rules/dues.yaml"),
        ("fundaudit-disbursements", "rules/disbursements.yaml"),
        ("fundaudit-register", "rules/register.yaml"),
        ("fundaudit-cross", "rules/cross.yaml"),
        ("fundaudit-ledger", "rules/ledger.yaml"),
    ]
    for f in doc["findings"]:
        assert set(f) == {
            "id",
            "fingerprint",
            "rule",
            "severity",
            "kind",
            "union",
            "subject",
            "message",
            "message_en",
            "amount",
            "values",
            "refs",
            "evidence",
        }
        assert f["amount"] is None or f["amount"].count(".") == 1
    assert doc["summary"]["findings"] == len(doc["findings"])
