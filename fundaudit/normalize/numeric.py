"""Rates (税率, 比例) as fractions and whole numbers (职工人数, 家庭人口)."""

from __future__ import annotations

from collections.abc import Iterable

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
    digits_to_int,
    field,
    float_series,
    int_series,
    is_blank,
    is_excel_error,
    lengths,
    squash,
    via_uniques,
)
from ._result import Parsed

__all__ = ["parse_int", "parse_rate"]

_RATE_RE = "^(?P<sign>[-+])?(?P<int>[0-9]*)(?:\\.(?P<frac>[0-9]*))?(?P<unit>%|‰)?$"
_INT_RE = "^(?P<sign>[-+])?(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\\.0*)?$"
# Rates carry at most a few decimals; rounding the scaled float to 12 places removes the binary
# noise of dividing by 100 (1.1 / 100 = 0.011000000000000001) and gives the nearest double.
_RATE_DECIMALS = 12


def parse_rate(
    s: pd.Series, *, percent_if_above_one: bool = True, blank_tokens: Iterable[str] = BLANK_TOKENS
) -> Parsed:
    """Parse rate text into a ``Float64`` fraction: '2%', '0.02' and '２％' are all 0.02.

    With ``percent_if_above_one`` a bare number above 1 is read as a percentage ('2' → 0.02,
    '60' → 0.6), as clerks type it; exactly '1' stays 1.0 (100 %). '‰' divides by 1000.
    Reasons: ``excel_error_cell``, ``rate_unparseable``.
    """
    return via_uniques(s, lambda u: _parse_rate(u, percent_if_above_one, blank_tokens), adaptive=True)


def _parse_rate(s: pd.Series, percent_if_above_one: bool, blank_tokens: Iterable[str]) -> Parsed:
    index = s.index
    t = squash(as_text(s))
    blank = is_blank(t, blank_tokens)
    excel = is_excel_error(t)
    m = pc.extract_regex(t, _RATE_RE)
    int_s = field(m, "int")
    frac = field(m, "frac")
    unit = field(m, "unit")
    ok = bool_np(pc.is_valid(m)) & ~blank & ((lengths(int_s) + lengths(frac)) > 0)
    ok &= lengths(frac) <= 30
    int_s = pc.if_else(pa.array(ok), int_s, pa.scalar("0", pa.large_string()))
    number = concat(pc.utf8_lpad(int_s, 1, "0"), ".", pc.utf8_rpad(frac, 1, "0"))
    value = np.asarray(pc.cast(number, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    value = np.where(bool_np(pc.equal(field(m, "sign"), "-")), -value, value)
    percent = bool_np(pc.equal(unit, "%"))
    permille = bool_np(pc.equal(unit, "‰"))
    if percent_if_above_one:
        percent |= (lengths(unit) == 0) & (np.abs(value) > 1)
    value = np.where(percent, value / 100, np.where(permille, value / 1000, value))
    value = np.round(value, _RATE_DECIMALS)
    ok &= np.isfinite(value)
    reason = build_reason(len(s), index, [(excel, "excel_error_cell"), (~ok & ~blank, "rate_unparseable")])
    return Parsed(float_series(value, ~ok, index), reason)


def parse_int(s: pd.Series, *, blank_tokens: Iterable[str] = BLANK_TOKENS) -> Parsed:
    """Parse whole-number text into ``Int64``: '3', '3.0', '３', '1,200', '-2'.

    Anything else (a fraction, a unit such as '12人', more than 18 digits) is rejected with
    ``int_unparseable``; Excel error values with ``excel_error_cell``.
    """
    return via_uniques(s, lambda u: _parse_int(u, blank_tokens), adaptive=True)


def _parse_int(s: pd.Series, blank_tokens: Iterable[str]) -> Parsed:
    index = s.index
    t = squash(as_text(s))
    blank = is_blank(t, blank_tokens)
    excel = is_excel_error(t)
    m = pc.extract_regex(t, _INT_RE)
    digits = pc.utf8_ltrim(pc.replace_substring(field(m, "int"), ",", ""), "0")
    ok = bool_np(pc.is_valid(m)) & ~blank & (lengths(digits) <= 18)
    digits = pc.if_else(pa.array(ok), digits, pa.scalar("", pa.large_string()))
    value = digits_to_int(digits)
    value = np.where(bool_np(pc.equal(field(m, "sign"), "-")), -value, value)
    reason = build_reason(len(s), index, [(excel, "excel_error_cell"), (~ok & ~blank, "int_unparseable")])
    return Parsed(int_series(value, ~ok, index), reason)
