"""Dues check types (tax-collected union funds) and the ledger-total check.

Implemented in ``fundaudit/engine/checks/dues.py`` and ``totals.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    # --- dues (tax-collected union funds) ---------------------------------------------------------
    signature(
        "dues_period",
        "Is the levy period well formed: start ≤ end, on month boundaries, an allowed "
        "length, and money not in the treasury before the period starts?",
        fields=("months", "problem", "problem_en"),
        allowed_lengths_months=Arg("values", default=[1, 3, 12], items="int", low=1, high=120, min_items=1),
    ),
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
        "dues_duplicate",
        "Is one taxpayer, fund type and overlapping period paid more than once (net of "
        "correction pairs), or one e-voucher number used twice?",
        group=True,
        fields=("payments",),
        key=Arg("columns", default=["taxpayer_id", "fund_type", "period_start", "period_end"], min_items=1),
        ignore_correction_pairs=Arg("bool", default=True),
    ),
    signature(
        "dues_gap",
        "Does an employer with earlier payments skip a period within the audit window?",
        group=True,
        fields=("gap_start", "gap_end", "missing"),
        min_prior_payments=Arg("int", default=2, low=1),
        cadence=Arg("choice", default="infer", choices=("infer", "monthly", "quarterly")),
    ),
    signature(
        "dues_base_min",
        "Is the wage base at least the minimum wage × headcount for the period?",
        fields=("min_wage", "minimum", "months", "staff"),
        use_headcount=Arg("bool", default=True),
        region_code=Arg("str"),
    ),
    signature(
        "dues_base_drop",
        "Does the wage base fall far below the employer's recent median?",
        fields=("floor", "history", "median"),
        drop_ratio=Arg("number", default=0.5, low=0, high=1),
        lookback=Arg("int", default=6, low=1),
        min_history=Arg("int", default=3, low=1),
    ),
    signature(
        "taxpayer_id",
        "Does the taxpayer ID pass GB 32100 (and its embedded GB 11714 check)?",
        fields=("problem", "problem_en"),
        column=Arg("column", default="taxpayer_id"),
        accept_legacy=Arg("bool", default=True),
        check_embedded_org_code=Arg("choice", default="warn", choices=("error", "warn", "off")),
    ),
    signature(
        "dues_refund",
        "Does a refund (negative payment) trace to an earlier payment of the same taxpayer, fund type and period?",
        match_window_months=Arg("int", default=24, low=0),
    ),
    signature(
        "dues_split_sum",
        "Do the applied ratios add up to 1, and the shares plus fee to the basis?",
        fields=("basis", "difference", "problem", "problem_en", "ratio_sum", "share_total"),
        ratio_tol=Arg("number", default=0.0001, low=0, high=1),
        tol_yuan_per_share=Arg("number", default=0.01, low=0),
    ),
    signature(
        "dues_split_ratio",
        "Are the applied shares those of the ratio schedule in force for the period?",
        fields=("mismatched", "mismatched_en", "schedule_from"),
        grassroots_share=Arg("number", default=0.6, low=0, high=1),
        ratio_tol=Arg("number", default=0.0001, low=0, high=1),
    ),
    signature(
        "dues_fee",
        "Is the handling fee basis × fee ratio (half-up to the fen), and none kept on refunds?",
        fields=("basis", "difference", "expected_fee"),
        fee_ratio=Arg("number", default=0.02, low=0, high=1),
        tol_yuan=Arg("number", default=0.01, low=0),
    ),
    signature(
        "dues_remittance",
        "Was the grassroots share settled in time, not stuck in error, not too long in custody?",
        fields=("days_to_settle", "problem", "problem_en"),
        max_days_to_settle=Arg("int", default=30, low=0),
        max_days_in_custody=Arg("int", default=180, low=0),
        custody_values=Arg("values", default=["代管"], doc="custody_flag values meaning 'held in custody'"),
    ),
    signature(
        "dues_sme_refund",
        "In policy years, is the small/micro refund due and paid in full and on time; are refunds paid only where due?",
        fields=("problem", "problem_en", "refund_expected"),
        policy_years=Arg("values", default=[2020, 2021, 2022], items="int", low=1900, high=2100),
        refund_share=Arg("choice", default="upper_level", choices=("upper_level", "all")),
        refund_deadline_days=Arg("int", default=365, low=0),
    ),
    # --- every ledger ------------------------------------------------------------------------------
    signature(
        "ledger_total",
        "Does each 合计/小计 row's declared amount equal the sum of the rows it covers?",
        fields=("column", "declared", "difference", "label", "loaded"),
        tol_yuan=Arg("number", default=0.01, low=0),
    ),
]
