"""One table-driven test per shipped dues rule: rows that must fire and boundary rows that must not,
with exact row numbers (DataFrame row = position + 2) and, for group rules, exact groups."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from tests.rules.helpers import (
    by_row,
    dues_row,
    fired,
    groups,
    legacy15,
    monthly,
    run,
    uscc,
)

Case = tuple[str, dict[str, Any], bool]
A, B = uscc(1), uscc(2)  # two taxpayers with valid USCCs


def table_rows(cases: list[Case], month: int = 3) -> list[dict[str, Any]]:
    """One clean row per case (its own taxpayer), the case's overrides applied."""
    return [dues_row(uscc(100 + i), month, **over) for i, (_, over, _) in enumerate(cases)]


def expected_rows(cases: list[Case]) -> list[int]:
    return [i + 2 for i, (_, _, fires) in enumerate(cases) if fires]


MIN_WAGE = [{"region_code": "341003", "effective_from": "2015-11-01", "monthly": "1150.00"}]
RATIOS = [
    {"effective_from": "2015-01-01", "effective_to": "2017-12-31", "fund_type": fund, "share_grassroots_ratio": gr,
     "share_prep_fund_ratio": prep, "share_county_ratio": "0.15", "share_city_ratio": "0.08",
     "share_province_ratio": "0.10", "share_acftu_ratio": "0.05", "fee_ratio": "0.02"}
    for fund, gr, prep in (("工会经费", "0.60", "0"), ("工会筹备金", "0", "0.60"))
]


class TestClean:
    """A clean ledger of monthly and quarterly payers (with 2015 history) fires no dues rule."""

    RULES: ClassVar[list[str]] = [
        "DUES-RATE", "DUES-CALC", "DUES-PERIOD", "DUES-LATE", "DUES-DUP", "DUES-GAP", "DUES-BASE-MIN",
        "DUES-BASE-DROP", "DUES-TAXPAYER-ID", "DUES-REFUND", "DUES-SPLIT-SUM", "DUES-SPLIT-RATIO", "DUES-FEE",
        "DUES-REMIT-LATE", "DUES-SME-REFUND",
    ]

    @pytest.mark.parametrize("rule_id", RULES)
    def test_clean_ledger_fires_nothing(self, rule_id: str) -> None:
        rows = [
            *monthly(uscc(1), range(10, 13), year=2015),
            *monthly(uscc(1), range(1, 13)),
            *[dues_row(uscc(2), m, months=3, base="300000.00") for m in (1, 4, 7, 10)],
            *monthly(legacy15(3), range(1, 13), fund="工会筹备金", base="30000.00", headcount=5),
        ]
        res = run(rule_id, {"dues": rows, "min_wage": MIN_WAGE, "ratios": RATIOS}, run_region="341003")
        assert fired(res) == []


class TestRate:
    CASES: ClassVar[list[Case]] = [
        ("0.02 as text", {"rate": "0.02"}, False),
        ("2% as text", {"rate": "2%"}, False),
        ("bare 2 means 2%", {"rate": "2"}, False),
        ("full-width percent", {"rate": "２％"}, False),
        ("mode B rate on a mode A row", {"rate": "0.008"}, True),
        ("0.2 is ten times too high", {"rate": "0.2"}, True),
        ("1.9%", {"rate": "1.9%"}, True),
        ("blank rate is not this rule's finding", {"rate": ""}, False),
    ]

    @pytest.mark.parametrize("chinese", [False, True])
    def test_table(self, chinese: bool) -> None:
        from tests.rules.helpers import frame

        res = run("DUES-RATE", {"dues": frame(table_rows(self.CASES), chinese=chinese)})
        assert fired(res) == expected_rows(self.CASES)
        assert set(res.findings["severity"]) == {"error"}

    def test_mode_b(self) -> None:
        rows = [dues_row(uscc(1), 1, rate="0.008"), dues_row(uscc(2), 1, rate="0.8%"), dues_row(uscc(3), 1)]
        res = run("DUES-RATE", {"dues": rows}, allowed_rates=[0.008])
        assert fired(res) == [4]

    def test_message_names_the_rate(self) -> None:
        res = run("DUES-RATE", {"dues": [dues_row(uscc(1), 1, rate="0.008")]})
        (f,) = res.findings.to_dict("records")
        assert "0.008" in f["message"] and "0.02" in f["message"] and f["amount"] == "2000.00"


