"""Dates and tax periods from text, with explicit patterns and no guessing.

Accepted full dates are year-first (``2016-03-01``, ``2016/3/1``, ``2016.3.1``, ``2016年3月1日``,
``20160301``, date-times such as ``2016-03-01 08:30:00`` whose date is taken) and Excel serial
numbers written as text (``42430``). Day/month-first and two-digit-year forms are rejected as
ambiguous rather than guessed; a year and month alone is a *period*, never the 1st of the month;
impossible dates never roll over; dates outside a plausibility window are rejected, so nothing
lands in 1970 or in year 0216.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._common import (
    BLANK_TOKENS,
    as_text,
    bool_np,
    build_reason,
    concat,
    datetime_series,
    digits_to_int,
    field,
    is_blank,
    is_excel_error,
    lengths,
    squash,
    str_series,
    via_uniques,
    ymd_to_days,
)
from ._result import Parsed

__all__ = ["DEFAULT_LOW", "parse_date", "parse_period"]

#: Earliest plausible date by default: union ledgers this old are not audited.
DEFAULT_LOW = date(1980, 1, 1)

# datetime64[ns] can hold 1677-09-21 .. 2262-04-11; windows are clipped to whole years inside it.
_NS_LOW = date(1678, 1, 1)
_NS_HIGH = date(2261, 12, 31)

_TIME = "(?:[ T](?P<hh>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<ss>[0-9]{2})(?:\\.[0-9]{1,9})?)?)?"
_ANY_TIME = "(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,9})?)?)?"
_DATE_RE = (
    "^(?:"
    f"(?P<y>[0-9]{{4}})(?P<s1>[-/.])(?P<m>[0-9]{{1,2}})(?P<s2>[-/.])(?P<d>[0-9]{{1,2}}){_TIME}"
    "|(?P<cy>[0-9]{4})(?P<cm>[0-9]{2})(?P<cd>[0-9]{2})"
    "|(?P<py>(?:19|20)[0-9]{2})(?:[-/.](?P<pm>[0-9]{1,2})|(?P<pm2>0[1-9]|1[0-2]))?"
    "|(?P<serial>[0-9]{1,6})(?:\\.[0-9]+)?"
    f"|(?P<amb>[0-9]{{1,2}}[-/.][0-9]{{1,2}}[-/.][0-9]{{1,4}}){_ANY_TIME}"
    ")$"
)
_PERIOD_RE = (
    "^(?:"
    f"(?P<y>[0-9]{{4}})(?P<s1>[-/.])(?P<m>[0-9]{{1,2}})(?:(?P<s2>[-/.])(?P<d>[0-9]{{1,2}}){_ANY_TIME})?"
    "|(?P<cy>[0-9]{4})(?P<cm>[0-9]{2})(?P<cd>[0-9]{2})?"
    ")$"
)
_EXCEL_ORIGIN = {0: np.datetime64("1899-12-30", "D"), 1: np.datetime64("1904-01-01", "D")}


def _prepare(s: pd.Series) -> pa.Array:
    """Squashed text with Chinese 年/月/日 turned into '-' separators ('2016年3月1日' → '2016-3-1')."""
    t = squash(as_text(s), spaces="collapse")
    t = pc.replace_substring_regex(t, " ?(?:年|月份?) ?", "-")
    t = pc.replace_substring_regex(t, " ?[日号]", "")
    return pc.utf8_rtrim(t, "-")


def parse_date(
    s: pd.Series,
    *,
    datemode: int = 0,
    low: date = DEFAULT_LOW,
    high: date | None = None,
    allow_serial: bool = True,
    blank_tokens: Iterable[str] = BLANK_TOKENS,
) -> Parsed:
    """Parse date text into ``datetime64[ns]`` at midnight.

    ``datemode`` is the workbook's date system for serial numbers (0: 1900 system, origin
    1899-12-30, serials below 61 always rejected because of Excel's phantom 1900-02-29; 1: 1904
    system). Dates outside ``[low, high]`` (``high`` defaults to today + 366 days) are rejected.
    Reasons: ``excel_error_cell``, ``date_impossible``, ``date_implausible``, ``date_ambiguous``,
    ``date_partial``, ``date_unparseable``.
    """
    if datemode not in _EXCEL_ORIGIN:
        raise ValueError(f"datemode must be 0 or 1, not {datemode!r}")
    if high is None:
        high = date.today() + timedelta(days=366)
    lo = np.datetime64(max(low, _NS_LOW), "D")
    hi = np.datetime64(min(high, _NS_HIGH), "D")
    return via_uniques(
        s, lambda u: _parse_dates(u, datemode, lo, hi, allow_serial=allow_serial, blank_tokens=blank_tokens)
    )


def _parse_dates(
    s: pd.Series,
    datemode: int,
    lo: np.datetime64,
    hi: np.datetime64,
    *,
    allow_serial: bool,
    blank_tokens: Iterable[str],
) -> Parsed:
    index = s.index
    n = len(s)
    t = _prepare(s)
    blank = is_blank(t, blank_tokens)
    excel = is_excel_error(t)
    m = pc.extract_regex(t, _DATE_RE)
    matched = bool_np(pc.is_valid(m)) & ~blank

    sep = bool_np(pc.greater(pc.utf8_length(field(m, "y")), 0))
    compact = bool_np(pc.greater(pc.utf8_length(field(m, "cy")), 0))
    partial = matched & (lengths(field(m, "py")) > 0)
    serial = matched & (lengths(field(m, "serial")) > 0)
    ambiguous = matched & (lengths(field(m, "amb")) > 0)

    y = digits_to_int(concat(field(m, "y"), field(m, "cy")))
    mo = digits_to_int(concat(field(m, "m"), field(m, "cm")))
    d = digits_to_int(concat(field(m, "d"), field(m, "cd")))
    full = matched & (sep | compact)
    # one separator style per date, and a time of day (when given) that exists
    bad_form = sep & ~bool_np(pc.equal(field(m, "s1"), field(m, "s2")))
    hh = digits_to_int(field(m, "hh"))
    mi = digits_to_int(field(m, "mi"))
    ss = digits_to_int(field(m, "ss"))
    bad_form |= (hh > 23) | (mi > 59) | (ss > 59)
    full &= ~bad_form
    days, real = ymd_to_days(y, mo, d)
    impossible = full & ~real
    full &= real

    if allow_serial:
        number = digits_to_int(pc.utf8_slice_codeunits(field(m, "serial"), 0, 6))
        serial_days = _EXCEL_ORIGIN[datemode] + number.astype("timedelta64[D]")
        days = np.where(serial, serial_days, days)
        too_early = serial & (number < 61) if datemode == 0 else np.zeros(n, dtype=bool)
    else:
        too_early = np.zeros(n, dtype=bool)
    dated = full | (serial if allow_serial else np.zeros(n, dtype=bool))
    implausible = dated & (too_early | (days < lo) | (days > hi))
    ok = dated & ~implausible

    reason = build_reason(
        n,
        index,
        [
            (excel, "excel_error_cell"),
            (impossible, "date_impossible"),
            (implausible, "date_implausible"),
            (ambiguous, "date_ambiguous"),
            (partial, "date_partial"),
            (~ok & ~blank, "date_unparseable"),
        ],
    )
    return Parsed(datetime_series(days, ~ok, index), reason)


def parse_period(s: pd.Series, *, blank_tokens: Iterable[str] = BLANK_TOKENS) -> Parsed:
    """Parse a tax period (所属税期) into 'YYYY-MM' text (pandas ``str``).

    Accepts '2016-03', '2016/03', '2016.3', '2016年3月', '201603', and full dates or date-times
    ('2016-03-01', '20160301'), whose month is taken. Year must be 1900–2199 and the day, when
    given, must exist. Reasons: ``excel_error_cell``, ``period_unparseable``.
    """
    return via_uniques(s, lambda u: _parse_periods(u, blank_tokens))


def _parse_periods(s: pd.Series, blank_tokens: Iterable[str]) -> Parsed:
    index = s.index
    t = _prepare(s)
    blank = is_blank(t, blank_tokens)
    excel = is_excel_error(t)
    m = pc.extract_regex(t, _PERIOD_RE)
    ok = bool_np(pc.is_valid(m)) & ~blank
    ok &= bool_np(pc.equal(field(m, "s2"), "")) | bool_np(pc.equal(field(m, "s1"), field(m, "s2")))
    y_s = concat(field(m, "y"), field(m, "cy"))
    m_s = concat(field(m, "m"), field(m, "cm"))
    d_s = concat(field(m, "d"), field(m, "cd"))
    y = digits_to_int(y_s)
    has_day = lengths(d_s) > 0
    _, real = ymd_to_days(y, digits_to_int(m_s), np.where(has_day, digits_to_int(d_s), 1))
    ok &= real & (y >= 1900) & (y <= 2199)
    text = concat(y_s, "-", pc.utf8_lpad(m_s, 2, "0"))
    reason = build_reason(len(s), index, [(excel, "excel_error_cell"), (~ok & ~blank, "period_unparseable")])
    return Parsed(str_series(text, ~ok, index), reason)
