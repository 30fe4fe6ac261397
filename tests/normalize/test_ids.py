"""Resident IDs, taxpayer IDs (USCC), bank accounts, Luhn and phone numbers, against python-stdnum."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.cn import ric, uscc

from fundaudit.normalize import (
    clean_account,
    clean_id,
    clean_phone,
    clean_taxpayer_id,
    luhn_valid,
    resident_id_facts,
    taxpayer_id_facts,
    upgrade_15_to_18,
)

from ._helpers import PROPERTY, column, one

# --- clean_id ----------------------------------------------------------------------------------

CLEAN_ID = [
    ("11010519491231002X", "11010519491231002X", None),
    ("11010519491231002x", "11010519491231002X", None),
    ("1101051949123100２ｘ", "11010519491231002X", None),
    ("11010519491231002Х", "11010519491231002X", None),  # Cyrillic capital
    ("11010519491231002х", "11010519491231002X", None),  # Cyrillic small
    ("11010519491231002Χ", "11010519491231002X", None),  # Greek capital
    ("11010519491231002χ", "11010519491231002X", None),  # Greek small
    ("11010519491231002×", "11010519491231002X", None),
    (" 1101 0519 4912 3100 2X\u3000", "11010519491231002X", None),
    ('="11010519491231002X"', "11010519491231002X", None),
    ("'11010519491231002X", "11010519491231002X", None),
    ("\t110101199003077777\t", "110101199003077777", None),
    ("\u200b110101199003077777", "110101199003077777", None),
    ("110105491231002", "110105491231002", None),
    ("12345", "12345", None),  # wrong length is a fact, not a cleaning failure
    ("", None, None),
    ("—", None, None),
    ("1.10101199003078E+17", None, "id_scientific"),
    ("1.1010119900307778e+17", None, "id_scientific"),
    ("1.10101199003078E17", None, "id_scientific"),
    ("110101199003078000.0", None, "id_float_damaged"),
    ("11010519491231002Y", None, "id_bad_chars"),
    ("110105-19491231-002X", None, "id_bad_chars"),
    ("身份证", None, "id_bad_chars"),
    ("#N/A", None, "excel_error_cell"),
]


@pytest.mark.parametrize(("raw", "value", "reason"), CLEAN_ID)
def test_clean_id(raw: str, value: str | None, reason: str | None) -> None:
    assert one(clean_id, raw) == (value, reason)


@PROPERTY
@given(st.lists(st.text(alphabet="0123456789xX Х×χ'=\"\t.E+-", max_size=22), max_size=20))
def test_clean_id_idempotent(raw: list[str]) -> None:
    first = clean_id(pd.Series(raw, dtype="str"))
    second = clean_id(first.values)
    assert second.values.equals(first.values)
    assert second.reason.isna().all()


# --- resident_id_facts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status", "valid"),
    [
        ("11010519491231002X", "ok", True),
        ("34052419800101001X", "ok", True),
        ("340524198001010013", "bad_checksum", False),
        ("440524188001010014", "ok", True),  # the standard's example: abolished region, born 1880
        ("110105299912310012", "bad_birth_date", False),  # born in the future
        ("34100319800101001X", "bad_checksum", False),
        ("110105194902301230", "bad_checksum", False),
        ("110105491231002", "legacy15", True),
        ("110105490231002", "bad_birth_date", False),
        ("11010519491231002", "bad_length", False),
        ("1101051949123100", "bad_length", False),
        ("1101051949123100X2", "bad_chars", False),
        ("1.10101199003078E+17", "excel_number", False),  # digits lost: not comparable with anything
        ("110101199003078000.0", "excel_number", False),
        ("11010119900307803O", "bad_chars", False),  # the letter O typed for a zero
        ("#N/A", "bad_chars", False),
        ("", "", None),
    ],
)
def test_resident_id_status(raw: str, status: str, valid: bool | None) -> None:
    facts = resident_id_facts(pd.Series([raw], dtype="str"))
    assert facts["status"].iloc[0] == status
    got = facts["valid"].iloc[0]
    assert (None if pd.isna(got) else bool(got)) == valid


def test_resident_id_facts_columns() -> None:
    s = column(["11010519491231002X", "34052419800101001X", "110105491231002", "", "11010519491231002"])
    facts = resident_id_facts(s)
    assert facts.index.equals(s.index)
    assert list(facts.columns) == ["status", "valid", "birth_date", "sex", "check_char"]
    assert str(facts["birth_date"].dtype) == "datetime64[ns]"
    assert facts["valid"].dtype == "boolean"
    births = ["1949-12-31", "1980-01-01", "1949-12-31"]
    assert facts["birth_date"].tolist()[:3] == [pd.Timestamp(b) for b in births]
    assert pd.isna(facts["birth_date"].iloc[3])
    assert facts["sex"].tolist()[:3] == ["F", "M", "F"]
    assert pd.isna(facts["sex"].iloc[3])
    assert facts["check_char"].iloc[0] == "X"
    assert facts["check_char"].iloc[4] == "X"  # a 17-digit value: the character that was probably dropped
    assert pd.isna(facts["check_char"].iloc[2])


@pytest.mark.parametrize(
    ("body", "birth"),
    [
        ("11010519490230123", None),  # 30 February
        ("11010528991231001", None),  # year 2899: not representable, and in the future
        ("11010517991231001", pd.Timestamp("1799-12-31")),  # real date, too early
    ],
)
def test_resident_bad_birth_date_with_right_checksum(body: str, birth: pd.Timestamp | None) -> None:
    number = body + ric.calc_check_digit(body + "0")
    facts = resident_id_facts(pd.Series([number], dtype="str"))
    assert facts["status"].iloc[0] == "bad_birth_date"
    assert facts["valid"].iloc[0] == False  # noqa: E712
    got = facts["birth_date"].iloc[0]
    assert (None if pd.isna(got) else got) == birth


def test_upgrade_15_to_18() -> None:
    s = column(["110105491231002", "11010519491231002X", "", "abc", " 110105 491231 002 "])
    out = upgrade_15_to_18(s)
    assert out.index.equals(s.index)
    assert out.iloc[0] == "11010519491231002X"
    assert out.iloc[1] == "11010519491231002X"
    assert pd.isna(out.iloc[2]) and pd.isna(out.iloc[3])
    assert out.iloc[4] == "11010519491231002X"


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
bodies = st.builds(
    lambda region, d, seq: f"{region}{d:%Y%m%d}{seq}",
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31)),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
)


@PROPERTY
@given(st.lists(st.tuples(bodies, st.sampled_from("0123456789X")), min_size=1, max_size=40))
def test_resident_checksum_agrees_with_stdnum(cases: list[tuple[str, str]]) -> None:
    numbers = [body + last for body, last in cases]
    facts = resident_id_facts(pd.Series(numbers, dtype="str"))
    expected = [ric.calc_check_digit(number) for number in numbers]
    assert facts["check_char"].tolist() == expected
    assert [status != "bad_checksum" for status in facts["status"]] == [
        number[-1] == check for number, check in zip(numbers, expected, strict=True)
    ]
    birth = [ric.get_birth_date(number) for number in numbers]
    assert facts["birth_date"].dt.date.tolist() == birth


@PROPERTY
@given(bodies, st.integers(0, 17), st.integers(1, 9))
def test_resident_single_substitution_detected(body: str, position: int, delta: int) -> None:
    valid = body + ric.calc_check_digit(body + "0")
    alphabet = "0123456789X" if position == 17 else "0123456789"
    current = alphabet.index(valid[position])
    changed = alphabet[(current + delta) % len(alphabet)]
    mutated = valid[:position] + changed + valid[position + 1 :]
    statuses = resident_id_facts(pd.Series([valid, mutated], dtype="str"))["status"].tolist()
    assert statuses[0] != "bad_checksum"
    assert statuses[1] == "bad_checksum"


# --- taxpayer IDs ------------------------------------------------------------------------------


def org_check(code8: str) -> str:
    """GB 11714 check character, written out independently of the implementation under test."""
    values = [int(c, 36) for c in code8]
    c = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


ORG = "MA2N0001" + org_check("MA2N0001")
WRONG_ORG = "MA2N0001" + ("1" if org_check("MA2N0001") != "1" else "2")
NOT_ORG_BODY = "91350100" + "00000100"  # embedded org code with a wrong check character …
NOT_ORG = NOT_ORG_BODY + ("Y" if org_check("00000100") != "Y" else "X")
NOT_ORG_USCC = NOT_ORG + uscc.calc_check_digit(NOT_ORG)  # … but a correct USCC check


def test_org_check_reference() -> None:
    assert org_check("M000100Y") == "4"  # the standard's example 91350100M000100Y43
    assert org_check("77604965") == "3"


USCC_VALID = [
    "91350100M000100Y43",
    "91350200776049653A",
    "123502001549897397",
    "9135021359498494XQ",
    "91440101MA5CJQ4N59",
]


@pytest.mark.parametrize("code", USCC_VALID)
def test_uscc_known_valid(code: str) -> None:
    facts = taxpayer_id_facts(pd.Series([code, code.lower(), f" {code[:9]}-{code[9:]} "], dtype="str"))
    assert facts["status"].tolist() == ["ok"] * 3
    assert facts["valid"].tolist() == [True] * 3


@pytest.mark.parametrize(
    ("raw", "status", "org_code_valid"),
    [
        ("91350100M000100Y43", "ok", True),
        ("91350203M0001QAY9B", "bad_checksum", True),
        ("91350100M000100Y4Z", "bad_chars", True),  # Z is not in the GB 32100 alphabet
        ("9135010OM000100Y43", "bad_chars", True),  # letter O inside the division code
        (NOT_ORG_USCC, "ok", False),
        ("9135010", "bad_length", None),
        ("341003" + ORG, "legacy15", True),
        ("341003" + ORG[:8] + "-" + ORG[8], "legacy15", True),
        ("341003" + WRONG_ORG, "bad_checksum", False),
        ("11010519491231002X01", "legacy20", None),
        ("11010519491231002101", "bad_checksum", None),
        ("1101051949123100XX01", "bad_chars", None),
        ("1.2E+17", "bad_chars", None),
        ("", "", None),
    ],
)
def test_taxpayer_status(raw: str, status: str, org_code_valid: bool | None) -> None:
    facts = taxpayer_id_facts(pd.Series([raw], dtype="str"))
    assert facts["status"].iloc[0] == status
    got = facts["org_code_valid"].iloc[0]
    assert (None if pd.isna(got) else bool(got)) == org_code_valid


def test_taxpayer_letter_authority_codes() -> None:
    body = "N2341003MA2N00001"
    code = body + uscc.calc_check_digit(body)
    assert taxpayer_id_facts(pd.Series([code], dtype="str"))["status"].iloc[0] == "ok"


def test_taxpayer_facts_frame() -> None:
    s = column([*USCC_VALID, ""])
    facts = taxpayer_id_facts(s)
    assert facts.index.equals(s.index)
    assert list(facts.columns) == ["status", "valid", "org_code_valid"]
    assert facts["valid"].dtype == "boolean"
    assert pd.isna(facts["valid"].iloc[-1])


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
uscc_bodies = st.builds(
    lambda head, tail: head + tail,
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@PROPERTY
@given(
    st.lists(st.tuples(uscc_bodies, st.sampled_from(USCC_ALPHABET), st.booleans()), min_size=1, max_size=40)
)
def test_uscc_agrees_with_stdnum(cases: list[tuple[str, str, bool]]) -> None:
    codes = [body + (uscc.calc_check_digit(body) if right else last) for body, last, right in cases]
    facts = taxpayer_id_facts(pd.Series(codes, dtype="str"))
    assert [status == "ok" for status in facts["status"]] == [uscc.is_valid(code) for code in codes]


@PROPERTY
@given(uscc_bodies, st.integers(0, 17), st.integers(1, 30))
def test_uscc_single_substitution_detected(body: str, position: int, delta: int) -> None:
    valid = body + uscc.calc_check_digit(body)
    alphabet = "0123456789" if 2 <= position < 8 else USCC_ALPHABET
    current = alphabet.index(valid[position])
    changed = alphabet[(current + delta) % len(alphabet)]
    if changed == valid[position]:
        return
    mutated = valid[:position] + changed + valid[position + 1 :]
    statuses = taxpayer_id_facts(pd.Series([valid, mutated], dtype="str"))["status"].tolist()
    assert statuses == ["ok", "bad_checksum"]


@pytest.mark.parametrize(
    ("raw", "value", "reason"),
    [
        ("91350100m000100y43", "91350100M000100Y43", None),
        (" 9135 0100 M000 100Y 43 ", "91350100M000100Y43", None),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43", None),
        ('="91350100M000100Y43"', "91350100M000100Y43", None),
        ("12345678-9", "123456789", None),
        ("9.13501E+17", None, "id_scientific"),
        ("913501007760496530.0", None, "id_float_damaged"),
        ("9135*100M000100Y43", None, "id_bad_chars"),
        ("", None, None),
        ("#REF!", None, "excel_error_cell"),
    ],
)
def test_clean_taxpayer_id(raw: str, value: str | None, reason: str | None) -> None:
    assert one(clean_taxpayer_id, raw) == (value, reason)


# --- accounts, Luhn, phones --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "reason"),
    [
        ("6222 0202 0011 2233 445", "6222020200112233445", None),
        ("6222-0202-0011-2233-445", "6222020200112233445", None),
        ("0012345678", "0012345678", None),
        ("'0012345678901234", "0012345678901234", None),
        ('="6222020200112233445"', "6222020200112233445", None),
        ("\t6222020200112233445\t", "6222020200112233445", None),
        ("６２２２０２０２", "62220202", None),
        ("12345ab", "12345AB", None),
        ("6.22202E+18", None, "account_scientific"),
        ("6.2220202001122335e+18", None, "account_scientific"),
        ("6222020200112233000.0", None, "account_scientific"),
        ("123456.0", None, "account_bad_chars"),
        ("账号6222", None, "account_bad_chars"),
        ("", None, None),
        ("无", None, None),
        ("#N/A", None, "excel_error_cell"),
    ],
)
def test_clean_account(raw: str, value: str | None, reason: str | None) -> None:
    assert one(clean_account, raw) == (value, reason)


def test_luhn_examples() -> None:
    s = column(
        ["4111111111111111", "4111 1111 1111 1112", "6221730301002042987", "12345", "", "ab123456789012"]
    )
    out = luhn_valid(s)
    assert out.dtype == "boolean"
    assert out.index.equals(s.index)
    assert out.tolist()[:3] == [True, False, False]
    assert out.isna().tolist() == [False, False, False, True, True, True]


@PROPERTY
@given(st.lists(st.text(alphabet="0123456789", min_size=12, max_size=19), min_size=1, max_size=40))
def test_luhn_agrees_with_stdnum(numbers: list[str]) -> None:
    out = luhn_valid(pd.Series(numbers, dtype="str"))
    assert out.tolist() == [luhn.is_valid(number) for number in numbers]


@pytest.mark.parametrize(
    ("raw", "value", "reason"),
    [
        ("+86 138-0013-8000", "13800138000", None),
        ("008613800138000", "13800138000", None),
        ("(0559)5551234", "05595551234", None),
        ("0559-555 1234", "05595551234", None),
        ("138 0013 8000转1", None, "id_bad_chars"),
        ("", None, None),
    ],
)
def test_clean_phone(raw: str, value: str | None, reason: str | None) -> None:
    assert one(clean_phone, raw) == (value, reason)