class TestCalc:
    CASES: ClassVar[list[Case]] = [
        ("clean", {}, False),
        ("payable off by exactly the tolerance", {"amount_payable": "2000.01", "amount_paid": "2000.01"}, False),
        ("payable off by 0.02", {"amount_payable": "2000.02", "amount_paid": "2000.02"}, True),
        ("paid differs from payable", {"amount_paid": "1900.00"}, True),
        ("relief explains the difference", {"relief_amount": "100.00", "amount_paid": "1900.00"}, False),
        ("relief does not explain it", {"relief_amount": "50.00", "amount_paid": "1900.00"}, True),
        ("rate 2% as text", {"rate": "2%"}, False),
        ("mode B row consistent with its rate", {"rate": "0.008", "amount_payable": "800.00", "amount_paid": "800.00"},
         False),
    ]

    def test_table(self) -> None:
        res = run("DUES-CALC", {"dues": table_rows(self.CASES)})
        assert fired(res) == expected_rows(self.CASES)

    def test_half_up_to_the_fen(self) -> None:
        # 100.25 × 0.02 = 2.005 → 2.01 half-up (2.00 half-even); tolerance 0 tells them apart
        rows = [dues_row(uscc(1), 1, base="100.25", amount_payable="2.01", amount_paid="2.01"),
                dues_row(uscc(2), 1, base="100.25", amount_payable="2.00", amount_paid="2.00")]
        res = run("DUES-CALC", {"dues": rows}, tol_yuan=0)
        assert fired(res) == [3]


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
        assert fired(res) == expected_rows(self.CASES)

    def test_allowed_lengths(self) -> None:
        rows = [dues_row(uscc(1), 1, months=3), dues_row(uscc(2), 1, months=6), dues_row(uscc(3), 4, months=6)]
        assert fired(run("DUES-PERIOD", {"dues": rows}, allowed_lengths_months=[1, 6])) == [2, 4]


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
        assert fired(res) == expected_rows(self.CASES)
        f = by_row(res)[4]
        assert f["values"]["deadline"] == "2016-04-15" and f["values"]["days_late"] == 1

    def test_grace_and_deadline_day(self) -> None:
        rows = [dues_row(uscc(1), 3, filing_date="2016-04-16"), dues_row(uscc(2), 3, filing_date="2016-04-21")]
        assert fired(run("DUES-LATE", {"dues": rows}, grace_days=5)) == [3]
        assert fired(run("DUES-LATE", {"dues": rows}, grace_days=6)) == []
        assert fired(run("DUES-LATE", {"dues": rows}, deadline_day=20)) == [3]


