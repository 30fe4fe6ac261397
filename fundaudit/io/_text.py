"""Exact, predictable conversions of typed cell values to text, shared by every reader.

- integral floats with ``abs < 1e15`` → ``str(int(v))`` (``800.0`` → ``'800'``, ``20160301.0`` →
  ``'20160301'``); every other float → ``repr`` (``1234.5`` → ``'1234.5'``; an 18-digit ID stored as a number,
  ≥ 1e15, comes out as ``'1.10101199003078e+17'`` so the ID normaliser can see it was damaged); ints →
  ``str``;
- bools → ``'TRUE'``/``'FALSE'``;
- dates → ``'YYYY-MM-DD'``; datetimes → ``'YYYY-MM-DD HH:MM:SS'`` or just the date when the time is midnight;
  a time of day → ``'HH:MM:SS'``; Excel values are rounded to the second (Excel's float noise), values from
  parquet/DataFrames keep microseconds when they have them;
- ``None`` (and, for DataFrames, NaN/NaT/NA) → ``''``.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

SHANGHAI = ZoneInfo("Asia/Shanghai")
_INTEGRAL_LIMIT = 1e15
_ONE_SECOND = dt.timedelta(seconds=1)
_STR_KIND = np.array(str, dtype=object)  # 0-d: compared elementwise with an array of types
_FLOAT_KIND = np.array(float, dtype=object)
_EXCEL_MAX_SERIAL = 2_958_466  # 10000-01-01 in the 1900 system: Excel has no later dates


def float_text(v: float) -> str:
    """A float as text: integral and below 1e15 → digits only; anything else → ``repr``."""
    if v.is_integer() and abs(v) < _INTEGRAL_LIMIT:
        return str(int(v))
    return repr(v)


def floats_text(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`float_text` over a float array; returns an object array of ``str``."""
    a = np.asarray(values, dtype=np.float64)
    out = np.empty(len(a), dtype=object)
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(a) & (np.trunc(a) == a) & (np.abs(a) < _INTEGRAL_LIMIT)
    if integral.any():
        out[integral] = list(map(str, a[integral].astype(np.int64).tolist()))
    rest = ~integral
    if rest.any():
        out[rest] = list(map(repr, a[rest].tolist()))
    return out


def _round_to_second(v: dt.datetime) -> dt.datetime:
    if v.microsecond >= 500_000:
        return v.replace(microsecond=0) + _ONE_SECOND
    return v.replace(microsecond=0)


def datetime_text(v: dt.datetime, *, excel: bool) -> str:
    """ISO date, or date and time when there is a time part; tz-aware values are shown in Asia/Shanghai."""
    if v.tzinfo is not None:
        v = v.astimezone(SHANGHAI).replace(tzinfo=None)
    nanos = getattr(v, "nanosecond", 0)  # pandas.Timestamp
    if excel:
        v = _round_to_second(v)
        nanos = 0
    if v.hour == v.minute == v.second == v.microsecond == nanos == 0:
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
    text = f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    if nanos:
        return f"{text}.{v.microsecond * 1000 + nanos:09d}"
    if v.microsecond:
        return f"{text}.{v.microsecond:06d}"
    return text


def time_text(v: dt.time, *, excel: bool) -> str:
    """``HH:MM:SS`` (Excel values rounded to the second; others keep microseconds)."""
    if excel and v.microsecond:
        as_dt = _round_to_second(dt.datetime.combine(dt.date(2000, 1, 1), v))
        if as_dt.day != 1:  # 23:59:59.6 rounds to midnight
            return "00:00:00"
        v = as_dt.time()
    text = f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    return f"{text}.{v.microsecond:06d}" if v.microsecond else text


def timedelta_text(v: dt.timedelta) -> str:
    """A duration as ``[-]H:MM:SS`` (hours may exceed 24), rounded to the second."""
    total = round(v.total_seconds())
    sign = "-" if total < 0 else ""
    hours, rem = divmod(abs(total), 3600)
    minutes, seconds = divmod(rem, 60)
    return f"{sign}{hours}:{minutes:02d}:{seconds:02d}"


def decimal_text(v: Decimal) -> str:
    """A Decimal in plain notation, keeping its exponent (``Decimal('1234.50')`` → ``'1234.50'``)."""
    if not v.is_finite():
        return str(v)
    return format(v, "f")


