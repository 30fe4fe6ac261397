"""clean_text, name_key, address_key, parse_bool, parse_enum, check_length."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fundaudit.normalize import address_key, check_length, clean_text, name_key, parse_bool, parse_enum

from ._helpers import PROPERTY, column, one


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  张　三\u3000", "张　三"),
        ("\u200b李四\ufeff", "李四"),
        ("a\x00b", "ab"),
        ("\xa0王五 ", "王五"),
        ("Ｆｕｌｌ", "Ｆｕｌｌ"),  # display text is not NFKC-normalised
        ("", None),
        (" \u3000 ", None),
        (None, None),
    ],
)
def test_clean_text(raw: str | None, expected: str | None) -> None:
    out = clean_text(pd.Series([raw], dtype="str"))
    assert (None if pd.isna(out.iloc[0]) else out.iloc[0]) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("张　三", "张三"),
        ("张 三 ", "张三"),
        ("\u200b张三", "张三"),
        ("阿依古丽·买买提", "阿依古丽・买买提"),
        ("阿依古丽·买买提", "阿依古丽•买买提"),
        ("阿依古丽·买买提", "阿依古丽．买买提"),
        ("阿依古丽·买买提", "阿依古丽.买买提"),
        ("阿依古丽·买买提", "阿依古丽‧买买提"),
        ("阿依古丽·买买提", "阿依古丽･买买提"),
        ("Li Lei", "LI LEI"),
    ],
)
def test_name_key_matches_variants(a: str, b: str) -> None:
    keys = name_key(pd.Series([a, b], dtype="str"))
    assert keys.iloc[0] == keys.iloc[1]


def test_name_key_shape() -> None:
    s = column(["阿依古丽・买买提", "", "张三"])
    keys = name_key(s)
    assert keys.index.equals(s.index)
    assert keys.iloc[0] == "阿依古丽\u00b7买买提"
    assert pd.isna(keys.iloc[1])
    different = name_key(pd.Series(["张三", "张四"], dtype="str"))
    assert different.iloc[0] != different.iloc[1]


def test_address_key() -> None:
    s = pd.Series(
        [
            "安徽省黄山市，黄山区（甘棠镇）１２号",
            "安徽省 黄山市黄山区甘棠镇12号",
            "安徽省黄山市黄山区甘棠镇12号。",
            "二〇一室",
            "",
        ],
        dtype="str",
    )
    keys = address_key(s)
    assert keys.iloc[0] == keys.iloc[1] == keys.iloc[2] == "安徽省黄山市黄山区甘棠镇12号"
    assert keys.iloc[3] == "二〇一室"  # 〇 is a numeral, not punctuation
    assert pd.isna(keys.iloc[4])


BOOL_CASES = [
    ("是", True),
    ("否", False),
    ("Y", True),
    ("n", False),
    ("Yes", True),
    ("NO", False),
    ("true", True),
    ("FALSE", False),
    ("1", True),
    ("0", False),
    ("有", True),
    ("无", False),
    ("√", True),
    ("×", False),
    ("✓", True),
    ("✗", False),
    (" 是 ", True),
    ("Ｙ", True),
]


@pytest.mark.parametrize(("raw", "value"), BOOL_CASES)
def test_parse_bool(raw: str, value: bool) -> None:
    assert one(parse_bool, raw) == (value, None)


@pytest.mark.parametrize(
    ("raw", "value", "reason"),
    [
        ("", None, None),
        ("-", None, None),
        ("maybe", None, "bool_unparseable"),
        ("#N/A", None, "excel_error_cell"),
    ],
)
def test_parse_bool_rejects(raw: str, value: bool | None, reason: str | None) -> None:
    assert one(parse_bool, raw) == (value, reason)


def test_parse_bool_dtype_and_index() -> None:
    s = column(["是", "否", "", "x"] * 3)
    result = parse_bool(s)
    assert result.values.dtype == "boolean"
    assert result.values.index.equals(s.index)
    assert result.reason.index.equals(s.index)
    assert result.values.tolist()[:2] == [True, False]
    assert result.reason.tolist()[3::4] == ["bool_unparseable"] * 3


SYNONYMS = {
    "工会经费": "union_fund",
    "工会筹备金": "prep_fund",
    "建会筹备金": "prep_fund",
    "筹备金": "prep_fund",
}


@pytest.mark.parametrize(
    ("raw", "strict", "value", "reason"),
    [
        ("工会经费", True, "union_fund", None),
        (" 工会　经费 ", True, "union_fund", None),
        ("建会筹备金", True, "prep_fund", None),
        ("union_fund", True, "union_fund", None),  # a canonical value matches itself
        ("UNION_FUND", True, "union_fund", None),
        ("其他", True, None, "enum_unknown"),
        ("其 他", False, "其他", None),
        ("", True, None, None),
        ("—", False, None, None),
        ("#N/A", False, None, "excel_error_cell"),
    ],
)
def test_parse_enum(raw: str, strict: bool, value: str | None, reason: str | None) -> None:
    assert one(parse_enum, raw, synonyms=SYNONYMS, strict=strict) == (value, reason)


def test_parse_enum_blank_token_that_is_a_key() -> None:
    assert one(parse_enum, "无", synonyms={"无": "none", "小微": "sme"}, strict=True) == ("none", None)


def test_parse_enum_dtype_and_index() -> None:
    s = column(["工会经费", "筹备金", "x", ""])
    result = parse_enum(s, SYNONYMS, strict=True)
    assert result.values.dtype == "str"
    assert result.values.index.equals(s.index)
    assert result.reason.tolist() == [None, None, "enum_unknown", None]


def test_check_length() -> None:
    s = column(["张三", "阿依古丽·买买提", "", None])  # type: ignore[list-item]
    out = check_length(s, 4)
    assert out.index.equals(s.index)
    assert out.tolist() == [None, "text_too_long", None, None]


@PROPERTY
@given(st.lists(st.text(max_size=10), max_size=20))
def test_keys_idempotent(texts: list[str]) -> None:
    s = pd.Series(texts, dtype="str")
    for key in (name_key, address_key):
        once = key(s)
        assert key(once).equals(once)
    cleaned = clean_text(s)
    assert clean_text(cleaned).equals(cleaned)