class TestDuplicate:
    @pytest.mark.parametrize(
        ("rows", "expected"),
        [
            pytest.param([dues_row(A, 9), dues_row(A, 9)], [(2, 3)], id="paid twice"),
            pytest.param([dues_row(A, 9), dues_row(A, 9, fund="工会筹备金")], [], id="other fund type"),
            pytest.param([dues_row(A, 9), dues_row(A, 9, paid="-2000.00", correction_type="更正申报"),
                          dues_row(A, 9, correction_type="更正申报")], [], id="amended return nets to one"),
            pytest.param([dues_row(A, 9), dues_row(A, 9, paid="-2000.00")], [], id="paid and reversed"),
            pytest.param([dues_row(A, 9, voucher_no="V1"), dues_row(A, 10, voucher_no="V1")], [(2, 3)],
                         id="one voucher twice"),
            pytest.param([dues_row(A, 9), dues_row(A, 9, voucher_no="V1"), dues_row(B, 3, voucher_no="V1"),
                          dues_row(B, 4)], [(2, 3, 4)], id="key group and voucher group merge"),
            pytest.param([dues_row(A, 9), dues_row(A, 9), dues_row(B, 3), dues_row(B, 3)], [(2, 3), (4, 5)],
                         id="two groups"),
        ],
    )
    def test_groups(self, rows: list[dict[str, Any]], expected: list[tuple[int, ...]]) -> None:
        assert groups(run("DUES-DUP", {"dues": rows})) == expected

    def test_without_correction_pairs(self) -> None:
        rows = [dues_row(A, 9), dues_row(A, 9, paid="-2000.00"), dues_row(A, 9)]
        assert groups(run("DUES-DUP", {"dues": rows})) == []
        assert groups(run("DUES-DUP", {"dues": rows}, ignore_correction_pairs=False)) == [(2, 3, 4)]

    def test_history_only_group_is_not_reported(self) -> None:
        rows = [dues_row(A, 11, year=2015), dues_row(A, 11, year=2015), dues_row(A, 1)]
        assert groups(run("DUES-DUP", {"dues": rows})) == []


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
        assert groups(run("DUES-GAP", {"dues": rows})) == expected

    def test_message(self) -> None:
        res = run("DUES-GAP", {"dues": monthly(A, [1, 2, 3, 4, 5, 8, 9, 10, 11, 12])})
        (f,) = res.findings.to_dict("records")
        assert f["values"]["gap_start"] == "2016-06-01" and f["values"]["gap_end"] == "2016-07-31"
        assert f["values"]["missing"] == 2 and A in f["message"]

    def test_parameters(self) -> None:
        rows = monthly(A, [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        assert groups(run("DUES-GAP", {"dues": rows}, min_prior_payments=3)) == []
        quarterly = [dues_row(A, m, months=3) for m in (1, 4, 10)]
        assert groups(run("DUES-GAP", {"dues": quarterly}, cadence="monthly")) == [(3, 4)]


class TestBaseMin:
    CASES: ClassVar[list[Case]] = [
        ("base below 12 staff × 1,150", {"base": "13200.00", "headcount": 12}, True),
        ("base exactly 9 staff × 1,150", {"base": "10350.00", "headcount": 9}, False),
        ("quarterly base below 11 × 1,150 × 3", {"base": "36000.00", "headcount": 11, "months": 3}, True),
        ("quarterly base exactly 11 × 1,150 × 3", {"base": "37950.00", "headcount": 11, "months": 3}, False),
        ("headcount blank: one minimum wage", {"base": "1149.99", "headcount": ""}, True),
        ("headcount unreadable '20-25' (blanked): one minimum wage", {"base": "1150.00", "headcount": "20-25"}, False),
        ("a refund row is not checked", {"base": "100.00", "paid": "-2.00"}, False),
        ("blank base is not checked", {"base": "0", "wage_base": ""}, False),
    ]

    @staticmethod
    def rows(cases: list[Case]) -> list[dict[str, Any]]:
        out = []
        for i, (_, over, _) in enumerate(cases):
            kw = dict(over)
            months = kw.pop("months", 1)
            out.append(dues_row(uscc(100 + i), 4 if months == 3 else 3, months=months, **kw))
        return out

    def test_table(self) -> None:
        res = run("DUES-BASE-MIN", {"dues": self.rows(self.CASES), "min_wage": MIN_WAGE}, run_region="341003")
        assert fired(res) == expected_rows(self.CASES)
        f = by_row(res)[2]
        assert f["values"]["minimum"] == "13800.00" and f["amount"] == "600.00"

    def test_without_headcount(self) -> None:
        rows = [dues_row(uscc(1), 3, base="13200.00", headcount=12)]
        assert fired(run("DUES-BASE-MIN", {"dues": rows, "min_wage": MIN_WAGE}, use_headcount=False)) == []

    def test_minimum_in_force_at_period_start(self) -> None:
        table = [{"region_code": "341003", "effective_from": "2015-01-01", "monthly": "1000.00"},
                 {"region_code": "341003", "effective_from": "2016-07-01", "monthly": "1150.00"}]
        rows = [dues_row(uscc(1), 6, base="1100.00", headcount=1), dues_row(uscc(2), 7, base="1100.00", headcount=1)]
        assert fired(run("DUES-BASE-MIN", {"dues": rows, "min_wage": table})) == [3]

    def test_region(self) -> None:
        table = [*MIN_WAGE, {"region_code": "340102", "effective_from": "2015-11-01", "monthly": "1520.00"}]
        rows = [dues_row(uscc(1), 3, base="1200.00", headcount=1)]
        ledgers = {"dues": rows, "min_wage": table}
        assert fired(run("DUES-BASE-MIN", ledgers, run_region="341003")) == []
        assert fired(run("DUES-BASE-MIN", ledgers, run_region="341003", region_code="340102")) == [2]  # rule wins
        assert fired(run("DUES-BASE-MIN", ledgers, region_code="340102")) == [2]
        low = [dues_row(uscc(1), 3, base="1100.00", headcount=1)]
        assert fired(run("DUES-BASE-MIN", {"dues": low, "min_wage": MIN_WAGE})) == [2]  # the table's only region
        # several regions and none chosen: skipped with the reason, never guessed
        res = run("DUES-BASE-MIN", {"dues": low, "min_wage": table}, expect_status="skipped")
        assert "several regions" in (res.statuses[0].reason_en or "")

    def test_missing_table_is_a_skip(self) -> None:
        res = run("DUES-BASE-MIN", {"dues": [dues_row()]}, expect_status="skipped")
        assert "min_wage" in (res.statuses[0].reason_en or "")


class TestBaseDrop:
    @pytest.mark.parametrize(
        ("bases", "expected"),
        [
            pytest.param(["100000"] * 6 + ["49999.99"], [8], id="below half the median"),
            pytest.param(["100000"] * 6 + ["50000"], [], id="exactly half"),
            pytest.param(["100000", "100000", "10000"], [], id="two earlier rows only"),
            pytest.param(["100000", "100000", "100000", "10000"], [5], id="three earlier rows"),
            pytest.param(["10", "10", "10", "10", "200000", "200000", "200000", "200000", "200000", "200000",
                          "90000"], [12], id="median of the last six only"),
            pytest.param(["100000", "300000", "100000", "300000", "99999.99"], [6],
                         id="even history: median 200,000"),
        ],
    )
    def test_table(self, bases: list[str], expected: list[int]) -> None:
        rows = [dues_row(A, m + 1, base=b) for m, b in enumerate(bases)]
        assert fired(run("DUES-BASE-DROP", {"dues": rows})) == expected

    def test_history_from_2015_counts(self) -> None:
        rows = [*monthly(A, [10, 11, 12], year=2015, base="100000"), dues_row(A, 1, base="40000")]
        assert fired(run("DUES-BASE-DROP", {"dues": rows})) == [5]

    def test_same_period_start_is_not_history(self) -> None:
        # the second March row has two earlier periods only (the other March row is not history); April
        # has four: median (10,000 + 100,000) / 2 = 55,000
        rows = [*monthly(A, [1, 2], base="100000"), dues_row(A, 3, base="10000"),
                dues_row(A, 3, base="10000", fund="工会筹备金"), dues_row(A, 4, base="10000")]
        assert fired(run("DUES-BASE-DROP", {"dues": rows})) == [6]

    def test_parameters(self) -> None:
        rows = [dues_row(A, m, base="100000") for m in range(1, 4)] + [dues_row(A, 4, base="60000")]
        assert fired(run("DUES-BASE-DROP", {"dues": rows})) == []
        assert fired(run("DUES-BASE-DROP", {"dues": rows}, drop_ratio=0.3)) == [5]
        assert fired(run("DUES-BASE-DROP", {"dues": rows}, drop_ratio=0.3, min_history=4)) == []


class TestTaxpayerId:
    CASES: ClassVar[list[tuple[str, str, str | None]]] = [
        ("valid USCC", uscc(1), None),
        ("wrong check character", uscc(2, check_ok=False), "error"),
        ("embedded organisation code wrong", uscc(3, org_ok=False), "warning"),
        ("legacy 15-character ID", legacy15(4), None),
        ("legacy 15-character ID, wrong organisation code", legacy15(5, ok=False), "warning"),
        ("letter I is not in the alphabet", uscc(6)[:10] + "I" + uscc(6)[11:], "error"),
        ("17 characters", uscc(7)[:17], "error"),
        ("lower-case x", uscc(8).lower(), None),
        ("legacy 20-character individual ID", "11010519491231002X01", None),
    ]

    def rows(self) -> list[dict[str, Any]]:
        return [dues_row(tid, 1) for _, tid, _ in self.CASES]

    def test_table(self) -> None:
        res = run("DUES-TAXPAYER-ID", {"dues": self.rows()})
        got = {row: f["severity"] for row, f in by_row(res).items()}
        assert got == {i + 2: sev for i, (_, _, sev) in enumerate(self.CASES) if sev}

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"check_embedded_org_code": "off"}, {3: "error", 7: "error", 8: "error"}),
            ({"check_embedded_org_code": "error"}, {3: "error", 4: "error", 6: "error", 7: "error", 8: "error"}),
            ({"accept_legacy": False}, {3: "error", 4: "warning", 5: "error", 6: "error", 7: "error", 8: "error",
                                        10: "error"}),
        ],
    )
    def test_parameters(self, params: dict[str, Any], expected: dict[int, str]) -> None:
        res = run("DUES-TAXPAYER-ID", {"dues": self.rows()}, **params)
        assert {row: f["severity"] for row, f in by_row(res).items()} == expected


