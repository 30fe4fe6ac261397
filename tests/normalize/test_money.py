"""parse_money, format_fen, parse_rate and parse_int."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fundaudit.normalize import format_fen, format_fen_series, parse_int, parse_money, parse_rate

from ._helpers import PROPERTY, column, one

MONEY_OK = [
    ("¥1,234.50", 123450),
    ("￥1,234.50", 123450),
    ("1,234.50元", 123450),
    ("（123.00）", -12300),
    ("(123.00)", -12300),
    ("-123", -12300),
    ("\u2212123", -12300),
    ("－123", -12300),
    ("１２３．４５", 12345),
    ("１,２３４", 123400),
    ("1.2万", 1200000),
    ("1.13万", 1130000),
    ("1.15万元", 1150000),
    ("+12", 1200),
    (" 123.00\u3000", 12300),
    ("\xa0123", 12300),
    ("\u200b5\ufeff", 500),
    ("1 234.50", 123450),
    ("\t8\n", 800),
    ("1.5E+3", 150000),
    ("1.5e3", 150000),
    ("2E-2", 2),
    ("5e-3", 1),
    ("4.9e-3", 0),
    ("123e-5", 0),
    ("0e500", 0),
    (".5", 50),
    ("5.", 500),
    ("0", 0),
    ("-0", 0),
    ("0.00", 0),
    ("007", 700),
    ("37.019999999999996", 3702),
    ("0.30000000000000004", 30),
    ("2.675", 268),
    ("1.005", 101),
    ("-2.675", -268),
    ("1.004999", 100),
    ("0.005", 1),
    ("0.0049", 0),
    ("(¥0.01)", -1),
    ("¥(0.01)", -1),
    ("-¥1,000", -100000),
    ("¥-1,000", -100000),
    ("12,345,678.9", 1234567890),
    ("999999999999999.99", 99999999999999999),
    ("999999999999999.994", 99999999999999999),
    ("1.2e3万", 1200000000),
    ("0.000001万", 1),
]

MONEY_BLANK = ["", " ", "\u3000", "—", "-", "--", "/", "无", "——", None]

MONEY_BAD = [
    ("abc", "amount_unparseable"),
    ("inf", "amount_nonfinite"),
    ("-Infinity", "amount_nonfinite"),
    ("nan", "amount_nonfinite"),
    ("NaN", "amount_nonfinite"),
    ("1.2.3", "amount_unparseable"),
    ("1,23", "amount_unparseable"),
    ("1,2345", "amount_unparseable"),
    ("(-1)", "amount_unparseable"),
    ("(1", "amount_unparseable"),
    ("1)", "amount_unparseable"),
    ("+", "amount_unparseable"),
    (".", "amount_unparseable"),
    ("1e", "amount_unparseable"),
    ("12元3", "amount_unparseable"),
    ("--5", "amount_unparseable"),
    ("1000000000000000", "amount_out_of_range"),
    ("-1000000000000000.00", "amount_out_of_range"),
    ("999999999999999.995", "amount_out_of_range"),
    ("1e15", "amount_out_of_range"),
    ("1e500", "amount_out_of_range"),
    ("1000000000000万", "amount_out_of_range"),
    ("#DIV/0!", "excel_error_cell"),
    ("#N/A", "excel_error_cell"),
    ("#n/a", "excel_error_cell"),
    ("#REF!", "excel_error_cell"),
    ("#VALUE!", "excel_error_cell"),
    ("#NAME?", "excel_error_cell"),
    ("#NUM!", "excel_error_cell"),
    ("#NULL!", "excel_error_cell"),
    ("#GETTING_DATA", "excel_error_cell"),
]


@pytest.mark.parametrize(("raw", "fen"), MONEY_OK)
def test_money_ok(raw: str, fen: int) -> None:
    assert one(parse_money, raw) == (fen, None)


@pytest.mark.parametrize("raw", MONEY_BLANK)
def test_money_blank_is_na_without_reason(raw: str | None) -> None:
    assert one(parse_money, raw) == (None, None)


@pytest.mark.parametrize(("raw", "reason"), MONEY_BAD)
def test_money_rejected(raw: str, reason: str) -> None:
    assert one(parse_money, raw) == (None, reason)


def test_money_exponent_can_be_refused() -> None:
    assert one(parse_money, "1.5E+3", allow_exponent=False) == (None, "amount_unparseable")
    assert one(parse_money, "1500", allow_exponent=False) == (150000, None)


def test_money_custom_blank_tokens() -> None:
    assert one(parse_money, "N/A", blank_tokens={"N/A"}) == (None, None)
    assert one(parse_money, "无", blank_tokens={"N/A"}) == (None, "amount_unparseable")


def test_money_column_keeps_index_order_and_dtype() -> None:
    raw = [raw for raw, _ in MONEY_OK] + ["abc", "", "1e500"]
    s = column(raw)
    result = parse_money(s)
    assert result.values.dtype == "Int64"
    assert result.reason.dtype == object
    assert result.values.index.equals(s.index)
    assert result.reason.index.equals(s.index)
    assert result.values.iloc[: len(MONEY_OK)].tolist() == [fen for _, fen in MONEY_OK]
    assert result.invalid.tolist() == [False] * len(MONEY_OK) + [True, False, True]
    assert result.blank.tolist() == [False] * len(MONEY_OK) + [False, True, False]


def test_money_object_dtype_with_none_and_nan() -> None:
    s = pd.Series(["1.00", None, float("nan"), "2"], dtype=object, index=list("abcd"))
    result = parse_money(s)
    assert result.values.tolist() == [100, pd.NA, pd.NA, 200]
    assert result.reason.tolist() == [None] * 4
    assert list(result.values.index) == list("abcd")


def test_money_exact_sum_where_float_drifts() -> None:
    s = pd.Series(["0.1"] * 10 + ["1.13万", "1.15"], dtype="str")
    assert int(parse_money(s).values.sum()) == 100 + 1130000 + 115


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (123450, "1234.50"),
        (-1, "-0.01"),
        (0, "0.00"),
        (5, "0.05"),
        (-12300, "-123.00"),
        (10**17 - 1, "999999999999999.99"),
    ],
)
def test_format_fen(fen: int, text: str) -> None:
    assert format_fen(fen) == text


def test_format_fen_series() -> None:
    s = pd.Series([123450, -1, None, 0], dtype="Int64", index=[5, 6, 7, 8])
    out = format_fen_series(s)
    assert out.tolist()[:2] == ["1234.50", "-0.01"]
    assert pd.isna(out.iloc[2])
    assert out.iloc[3] == "0.00"
    assert out.index.tolist() == [5, 6, 7, 8]


# --- properties --------------------------------------------------------------------------------

_FULL_WIDTH = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")
amounts = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
STYLES = ["plain", "commas", "yen", "yuan", "accounting", "fullwidth", "wan", "scientific", "padded"]


def render(d: Decimal, style: str) -> str:
    """Write an amount the way some exporter or clerk would."""
    neg = d < 0
    mag = -d if neg else d
    if style == "plain":
        return f"{d:.2f}"
    if style == "commas":
        return f"{d:,.2f}"
    if style == "yen":
        return f"{'-' if neg else ''}¥{mag:,.2f}"
    if style == "yuan":
        return f"{d:,.2f}元"
    if style == "accounting":
        return f"（{mag:,.2f}）" if neg else f"{mag:,.2f}"
    if style == "fullwidth":
        return f"{d:,.2f}".translate(_FULL_WIDTH)
    if style == "wan":
        return f"{d / 10000:f}万"
    if style == "scientific":
        return format(d, "E")
    return f"\u3000 {d:.2f}\xa0"


@PROPERTY
@given(st.lists(st.tuples(amounts, st.sampled_from(STYLES)), min_size=1, max_size=40))
def test_money_round_trip(cases: list[tuple[Decimal, str]]) -> None:
    texts = [render(d, style) for d, style in cases]
    result = parse_money(pd.Series(texts, dtype="str"))
    assert result.reason.isna().all(), list(zip(texts, result.reason, strict=True))
    assert result.values.tolist() == [int(d * 100) for d, _ in cases]
    assert format_fen_series(result.values).tolist() == [f"{d:.2f}" for d, _ in cases]


@PROPERTY
@given(st.decimals(min_value=-(10**6), max_value=10**6, allow_nan=False, allow_infinity=False, places=6))
def test_money_rounds_half_up_once(d: Decimal) -> None:
    from decimal import ROUND_HALF_UP

    expected = int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert one(parse_money, f"{d:f}") == (expected, None)


@PROPERTY
@given(st.text(max_size=12))
def test_money_never_raises_and_reason_xor_value(text: str) -> None:
    result = parse_money(pd.Series([text], dtype=object))
    value, reason = result.values.iloc[0], result.reason.iloc[0]
    assert not (pd.notna(value) and reason is not None)


# --- rates and whole numbers -------------------------------------------------------------------

RATE_CASES = [
    ("2%", 0.02, None),
    ("0.02", 0.02, None),
    ("2", 0.02, None),
    ("60%", 0.6, None),
    ("60", 0.6, None),
    ("0.6000", 0.6, None),
    ("２％", 0.02, None),
    ("1.1%", 0.011, None),
    ("1", 1.0, None),
    ("5‰", 0.005, None),
    (" 40 % ", 0.4, None),
    ("", None, None),
    ("—", None, None),
    ("abc", None, "rate_unparseable"),
    ("2%%", None, "rate_unparseable"),
    ("1e3", None, "rate_unparseable"),
    ("#N/A", None, "excel_error_cell"),
]


@pytest.mark.parametrize(("raw", "value", "reason"), RATE_CASES)
def test_parse_rate(raw: str, value: float | None, reason: str | None) -> None:
    assert one(parse_rate, raw) == (value, reason)


def test_parse_rate_literal_numbers() -> None:
    assert one(parse_rate, "2", percent_if_above_one=False) == (2.0, None)
    assert parse_rate(pd.Series(["2%"], dtype="str")).values.dtype == "Float64"


INT_CASES = [
    ("3", 3, None),
    ("3.0", 3, None),
    ("3.00", 3, None),
    ("３", 3, None),
    ("1,200", 1200, None),
    ("-2", -2, None),
    ("+4", 4, None),
    ("007", 7, None),
    ("", None, None),
    ("/", None, None),
    (" 12 人", None, "int_unparseable"),
    ("3.5", None, "int_unparseable"),
    ("9" * 19, None, "int_unparseable"),
    ("#REF!", None, "excel_error_cell"),
]


@pytest.mark.parametrize(("raw", "value", "reason"), INT_CASES)
def test_parse_int(raw: str, value: int | None, reason: str | None) -> None:
    assert one(parse_int, raw) == (value, reason)


# --- spaces between digits and amounts finer than fen (issue 13, item 5) ---------------------------

SPACES = [" ", "\xa0", "\u3000", "\u2009", "\u202f"]


@pytest.mark.parametrize(
    ("raw", "fen"),
    [("1 234.50", 123450), ("12 345 678", 1234567800), ("1 000", 100000), ("1\u2009234", 123400),
     ("1\u3000000\u3000000", 100000000), ("¥ 1 234", 123400), ("100 200.50", 10020050), ("- 12 345", -1234500),
     ("123 456 789", 12345678900)],
)
def test_money_spaces_that_group_thousands(raw: str, fen: int) -> None:
    assert one(parse_money, raw) == (fen, None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("100 200", "amount_ambiguous_grouping"), ("１００\u3000２００", "amount_ambiguous_grouping"),
     ("-100 200元", "amount_ambiguous_grouping"), ("1 2 3", "amount_bad_grouping"), ("12 34", "amount_bad_grouping"),
     ("1234 567", "amount_bad_grouping"), ("1 234 56", "amount_bad_grouping"), ("1 234.5 6", "amount_bad_grouping"),
     ("1,234 567", "amount_bad_grouping"), (".5 000", "amount_bad_grouping")],
)
def test_money_spaces_that_do_not_group_thousands_are_rejected(raw: str, reason: str) -> None:
    assert one(parse_money, raw) == (None, reason)


def _flag(raw: str, **kwargs: object) -> tuple[object, object]:
    result = parse_money(pd.Series([raw], dtype="str"), **kwargs)  # type: ignore[arg-type]
    return result.values.iloc[0], None if result.flag is None else result.flag.iloc[0]


@pytest.mark.parametrize(
    ("raw", "fen", "flag"),
    [("12.345", 1235, "more_than_two_decimals"), ("2.675", 268, "more_than_two_decimals"),
     ("-0.001", 0, "more_than_two_decimals"), ("1.2345678万", 1234568, "more_than_two_decimals"),
     ("5e-3", 1, "more_than_two_decimals"), ("12.340", 1234, None), ("12.34", 1234, None),
     ("1.234567万", 1234567, None), ("37.019999999999996", 3702, None), ("0.30000000000000004", 30, None),
     ("1234.5600000000001", 123456, None), ("12.3400001", 1234, "more_than_two_decimals")],
)
def test_money_more_than_two_decimals_is_kept_rounded_and_flagged(raw: str, fen: int, flag: str | None) -> None:
    assert _flag(raw) == (fen, flag)
    assert one(parse_money, raw) == (fen, None)  # a flag is not a rejection


def test_money_unit_scale_applies_before_rounding() -> None:
    """A 万元 column: 1.234567 is 12,345.67 yuan exactly (not 1.23 × 10,000)."""
    assert _flag("1.234567", scale=10000) == (1234567, None)
    assert _flag("1.23456789", scale=10000) == (1234568, "more_than_two_decimals")
    with pytest.raises(ValueError, match="power of ten"):
        parse_money(pd.Series(["1"], dtype="str"), scale=3)


def test_money_flag_is_spread_over_repeated_values() -> None:
    s = pd.Series(["12.345", "1.00"] * 30_000, dtype="str")  # long and repetitive: parsed once per distinct text
    result = parse_money(s)
    assert result.flag is not None
    assert result.flag.iloc[:4].tolist() == ["more_than_two_decimals", None] * 2
    assert int(result.flagged.sum()) == 30_000


@PROPERTY
@given(
    st.integers(min_value=1000, max_value=10**12),
    st.sampled_from(SPACES),
    st.one_of(st.none(), st.integers(min_value=0, max_value=99)),
)
def test_money_well_formed_grouping_round_trips(whole: int, space: str, cents: int | None) -> None:
    text = f"{whole:,}".replace(",", space) + ("" if cents is None else f".{cents:02d}")
    value, reason = one(parse_money, text)
    if cents is None and 100_000 <= whole <= 999_999:  # one space after a full group of three: two numbers?
        assert (value, reason) == (None, "amount_ambiguous_grouping")
    else:
        assert (value, reason) == (whole * 100 + (cents or 0), None)


@PROPERTY
@given(
    st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=5).filter(
        lambda g: not (1 <= g[0] <= 3 and all(n == 3 for n in g[1:]))
    ),
    st.sampled_from(SPACES),
    st.booleans(),
)
def test_money_malformed_grouping_is_rejected(groups: list[int], space: str, decimals: bool) -> None:
    text = space.join("7" * n for n in groups) + (".50" if decimals else "")
    assert one(parse_money, text) == (None, "amount_bad_grouping")


@PROPERTY
@given(st.decimals(min_value=-(10**6), max_value=10**6, allow_nan=False, allow_infinity=False, places=5))
def test_money_flag_iff_not_whole_fen(d: Decimal) -> None:
    _, flag = _flag(f"{d:f}")
    assert (flag == "more_than_two_decimals") == ((d * 100) != (d * 100).to_integral_value())
