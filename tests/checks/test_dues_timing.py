"""The dues_timing check family (engine/checks/dues_timing.py): periods, deadlines, gaps, remittance.

Rules: DUES-PERIOD, DUES-LATE, DUES-GAP, DUES-REMIT-LATE. Every test runs ONE shipped rule through
tests/checks/harness.py."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from tests.checks.harness import (
    Case,
    dues_row,
    expected_rows,
    monthly,
    run,
    table_rows,
    uscc,
)

A, B = uscc(1), uscc(2)  # two taxpayers with valid USCCs


class TestPeriod:
    CASES: ClassVar[list[Case]] = [
        ("a month", {}, False),
        ("a calendar quarter", {"period_start": "2016-04-01", "period_end": "2016-06-30"}, False),
        ("a calendar year", {"period_start": "2016-01-01", "period_end": "2016-12-31"}, False),
        ("two months", {"period_start": "2016-05-01", "period_end": "2016-06-30"}, True),
        ("three months, not a quarter", {"period_start": "2016-02-01", "period_end": "2016-04-30"}, True),
        ("twelve months, not a calendar year", {"period_start": "2016-02-01", "period_end": "2017-01-31"}, True),
        ("starts on the 2nd", {"period_start": "2016-03-02"}, True),
        ("ends before the month's end", {"period_end": "2016-03-30"}, True),
        ("leap-day month end", {"period_start": "2016-02-01", "period_end": "2016-02-29"}, False),
        ("start after end", {"period_start": "2016-03-01", "period_end": "2016-02-29"}, True),
        ("treasury before the period", {"treasury_date": "2016-02-28"}, True),
        ("treasury on the first day", {"treasury_date": "2016-03-01"}, False),
    ]

    def test_table(self) -> None:
        res = run("DUES-PERIOD", {"dues": table_rows(self.CASES)})
        assert res.rows == expected_rows(self.CASES)

    def test_allowed_lengths(self) -> None:
        rows = [dues_row(uscc(1), 1, months=3), dues_row(uscc(2), 1, months=6), dues_row(uscc(3), 4, months=6)]
        assert run("DUES-PERIOD", {"dues": rows}, params={"allowed_lengths_months": [1, 6]}).rows == [2, 4]


class TestLate:
    CASES: ClassVar[list[Case]] = [
        ("all on the 10th", {}, False),
        ("all on the deadline day", {"filing_date": "2016-04-15", "payment_date": "2016-04-15",
                                     "treasury_date": "2016-04-15"}, False),
        ("filed a day late", {"filing_date": "2016-04-16"}, True),
        ("only the treasury date late", {"treasury_date": "2016-04-20"}, True),
        ("paid late, dates as 2016年4月18日", {"payment_date": "2016年4月18日"}, True),
        ("quarter Q4 2016 paid on 2017-01-15", {"period_start": "2016-10-01", "period_end": "2016-12-31",
                                                "filing_date": "2017-01-15", "payment_date": "2017-01-15",
                                                "treasury_date": "2017-01-15"}, False),
        ("quarter Q4 2016 paid on 2017-01-16", {"period_start": "2016-10-01", "period_end": "2016-12-31",
                                                "filing_date": "2017-01-14", "payment_date": "2017-01-16",
                                                "treasury_date": "2017-01-16"}, True),
        ("blank dates", {"filing_date": "", "payment_date": "", "treasury_date": ""}, False),
    ]

    def test_table(self) -> None:
        res = run("DUES-LATE", {"dues": table_rows(self.CASES)})
        assert res.rows == expected_rows(self.CASES)
        f = res.by_row[4]
        assert f["values"]["deadline"] == "2016-04-15" and f["values"]["days_late"] == 1

    def test_grace_and_deadline_day(self) -> None:
        rows = [dues_row(uscc(1), 3, filing_date="2016-04-16"), dues_row(uscc(2), 3, filing_date="2016-04-21")]
        assert run("DUES-LATE", {"dues": rows}, params={"grace_days": 5}).rows == [3]
        assert run("DUES-LATE", {"dues": rows}, params={"grace_days": 6}).rows == []
        assert run("DUES-LATE", {"dues": rows}, params={"deadline_day": 20}).rows == [3]


class TestGap:
    @pytest.mark.parametrize(
        ("rows", "expected"),
        [
            pytest.param(monthly(A, [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]), [(6, 7)], id="June missing"),
            pytest.param(monthly(A, [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]), [(6, 7)], id="June-July run is one finding"),
            pytest.param(monthly(A, [1, 2, 4, 5, 6, 8, 9, 10, 11, 12]), [(3, 4), (6, 7)], id="two runs"),
            pytest.param(monthly(A, [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), [], id="one earlier payment only"),
            pytest.param(monthly(A, range(4, 13)), [], id="new employer from April"),
            pytest.param([*monthly(A, [1, 2, 3, 4]), dues_row(A, 5, months=2), *monthly(A, range(7, 13))], [],
                         id="two-month row covers May and June"),
            pytest.param(monthly(A, range(1, 10)), [(10,)], id="stops after September"),
            pytest.param([*monthly(A, [11, 12], year=2015), *monthly(A, range(2, 13))], [(3, 4)],
                         id="January missing after 2015 history"),
            pytest.param([dues_row(A, m, months=3) for m in (1, 4, 10)], [(3, 4)], id="quarterly payer, Q3 missing"),
            pytest.param([*monthly(A, [1, 2, 3, 4, 5]), dues_row(A, 6, paid="-100.00"), *monthly(A, range(7, 13))],
                         [(6, 8)], id="a refund row is not a payment"),
            pytest.param([*monthly(A, [1, 2, 3], fund="工会筹备金"), *monthly(A, range(4, 13))], [],
                         id="switch from 筹备金 to 工会经费"),
        ],
    )
    def test_groups(self, rows: list[dict[str, Any]], expected: list[tuple[int, ...]]) -> None:
        assert run("DUES-GAP", {"dues": rows}).groups == expected

    def test_message(self) -> None:
        res = run("DUES-GAP", {"dues": monthly(A, [1, 2, 3, 4, 5, 8, 9, 10, 11, 12])})
        (f,) = res.findings.to_dict("records")
        assert f["values"]["gap_start"] == "2016-06-01" and f["values"]["gap_end"] == "2016-07-31"
        assert f["values"]["missing"] == 2
        assert f["message"] == f"单位015K（{A}）在 2016-06-01 至 2016-07-31 缺少 2 期缴费记录"
        assert f["message_en"] == f"单位015K ({A}) has no payment for 2 period(s) from 2016-06-01 to 2016-07-31"

    def test_parameters(self) -> None:
        rows = monthly(A, [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        assert run("DUES-GAP", {"dues": rows}, params={"min_prior_payments": 3}).groups == []
        quarterly = [dues_row(A, m, months=3) for m in (1, 4, 10)]
        assert run("DUES-GAP", {"dues": quarterly}, params={"cadence": "monthly"}).groups == [(3, 4)]


class TestRemitLate:
    CASES: ClassVar[list[Case]] = [
        ("settled after 5 days", {}, False),
        ("settled after exactly 30 days", {"treasury_date": "2016-04-10", "settlement_date": "2016-05-10"}, False),
        ("settled after 31 days", {"treasury_date": "2016-04-10", "settlement_date": "2016-05-11"}, True),
        ("settled after 45 days", {"treasury_date": "2016-07-06", "settlement_date": "2016-08-20"}, True),
        ("flag E, no account", {"settlement_flag": "E", "settlement_date": ""}, True),
        ("flag e in lower case", {"settlement_flag": "e", "settlement_date": ""}, True),
        ("not yet settled", {"settlement_date": ""}, False),
        ("in custody 356 days at the period end",
         {"custody_flag": "代管", "treasury_date": "2016-01-10", "settlement_date": ""}, True),
        ("in custody 174 days at the period end",
         {"custody_flag": "代管", "treasury_date": "2016-07-10", "settlement_date": ""}, False),
    ]

    def test_table(self) -> None:
        res = run("DUES-REMIT-LATE", {"dues": table_rows(self.CASES)})
        assert res.rows == expected_rows(self.CASES)
        assert res.by_row[4]["values"]["days_to_settle"] == 31
