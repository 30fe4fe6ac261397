"""Shared vectorised plumbing: text in as Arrow arrays, typed pandas objects out.

Every normaliser works on a ``pyarrow`` ``large_string`` array (the storage of pandas' ``str``
dtype) with Arrow compute kernels (RE2 regexes, NFKC) and numpy arithmetic, never a Python loop
over rows. Regex patterns here must stay RE2-compatible: no ``\\s``/``\\d``/``\\w`` (RE2 is
ASCII-only for those), no look-arounds or back-references.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._result import Parsed

__all__ = [
    "BLANK_TOKENS",
    "EXCEL_ERRORS",
    "WS",
    "all_ascii",
    "as_text",
    "bool_np",
    "boolean_series",
    "build_reason",
    "char_matrix",
    "concat",
    "datetime_series",
    "digits_to_int",
    "extract",
    "field",
    "float_series",
    "int_series",
    "is_blank",
    "is_excel_error",
    "lengths",
    "matches",
    "matches_where",
    "squash",
    "str_series",
    "via_uniques",
    "ymd_to_days",
]

# Whitespace and invisible characters, as an RE2 character-class body. NFKC already maps NBSP,
# U+3000 and the U+2000 block to a plain space; the rest survive NFKC and are listed explicitly.
WS = "\t\n\x0b\x0c\r \u0085\u00a0\u1680\u180e\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
_WS_RUN = f"[{WS}]+"
_INVISIBLE = "[\u200b\u200c\u200d\u2060\ufeff\u180e]"
# Minus-like characters that NFKC leaves alone (the full-width and small forms it maps to '-').
_MINUS = "[\u2212\u2010\u2011\u2012\u2013\ufe58]"

#: Cell texts that mean "nothing here" in amount, number, date and ID columns (compared after
#: NFKC and whitespace removal). Profiles may pass their own set.
BLANK_TOKENS: frozenset[str] = frozenset({"", "-", "--", "---", "—", "——", "―", "/", "\\", "无", "空"})

#: Excel error values as they appear in exports (compared upper-cased).
EXCEL_ERRORS: frozenset[str] = frozenset(
    {
        "#DIV/0!",
        "#N/A",
        "#REF!",
        "#VALUE!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
    }
)


def as_text(s: pd.Series) -> pa.LargeStringArray:
    """The Series as one non-null ``large_string`` Arrow array; NaN/None become ''."""
    if not isinstance(s, pd.Series):
        raise TypeError(f"expected a pandas Series, got {type(s).__name__}")
    text = s if (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow") else s.astype("str")
    arr = pa.array(text.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return pc.fill_null(arr, "")


def squash(arr: pa.Array, *, spaces: str = "remove") -> pa.Array:
    """NFKC, drop NUL and zero-width characters, unify minus signs, then remove whitespace.

    ``spaces="collapse"`` keeps single inner spaces (date-time text needs them) and strips the ends.
    An all-ASCII array (the common case) skips the Unicode steps, which cannot change it.
    """
    t = pc.replace_substring(arr, "\x00", "")
    if all_ascii(t):
        ws = "[\t\n\x0b\x0c\r ]+"
    else:
        t = pc.utf8_normalize(t, "NFKC")
        t = pc.replace_substring_regex(t, _INVISIBLE, "")
        t = pc.replace_substring_regex(t, _MINUS, "-")
        ws = _WS_RUN
    if spaces == "remove":
        t = pc.replace_substring_regex(t, ws, "")
    else:
        t = pc.utf8_trim(pc.replace_substring_regex(t, ws, " "), " ")
    # removing a space can leave a combining mark next to a letter ('O¯' → 'O' + U+0304): recompose
    return t if ws != _WS_RUN else pc.utf8_normalize(t, "NFKC")


def all_ascii(t: pa.Array) -> bool:
    """Whether every string in the array is pure ASCII."""
    return bool(pc.all(pc.string_is_ascii(t)).as_py() is not False)


def bool_np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow boolean array as a numpy bool array, null counted as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def is_blank(t: pa.Array, tokens: Iterable[str] = BLANK_TOKENS) -> np.ndarray:
    """Mask of squashed texts that are empty or a placeholder for empty (tokens are squashed too)."""
    value_set = squash(pa.array(sorted(set(tokens) | {""}), type=pa.large_string()))
    return bool_np(pc.is_in(t, value_set=value_set))


def is_excel_error(t: pa.Array) -> np.ndarray:
    """Mask of squashed texts that are an Excel error value such as ``#DIV/0!``."""
    upper = pc.utf8_upper(t)
    return bool_np(pc.is_in(upper, value_set=pa.array(sorted(EXCEL_ERRORS), type=pa.large_string())))