class TestRefund:
    @pytest.mark.parametrize(
        ("rows", "expected"),
        [
            pytest.param([dues_row(A, 2), dues_row(A, 2, paid="-2000.00", treasury_date="2016-05-01")], [],
                         id="matches the earlier payment"),
            pytest.param([dues_row(A, 2, paid="-1560.00", fund="工会筹备金")], [2], id="no payment on file"),
            pytest.param([dues_row(A, 2), dues_row(A, 2, paid="-2000.00", fund="工会筹备金")], [3],
                         id="payment of the other fund type"),
            pytest.param([dues_row(A, 1), dues_row(A, 2, paid="-2000.00")], [3], id="payment of another period"),
            pytest.param([dues_row(A, 2, treasury_date="2016-06-01"),
                          dues_row(A, 2, paid="-2000.00", treasury_date="2016-05-01")], [3],
                         id="payment after the refund"),
            pytest.param([dues_row(A, 2, year=2014, treasury_date="2014-03-10"),
                          dues_row(A, 2, year=2014, paid="-2000.00", treasury_date="2016-03-11")], [3],
                         id="payment more than 24 months earlier"),
            pytest.param([dues_row(A, 2, year=2014, treasury_date="2014-03-11"),
                          dues_row(A, 2, year=2014, paid="-2000.00", treasury_date="2016-03-11")], [],
                         id="payment exactly 24 months earlier"),
        ],
    )
    def test_table(self, rows: list[dict[str, Any]], expected: list[int]) -> None:
        # rows of 2014 are outside the period: audit 2014-2016 for the window cases
        assert fired(run("DUES-REFUND", {"dues": rows}, period="2014-01-01..2016-12-31")) == expected

    def test_amount_is_the_refund(self) -> None:
        res = run("DUES-REFUND", {"dues": [dues_row(A, 2, paid="-1560.00")]})
        assert res.findings["amount"].tolist() == ["1560.00"]


