"""DISB-* rules, one table-driven test each: rows that must fire and boundary rows that must not,
with exact row numbers (a DataFrame's n-th record is row n + 2)."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

import fundaudit
from fundaudit.normalize import BLANK_TOKENS
from tests.io.fixtures import xlsx_table
from tests.rules_aid.helpers import fired, frame, rid, rows_of, run, values

A = rid("341003", "19800101", "001")
B = rid("341003", "19810202", "002")
C = rid("341004", "19700303", "003")
D = rid("341021", "19750404", "004")
E = rid("341022", "19650505", "005")
F = rid("341023", "19660606", "006")
G = rid("341024", "19670707", "007")


def pay(who: str = A, **kw: Any) -> dict[str, Any]:
    """A clean payment: bank-paid 生活救助, disclosed and approved in time, by another person."""
    row = {
        "recipient_name": "张三",
        "recipient_id_no": who,
        "program": "生活救助",
        "aid_category": "深度困难",
        "amount": "1,000.00",
        "payment_method": "银行代发",
        "bank_account": "6222020000000001",
        "payment_date": "2016-05-10",
        "disclosure_start": "2016-05-01",
        "disclosure_end": "2016-05-05",
        "approver": "汪主席",
        "approval_date": "2016-05-08",
        "handler": "程经办",
        "grassroots_union": "甲工会",
    }
    row.update(kw)
    return row


def file(who: str, file_no: str, **kw: Any) -> dict[str, Any]:
    """A register file, active since 2014."""
    row = {
        "file_no": file_no,
        "name": "某某",
        "id_no": who,
        "category": "深度困难",
        "filed_date": "2014-01-01",
        "status": "在档",
    }
    row.update(kw)
    return row


# --- DISB-ID --------------------------------------------------------------------------------------


def test_disb_id() -> None:
    rows = [
        pay(A),  # 2 valid
        pay(rid("341003", "19800101", "001", check="5")),  # 3 wrong check character
        pay(rid("341003", "19820230", "011")),  # 4 valid check character, 30 February
        pay(rid("341003", "20000615", "012"), payment_date="2016-06-14"),  # 5 aged 15
        pay(rid("341003", "20000615", "012"), payment_date="2016-06-15"),  # 6 16 on the birthday
        pay(rid("341003", "19160105", "013"), payment_date="2016-01-05"),  # 7 100 on the birthday
        pay(rid("341003", "19150105", "014"), payment_date="2016-01-05"),  # 8 101
        pay(rid("341003", "19800101", "010").lower()),  # 9 valid, lower-case x
        pay("341003800101001"),  # 10 legacy 15-digit
        pay(""),  # 11 blank: nothing to check
        pay("34100319800101001"),  # 12 17 characters
        pay(rid("341003", "19800229", "016")),  # 13 29 February 1980 (a leap year)
    ]
    assert rid("341003", "19800101", "010").endswith("X")
    assert rows_of(fired("DISB-ID", {"disbursements": rows})) == [[3], [4], [5], [8], [10], [12]]
    allowed = fired("DISB-ID", {"disbursements": rows}, params={"allow_15_digit": True, "age_range": [16, 101]})
    assert rows_of(allowed) == [[3], [4], [5], [12]]


def test_disb_id_reports_the_problem_and_age() -> None:
    rows = [pay(rid("341003", "20000615", "012"), payment_date="2016-06-14")]
    [v] = values("DISB-ID", {"disbursements": rows})
    assert v["age"] == 15 and v["id_status"] == "ok" and "16" in v["problem"]
    assert v["recipient_id_no"].startswith("341003********") and "2000" not in v["recipient_id_no"]


# Every way an ID can be invalid, as typed in a ledger: (cell text, status, zh problem, en problem, the ID as
# the message shows it, masked). The loader keeps each as read (none is blanked), and DISB-ID reports each.
INVALID_IDS = [
    ("11010119900307803O", "bad_chars", "身份证号含非法字符", "invalid characters", "110101********803O"),
    ("１１０１０１１９９００３０７８０３Ｏ", "bad_chars", "身份证号含非法字符", "invalid characters",
     "110101********803O"),
    ("110101 19900307 803-4", "bad_chars", "身份证号含非法字符", "invalid characters", "110101*********03-4"),
    ("34100319800101001", "bad_length", "身份证号位数不对", "wrong length", "341003*******1001"),
    ("3410031980010100155", "bad_length", "身份证号位数不对", "wrong length", "341003*********0155"),
    (rid("341003", "19800101", "001", check="5"), "bad_checksum", "身份证号校验码错误", "wrong check character",
     "341003********0015"),
    (rid("341003", "19820230", "011"), "bad_birth_date", "身份证号中的出生日期不存在", "impossible birth date",
     "341003********0111"),
    ("341003800101001", "legacy15", "15 位旧身份证号", "15-digit legacy ID", "341003*****1001"),
    ("1.10101199003078E+17", "excel_number", "身份证号被 Excel 存成数字，末几位已丢失",
     "stored by Excel as a number, its last digits lost", "1.1010**********E+17"),
    (rid("341003", "20000615", "012"), "ok", "年龄 15 岁，不在 16–100 岁之间", "aged 15, outside 16–100",
     "341003********0128"),
]


@pytest.mark.parametrize(("raw", "status", "zh", "en", "shown"), INVALID_IDS, ids=[r[1] for r in INVALID_IDS])
def test_disb_id_reports_every_invalid_id(raw: str, status: str, zh: str, en: str, shown: str) -> None:
    """Whatever is wrong with an ID, DISB-ID reports it, naming the problem, with the ID masked; the loader
    kept the value (no field_blanked entry), with its status in ``recipient_id_no__status``."""
    rows = [pay(A), pay(raw, payment_date="2016-06-14")]
    ledger = fundaudit.load("disbursements", frame(rows))
    assert ledger.rejected.empty
    assert ledger.frame["recipient_id_no__status"].tolist() == ["ok", status]
    res = run("DISB-ID", {"disbursements": rows})
    [f] = res.findings.to_dict("records")
    assert [(r["row"]) for r in f["refs"]] == [3]
    assert f["values"]["id_status"] == status and f["values"]["recipient_id_no"] == shown
    assert f["message"] == f"张三 的身份证号 {shown}：{zh}（发放日 2016-06-14）；金额 1000.00 元"
    assert f["message_en"] == f"ID {shown} of 张三: {en} (paid 2016-06-14); 1000.00 yuan"


def test_invalid_ids_match_only_the_same_text_and_never_a_damaged_one() -> None:
    """An invalid ID is a matching key as written: the same typo on two payments is a duplicate, and it never
    matches a valid ID; an ID Excel stored as a number (digits lost) matches nothing, not even its twin."""
    valid = rid("110101", "19900307", "803")
    typo = valid[:15] + "O" + valid[16:]  # the zero of the sequence number typed as the letter O
    damaged = "1.10101199003078E+17"
    rows = [
        pay(typo, program="送温暖", payment_date="2016-01-10", bank_account="1"),  # 2 } the same typo twice
        pay(typo, program="送温暖", payment_date="2016-01-10", bank_account="2"),  # 3 } in one window
        pay(valid, program="送温暖", payment_date="2016-01-10", bank_account="3"),  # 4 the valid ID
        pay(damaged, program="送温暖", payment_date="2016-01-10", bank_account="4"),  # 5 } two damaged IDs:
        pay(damaged, program="送温暖", payment_date="2016-01-10", bank_account="5"),  # 6 } not evidence
    ]
    assert fired("DISB-DUP", {"disbursements": rows}) == [("error", (("disbursements", 2), ("disbursements", 3)))]
    # the register: a file under the typo finds the payments with the typo, never the valid one; a damaged
    # ID finds nothing (its file number is the only way to it)
    register = [file(typo, "F1"), file(damaged, "F2")]
    needing = [dict(r, program="生活救助", file_no="") for r in rows]
    assert rows_of(fired("DISB-NOT-FILED", {"disbursements": needing, "register": register})) == [[4], [5], [6]]


def test_letter_o_in_a_real_xlsx_is_reported_through_audit(tmp_path: Path) -> None:
    """The issue's case end to end: an .xlsx whose ID has the letter O typed for a zero; the audit loads the row
    (not field_blanked) and DISB-ID reports it, masked."""
    header = ["姓名", "身份证号码", "帮扶项目", "金额", "发放方式", "银行账号", "发放日期"]
    good = rid("110101", "19900307", "803")
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
    assert "身份证号含非法字符" in f["message"] and "invalid characters" in f["message_en"]
    assert bad not in f["message"] + f["message_en"]


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
        rows.append(pay(number, payment_date="2016-06-30"))
        if check != right or not real or not (16 <= _age(born, date(2016, 6, 30)) <= 100):
            bad.append(i + 2)
    assert [r[0] for r in rows_of(fired("DISB-ID", {"disbursements": rows}))] == bad


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# --- DISB-NOT-FILED -------------------------------------------------------------------------------


def test_disb_not_filed() -> None:
    register = [
        file(A, "F1", filed_date="2016-03-20"),
        file(B, "F2", filed_date="2015-01-01", status="已撤档", exit_date="2015-12-01", exit_reason="调离"),
        file(D, "F4", filed_date="2015-01-01"),
        file(rid("341003", "19800101", "010"), "F5"),
    ]
    x = rid("341003", "19900101", "021")
    y = rid("341003", "19900101", "022")
    payments = [
        pay(A, payment_date="2016-03-01"),  # 2 filed later
        pay(A, payment_date="2016-03-20"),  # 3 paid on the filing day
        pay(x),  # 4 no file at all
        pay(x, program="送温暖", aid_category="深度困难"),  # 5 送温暖 to a hardship category
        pay(x, program="送温暖", aid_category="劳模"),  # 6 劳模 need no file
        pay(x, program="金秋助学"),  # 7 not in the list
        pay(B, program="医疗救助"),  # 8 a closed file still counts as filed
        pay("", file_no="F4"),  # 9 no ID: found by file number
        pay(y, file_no="F4"),  # 10 a valid other ID: the file number does not join it
        pay(rid("341003", "19800101", "010").lower()),  # 11 lower-case x matches the register's X
        pay("", file_no="F1", payment_date="2016-03-01"),  # 12 found by file number, filed later
    ]
    assert rows_of(fired("DISB-NOT-FILED", {"disbursements": payments, "register": register})) == [
        [2],
        [4],
        [5],
        [10],
        [12],
    ]
    found = values("DISB-NOT-FILED", {"disbursements": payments, "register": register})
    assert [v["matched_on"] for v in found] == ["id_no", "none", "none", "none", "file_no"]
    assert found[0]["filed_date"] == "2016-03-20" and found[4]["register_file_no"] == "F1"
    only_id = fired("DISB-NOT-FILED", {"disbursements": payments, "register": register}, params={"fallback_on": "none"})
    assert rows_of(only_id) == [[2], [4], [5], [9], [10], [12]]


def test_disb_not_filed_without_a_category_column_still_checks_the_unconditional_programmes() -> None:
    """送温暖(困难职工) needs 困难类别 to decide; 生活救助/医疗救助/助学救助 do not, so they still run."""
    x = rid("341003", "19900101", "021")
    payments = [pay(x), pay(x, program="送温暖"), pay(A, payment_date="2016-03-01"), pay(x, program="医疗救助")]
    for p in payments:
        del p["aid_category"]
    register = [file(A, "F1", filed_date="2016-03-20")]
    assert rows_of(fired("DISB-NOT-FILED", {"disbursements": payments, "register": register})) == [[2], [4], [5]]
    only_conditional = {"programs_requiring_file": ["送温暖(困难职工)"]}
    fired("DISB-NOT-FILED", {"disbursements": payments, "register": register}, params=only_conditional,
          expect_status="skipped")


# --- DISB-AFTER-EXIT ------------------------------------------------------------------------------


def test_disb_after_exit() -> None:
    register = [
        file(A, "F1", status="已撤档", exit_date="2016-03-15", exit_reason="死亡"),
        file(B, "F2", status="已脱困", exit_date="2016-06-30", exit_reason="脱困"),
        file(B, "F3", filed_date="2016-09-01"),  # filed again
        file(C, "F4"),
    ]
    payments = [
        pay(A, payment_date="2016-04-12"),  # 2 after death
        pay(A, payment_date="2016-03-15"),  # 3 on the exit date itself
        pay(B, payment_date="2016-07-10"),  # 4 between the two files
        pay(B, payment_date="2016-09-05"),  # 5 the new file is in force
        pay(C, payment_date="2016-12-30"),  # 6 active file
        pay(D, payment_date="2016-12-30"),  # 7 no file: DISB-NOT-FILED's business
        pay("", file_no="F1", payment_date="2016-05-01"),  # 8 by file number
    ]
    inputs = {"disbursements": payments, "register": register}
    assert rows_of(fired("DISB-AFTER-EXIT", inputs)) == [[2], [4], [8]]
    found = values("DISB-AFTER-EXIT", inputs)
    assert found[0]["exit_reason"] == "死亡" and found[0]["exit_date"] == "2016-03-15"
    assert [v["matched_on"] for v in found] == ["id_no", "id_no", "file_no"]
    assert rows_of(fired("DISB-AFTER-EXIT", inputs, params={"grace_days": 30})) == [[8]]  # 47 days after death


# --- DISB-CASH ------------------------------------------------------------------------------------


def test_disb_cash() -> None:
    rows = [
        pay(payment_method="现金", bank_account=""),  # 2 cash
        pay(program="送温暖", payment_method="实物", bank_account=""),  # 3 goods allowed for 送温暖
        pay(payment_method="实物", bank_account=""),  # 4 goods for 生活救助
        pay(payment_method="银行代发", bank_account=""),  # 5 bank payment, no account
        pay(payment_method="打卡"),  # 6 clean
        pay(payment_method="", bank_account=""),  # 7 no method, no account
        pay(payment_method=""),  # 8 no method, an account
        pay(payment_method="现金发放", bank_account="6222020000000009"),  # 9 cash, though an account is given
        pay(program="互助保障", payment_method="现金", bank_account=""),  # 10 pass-through when configured
        pay(bank_account="6.22202E+18"),  # 11 account destroyed by Excel, blanked at load
    ]
    assert rows_of(fired("DISB-CASH", {"disbursements": rows})) == [[2], [4], [5], [7], [9], [10], [11]]
    through = fired("DISB-CASH", {"disbursements": rows}, params={"pass_through_programs": ["互助保障"]})
    assert rows_of(through) == [[2], [4], [5], [7], [9], [11]]


# --- DISB-ACCOUNT-NAME ----------------------------------------------------------------------------


def test_disb_account_name() -> None:
    rows = [
        pay(recipient_name="汪建英", account_holder="汪建英"),  # 2 same
        pay(recipient_name="汪建英", account_holder="汪　建英"),  # 3 full-width space inside
        pay(recipient_name="徐华", account_holder="汪辉宏"),  # 4 someone else
        pay(recipient_name="徐华", account_holder=""),  # 5 no holder given
        pay(recipient_name="阿依古丽·买买提", account_holder="阿依古丽.买买提"),  # 6 middle dot spellings
        pay(recipient_name="徐华", account_holder="徐明"),  # 7 same surname
    ]
    assert rows_of(fired("DISB-ACCOUNT-NAME", {"disbursements": rows})) == [[4], [7]]
    family = fired("DISB-ACCOUNT-NAME", {"disbursements": rows}, params={"allow_family_holder": True})
    assert rows_of(family) == [[4]]


# --- DISB-ACCOUNT-SHARED --------------------------------------------------------------------------


def test_disb_account_shared() -> None:
    rows = [
        pay(A, bank_account="6222 0200 0000 0001"),  # 2 } one account, two people
        pay(B, bank_account="6222020000000001"),  # 3 }
        pay(C, bank_account="6222020000000002"),  # 4 one person, twice
        pay(C, bank_account="6222020000000002"),  # 5
        pay(D, bank_account="6222020000000003"),  # 6 } three rows, two IDs and a row without ID
        pay(E, bank_account="6222020000000003"),  # 7 }
        pay("", recipient_name="某", bank_account="6222020000000003"),  # 8 }
        pay(F, bank_account=""),  # 9 no account
        pay(G, bank_account=""),  # 10 no account
    ]
    assert fired("DISB-ACCOUNT-SHARED", {"disbursements": rows}) == [
        ("error", (("disbursements", 2), ("disbursements", 3))),
        ("error", (("disbursements", 6), ("disbursements", 7), ("disbursements", 8))),
    ]
    register = [file(D, "F1", address="黄山区 甘棠镇1号"), file(E, "F2", address="黄山区甘棠镇１号")]
    household = fired("DISB-ACCOUNT-SHARED", {"disbursements": rows, "register": register})
    assert [sev for sev, _ in household] == ["error", "warning"]
    off = fired(
        "DISB-ACCOUNT-SHARED",
        {"disbursements": rows, "register": register},
        params={"same_household_downgrade": False, "min_recipients": 3},
    )
    assert off == []


# --- DISB-DUP -------------------------------------------------------------------------------------


def test_disb_dup() -> None:
    rows = [
        pay(A, program="送温暖", payment_date="2016-01-15", bank_account="1"),  # 2 season 2015/16
        pay(A, program="送温暖", payment_date="2016-12-20", bank_account="2"),  # 3 season 2016/17
        pay(B, program="送温暖", payment_date="2016-01-05", bank_account="3"),  # 4 } one season
        pay(B, program="送温暖", payment_date="2016-02-29", bank_account="4"),  # 5 } (end of February)
        pay(C, program="送温暖", payment_date="2016-03-05", bank_account="5"),  # 6 outside the season:
        pay(C, program="送温暖", payment_date="2016-03-06", bank_account="6"),  # 7 same day only
        pay(D, payment_date="2016-06-08", bank_account="7"),  # 8 } same day, same programme
        pay(D, payment_date="2016-06-08", bank_account="8", amount="900"),  # 9 }
        pay(E, payment_date="2016-07-01", bank_account="9"),  # 10 } same date + amount + account,
        pay(F, payment_date="2016-07-01", bank_account="9"),  # 11 } two people
        pay(G, payment_date="2016-08-01", bank_account="10"),  # 12 } both tests: one finding
        pay(G, payment_date="2016-08-01", bank_account="10"),  # 13 }
        pay(G, program="医疗救助", payment_date="2016-08-01", bank_account="11"),  # 14 another programme
        pay(A, program="金秋助学", payment_date="2016-08-01", bank_account="12"),  # 15 } school year
        pay(A, program="金秋助学", payment_date="2016-08-31", bank_account="13"),  # 16 }
        pay(A, program="金秋助学", payment_date="2016-09-01", bank_account="14"),  # 17 next school year
    ]
    assert rows_of(fired("DISB-DUP", {"disbursements": rows})) == [[4, 5], [8, 9], [10, 11], [12, 13], [15, 16]]
    yearly = fired("DISB-DUP", {"disbursements": rows}, params={"windows": {"default": "year"}})
    assert rows_of(yearly)[:3] == [[2, 3], [4, 5], [6, 7]]


def test_disb_dup_bad_window_is_a_skip() -> None:
    rows = [pay(A)]
    fired("DISB-DUP", {"disbursements": rows}, params={"windows": {"送温暖": "winter"}}, expect_status="skipped")


# --- DISB-OVER-CAP --------------------------------------------------------------------------------

CAPS = [
    {
        "program": "送温暖",
        "category": "相对困难",
        "year": "2016",
        "per_payment_cap": "1500",
        "per_year_cap": "2500",
        "basis": "fixed",
    },
    {
        "program": "送温暖",
        "category": "深度困难",
        "year": "2016",
        "per_payment_cap": "2000",
        "per_year_cap": "3000",
        "basis": "fixed",
    },
    {
        "program": "生活救助",
        "category": "",
        "year": "2016",
        "per_payment_cap": "6",
        "per_year_cap": "12",
        "basis": "dibao_multiple",
    },
    {
        "program": "医疗救助",
        "category": "",
        "year": "2016",
        "per_payment_cap": "5000",
        "per_year_cap": "8000",
        "basis": "fixed",
    },
]
DIBAO = [
    {"region_code": "341003", "year": "2016", "monthly_dibao": "480"},
    {"region_code": "341004", "year": "2016", "monthly_dibao": "520"},
]


def test_disb_over_cap() -> None:
    rows = [
        pay(A, program="送温暖", aid_category="相对困难", amount="1800"),  # 2 above 1,500 per payment
        pay(B, program="送温暖", aid_category="相对困难", amount="1500"),  # 3 exactly the cap
        pay(C, program="送温暖", aid_category="相对困难", amount="1500", payment_date="2016-01-13"),  # 4 } 2,700
        pay(C, program="送温暖", aid_category="相对困难", amount="1200", payment_date="2016-12-13"),  # 5 } a year
        pay(D, amount="2880", payment_date="2016-03-01"),  # 6 } 6 × 480 twice = 12 × 480
        pay(D, amount="2880", payment_date="2016-09-01"),  # 7 }
        pay(E, amount="2880.01"),  # 8 a fen above 6 × 低保
        pay(F, program="送温暖", aid_category="劳模", amount="9000"),  # 9 no cap row for 劳模
        pay(G, program="送温暖", aid_category="深度困难", amount="2000"),  # 10 exactly 2,000
        pay(A, program="送温暖", aid_category="相对困难", amount="1000", payment_date="2015-12-20"),  # 11 2015
    ]
    inputs = {"disbursements": rows, "caps": CAPS, "dibao": DIBAO}
    assert rows_of(fired("DISB-OVER-CAP", inputs)) == [[2], [4, 5], [8]]
    found = values("DISB-OVER-CAP", inputs)
    assert (found[0]["cap"], found[0]["excess"]) == ("1500.00", "300.00")
    assert (found[1]["cap"], found[1]["total"]) == ("2500.00", "2700.00")
    assert found[2]["cap"] == "2880.00"
    # another region's 低保 (520 × 6 = 3,120): 2,880.01 passes
    assert rows_of(fired("DISB-OVER-CAP", inputs, region_code="341004")) == [[2], [4, 5]]
    # several regions and none chosen: the 低保 multiples cannot be worked out, fixed caps still apply
    assert rows_of(fired("DISB-OVER-CAP", inputs, region_code=None)) == [[2], [4, 5]]
    assert rows_of(fired("DISB-OVER-CAP", {**inputs, "dibao": DIBAO[:1]}, region_code=None)) == [[2], [4, 5], [8]]


def test_disb_over_cap_without_caps_is_a_skip() -> None:
    fired("DISB-OVER-CAP", {"disbursements": [pay()]}, expect_status="skipped")


# --- DISB-CATEGORY --------------------------------------------------------------------------------


def test_disb_category() -> None:
    register = [
        file(A, "F1", category="相对困难"),
        file(B, "F2", category="深度困难", status="已脱困", exit_date="2016-03-01"),
        file(B, "F3", category="相对困难", filed_date="2016-03-02"),
        file(C, "F4", category="全国级"),
    ]
    payments = [
        pay(A, program="送温暖", aid_category="深度困难"),  # 2 paid as deep, file says relative
        pay(A, program="送温暖", aid_category="相对困难"),  # 3 agrees
        pay(A, program="送温暖", aid_category="劳模"),  # 4 not a hardship category
        pay(B, aid_category="深度困难", payment_date="2016-02-01"),  # 5 the old file was in force
        pay(B, aid_category="深度困难", payment_date="2016-04-01"),  # 6 the new file says relative
        pay(D, aid_category="深度困难"),  # 7 no file
        pay(C, aid_category="深度困难"),  # 8 legacy category
    ]
    inputs = {"disbursements": payments, "register": register}
    assert rows_of(fired("DISB-CATEGORY", inputs)) == [[2], [6], [8]]
    assert [v["file_category"] for v in values("DISB-CATEGORY", inputs)] == ["相对困难", "相对困难", "全国级"]
    mapped = fired("DISB-CATEGORY", inputs, params={"category_map": {"深度困难": ["深度困难", "全国级"]}})
    assert rows_of(mapped) == [[2], [6]]


# --- DISB-DISCLOSURE ------------------------------------------------------------------------------


def test_disb_disclosure() -> None:
    rows = [
        pay(disclosure_start="", disclosure_end=""),  # 2 none: error
        pay(disclosure_start="2016-04-06", disclosure_end="2016-04-10", payment_date="2016-04-11"),  # 3 5 days
        pay(disclosure_start="2016-04-08", disclosure_end="2016-04-10", payment_date="2016-04-14"),  # 4 3 days
        pay(disclosure_start="2016-03-05", disclosure_end="2016-03-12", payment_date="2016-03-10"),  # 5 ends late
        pay(disclosure_start="2016-03-05", disclosure_end="2016-03-10", payment_date="2016-03-10"),  # 6 ends on the day
        pay(disclosure_start="2016-03-05", disclosure_end="", payment_date="2016-03-20"),  # 7 no end date
        pay(disclosure_start="2016-04-08", disclosure_end="2016-04-12", payment_date="2016-04-20"),  # 8 Fri–Tue
    ]
    assert fired("DISB-DISCLOSURE", {"disbursements": rows}) == [
        ("error", (("disbursements", 2),)),
        ("warning", (("disbursements", 4),)),
        ("warning", (("disbursements", 5),)),
        ("warning", (("disbursements", 6),)),
        ("warning", (("disbursements", 7),)),
    ]
    working = fired("DISB-DISCLOSURE", {"disbursements": rows}, params={"calendar": "working"})
    assert rows_of(working) == [[2], [3], [4], [5], [6], [7], [8]]  # 04-06..04-10 is Wed–Sun: 3 working days
    days = values("DISB-DISCLOSURE", {"disbursements": rows}, params={"calendar": "working"})
    assert days[-1]["days"] == 3 and days[1]["days"] == 3


# --- DISB-APPROVAL --------------------------------------------------------------------------------


def test_disb_approval() -> None:
    rows = [
        pay(approver="", approval_date=""),  # 2 no approver: error
        pay(approval_date="2016-05-12"),  # 3 after payment
        pay(approver="吴斌", handler="吴 斌"),  # 4 approver is the handler
        pay(approver="张三", recipient_name="张　三"),  # 5 approver is the recipient
        pay(approval_date="2016-05-10"),  # 6 on the payment day
        pay(approval_date=""),  # 7 approver without a date
        pay(approver="", approval_date="2016-05-12"),  # 8 no approver, and late: one error
    ]
    assert fired("DISB-APPROVAL", {"disbursements": rows}) == [
        ("error", (("disbursements", 2),)),
        ("error", (("disbursements", 8),)),
        ("warning", (("disbursements", 3),)),
        ("warning", (("disbursements", 4),)),
        ("warning", (("disbursements", 5),)),
    ]
    assert rows_of(fired("DISB-APPROVAL", {"disbursements": rows}, params={"require_approver": False})) == [
        [3],
        [4],
        [5],
        [8],
    ]


# --- DISB-SPLIT -----------------------------------------------------------------------------------


def test_disb_split() -> None:
    def med(who: str, amount: str, day: str) -> dict[str, Any]:
        return pay(who, program="医疗救助", amount=amount, payment_date=day, bank_account=f"6222{day}")

    rows = [
        med(A, "3000", "2016-03-01"),  # 2 } 6,000 in 14 days, each under the 5,000 cap
        med(A, "3000", "2016-03-15"),  # 3 }
        med(B, "2500", "2016-04-01"),  # 4 } 5,000: not above
        med(B, "2500", "2016-04-21"),  # 5 }
        med(C, "3000", "2016-05-01"),  # 6 } 41 days apart
        med(C, "3000", "2016-06-11"),  # 7 }
        med(D, "2000", "2016-07-01"),  # 8  } three payments chained within 30 days
        med(D, "2000", "2016-07-20"),  # 9  }
        med(D, "2000", "2016-07-30"),  # 10 }
        pay(E, amount="600", payment_date="2016-08-01"),  # 11 } no cap for 生活救助 here: 1,000 default
        pay(E, amount="600", payment_date="2016-08-31"),  # 12 } (30 days apart)
        med(F, "6000", "2016-09-01"),  # 13 } one payment above the cap is not a split
        med(F, "100", "2016-09-02"),  # 14 }
    ]
    caps = [{"program": "医疗救助", "year": "2016", "per_payment_cap": "5000", "basis": "fixed"}]
    inputs = {"disbursements": rows, "caps": caps}
    assert rows_of(fired("DISB-SPLIT", inputs)) == [[2, 3], [8, 9, 10], [11, 12]]
    assert rows_of(fired("DISB-SPLIT", inputs, params={"window_days": 10})) == []  # 2,000 + 2,000 at most
    fixed = fired("DISB-SPLIT", inputs, params={"threshold": "fixed", "threshold_default": 4000})
    assert rows_of(fixed) == [[2, 3], [4, 5], [8, 9, 10]]
    # without a caps table the fixed default applies
    assert rows_of(fired("DISB-SPLIT", {"disbursements": rows})) == [[11, 12]]


def test_disb_split_window() -> None:
    rows = [
        pay(A, amount="600", payment_date="2016-08-01"),  # 2 } 11 days
        pay(A, amount="600", payment_date="2016-08-12"),  # 3 }
        pay(B, amount="600", payment_date="2016-08-01"),  # 4 } 31 days
        pay(B, amount="600", payment_date="2016-09-01"),  # 5 }
    ]
    assert rows_of(fired("DISB-SPLIT", {"disbursements": rows})) == [[2, 3]]
    assert rows_of(fired("DISB-SPLIT", {"disbursements": rows}, params={"window_days": 10})) == []


# --- DISB-YEAR-END --------------------------------------------------------------------------------


def test_disb_year_end() -> None:
    rows = [
        pay(grassroots_union="甲", amount="1400", payment_date="2016-06-01"),  # 2
        pay(grassroots_union="甲", amount="2000", payment_date="2016-12-01"),  # 3 } 3,400 of 4,800
        pay(grassroots_union="甲", amount="1400", payment_date="2016-12-31"),  # 4 }
        pay(grassroots_union="乙", amount="3000", payment_date="2016-06-01"),  # 5
        pay(grassroots_union="乙", amount="2000", payment_date="2016-12-10"),  # 6 exactly 40%
        pay(grassroots_union="丙", amount="100", payment_date="2016-01-01"),  # 7
        pay(grassroots_union="丙", amount="900", payment_date="2016-11-30"),  # 8 the day before the last 31
    ]
    assert fired("DISB-YEAR-END", {"disbursements": rows}) == [
        ("info", (("disbursements", 3), ("disbursements", 4))),
    ]
    [v] = values("DISB-YEAR-END", {"disbursements": rows})
    assert (v["year_end"], v["year_total"], v["share_pct"]) == ("3400.00", "4800.00", 70.8)
    assert rows_of(fired("DISB-YEAR-END", {"disbursements": rows}, params={"days": 32})) == [[3, 4], [8]]


@pytest.mark.parametrize("rule_id", ["DISB-NOT-FILED", "DISB-AFTER-EXIT", "DISB-CATEGORY"])
def test_register_rules_skip_without_a_register(rule_id: str) -> None:
    fired(rule_id, {"disbursements": [pay()]}, expect_status="skipped")


def test_a_missing_register_is_reported_as_a_missing_input_not_a_profile_table() -> None:
    from tests.rules_aid.helpers import run

    [status] = run("DISB-NOT-FILED", {"disbursements": [pay()]}, expect_status="skipped").statuses
    assert status.reason_en == "input register is missing (give --ledger register=FILE)"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet="0123456789XxO０１２ -", min_size=1, max_size=20), min_size=1, max_size=12))
def test_every_id_as_typed_is_kept_and_reported_exactly_when_invalid(typed: list[str]) -> None:
    """Whatever is typed in an ID cell, the row is loaded with the ID kept (never blanked), and DISB-ID fires on
    it exactly when its GB 11643 status is not ok (ages 0–150 allowed, so only the ID itself can fire)."""
    rows = [pay(t, payment_date="2016-06-30") for t in typed]
    ledger = fundaudit.load("disbursements", frame(rows))
    assert ledger.rejected.empty
    status = ledger.frame["recipient_id_no__status"].tolist()
    res = run("DISB-ID", {"disbursements": rows}, params={"age_range": [0, 150]})
    got = sorted(int(f["refs"][0]["row"]) for f in res.findings.to_dict("records"))
    assert got == [i + 2 for i, s in enumerate(status) if s not in ("", "ok")]
    assert [s == "" for s in status] == [t.replace(" ", "") in BLANK_TOKENS for t in typed]  # "-", "--": blank
