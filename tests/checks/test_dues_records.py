"""The dues_records check family (engine/checks/dues_records.py): duplicates and refunds.

Rules: DUES-DUP, DUES-REFUND, DUES-SME-REFUND. Every test runs ONE shipped rule through
tests/checks/harness.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.checks.harness import (
    dues_row,
    run,
    uscc,
)

A, B = uscc(1), uscc(2)  # two taxpayers with valid USCCs


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
        assert run("DUES-DUP", {"dues": rows}).groups == expected

    def test_without_correction_pairs(self) -> None:
        rows = [dues_row(A, 9), dues_row(A, 9, paid="-2000.00"), dues_row(A, 9)]
        assert run("DUES-DUP", {"dues": rows}).groups == []
        assert run("DUES-DUP", {"dues": rows}, params={"ignore_correction_pairs": False}).groups == [(2, 3, 4)]

    @pytest.mark.parametrize(
        ("rows", "params", "expected"),
        [
            pytest.param([dues_row(A, 9), dues_row(A, 9, paid="1500.00")], {}, ["1500.00"], id="the second payment"),
            pytest.param([dues_row(A, 9, paid="1500.00"), dues_row(A, 9), dues_row(A, 9, paid="700.00")], {},
                         ["2700.00"], id="all beyond the first"),
            pytest.param([dues_row(A, 9), dues_row(A, 9, paid="-2000.00"), dues_row(A, 9), dues_row(A, 9)], {},
                         ["2000.00"], id="a reversal nets"),
            pytest.param([dues_row(A, 9, paid="-2000.00"), dues_row(A, 9), dues_row(A, 9)],
                         {"ignore_correction_pairs": False}, ["0.00"], id="first positive row is the payment"),
            pytest.param([dues_row(A, 9), dues_row(A, 9, voucher_no="V1"), dues_row(B, 3, voucher_no="V1"),
                          dues_row(B, 4)], {}, ["4000.00"], id="merged groups: each repeat once"),
            pytest.param([dues_row(A, 9, voucher_no="V1"), dues_row(A, 9, voucher_no="V1", paid="1800.00")], {},
                         ["1800.00"], id="one row in both groups counts once"),
        ],
    )
    def test_amount_is_what_was_paid_again(
        self, rows: list[dict[str, Any]], params: dict[str, Any], expected: list[str]
    ) -> None:
        assert run("DUES-DUP", {"dues": rows}, params=params).findings["amount"].tolist() == expected

    def test_history_only_group_is_not_reported(self) -> None:
        rows = [dues_row(A, 11, year=2015), dues_row(A, 11, year=2015), dues_row(A, 1)]
        assert run("DUES-DUP", {"dues": rows}).groups == []


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
        assert run("DUES-REFUND", {"dues": rows}, period="2014-01-01..2016-12-31").rows == expected

    def test_amount_is_the_refund(self) -> None:
        res = run("DUES-REFUND", {"dues": [dues_row(A, 2, paid="-1560.00")]})
        assert res.findings["amount"].tolist() == ["1560.00"]


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
        assert res.rows == [i + 2 for i, (_, _, f) in enumerate(cases) if f]

    def test_refund_share_all(self) -> None:
        row = self.sme_row(1)
        fee = float(row["fee_amount"])
        due = float(row["refund_due"]) + fee
        row.update(refund_due=f"{due:.2f}", refund_paid=f"{due:.2f}")
        assert run("DUES-SME-REFUND", {"dues": [row]}, period="2020").rows == [2]
        assert run("DUES-SME-REFUND", {"dues": [row]}, period="2020", params={"refund_share": "all"}).rows == []
