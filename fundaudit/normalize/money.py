"""Amounts of money as exact integer fen (分).

Ledger amounts arrive as text in every style an exporter or a clerk produces: ``¥1,234.50``,
``1,234.50元``, accounting negatives ``（123.00）``, full-width digits, ``1.2万``, scientific text.
The value is computed from the digit strings with integer arithmetic, never through a binary
float, so ``37.019999999999996`` is 3702 fen and ``2.675`` is 268 fen (rounded half-up once, as
四舍五入 does). Totals over fen are exact.

Spaces (ASCII, NBSP, U+3000, thin spaces: NFKC makes them one space) between digits count as thousands
grouping only when the grouping is well formed: a first group of 1-3 digits, every later group exactly 3,
nothing but a decimal part after the last. ``1 234.50``, ``12 345 678`` and ``1 000`` are read;
``1 2 3`` and ``12 34`` are rejected (``amount_bad_grouping``); ``100 200`` (one space after a full
three-digit group, no decimal part) reads as two numbers typed into one cell and is rejected
(``amount_ambiguous_grouping``).

An amount that is not a whole number of fen (``12.345``, ``1.2345678万``) is rounded half-up to fen
and *flagged* (``Parsed.flag`` = ``more_than_two_decimals``), never rounded away silently; float noise
from a numeric cell (``37.019999999999996``: 15+ significant digits, the dropped digits a run of six
or more 0s or 9s) is not flagged.
"""

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
    extract,
    int_series,
    is_blank,
    is_excel_error,
    lengths,
    matches,
    matches_where,
    may_hold,
    squash,
    str_series,
    via_uniques,
)
from ._result import Parsed

__all__ = ["MAX_FEN", "format_fen", "format_fen_series", "parse_money"]

#: Amounts must be below 10^15 yuan (10^17 fen): far above any ledger, well inside int64.
MAX_FEN = 10**17

_CUR = "(?:¥|RMB|CNY)?"
_MONEY_RE = (
    f"^{_CUR}(?P<lp>\\()?{_CUR}(?P<sign>[-+])?{_CUR}"
    "(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)"
    "(?:\\.(?P<frac>[0-9]*))?"
    "(?:[eE](?P<exp>[-+]?[0-9]+))?"
    "(?P<wan>万)?元?(?P<rp>\\))?元?$"
)
_PLAIN_RE = "^(?P<sign>[-+])?(?P<int>[0-9]*)(?:\\.(?P<frac>[0-9]*))?$"
_NONFINITE_RE = "^[-+]?(?:INF|INFINITY|NAN|∞|1\\.#INF|1\\.#QNAN)$"


def parse_money(
    s: pd.Series,
    *,
    blank_tokens: Iterable[str] = BLANK_TOKENS,
    allow_exponent: bool = True,
    scale: int = 1,
) -> Parsed:
    """Parse amount text into ``Int64`` fen.

    Blank cells and placeholders (``—``, ``-``, ``/``, ``无`` …, see ``BLANK_TOKENS``) give <NA>
    with no reason. Rejected cells give <NA> with ``excel_error_cell``, ``amount_nonfinite``
    (``inf``/``nan`` text), ``amount_out_of_range`` (10^15 yuan or more), ``amount_bad_grouping`` /
    ``amount_ambiguous_grouping`` (spaces between digits that do not group thousands) or
    ``amount_unparseable``. Amounts with more than two decimals are rounded half-up to fen and flagged
    ``more_than_two_decimals`` in ``Parsed.flag``. ``allow_exponent=False`` rejects scientific text such
    as ``1.5E+3``. ``scale`` (a power of ten: 10000 for a 万元 column) multiplies before rounding, so
    ``1.234567`` in a 万元 column is exactly 1234567 fen.
    """
    shift = _SCALE_SHIFT.get(scale)
    if shift is None:
        raise ValueError(f"scale must be a power of ten up to 10^8, not {scale!r}")
    return via_uniques(s, lambda u: _parse_money(u, blank_tokens, allow_exponent, shift), adaptive=True)


