"""parse_date and parse_period."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fundaudit.normalize import parse_date, parse_period

from ._helpers import PROPERTY, column, one

D = pd.Timestamp("2016-03-01")

DATE_OK = [
    "2016-03-01",
    "2016-3-1",
    "2016/3/1",
    "2016/03/01",
    "2016.3.1",
    "2016年3月1日",
    "2016 年 3 月 1 日",
    "2016年03月01日",
    "2016年3月1号",
    "20160301",
    "2016-03-01 00:00:00",
    "2016-03-01T08:30:00",
    "2016/3/1 8:30",
    "2016-03-01 23:59:59.999",
    "2016年3月1日 08:30",
    "２０１６－０３－０１",
    " 2016-03-01\u3000",
    "42430",
    "42430.0",
    "42430.5",
    "42430.99",
]

DATE_BAD = [
    ("2016-02-30", "date_impossible"),
    ("20160230", "date_impossible"),
    ("2016-13-01", "date_impossible"),
    ("2016-00-10", "date_impossible"),
    ("2015-02-29", "date_impossible"),
    ("2016年2月30日", "date_impossible"),
    ("0216-03-01", "date_implausible"),
    ("2106-03-01", "date_implausible"),
    ("9999-12-31", "date_implausible"),
    ("1979-12-31", "date_implausible"),
    ("60", "date_implausible"),
    ("59", "date_implausible"),
    ("0", "date_implausible"),
    ("1", "date_implausible"),
    ("01/03/2016", "date_ambiguous"),
    ("13/03/2016", "date_ambiguous"),
    ("3/1/2016", "date_ambiguous"),
    ("16-3-1", "date_ambiguous"),
    ("16/03/01", "date_ambiguous"),
    ("2016-03", "date_partial"),
    ("2016年3月", "date_partial"),
    ("201603", "date_partial"),
    ("2016", "date_partial"),
    ("abc", "date_unparseable"),
    ("2016-3/1", "date_unparseable"),
    ("2016-03-01 25:00", "date_unparseable"),
    ("2016-03-01Z", "date_unparseable"),
    ("二〇一六年三月一日", "date_unparseable"),
    ("1234567", "date_unparseable"),
    ("#VALUE!", "excel_error_cell"),
    ("#N/A", "excel_error_cell"),
]


@pytest.mark.parametrize("raw", DATE_OK)
def test_date_ok(raw: str) -> None:
    assert one(parse_date, raw) == (D, None)


@pytest.mark.parametrize(("raw", "reason"), DATE_BAD)
def test_date_rejected(raw: str, reason: str) -> None:
    assert one(parse_date, raw) == (None, reason)


@pytest.mark.parametrize("raw", ["", " ", "—", "-", "/", "无", None])
def test_date_blank(raw: str | None) -> None:
    assert one(parse_date, raw) == (None, None)


def test_date_1904_system() -> None:
    assert one(parse_date, "40968", datemode=1) == (D, None)
    assert one(parse_date, "40968.0", datemode=1) == (D, None)
    # serials below 61 are only special in the 1900 system; 1904-01-02 is still implausible
    assert one(parse_date, "1", datemode=1) == (None, "date_implausible")


def test_date_window_and_serial_switch() -> None:
    assert one(parse_date, "1975-06-01", low=date(1970, 1, 1)) == (pd.Timestamp("1975-06-01"), None)
    assert one(parse_date, "2016-03-02", high=date(2016, 3, 1)) == (None, "date_implausible")
    assert one(parse_date, "2016-03-01", high=date(2016, 3, 1)) == (D, None)
    assert one(parse_date, "42430", allow_serial=False) == (None, "date_unparseable")
    assert one(parse_date, (date.today() + timedelta(days=300)).isoformat())[1] is None
    assert one(parse_date, (date.today() + timedelta(days=400)).isoformat())[1] == "date_implausible"


def test_date_bad_datemode() -> None:
    with pytest.raises(ValueError, match="datemode"):
        parse_date(pd.Series(["1"], dtype="str"), datemode=2)


def test_date_column_dtype_index_and_mixed_forms() -> None:
    s = column(["2016-03-01", "42430", "2016年3月1日", "", "2016-02-30", "01/03/2016", "20160301"])
    result = parse_date(s)
    assert result.values.dtype == "datetime64[ns]"
    assert result.values.index.equals(s.index)
    assert result.values.iloc[[0, 1, 2, 6]].tolist() == [D] * 4
    assert result.reason.tolist() == [None, None, None, None, "date_impossible", "date_ambiguous", None]


def test_date_never_1970() -> None:
    s = pd.Series(["20160301", "42430", "0", "19700101"], dtype="str")
    values = parse_date(s).values
    assert not (values == pd.Timestamp("1970-01-01")).iloc[:3].any()


FORMATS = [
    lambda d: d.isoformat(),
    lambda d: f"{d.year}-{d.month}-{d.day}",
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d:%Y/%m/%d}",
    lambda d: f"{d.year}.{d.month}.{d.day}",
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: f"{d.year} 年 {d.month} 月 {d.day} 日",
    lambda d: f"{d:%Y%m%d}",
    lambda d: f"{d.isoformat()} 00:00:00",
    lambda d: f"{d.isoformat()}T08:30:00",
    lambda d: f"{d.year}/{d.month}/{d.day} 8:30",
    lambda d: d.isoformat().translate(str.maketrans("0123456789-", "０１２３４５６７８９－")),
]
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))
HIGH = date(2031, 1, 1)


@PROPERTY
@given(st.lists(st.tuples(dates, st.integers(0, len(FORMATS) - 1)), min_size=1, max_size=40))
def test_date_round_trip_text(cases: list[tuple[date, int]]) -> None:
    texts = [FORMATS[k](d) for d, k in cases]
    result = parse_date(pd.Series(texts, dtype="str"), high=HIGH)
    assert result.reason.isna().all(), list(zip(texts, result.reason, strict=True))
    assert result.values.tolist() == [pd.Timestamp(d) for d, _ in cases]


@PROPERTY
@given(
    st.lists(st.tuples(dates, st.sampled_from(["", ".0", ".5", ".999"])), min_size=1, max_size=40),
    st.sampled_from([0, 1]),
)
def test_date_round_trip_serial(cases: list[tuple[date, str]], datemode: int) -> None:
    origin = date(1899, 12, 30) if datemode == 0 else date(1904, 1, 1)
    texts = [f"{(d - origin).days}{tail}" for d, tail in cases]
    result = parse_date(pd.Series(texts, dtype="str"), datemode=datemode, high=HIGH)
    assert result.reason.isna().all()
    assert result.values.tolist() == [pd.Timestamp(d) for d, _ in cases]


@PROPERTY
@given(st.text(max_size=12))
def test_date_never_raises(text: str) -> None:
    result = parse_date(pd.Series([text], dtype=object))
    assert not (pd.notna(result.values.iloc[0]) and result.reason.iloc[0] is not None)


PERIOD_CASES = [
    ("2016-03", "2016-03", None),
    ("2016-3", "2016-03", None),
    ("2016年3月", "2016-03", None),
    ("2016年03月份", "2016-03", None),
    ("201603", "2016-03", None),
    ("2016/03", "2016-03", None),
    ("2016.3", "2016-03", None),
    ("2016-03-01", "2016-03", None),
    ("2016-03-31 00:00:00", "2016-03", None),
    ("20160301", "2016-03", None),
    ("２０１６年３月", "2016-03", None),
    ("", None, None),
    ("—", None, None),
    ("2016-13", None, "period_unparseable"),
    ("2016-00", None, "period_unparseable"),
    ("20160230", None, "period_unparseable"),
    ("16-03", None, "period_unparseable"),
    ("2016", None, "period_unparseable"),
    ("abc", None, "period_unparseable"),
    ("#N/A", None, "excel_error_cell"),
]


@pytest.mark.parametrize(("raw", "value", "reason"), PERIOD_CASES)
def test_parse_period(raw: str, value: str | None, reason: str | None) -> None:
    assert one(parse_period, raw) == (value, reason)


def test_period_dtype_and_index() -> None:
    s = column(["2016-03", "x", ""])
    result = parse_period(s)
    assert result.values.dtype == "str"
    assert result.values.index.equals(s.index)


@PROPERTY
@given(
    st.lists(dates, min_size=1, max_size=30),
    st.sampled_from(["{y}-{m:02d}", "{y}年{m}月", "{y}{m:02d}", "{y}/{m}"]),
)
def test_period_round_trip(days: list[date], pattern: str) -> None:
    texts = [pattern.format(y=d.year, m=d.month) for d in days]
    result = parse_period(pd.Series(texts, dtype="str"))
    assert result.values.tolist() == [f"{d:%Y-%m}" for d in days]