def matches(t: pa.Array, pattern: str) -> np.ndarray:
    """Mask of texts matching an RE2 ``pattern`` (anchor it yourself)."""
    return bool_np(pc.match_substring_regex(t, pattern))


def matches_where(t: pa.Array, pattern: str, where: np.ndarray) -> np.ndarray:
    """``matches`` evaluated only on the rows in ``where`` (False elsewhere): cheap when few rows."""
    out = np.zeros(len(t), dtype=bool)
    rows = np.flatnonzero(where)
    if len(rows):
        out[rows] = matches(pc.take(t, pa.array(rows)), pattern)
    return out


def extract(t: pa.Array, pattern: str, fast: str | None = None) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Named groups of an anchored RE2 ``pattern`` ('' where absent) and the mask of matching rows.

    RE2 slows down with many capture groups, so a simpler ``fast`` pattern (whose groups are a
    subset of ``pattern``'s and which matches nothing ``pattern`` would read differently) is tried on
    every row first and the full pattern only on the rows it leaves.
    """
    names = list(re.compile(pattern).groupindex)
    if fast is None:
        m = pc.extract_regex(t, pattern)
        return {name: field(m, name) for name in names}, bool_np(pc.is_valid(m))
    fm = pc.extract_regex(t, fast)
    fast_ok = bool_np(pc.is_valid(fm))
    fast_names = set(re.compile(fast).groupindex)
    empty = pa.scalar("", pa.large_string())
    rest = np.flatnonzero(~fast_ok)
    out: dict[str, pa.Array] = {}
    if len(rest) == 0:
        for name in names:
            out[name] = (
                field(fm, name)
                if name in fast_names
                else pc.fill_null(pa.nulls(len(t), pa.large_string()), "")
            )
        return out, fast_ok
    sm = pc.extract_regex(pc.take(t, pa.array(rest)), pattern)
    slow_ok = np.zeros(len(t), dtype=bool)
    slow_ok[rest] = bool_np(pc.is_valid(sm))
    position = np.zeros(len(t), dtype=np.int64)
    position[rest] = np.arange(len(rest))
    spread = pa.array(position)
    use_fast = pa.array(fast_ok)
    for name in names:
        slow = pc.take(field(sm, name), spread)
        out[name] = pc.if_else(use_fast, field(fm, name) if name in fast_names else empty, slow)
    return out, fast_ok | slow_ok


def field(struct: pa.Array, name: str) -> pa.Array:
    """One group of a ``pc.extract_regex`` result; '' where the row did not match."""
    return pc.fill_null(pc.struct_field(struct, name), "")


def digits_to_int(t: pa.Array) -> np.ndarray:
    """ASCII digit strings (at most 18 digits, '' allowed) to int64; '' is 0."""
    filled = pc.if_else(pc.equal(pc.utf8_length(t), 0), "0", t)
    return np.array(pc.cast(filled, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation of Arrow arrays (plain ``str`` arguments are broadcast)."""
    args = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", pa.large_string()))


def lengths(t: pa.Array) -> np.ndarray:
    """Length of each string in code points."""
    return np.array(pc.utf8_length(t).to_numpy(zero_copy_only=False), dtype=np.int64)


def char_matrix(t: pa.Array, width: int) -> np.ndarray:
    """ASCII strings that are all exactly ``width`` bytes as an ``(n, width)`` uint8 matrix."""
    if len(t) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    fixed = pc.cast(pc.cast(t, pa.large_binary()), pa.binary(width))
    buf = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    start = fixed.offset * width
    return buf[start : start + len(fixed) * width].reshape(len(fixed), width)


def ymd_to_days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calendar check without rollover: ``(datetime64[D] values, ok mask)``.

    ``ok`` is False where year, month or day do not name a real calendar date (month 13, 30 February,
    year outside 1..9999); the date there is meaningless.
    """
    y = np.asarray(y, dtype=np.int64)
    m = np.asarray(m, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    ok = (y >= 1) & (y <= 9999) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
    months = np.where(ok, (y - 1970) * 12 + (m - 1), 0).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + np.where(ok, d - 1, 0).astype("timedelta64[D]")
    ok &= days.astype("datetime64[M]") == months
    return days, ok


def via_uniques(s: pd.Series, parse: Callable[[pd.Series], Parsed]) -> Parsed:
    """Run ``parse`` once per distinct text and spread the result back over the rows.

    Dates, flags and categories repeat heavily (a million rows, a few thousand distinct dates), so
    parsing the distinct values and taking by code is much cheaper than parsing every row.
    """
    encoded = pc.dictionary_encode(as_text(s))
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    distinct = pd.Series(pd.array(encoded.dictionary, dtype="str"))
    parsed = parse(distinct)
    values = pd.Series(parsed.values.array.take(codes), index=s.index)
    reason = pd.Series(parsed.reason.to_numpy(dtype=object)[codes], index=s.index, dtype=object)
    return Parsed(values, reason)


def build_reason(n: int, index: pd.Index, rules: Sequence[tuple[np.ndarray, str]]) -> pd.Series:
    """Reason Series from ``(mask, code)`` pairs; the first pair that applies to a row wins."""
    out = np.full(n, None, dtype=object)
    free = np.ones(n, dtype=bool)
    for mask, code in rules:
        hit = mask & free
        out[hit] = code
        free &= ~hit
    return pd.Series(out, index=index, dtype=object)


def int_series(values: np.ndarray, missing: np.ndarray, index: pd.Index) -> pd.Series:
    """An ``Int64`` Series; ``missing`` rows are <NA>."""
    vals = np.where(missing, 0, values).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(vals, missing.copy()), index=index)


def float_series(values: np.ndarray, missing: np.ndarray, index: pd.Index) -> pd.Series:
    """A ``Float64`` Series; ``missing`` rows are <NA>."""
    vals = np.where(missing, 0.0, values).astype(np.float64)
    return pd.Series(pd.arrays.FloatingArray(vals, missing.copy()), index=index)


def boolean_series(values: np.ndarray, missing: np.ndarray, index: pd.Index) -> pd.Series:
    """A nullable ``boolean`` Series; ``missing`` rows are <NA>."""
    vals = np.where(missing, False, values).astype(bool)
    return pd.Series(pd.arrays.BooleanArray(vals, missing.copy()), index=index)


def str_series(t: pa.Array, missing: np.ndarray, index: pd.Index) -> pd.Series:
    """A pandas ``str`` Series from Arrow text; ``missing`` rows are NaN."""
    arr = pc.if_else(pa.array(missing, type=pa.bool_()), pa.scalar(None, pa.large_string()), t)
    return pd.Series(pd.array(arr, dtype="str"), index=index)


def datetime_series(days: np.ndarray, missing: np.ndarray, index: pd.Index) -> pd.Series:
    """A ``datetime64[ns]`` Series at midnight from ``datetime64[D]`` values; ``missing`` is NaT."""
    safe = np.where(missing, np.datetime64("1970-01-01", "D"), days).astype("datetime64[D]")
    out = safe.astype("datetime64[ns]")
    out[missing] = np.datetime64("NaT", "ns")
    return pd.Series(out, index=index, dtype="datetime64[ns]")