class TestSplitSum:
    CASES: ClassVar[list[Case]] = [
        ("clean", {}, False),
        ("county share 10.00 too high", {"share_county_amount": "310.00"}, True),
        ("county share 0.01 too high (tolerance)", {"share_county_amount": "300.01"}, False),
        ("county share 0.02 too high", {"share_county_amount": "300.02"}, True),
        ("ratios add up to 0.99", {"share_grassroots_ratio": "0.59"}, True),
        ("ratios add up to 1.00005", {"share_grassroots_ratio": "0.60005"}, False),
        ("refund with negative shares", {"paid": "-2000.00"}, False),
        ("ratios as percentages", {"share_grassroots_ratio": "60%", "share_county_ratio": "15"}, False),
    ]

    def test_table(self) -> None:
        res = run("DUES-SPLIT-SUM", {"dues": table_rows(self.CASES)})
        assert fired(res) == expected_rows(self.CASES)
        assert by_row(res)[3]["amount"] == "10.00"

    def test_relief_is_taken_off_the_basis(self) -> None:
        row = dues_row(uscc(1), 1, base="100000.00")
        row.update(relief_amount="100.00", amount_paid="1900.00", amount_payable="2000.00")
        row.update(share_grassroots_amount="1140.00", share_county_amount="285.00", share_city_amount="152.00",
                   share_province_amount="190.00", share_acftu_amount="95.00", fee_amount="38.00")
        assert sum(float(row[k]) for k in row if k.endswith("_amount") and k.startswith(("share", "fee"))) == 1900.0
        assert fired(run("DUES-SPLIT-SUM", {"dues": [row]})) == [2]  # shares of 1,900 against a basis of 1,800
        row.update(share_grassroots_amount="1080.00", share_county_amount="270.00", share_city_amount="144.00",
                   share_province_amount="180.00", share_acftu_amount="90.00", fee_amount="36.00")
        assert fired(run("DUES-SPLIT-SUM", {"dues": [row]})) == []


