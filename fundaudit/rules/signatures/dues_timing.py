"""Dues timing check types: period, deadline, gaps and remittance.

Implemented in ``fundaudit/engine/checks/dues_timing.py``; tested in ``tests/checks/test_dues_timing.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "dues_deadline",
        "Was the return filed, paid and in the treasury by the deadline (day N of the "
        "month after the period ends, plus grace days)?",
        fields=("deadline", "days_late"),
        deadline_day=Arg("int", default=15, low=1, high=31),
        grace_days=Arg("int", default=0, low=0),
        holiday_calendar=Arg("choice", default="none", choices=("none",), doc="no holiday shift yet"),
        dates=Arg("columns", default=["filing_date", "payment_date", "treasury_date"], types=("date",)),
    ),
    signature(
        "dues_gap",
        "Does an employer with earlier payments skip a period within the audit window?",
        group=True,
        fields=("gap_start", "gap_end", "missing"),
        min_prior_payments=Arg("int", default=2, low=1),
        cadence=Arg("choice", default="infer", choices=("infer", "monthly", "quarterly")),
    ),
]
