"""The generic check types (engine/checks/generic.py: not_null, in_set, range, regex, unique, compare,
conditional, date_order, group_cap, lookup), table-driven: each case lists the rows that must fire (row
numbers as the user sees them: a DataFrame's first record is row 2) and implicitly that every other row
must not. User-written rules run as a user pack's YAML through the harness (``run_yaml``); the shipped
rules written with generic types (DUES-RATE, DUES-CALC, REG-EXIT-STATE) follow."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import pytest

import fundaudit
from fundaudit.engine import run_rules
from fundaudit.rules.model import parse_pack
from tests.checks.harness import (
    Case,
    dues_row,
    expected_rows,
    hardship_file,
    run,
    run_yaml,
    sheet,
    table_rows,
    uscc,
)

AID = pd.DataFrame(
    {
        "姓名": ["甲", "乙", "丙", "丁", "戊", "己"],
        "身份证号码": [
            "34100319800101001X",
            "341003198001010012",
            "34100319800101001X",
            "",
            "341003198001010012",
            "341003199001010015",
        ],
        "金额": ["100", "2,000", "300", "1000", "1000.01", "50"],
        "发放方式": ["现金", "打卡", "打卡", "打卡", "银行代发", "实物"],
        "银行账号": ["", "6222000011112222", "6222000011112222", "", "6222000033334444", ""],
        "发放日期": ["2016-01-05", "2016-02-01", "2016-02-03", "2016-12-31", "2016-02-01", "2015-12-31"],
        "审批日期": ["2016-01-05", "2016-01-31", "2016-02-04", "2016-12-30", "2016-02-01", "2015-12-30"],
        "帮扶项目": ["送温暖", "生活救助", "送温暖", "送温暖", "生活救助", "送温暖"],
    }
)


def fired(
    check: str,
    *,
    ledgers: dict[str, Any] | None = None,
    period: str | None = "2016",
    extra: str = "",
    message: str = "x",
) -> list[list[int]]:
    """The ref rows of each finding of a one-rule user pack with ``check``, run through the harness."""
    text = (
        f"pack: t\nrules:\n  - id: T-RULE\n    ledger: disbursements\n    severity: error\n"
        f'    check: {check}\n    message: "{message}"\n{extra}'
    )
    res = run_yaml(text, ledgers or {"disbursements": AID}, period=period, region=None)
    return [list(g) for g in res.groups]


@pytest.mark.parametrize(
    ("check", "extra", "rows"),
    [
        ("{type: in_set, column: payment_method, values: [现金], negate: true}", "", [[2]]),
        ("{type: in_set, column: payment_method, values: [打卡, 银行代发, 实物]}", "", [[2]]),
        ("{type: range, column: amount, max: 1000}", "", [[3], [6]]),  # 1000 itself passes, 1000.01 fires
        ("{type: range, column: amount, max: 1000, inclusive: false}", "", [[3], [5], [6]]),
        ("{type: range, column: payment_date, min: '2016-02-02'}", "", [[2], [3], [6]]),
        ("{type: regex, column: bank_account, pattern: '^6222\\d{12}$'}", "", []),
        ("{type: regex, column: bank_account, pattern: '3333', negate: true}", "", [[6]]),
        (
            "{type: not_null, columns: [bank_account]}",
            "    where: {column: payment_method, in: [打卡, 银行代发]}\n",
            [[5]],
        ),
        ("{type: unique, columns: [bank_account]}", "", [[3, 4]]),
        ("{type: compare, left: approval_date, op: le, right: payment_date}", "", [[4]]),
        (
            "{type: compare, left: amount, op: eq, right: 1000, tolerance: 0.01}",
            "    where: {column: amount, gt: 900}\n",
            [[3]],
        ),
        (
            "{type: conditional, if: {column: payment_method, in: [打卡]},"
            " then: {column: bank_account, is_null: false}}",
            "",
            [[5]],
        ),
        ("{type: date_order, columns: [approval_date, payment_date]}", "", [[4]]),
        ("{type: date_order, columns: [approval_date, payment_date], grace_days: 1}", "", []),
        (
            "{type: group_cap, group_by: [recipient_id_no], measure: sum, column: amount, cap: 400, date: payment_date,"
            " window: year}",
            "",
            [[3, 6]],
        ),  # 2000 + 1000.01 (2016); 100 + 300 = 400 passes
        (
            "{type: group_cap, group_by: [bank_account], measure: count_distinct, column: recipient_id_no, cap: 1}",
            "",
            [[3, 4]],
        ),
        (
            "{type: group_cap, group_by: [program], measure: count, cap: 1, date: payment_date, window: month}",
            "",
            [[3, 6]],
        ),
    ],
)
def test_generic_check_fires_on_exact_rows(check: str, extra: str, rows: list[list[int]]) -> None:
    assert sorted(fired(check, extra=extra)) == rows


def test_period_filter_keeps_history_out_of_findings() -> None:
    check = "{type: in_set, column: program, values: [生活救助]}"
    assert sorted(fired(check)) == [[2], [4], [5]]  # 2015-12-31 row (7) is history
    assert sorted(fired(check, period=None)) == [[2], [4], [5], [7]]


def test_lookup_exists_and_as_of() -> None:
    reg = pd.DataFrame(
        {
            "档案编号": ["H1", "H2"],
            "身份证号": ["34100319800101001X", "341003198001010012"],
            "建档日期": ["2016-01-10", "2015-01-01"],
            "脱困日期": ["", "2016-02-01"],
        }
    )
    ledgers = {"disbursements": AID, "register": reg}
    exists = "{type: lookup, table: register, on: {recipient_id_no: id_no}}"
    assert sorted(fired(exists, ledgers=ledgers)) == []  # row 5 has no ID: not checked
    as_of = (
        "{type: lookup, table: register, on: {recipient_id_no: id_no}, date: payment_date, "
        "valid_from: filed_date, valid_to: exit_date}"
    )
    # 甲 paid 01-05 before filing 01-10; 丙 paid 02-03 after filing: fine; 乙/戊 paid 02-01 on the exit day: fine
    assert sorted(fired(as_of, ledgers=ledgers)) == [[2]]
    not_exists = "{type: lookup, table: register, on: {recipient_id_no: id_no}, mode: not_exists}"
    assert sorted(fired(not_exists, ledgers=ledgers)) == [[2], [3], [4], [6]]


def test_missing_column_is_skipped_not_fired() -> None:
    text = (
        "pack: t\nrules:\n  - id: T-X\n    ledger: disbursements\n    severity: error\n"
        "    check: {type: not_null, columns: [approver]}\n    message: x\n"
    )
    st = run_yaml(text, {"disbursements": AID}, period=None, region=None, expect_status="skipped").status
    assert (st.status, st.findings) == ("skipped", 0)
    assert st.reason_en == "disbursements lacks the columns this rule needs: approver"
    missing = run_yaml(text, {}, period=None, region=None, expect_status="skipped").status
    assert missing.reason_en == "input disbursements is missing (give --ledger disbursements=FILE)"


def test_crashing_rule_reported_and_others_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from fundaudit.engine import checks

    pack = parse_pack(
        "pack: t\nrules:\n"
        "  - {id: T-A, ledger: disbursements, severity: error, message: a,"
        " check: {type: regex, column: recipient_name, pattern: x}}\n"
        "  - {id: T-B, ledger: disbursements, severity: error, message: b,"
        " check: {type: in_set, column: payment_method, values: [现金], negate: true}}\n",
        source="t",
    )
    checks.load_builtin()

    def boom(ctx: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setitem(checks.IMPLS, "regex", boom)
    res = run_rules({"disbursements": fundaudit.load("disbursements", AID)}, list(pack.rules))
    assert [(s.id, s.status) for s in res.statuses] == [("T-A", "error"), ("T-B", "ran")]
    assert (res.statuses[0].reason, res.statuses[0].reason_en) == ("ZeroDivisionError: bug", "ZeroDivisionError: bug")
    assert len(res.findings) == 1


def test_findings_carry_values_messages_money_and_masking() -> None:
    check = "{type: in_set, column: payment_method, values: [现金], negate: true}"
    text = (
        "pack: t\nrules:\n  - id: T-CASH\n    ledger: disbursements\n    severity: error\n"
        f"    check: {check}\n    amount: amount\n"
        "    message: {zh: '现金 {amount} 元给 {recipient_name}（{recipient_id_no}）', en: 'cash {amount}'}\n"
    )
    res = run_yaml(text, {"disbursements": AID}, region=None)
    [f] = res.findings.to_dict("records")
    assert f["message"] == "现金 100.00 元给 甲（341003********001X）"
    assert f["message_en"] == "cash 100.00"
    assert (f["amount"], f["amount_fen"], f["severity"], f["kind"]) == ("100.00", 10000, "error", "disbursements")
    assert f["values"]["recipient_id_no"] == "341003********001X"
    assert f["refs"] == [{"kind": "disbursements", "file": "<DataFrame>", "sheet": None, "row": 2, "role": "payment"}]
    unmasked = run_yaml(text, {"disbursements": AID}, region=None, masked=False)
    assert unmasked.messages == ["现金 100.00 元给 甲（34100319800101001X）"]


def test_fingerprint_stable_when_rows_move() -> None:
    check = "{type: in_set, column: payment_method, values: [现金], negate: true}"
    rule = parse_pack(
        f"pack: t\nrules:\n  - {{id: T-C, ledger: disbursements, severity: error, message: x, check: {check}}}\n",
        source="t",
    ).rules[0]
    a = run_rules({"disbursements": fundaudit.load("disbursements", AID)}, [rule])
    moved = pd.concat([AID.iloc[[3]], AID.drop(index=3)], ignore_index=True)
    b = run_rules({"disbursements": fundaudit.load("disbursements", moved)}, [rule])
    assert a.findings["refs"].iloc[0] != b.findings["refs"].iloc[0]
    assert a.findings["fingerprint"].iloc[0] == b.findings["fingerprint"].iloc[0]


# --- shipped rules written with generic check types -----------------------------------------------

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
        res = run("DUES-RATE", {"dues": sheet(table_rows(self.CASES), chinese=chinese)})
        assert res.rows == expected_rows(self.CASES)
        assert set(res.findings["severity"]) == {"error"}

    def test_mode_b(self) -> None:
        rows = [dues_row(uscc(1), 1, rate="0.008"), dues_row(uscc(2), 1, rate="0.8%"), dues_row(uscc(3), 1)]
        res = run("DUES-RATE", {"dues": rows}, params={"allowed_rates": [0.008]})
        assert res.rows == [4]

    def test_message_names_the_rate(self) -> None:
        res = run("DUES-RATE", {"dues": [dues_row(uscc(1), 1, rate="0.008")]})
        (f,) = res.findings.to_dict("records")
        assert f["message"] == "费率 0.008 不在允许范围（0.02）内；实缴 2000.00 元"
        assert f["message_en"] == "rate 0.008 is not an allowed rate (0.02); 2000.00 paid"
        assert f["amount"] == "2000.00"


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
        assert res.rows == expected_rows(self.CASES)

    def test_half_up_to_the_fen(self) -> None:
        # 100.25 × 0.02 = 2.005 → 2.01 half-up (2.00 half-even); tolerance 0 tells them apart
        rows = [dues_row(uscc(1), 1, base="100.25", amount_payable="2.01", amount_paid="2.01"),
                dues_row(uscc(2), 1, base="100.25", amount_payable="2.00", amount_paid="2.00")]
        res = run("DUES-CALC", {"dues": rows}, params={"tol_yuan": 0})
        assert res.rows == [3]


def test_reg_exit_state() -> None:
    rows = [
        hardship_file(),  # 2 active, no exit
        hardship_file(exit_date="2016-08-31"),  # 3 active with an exit date
        hardship_file(status="已撤档", exit_date="2015-03-01", filed_date="2015-05-20"),  # 4 exit before filing
        hardship_file(exit_reason="死亡"),  # 5 death recorded, still active
        hardship_file(status="已脱困", exit_date=""),  # 6 closed without an exit date
        hardship_file(status="已脱困", exit_date="2016-06-30", exit_reason="脱困"),  # 7 closed properly
        hardship_file(status="已撤档", exit_date="2015-03-10", exit_reason="死亡"),  # 8 closed on the filing day
    ]
    assert run("REG-EXIT-STATE", {"register": rows}).ref_rows == [[3], [4], [5], [6]]
