"""Identity rules: resident IDs and taxpayer IDs, all ``flag`` rules over the engine's ID facts (the
identity family of check types is gone; the tests stay here, named by what the rules are about).

Rules: DISB-ID, REG-ID, DUES-TAXPAYER-ID. Every test runs ONE shipped rule through
tests/checks/harness.py."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

import fundaudit
from fundaudit.normalize import BLANK_TOKENS
from tests.checks.harness import (
    A,
    dues_row,
    hardship_file,
    legacy15,
    payment,
    resident_id,
    rows_of,
    run,
    sheet,
    uscc,
)
from tests.io.fixtures import xlsx_table

INVALID_IDS = [
    ("11010119900307803O", "bad_chars", "身份证号含非法字符", "invalid characters", "110101********803O"),
    ("１１０１０１１９９００３０７８０３Ｏ", "bad_chars", "身份证号含非法字符", "invalid characters",
     "110101********803O"),
    ("110101 19900307 803-4", "bad_chars", "身份证号含非法字符", "invalid characters", "110101*********03-4"),
    ("34100319800101001", "bad_length", "身份证号位数不对", "wrong length", "341003*******1001"),
    ("3410031980010100155", "bad_length", "身份证号位数不对", "wrong length", "341003*********0155"),
    (resident_id("341003", "19800101", "001", check="5"), "bad_checksum", "身份证号校验码错误", "wrong check character",
     "341003********0015"),
    (resident_id("341003", "19820230", "011"), "bad_birth_date", "身份证号中的出生日期不存在", "impossible birth date",
     "341003********0111"),
    ("341003800101001", "legacy15", "15 位旧身份证号", "15-digit legacy ID", "341003*****1001"),
    ("1.10101199003078E+17", "excel_number", "身份证号被 Excel 存成数字，末几位已丢失",
     "stored by Excel as a number, its last digits lost", "1.1010**********E+17"),
    (resident_id("341003", "20000615", "012"), "ok", "年龄 15 岁，不在 16–100 岁之间", "aged 15, outside 16–100",
     "341003********0128"),
]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


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
        got = {row: f["severity"] for row, f in res.by_row.items()}
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
        res = run("DUES-TAXPAYER-ID", {"dues": self.rows()}, params=params)
        assert {row: f["severity"] for row, f in res.by_row.items()} == expected


def test_disb_id() -> None:
    rows = [
        payment(A),  # 2 valid
        payment(resident_id("341003", "19800101", "001", check="5")),  # 3 wrong check character
        payment(resident_id("341003", "19820230", "011")),  # 4 valid check character, 30 February
        payment(resident_id("341003", "20000615", "012"), payment_date="2016-06-14"),  # 5 aged 15
        payment(resident_id("341003", "20000615", "012"), payment_date="2016-06-15"),  # 6 16 on the birthday
        payment(resident_id("341003", "19160105", "013"), payment_date="2016-01-05"),  # 7 100 on the birthday
        payment(resident_id("341003", "19150105", "014"), payment_date="2016-01-05"),  # 8 101
        payment(resident_id("341003", "19800101", "010").lower()),  # 9 valid, lower-case x
        payment("341003800101001"),  # 10 legacy 15-digit
        payment(""),  # 11 blank: nothing to check
        payment("34100319800101001"),  # 12 17 characters
        payment(resident_id("341003", "19800229", "016")),  # 13 29 February 1980 (a leap year)
    ]
    assert resident_id("341003", "19800101", "010").endswith("X")
    assert run("DISB-ID", {"disbursements": rows}).ref_rows == [[3], [4], [5], [8], [10], [12]]
    allowed = run("DISB-ID", {"disbursements": rows}, params={"allow_15_digit": True, "age_range": [16, 101]}).refs
    assert rows_of(allowed) == [[3], [4], [5], [12]]


def test_disb_id_reports_the_problem_and_age() -> None:
    rows = [payment(resident_id("341003", "20000615", "012"), payment_date="2016-06-14")]
    [v] = run("DISB-ID", {"disbursements": rows}).values
    assert v["age"] == 15 and v["id_status"] == "ok" and v["problem"] == "年龄 15 岁，不在 16–100 岁之间"
    assert v["recipient_id_no"] == "341003********0128"
    # the birth date is the masked middle of the ID: beside the masked ID only its year, else the ID is whole again
    assert v["birth"] == "2000-**-**"
    [raw] = run("DISB-ID", {"disbursements": rows}, masked=False).values
    assert (raw["birth"], raw["recipient_id_no"]) == ("2000-06-15", resident_id("341003", "20000615", "012"))


@pytest.mark.parametrize(("raw", "status", "zh", "en", "shown"), INVALID_IDS, ids=[r[1] for r in INVALID_IDS])
def test_disb_id_reports_every_invalid_id(raw: str, status: str, zh: str, en: str, shown: str) -> None:
    """Whatever is wrong with an ID, DISB-ID reports it, naming the problem, with the ID masked; the loader
    kept the value (no field_blanked entry), with its status in ``recipient_id_no__status``."""
    rows = [payment(A), payment(raw, payment_date="2016-06-14")]
    ledger = fundaudit.load("disbursements", sheet(rows))
    assert ledger.rejected.empty
    assert ledger.frame["recipient_id_no__status"].tolist() == ["ok", status]
    res = run("DISB-ID", {"disbursements": rows})
    [f] = res.findings.to_dict("records")
    assert [(r["row"]) for r in f["refs"]] == [3]
    assert f["values"]["id_status"] == status and f["values"]["recipient_id_no"] == shown
    assert f["message"] == f"张三 的身份证号 {shown}：{zh}（发放日 2016-06-14）；金额 1000.00 元"
    assert f["message_en"] == f"ID {shown} of 张三: {en} (paid 2016-06-14); 1000.00 yuan"


def test_letter_o_in_a_real_xlsx_is_reported_through_audit(tmp_path: Path) -> None:
    """The issue's case end to end: an .xlsx whose ID has the letter O typed for a zero; the audit loads the row
    (not field_blanked) and DISB-ID reports it, masked."""
    header = ["姓名", "身份证号码", "帮扶项目", "金额", "发放方式", "银行账号", "发放日期"]
    good = resident_id("110101", "19900307", "803")
    bad = good[:15] + "O" + good[16:]  # the zero of the sequence number typed as the letter O
    path = xlsx_table(tmp_path, [header, ["张三", good, "送温暖", 500, "银行代发", "6222020000000001", "2016-01-20"],
                                 ["李四", bad, "送温暖", 600, "银行代发", "6222020000000002", "2016-01-21"]],
                      name="送温暖.xlsx")
    result = fundaudit.audit({"disbursements": path}, period="2016")
    assert result.rejected_rows.empty
    found = result.findings[result.findings["rule"] == "DISB-ID"].to_dict("records")
    assert [(f["refs"][0]["file"], f["refs"][0]["row"]) for f in found] == [(str(path), 3)]
    [f] = found
    assert f["values"]["id_status"] == "bad_chars" and f["values"]["recipient_id_no"] == bad[:6] + "*" * 8 + bad[14:]
    shown = bad[:6] + "*" * 8 + bad[14:]
    assert f["message"] == f"李四 的身份证号 {shown}：身份证号含非法字符（发放日 2016-01-21）；金额 600.00 元"
    assert f["message_en"] == f"ID {shown} of 李四: invalid characters (paid 2016-01-21); 600.00 yuan"


def test_disb_id_agrees_with_stdnum() -> None:
    """Random IDs (half with a wrong check character, some impossible dates) against python-stdnum's
    check digit and birth date: a row fires exactly when the oracle rejects it."""
    rnd = random.Random(11643)
    rows, bad = [], []
    for i in range(400):
        y, m, d = rnd.randint(1920, 1999), rnd.randint(1, 12), rnd.randint(1, 31)
        body = f"3410{rnd.randint(0, 99):02d}{y:04d}{m:02d}{d:02d}{rnd.randint(0, 999):03d}"
        right = ric.calc_check_digit(body + "0")
        check = right if rnd.random() < 0.5 else rnd.choice([c for c in "0123456789X" if c != right])
        number = body + check
        try:
            born = ric.get_birth_date(number)
            real = True
        except Exception:
            real = False
        rows.append(payment(number, payment_date="2016-06-30"))
        if check != right or not real or not (16 <= _age(born, date(2016, 6, 30)) <= 100):
            bad.append(i + 2)
    assert [r[0] for r in run("DISB-ID", {"disbursements": rows}).ref_rows] == bad


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet="0123456789XxO０１２ -", min_size=1, max_size=20), min_size=1, max_size=12))
def test_every_id_as_typed_is_kept_and_reported_exactly_when_invalid(typed: list[str]) -> None:
    """Whatever is typed in an ID cell, the row is loaded with the ID kept (never blanked), and DISB-ID fires on
    it exactly when its GB 11643 status is not ok (ages 0–150 allowed, so only the ID itself can fire)."""
    rows = [payment(t, payment_date="2016-06-30") for t in typed]
    ledger = fundaudit.load("disbursements", sheet(rows))
    assert ledger.rejected.empty
    status = ledger.frame["recipient_id_no__status"].tolist()
    res = run("DISB-ID", {"disbursements": rows}, params={"age_range": [0, 150]})
    got = sorted(int(f["refs"][0]["row"]) for f in res.findings.to_dict("records"))
    assert got == [i + 2 for i, s in enumerate(status) if s not in ("", "ok")]
    assert [s == "" for s in status] == [t.replace(" ", "") in BLANK_TOKENS for t in typed]  # "-", "--": blank


def test_reg_id() -> None:
    rows = [
        hardship_file(A),  # 2
        hardship_file(resident_id("341003", "19800101", "001", check="7")),  # 3 wrong check character
        hardship_file(resident_id("341003", "19800230", "001")),  # 4 30 February
        hardship_file(resident_id("341003", "20001231", "001")),  # 5 16 on 2016-12-31
        hardship_file(resident_id("341003", "20010101", "001")),  # 6 15 at the period end
        hardship_file(""),  # 7 blank: not a REG-ID finding
        hardship_file("1.10101199003078E+17"),  # 8 stored by Excel as a number: kept as read and reported
    ]
    assert run("REG-ID", {"register": rows}).ref_rows == [[3], [4], [6], [8]]
    assert run("REG-ID", {"register": rows}, period="2017").ref_rows == [[3], [4], [8]]