_SCALE_SHIFT = {10**k: k for k in range(9)}
_SPACE_BYTE = frozenset({0x20})
# One-space-separated digit groups (after NFKC and collapsing whitespace runs to one space).
_DIGIT_SPACE_DIGIT = "[0-9] [0-9]"
_GROUPED = "^[^0-9.,]*[0-9]{1,3}(?: [0-9]{3})+(?:\\.[0-9]*)?[^0-9.,]*$"
_TWO_NUMBERS = "^[^0-9.,]*[0-9]{3} [0-9]{3}[^0-9.,]*$"
_FLOAT_NOISE = "^(?:0{6,}|9{6,})"


def _space_grouping(t: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Spaces out of the (collapsed) text, plus masks of malformed and ambiguous digit grouping."""
    n = len(t)
    bad = np.zeros(n, dtype=bool)
    ambiguous = np.zeros(n, dtype=bool)
    if not may_hold(t, _SPACE_BYTE):
        return t, bad, ambiguous
    spaced = matches(t, _DIGIT_SPACE_DIGIT)
    if spaced.any():
        ambiguous = matches_where(t, _TWO_NUMBERS, spaced)
        bad = spaced & ~ambiguous & ~matches_where(t, _GROUPED, spaced)
    return pc.replace_substring(t, " ", ""), bad, ambiguous


def _parse_money(s: pd.Series, blank_tokens: Iterable[str], allow_exponent: bool, scale_shift: int) -> Parsed:
    index = s.index
    n = len(s)
    t, bad_grouping, ambiguous = _space_grouping(squash(as_text(s), spaces="collapse"))
    blank = is_blank(t, blank_tokens)
    excel = is_excel_error(t)
    m, matched = extract(t, _MONEY_RE, fast=_PLAIN_RE)
    nonfinite = matches_where(pc.utf8_upper(t), _NONFINITE_RE, ~matched & ~blank)
    int_s = pc.replace_substring(m["int"], ",", "")
    frac = m["frac"]
    exp_s = m["exp"]
    paren_l = lengths(m["lp"]) > 0
    paren_r = lengths(m["rp"]) > 0
    sign = m["sign"]
    minus = bool_np(pc.equal(sign, "-"))
    signed = lengths(sign) > 0
    ok = matched & ~blank & ~bad_grouping & ~ambiguous
    ok &= (lengths(int_s) + lengths(frac)) > 0
    ok &= (paren_l == paren_r) & ~(paren_l & signed)
    if not allow_exponent:
        ok &= lengths(exp_s) == 0

    shift = 2 + scale_shift + _exponent(exp_s) + np.where(lengths(m["wan"]) > 0, 4, 0)
    fen, out_of_range, sub_fen = _scaled_fen(int_s, frac, shift, ok)
    ok &= ~out_of_range
    fen = np.where(minus | paren_l, -fen, fen)

    reason = build_reason(
        n,
        index,
        [
            (excel, "excel_error_cell"),
            (nonfinite & ~blank, "amount_nonfinite"),
            (out_of_range, "amount_out_of_range"),
            (ambiguous & ~blank, "amount_ambiguous_grouping"),
            (bad_grouping & ~blank, "amount_bad_grouping"),
            (~ok & ~blank, "amount_unparseable"),
        ],
    )
    flag = build_reason(n, index, [(sub_fen & ok, "more_than_two_decimals")]) if sub_fen.any() else None
    return Parsed(int_series(fen, ~ok, index), reason, flag)


def _exponent(exp_s: pa.Array) -> np.ndarray:
    """Exponent text ('' , '3', '+3', '-12') as int64, clamped to ±9999."""
    neg = bool_np(pc.starts_with(exp_s, "-"))
    digits = pc.utf8_ltrim(pc.utf8_ltrim(exp_s, "+-"), "0")
    huge = lengths(digits) > 4
    value = digits_to_int(pc.if_else(pa.array(huge), "9999", digits))
    return np.where(neg, -value, value)


def _scaled_fen(
    int_s: pa.Array, frac: pa.Array, shift: np.ndarray, ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``round_half_up(int.frac × 10^shift)`` for the ``ok`` rows, exactly, plus an out-of-range mask and
    the mask of values the rounding changed (digits beyond fen that are not all zero, float noise aside).

    Works on digit strings: moving the decimal point by ``shift`` is a slice, so the loop is over the
    few distinct shifts present (2 for plain amounts, 6 for 万), each handled with array kernels.
    """
    n = len(int_s)
    fen = np.zeros(n, dtype=np.int64)
    out_of_range = np.zeros(n, dtype=bool)
    sub_fen = np.zeros(n, dtype=bool)
    whole = pc.utf8_ltrim(int_s, "0")
    len_whole = lengths(whole)
    len_frac = lengths(frac)
    lead_zeros = len_frac - lengths(pc.utf8_ltrim(frac, "0"))
    nonzero = ok & ((len_whole > 0) | (lead_zeros < len_frac))
    # Number of integer digits of the result; 18 or more means at least 10^17 fen.
    magnitude = np.where(len_whole > 0, len_whole + shift, shift - lead_zeros)
    too_big = nonzero & (magnitude >= 18)
    out_of_range |= too_big
    todo = nonzero & ~too_big
    # only a row with more fraction digits than its shift can hold anything beyond fen
    beyond = todo & ((shift < 0) | (len_frac > shift))
    for k in np.unique(shift[todo]).tolist():
        rows = np.flatnonzero(todo & (shift == k))
        sel = pa.array(rows)
        w = pc.take(whole, sel)
        f = pc.take(frac, sel)
        if k >= 0:
            padded = pc.utf8_rpad(f, k + 1, "0")
            head = concat(w, pc.utf8_slice_codeunits(padded, 0, k))
            rounding = pc.utf8_slice_codeunits(padded, k, k + 1)
            lost = pc.utf8_slice_codeunits(f, k)
        else:
            j = -k
            padded = pc.utf8_lpad(w, j + 1, "0")
            head = pc.utf8_slice_codeunits(padded, 0, -j)
            rounding = pc.utf8_slice_codeunits(padded, -j, -j + 1 if j > 1 else None)
            lost = concat(pc.utf8_slice_codeunits(padded, -j), f)
        value = digits_to_int(pc.utf8_ltrim(head, "0"))
        value += bool_np(pc.greater_equal(rounding, "5"))
        fen[rows] = value
        if beyond[rows].any():
            sub_fen[rows] = _rounded_away(w, f, lost)
    out_of_range |= ok & (fen >= MAX_FEN)
    fen[out_of_range] = 0
    return fen, out_of_range, sub_fen & ~out_of_range


def _rounded_away(whole: pa.Array, frac: pa.Array, lost: pa.Array) -> np.ndarray:
    """Mask of values whose digits beyond fen (``lost``) are not all zero and are not float noise.

    Float noise is what a binary float's shortest repr leaves (``37.019999999999996``,
    ``0.30000000000000004``): 15 or more significant digits, the dropped digits starting with a run
    of six or more 0s or 9s. A clerk does not type that; a spreadsheet cell holding 37.02 does.
    """
    nonzero = lengths(pc.utf8_ltrim(lost, "0")) > 0
    significant = lengths(pc.utf8_ltrim(concat(whole, frac), "0"))
    noise = (significant >= 15) & bool_np(pc.match_substring_regex(lost, _FLOAT_NOISE))
    return nonzero & ~noise


def format_fen(fen: int) -> str:
    """Fen as yuan text with two decimals: 123450 → '1234.50', -1 → '-0.01'."""
    value = int(fen)
    q, r = divmod(abs(value), 100)
    return f"{'-' if value < 0 else ''}{q}.{r:02d}"


def format_fen_series(s: pd.Series) -> pd.Series:
    """Vectorised ``format_fen`` over an integer (``Int64``) Series; <NA> stays missing (NaN)."""
    missing = np.asarray(s.isna(), dtype=bool)
    values = np.asarray(s.to_numpy(dtype=np.int64, na_value=0), dtype=np.int64)
    mag = np.abs(values)
    q = pc.cast(pa.array(mag // 100), pa.large_string())
    r = pc.utf8_lpad(pc.cast(pa.array(mag % 100), pa.large_string()), 2, "0")
    sign = pc.if_else(
        pa.array(values < 0), pa.scalar("-", pa.large_string()), pa.scalar("", pa.large_string())
    )
    text = concat(sign, q, ".", r)
    return str_series(text, missing, s.index)
