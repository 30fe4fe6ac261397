"""The benchmark harness keeps working (run at a tiny size; speed itself is measured only in bench/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import audit, scale


@pytest.mark.slow
def test_audit_benchmark_runs_at_a_tiny_size_and_finds_only_what_it_planted(tmp_path: Path) -> None:
    doc = audit.main(["--dues", "2400", "--disbursements", "4000", "--findings", "500", "--data", str(tmp_path),
                      "--no-save"])
    whole = doc["whole_pack"]
    assert whole["rows"]["dues"] == 2400 and whole["rows"]["disbursements"] == 4000
    assert {s for s in whole["statuses"].values()} <= {"ran", "skipped"}
    assert whole["statuses"]["DISB-NOT-FILED"] == "ran" and whole["statuses"]["XL-UNION-ACCOUNT"] == "ran"
    # the generated ledgers are clean but for the planted rows: no rule outside these fires
    assert whole["by_rule"] == {"DISB-CASH": 5, "DISB-NOT-FILED": 4, "DISB-ACCOUNT-SHARED": 4, "DISB-OVER-CAP": 4,
                                "DUES-RATE": 1, "DUES-CALC": 1, "DUES-LATE": 1}
    per_plant = [sum(1 for i in range(4000) if i % scale.PLANT_EVERY == r) for r in (3, 13, 17)]
    found = [whole["by_rule"].get(rule, 0) for rule in ("DISB-CASH", "DISB-NOT-FILED", "DISB-ACCOUNT-SHARED")]
    assert found == per_plant  # one finding per planted row or group, nothing else
    assert doc["reports"]["findings"] == 500 and set(doc["reports"]["seconds"]) == {"json", "junit", "xlsx", "html"}
