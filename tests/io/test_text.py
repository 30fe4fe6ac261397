"""The shared value-to-text rules, one table per rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from fundaudit.io._text import (
    datetime64_text,
    excel_serial_text,
    float_text,
    floats_text,
    timedelta_text,
    value_text,
)

FLOATS = [
    (20160301.0, "20160301"),
    (800.0, "800"),
    (-0.0, "0"),
    (1234.5, "1234.5"),
    (0.1 + 0.2, "0.30000000000000004"),
    (999999999999999.0, "999999999999999"),
    (1e15, "1000000000000000.0"),  # repr: not integral-looking, so an ID normaliser sees a float
    (1e16, "1e+16"),
    (110101199003078000.0, "1.10101199003078e+17"),
    (-3.0, "-3"),
    (1e-7, "1e-07"),
    (float("inf"), "inf"),
    (float("nan"), "nan"),
]


@pytest.mark.parametrize(("value", "text"), FLOATS)
def test_float_text(value: float, text: str) -> None:
    assert float_text(value) == text


def test_floats_text_matches_the_scalar_rule() -> None:
    values = np.array([v for v, _ in FLOATS])
    assert floats_text(values).tolist() == [t for _, t in FLOATS]


@pytest.mark.parametrize(
    ("serial", "mode", "text"),
    [
        (42430.0, 0, "2016-03-01"),
        (42430.0 - 1462, 1, "2016-03-01"),
        (42430.35416666666, 0, "2016-03-01 08:30:00"),
        (0.5, 0, "12:00:00"),
        (0.0, 0, "00:00:00"),
        (0.99999999, 0, "00:00:00"),  # rounds up to the next midnight; still a time, not a date
        (1.0, 0, "1900-01-01"),
        (59.0, 0, "1900-02-28"),
        (60.0, 0, "1900-02-29"),
        (61.0, 0, "1900-03-01"),
        (-1.0, 0, "-1"),
        (3e6, 0, "3000000"),
        (2958465.0, 1, "2958465"),
    ],
)
def test_excel_serial_text(serial: float, mode: int, text: str) -> None:
    assert excel_serial_text(serial, mode) == text


@pytest.mark.parametrize(
    ("value", "excel", "text"),
    [
        ("  原样 ", True, "  原样 "),
        (True, True, "TRUE"),
        (12, True, "12"),
        (None, True, ""),
        (dt.datetime(2016, 3, 1), True, "2016-03-01"),
        (dt.datetime(2016, 3, 1, 8, 29, 59, 999_000), True, "2016-03-01 08:30:00"),
        (dt.datetime(2016, 3, 1, 8, 29, 59, 999_000), False, "2016-03-01 08:29:59.999000"),
        (dt.datetime(2016, 3, 31, 16, 30, tzinfo=dt.UTC), False, "2016-04-01 00:30:00"),
        (dt.date(2016, 3, 1), True, "2016-03-01"),
        (dt.time(8, 30), True, "08:30:00"),
        (dt.time(23, 59, 59, 700_000), True, "00:00:00"),
        (dt.timedelta(hours=36, minutes=5), True, "36:05:00"),
        (Decimal("1E+3"), False, "1000"),
        (Decimal("1234.50"), False, "1234.50"),
        (float("nan"), False, ""),
        (np.int64(7), False, "7"),
        (np.float64(2.0), False, "2"),
        (np.datetime64("2016-03-01T08:00"), False, "2016-03-01 08:00:00"),
    ],
)
def test_value_text(value: object, excel: bool, text: str) -> None:
    assert value_text(value, excel=excel) == text


def test_datetime64_text() -> None:
    values = np.array(["2016-03-01", "2016-03-01T08:00:05", "2016-03-01T08:00:05.25", "NaT"], dtype="datetime64[ns]")
    assert datetime64_text(values).tolist() == [
        "2016-03-01",
        "2016-03-01 08:00:05",
        "2016-03-01 08:00:05.250000000",
        "",
    ]


def test_negative_timedelta() -> None:
    assert timedelta_text(dt.timedelta(minutes=-90)) == "-1:30:00"


def test_values_text_keeps_types_apart() -> None:
    from fundaudit.io._text import values_text

    values = [True, 1, 1.0, "1", dt.date(2016, 3, 1), dt.datetime(2016, 3, 1, 8), None, float("nan"), 0, False]
    assert values_text(values, excel=True).tolist() == [
        "TRUE",
        "1",
        "1",
        "1",
        "2016-03-01",
        "2016-03-01 08:00:00",
        "",
        "nan",
        "0",
        "FALSE",
    ]
    assert values_text(values, excel=False).tolist()[7] == ""