class TestSplitRatio:
    CASES: ClassVar[list[Case]] = [
        ("clean 工会经费", {}, False),
        ("clean 筹备金", {"fund": "工会筹备金"}, False),
        ("grassroots 0.55 / county 0.20", {"share_grassroots_ratio": "0.55", "share_county_ratio": "0.20"}, True),
        ("ACFTU 0.04 / fee 0.03", {"share_acftu_ratio": "0.04", "fee_ratio": "0.03"}, True),
        ("筹备金 row split as 工会经费", {"fund": "工会筹备金", "share_grassroots_ratio": "0.60",
                                         "share_prep_fund_ratio": "0"}, True),
        ("within the tolerance", {"share_grassroots_ratio": "0.60005"}, False),
        ("amounts are not this rule's business", {"share_county_amount": "310.00"}, False),
        ("period outside the schedule", {"year": 2018}, False),
    ]

    def test_table(self) -> None:
        res = run("DUES-SPLIT-RATIO", {"dues": table_rows(self.CASES), "ratios": RATIOS},
                  period="2016-01-01..2018-12-31")
        assert fired(res) == expected_rows(self.CASES)
        assert by_row(res)[4]["values"]["mismatched"] == "基层工会、县级工会"
        assert by_row(res)[5]["values"]["mismatched_en"] == "ACFTU, handling fee"

    def test_without_a_schedule(self) -> None:
        cases: list[Case] = [
            ("clean 工会经费", {}, False),
            ("clean 筹备金", {"fund": "工会筹备金"}, False),
            ("grassroots 0.55", {"share_grassroots_ratio": "0.55"}, True),
            ("筹备金 with a grassroots share", {"fund": "工会筹备金", "share_grassroots_ratio": "0.60",
                                                "share_prep_fund_ratio": "0"}, True),
            ("fee is not checked without a schedule", {"fee_ratio": "0.03"}, False),
        ]
        assert fired(run("DUES-SPLIT-RATIO", {"dues": table_rows(cases)})) == expected_rows(cases)