def value_text(v: Any, *, excel: bool) -> str:
    """Any single cell value as text (the slow, general path; readers vectorise the common types)."""
    t = type(v)
    if t is str:
        return v
    if t is float:
        return "" if (not excel and math.isnan(v)) else float_text(v)
    if t is bool:
        return "TRUE" if v else "FALSE"
    if t is int:
        return str(v)
    if v is None:
        return ""
    if isinstance(v, str):
        return str(v)
    if isinstance(v, bool | np.bool_):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        if v != v:  # NaT  # noqa: PLR0124
            return ""
        return datetime_text(v, excel=excel)
    if isinstance(v, dt.date):
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
    if isinstance(v, dt.time):
        return time_text(v, excel=excel)
    if isinstance(v, dt.timedelta):
        return "" if v != v else timedelta_text(v)  # noqa: PLR0124
    if isinstance(v, Decimal):
        return decimal_text(v)
    if isinstance(v, np.integer | int):
        return str(int(v))
    if isinstance(v, np.floating | float):
        f = float(v)
        return "" if (not excel and math.isnan(f)) else float_text(f)
    if isinstance(v, np.datetime64):
        if np.isnat(v):
            return ""
        return datetime64_text(np.array([v]).astype("datetime64[ns]"))[0]
    if not excel and _is_missing(v):
        return ""
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return v.hex()
    return str(v)


def _is_missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v)) if np.ndim(v) == 0 else False
    except (TypeError, ValueError):
        return False


def values_text(values: Any, *, excel: bool) -> np.ndarray:
    """Many cell values (any sequence) as an object array of text: strings pass through untouched, floats are
    formatted vectorised, everything else once per distinct value (dates repeat a lot in a ledger)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values) if not isinstance(values, np.ndarray) else values
    kinds = np.fromiter(map(type, arr), dtype=object, count=len(arr))
    is_str = kinds == _STR_KIND
    if is_str.all():
        return arr
    out = arr.copy()
    is_float = kinds == _FLOAT_KIND
    if is_float.any():
        floats = arr[is_float].astype(np.float64)
        text = floats_text(floats)
        if not excel:
            text[np.isnan(floats)] = ""
        out[is_float] = text
    rest = ~(is_str | is_float)
    if rest.any():
        cache: dict[tuple[type, Any], str] = {}  # keyed by type too: True == 1 must not share a text
        converted = []
        for v in arr[rest]:
            key = (type(v), v)
            try:
                t = cache.get(key)
                if t is None:
                    t = cache[key] = value_text(v, excel=excel)
            except TypeError:  # unhashable
                t = value_text(v, excel=excel)
            converted.append(t)
        out[rest] = np.array(converted, dtype=object)
    return out


def datetime64_text(values: np.ndarray) -> np.ndarray:
    """Naive ``datetime64`` values as text (date only at midnight; keep fractions when present; NaT → '')."""
    v = np.asarray(values)
    if v.dtype.kind != "M":
        raise TypeError(v.dtype)
    unit = np.datetime_data(v.dtype)[0]
    if unit in ("Y", "M", "W", "D"):
        v = v.astype("datetime64[D]")
        out = np.datetime_as_string(v).astype(object)
        out[np.isnat(v)] = ""
        return out
    nat = np.isnat(v)
    day = v.astype("datetime64[D]")
    sec = v.astype("datetime64[s]")
    midnight = v == day
    fraction = v != sec
    out = np.char.replace(np.datetime_as_string(sec, unit="s"), "T", " ").astype(object)
    if midnight.any():
        out[midnight] = np.datetime_as_string(day[midnight]).astype(object)
    if fraction.any():
        precise = np.char.replace(np.datetime_as_string(v[fraction]), "T", " ")
        out[fraction] = precise.astype(object)
    out[nat] = ""
    return out


def excel_serial_text(v: float, datemode: int) -> str:
    """An Excel date serial (as stored in a date-formatted cell) as ISO text, honouring the date system.

    Values below 1 are a time of day (``'HH:MM:SS'``). In the 1900 system serial 60 is Lotus' phantom
    1900-02-29, shown as Excel shows it (the date normaliser then rejects it as a date that does not exist);
    serials 1-59 count from 1900-01-01. Negative serials are not dates and come out as numbers.
    """
    if not math.isfinite(v) or v < 0 or v >= _EXCEL_MAX_SERIAL:
        return float_text(v)
    if v < 1:  # a time of day; 23:59:59.9 rounds to midnight of the same (non-)day
        seconds = round(v * 86400) % 86400
        return time_text(dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60), excel=True)
    days = math.floor(v)
    seconds = round((v - days) * 86400)
    if seconds >= 86400:
        days, seconds = days + 1, seconds - 86400
    clock = dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60)
    try:
        if datemode == 1:
            date_part = (dt.date(1904, 1, 1) + dt.timedelta(days=days)).isoformat()
        elif days < 60:
            date_part = (dt.date(1899, 12, 31) + dt.timedelta(days=days)).isoformat()
        elif days == 60:
            date_part = "1900-02-29"
        else:
            date_part = (dt.date(1899, 12, 30) + dt.timedelta(days=days)).isoformat()
    except OverflowError:  # past 9999-12-31: not a date Excel can show
        return float_text(v)
    if seconds == 0:
        return date_part
    return f"{date_part} {time_text(clock, excel=True)}"
