"""The samples' answer key, checked exactly: every input's kind, header row, counts and amount total,
and every rejected row (no more, no fewer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fundaudit.inputs import collect
from fundaudit.normalize import format_fen

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
