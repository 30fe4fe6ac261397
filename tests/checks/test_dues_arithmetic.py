"""The dues_arithmetic check family (engine/checks/dues_arithmetic.py): split, fee and base figures.

Rules: DUES-SPLIT-SUM, DUES-SPLIT-RATIO, DUES-FEE, DUES-BASE-MIN, DUES-BASE-DROP. Every test runs ONE shipped
rule through tests/checks/harness.py."""

from __future__ import annotations

from decimal import Decimal
from statistics import median
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checks.harness import (
    MIN_WAGE,
    RATIOS,
    Case,
    dues_row,
    expected_rows,
    monthly,
    run,
    sheet,
    table_rows,
    uscc,
)

A, B = uscc(1), uscc(2)  # two taxpayers with valid USCCs


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
        res = run("DUES-BASE-MIN", {"dues": self.rows(self.CASES), "min_wage": MIN_WAGE}, region="341003")
        assert res.rows == expected_rows(self.CASES)
        f = res.by_row[2]
        # money at issue: the dues on the shortfall, (13,800 − 13,200) × 2%
        assert f["values"]["minimum"] == "13800.00" and f["amount"] == "12.00"
        # each cites the minimum-wage row in force
        assert res.cited == {r: [("min_wage", "min_wage", 2)] for r in expected_rows(self.CASES)}

    def test_without_headcount(self) -> None:
        rows = [dues_row(uscc(1), 3, base="13200.00", headcount=12)]
        assert run("DUES-BASE-MIN", {"dues": rows, "min_wage": MIN_WAGE}, params={"use_headcount": False}).rows == []

    def test_minimum_in_force_at_period_start(self) -> None:
        table = [{"region_code": "341003", "effective_from": "2015-01-01", "monthly": "1000.00"},
                 {"region_code": "341003", "effective_from": "2016-07-01", "monthly": "1150.00"}]
        rows = [dues_row(uscc(1), 6, base="1100.00", headcount=1), dues_row(uscc(2), 7, base="1100.00", headcount=1)]
        assert run("DUES-BASE-MIN", {"dues": rows, "min_wage": table}).cited == {3: [("min_wage", "min_wage", 3)]}

    def test_region(self) -> None:
        table = [*MIN_WAGE, {"region_code": "340102", "effective_from": "2015-11-01", "monthly": "1520.00"}]
        rows = [dues_row(uscc(1), 3, base="1200.00", headcount=1)]
        ledgers = {"dues": rows, "min_wage": table}
        assert run("DUES-BASE-MIN", ledgers, region="341003").rows == []
        assert run("DUES-BASE-MIN", ledgers, region="341003", params={"region_code": "340102"}).rows == [2]  # rule wins
        assert run("DUES-BASE-MIN", ledgers, region=None, params={"region_code": "340102"}).rows == [2]
        low = [dues_row(uscc(1), 3, base="1100.00", headcount=1)]
        assert run("DUES-BASE-MIN", {"dues": low, "min_wage": MIN_WAGE}).rows == [2]  # the table's only region
        # several regions and none chosen: skipped with the reason, never guessed
        res = run("DUES-BASE-MIN", {"dues": low, "min_wage": table}, region=None, expect_status="skipped")
        assert res.status.reason_en == (
            "min_wage covers several regions and none is chosen; set the parameter region_code"
        )

    def test_missing_table_is_a_skip(self) -> None:
        res = run("DUES-BASE-MIN", {"dues": [dues_row()]}, expect_status="skipped")
        assert res.status.reason_en == (
            "reference table min_wage is missing (give --ledger min_wage=FILE, or use a profile that ships it)"
        )


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
        assert run("DUES-BASE-DROP", {"dues": rows}).rows == expected

    def test_amount_is_the_dues_on_the_drop(self) -> None:
        """(median − base) × rate: (200,000 − 99,999.99) × 2% = 2,000.0002 → 2,000.00; a rate of 1.5% on an
        odd drop rounds half-up to the fen (exact decimals, no float drift); without a rate column, no money."""
        rows = [dues_row(A, m + 1, base=b) for m, b in enumerate(["100000", "300000", "100000", "300000", "99999.99"])]
        assert run("DUES-BASE-DROP", {"dues": rows}).findings["amount"].tolist() == ["2000.00"]
        rows[-1].update(wage_base="10000.33", rate="0.015")  # (200,000 − 10,000.33) × 1.5% = 2,849.99505
        assert run("DUES-BASE-DROP", {"dues": rows}).findings["amount"].tolist() == ["2850.00"]
        assert run("DUES-BASE-DROP", {"dues": sheet(rows, drop=["rate"])}).findings["amount"].tolist() == [None]

    def test_history_from_2015_counts(self) -> None:
        rows = [*monthly(A, [10, 11, 12], year=2015, base="100000"), dues_row(A, 1, base="40000")]
        assert run("DUES-BASE-DROP", {"dues": rows}).rows == [5]

    def test_same_period_start_is_not_history(self) -> None:
        # the second March row has two earlier periods only (the other March row is not history); April
        # has four: median (10,000 + 100,000) / 2 = 55,000
        rows = [*monthly(A, [1, 2], base="100000"), dues_row(A, 3, base="10000"),
                dues_row(A, 3, base="10000", fund="工会筹备金"), dues_row(A, 4, base="10000")]
        assert run("DUES-BASE-DROP", {"dues": rows}).rows == [6]

    def test_parameters(self) -> None:
        rows = [dues_row(A, m, base="100000") for m in range(1, 4)] + [dues_row(A, 4, base="60000")]
        assert run("DUES-BASE-DROP", {"dues": rows}).rows == []
        assert run("DUES-BASE-DROP", {"dues": rows}, params={"drop_ratio": 0.3}).rows == [5]
        assert run("DUES-BASE-DROP", {"dues": rows}, params={"drop_ratio": 0.3, "min_history": 4}).rows == []


    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.lists(
            st.tuples(
                st.integers(0, 1),  # taxpayer
                st.integers(8, 23),  # month, 2015-09 … 2016-12 (2016 is the period)
                st.sampled_from(["100000", "100000", "60000", "40000", "100"]),
                st.booleans(),  # 工会经费 or 工会筹备金 (the history spans both)
            ),
            min_size=4,
            max_size=30,
        ),
        st.integers(1, 7),
    )
    def test_same_rows_as_the_definition(self, spec: list[tuple[int, int, str, bool]], lookback: int) -> None:
        """Against the rule's definition written out in Python: per taxpayer, rows ordered by period start
        then row; a row's history is the ``lookback`` rows before the first row of its period start; with
        at least 3 of them it fires when base < median × 0.5. Ties of period start, both fund types, history
        from the year before, and every lookback from 1 to 7 (the query is a sliding window frame)."""
        rows = [
            dues_row((A, B)[t], m % 12 + 1, year=2015 + m // 12, base=b, fund="工会经费" if f else "工会筹备金")
            for t, m, b, f in spec
        ]
        expected = []
        for t in (0, 1):
            mine = sorted((m, i) for i, (tt, m, _, _) in enumerate(spec) if tt == t)
            for m, i in mine:
                first = next(k for k, (mm, _) in enumerate(mine) if mm == m)
                history = [Decimal(spec[j][2]) for _, j in mine[max(0, first - lookback):first]]
                if m >= 12 and len(history) >= 3 and Decimal(spec[i][2]) < median(history) * Decimal("0.5"):
                    expected.append(i + 2)
        got = run("DUES-BASE-DROP", {"dues": rows}, params={"lookback": lookback}).rows if rows else []
        assert got == sorted(expected)


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
        assert res.rows == expected_rows(self.CASES)
        assert res.by_row[3]["amount"] == "10.00"

    def test_relief_is_taken_off_the_basis(self) -> None:
        row = dues_row(uscc(1), 1, base="100000.00")
        row.update(relief_amount="100.00", amount_paid="1900.00", amount_payable="2000.00")
        row.update(share_grassroots_amount="1140.00", share_county_amount="285.00", share_city_amount="152.00",
                   share_province_amount="190.00", share_acftu_amount="95.00", fee_amount="38.00")
        assert sum(float(row[k]) for k in row if k.endswith("_amount") and k.startswith(("share", "fee"))) == 1900.0
        assert run("DUES-SPLIT-SUM", {"dues": [row]}).rows == [2]  # shares of 1,900 against a basis of 1,800
        row.update(share_grassroots_amount="1080.00", share_county_amount="270.00", share_city_amount="144.00",
                   share_province_amount="180.00", share_acftu_amount="90.00", fee_amount="36.00")
        assert run("DUES-SPLIT-SUM", {"dues": [row]}).rows == []


    def test_an_export_with_some_share_columns_sums_those_it_has(self) -> None:
        """A flag over {optional: …} share columns: the sums take the columns present (as the old check
        type did); without any amount column the amount reason is left out and the finding has no amount."""
        row = dues_row(uscc(1), 1)
        wrong = dict(row, share_grassroots_ratio="0.59")
        keep = ("share_grassroots", "share_county", "fee")
        some = [c for c in row if c.startswith(("share_", "fee_")) and not c.startswith(keep)]
        res = run("DUES-SPLIT-SUM", {"dues": sheet([row, wrong], drop=some)})
        assert res.findings[["amount", "message_en"]].to_dict("records") == [
            {"amount": "460.00", "message_en": "the ratios do not add up to 1: ratios add up to 0.77, shares to "
             "1540.00 against a basis of 2000.00 (difference -460.00)"},
            {"amount": "460.00", "message_en": "the ratios do not add up to 1: ratios add up to 0.76, shares to "
             "1540.00 against a basis of 2000.00 (difference -460.00)"},
        ]
        no_amounts = [c for c in row if c.endswith("_amount") and c.startswith(("share_", "fee_"))]
        res = run("DUES-SPLIT-SUM", {"dues": sheet([row, wrong], drop=no_amounts)})
        assert res.findings[["amount", "message_en"]].to_dict("records") == [
            {"amount": None, "message_en": "the ratios do not add up to 1: ratios add up to 0.99, shares to "
             "(not provided) against a basis of 2000.00 (difference (not provided))"},
        ]

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
        ledgers = {"dues": table_rows(self.CASES), "ratios": RATIOS}
        res = run("DUES-SPLIT-RATIO", ledgers, period="2016-01-01..2018-12-31")
        assert res.rows == expected_rows(self.CASES)
        assert res.by_row[4]["values"]["mismatched"] == "基层工会、县级工会"
        assert res.by_row[5]["values"]["mismatched_en"] == "ACFTU, handling fee"
        # each cites the schedule row of its fund type it was compared with (工会经费 row 2, 筹备金 row 3)
        assert res.cited == {4: [("ratio", "ratios", 2)], 5: [("ratio", "ratios", 2)], 6: [("ratio", "ratios", 3)]}

    def test_without_a_schedule(self) -> None:
        cases: list[Case] = [
            ("clean 工会经费", {}, False),
            ("clean 筹备金", {"fund": "工会筹备金"}, False),
            ("grassroots 0.55", {"share_grassroots_ratio": "0.55"}, True),
            ("筹备金 with a grassroots share", {"fund": "工会筹备金", "share_grassroots_ratio": "0.60",
                                                "share_prep_fund_ratio": "0"}, True),
            ("fee is not checked without a schedule", {"fee_ratio": "0.03"}, False),
        ]
        without = run("DUES-SPLIT-RATIO", {"dues": table_rows(cases)})
        assert without.rows == expected_rows(cases)
        assert without.cited == {r: [] for r in expected_rows(cases)}  # the parameters, no row to cite


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
        assert res.rows == expected_rows(self.CASES)
        assert res.by_row[3]["values"]["expected_fee"] == "40.00"

    def test_half_up(self) -> None:
        rows = [dues_row(uscc(1), 1, paid="100.25", fee_amount="2.01"),
                dues_row(uscc(2), 1, paid="100.25", fee_amount="2.00"),
                dues_row(uscc(3), 1, paid="-100.25", fee_amount="-2.01")]
        assert run("DUES-FEE", {"dues": rows}, params={"tol_yuan": 0}).rows == [3]