class TestFee:
    CASES: ClassVar[list[Case]] = [
        ("clean", {}, False),
        ("fee 3%", {"fee_amount": "60.00"}, True),
        ("fee off by exactly 0.01", {"fee_amount": "40.01"}, False),
        ("refund gives the fee back", {"paid": "-2000.00"}, False),
        ("refund keeps the fee", {"paid": "-2000.00", "fee_amount": "0.00"}, True),
        ("blank fee is not checked", {"fee_amount": ""}, False),
    ]

    def test_table(self) -> None:
        res = run("DUES-FEE", {"dues": table_rows(self.CASES)})
        assert fired(res) == expected_rows(self.CASES)
        assert by_row(res)[3]["values"]["expected_fee"] == "40.00"

    def test_half_up(self) -> None:
        rows = [dues_row(uscc(1), 1, paid="100.25", fee_amount="2.01"),
                dues_row(uscc(2), 1, paid="100.25", fee_amount="2.00"),
                dues_row(uscc(3), 1, paid="-100.25", fee_amount="-2.01")]
        assert fired(run("DUES-FEE", {"dues": rows}, tol_yuan=0)) == [3]


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
        assert fired(res) == expected_rows(self.CASES)
        assert by_row(res)[4]["values"]["days_to_settle"] == 31


class TestSmeRefund:
    @staticmethod
    def sme_row(n: int, month: int = 1, year: int = 2020, **kw: Any) -> dict[str, Any]:
        row = dues_row(uscc(n), month, year=year, sme_type="小型企业")
        upper = sum(float(row[f"share_{s}_amount"]) for s in ("county", "city", "province", "acftu"))
        row.update(refund_due=f"{upper:.2f}", refund_paid=f"{upper:.2f}", refund_date=f"{year}-06-30")
        row.update(kw)
        return row

    def test_table(self) -> None:
        cases: list[tuple[str, dict[str, Any], bool]] = [
            ("refund paid in 2016, not a policy year", self.sme_row(1, year=2016), True),
            ("small firm in 2016, nothing due or paid", dues_row(uscc(2), 3, sme_type="小型企业"), False),
            ("2020: due and paid in full on time", self.sme_row(3), False),
            ("2020: refund due is not the upper share", self.sme_row(4, refund_due="100.00", refund_paid="100.00"),
             True),
            ("2020: refund to a firm with no 小微类型", self.sme_row(5, sme_type=""), True),
            ("2020: paid after the 365-day deadline", self.sme_row(6, refund_date="2021-03-01"), True),
            ("2020: nothing paid, deadline passed by the period end", self.sme_row(7, refund_paid="0", refund_date=""),
             True),
            ("2021: nothing paid yet, deadline still ahead", self.sme_row(8, month=11, year=2021, refund_paid="0",
                                                                          refund_date=""), False),
        ]
        rows = [r for _, r, _ in cases]
        res = run("DUES-SME-REFUND", {"dues": rows}, period="2016-01-01..2021-12-31")
        assert fired(res) == [i + 2 for i, (_, _, f) in enumerate(cases) if f]

    def test_refund_share_all(self) -> None:
        row = self.sme_row(1)
        fee = float(row["fee_amount"])
        due = float(row["refund_due"]) + fee
        row.update(refund_due=f"{due:.2f}", refund_paid=f"{due:.2f}")
        assert fired(run("DUES-SME-REFUND", {"dues": [row]}, period="2020")) == [2]
        assert fired(run("DUES-SME-REFUND", {"dues": [row]}, period="2020", refund_share="all")) == []
