"""Shared vectorised plumbing: text in as Arrow arrays, typed pandas objects out.

Every normaliser works on a ``pyarrow`` ``large_string`` array (the storage of pandas' ``str``
dtype) with Arrow compute kernels (RE2 regexes, NFKC) and numpy arithmetic, never a Python loop
over rows. Regex patterns here must stay RE2-compatible: no ``\\s``/``\\d``/``\\w`` (RE2 is
ASCII-only for those), no look-arounds or back-references.
"""

from __future__ import annotations

import functools
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
    "NUL_BYTE",
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
    "lead_bytes",
    "lengths",
    "matches",
    "matches_where",
    "may_hold",
    "squash",
    "str_series",
    "text_of",
    "text_via_uniques",
    "utf8_bytes",
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
    arr = text_of(s)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def text_of(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    """:func:`as_text` without joining the chunks a reader produced (no copy of the text)."""
    if not isinstance(s, pd.Series):
        raise TypeError(f"expected a pandas Series, got {type(s).__name__}")
    text = s if (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow") else s.astype("str")
    arr = pa.array(text.array)
    if isinstance(arr, pa.ChunkedArray) and arr.num_chunks == 1:
        arr = arr.chunk(0)
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return pc.fill_null(arr, "") if arr.null_count else arr


def _chunks(t: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(t.chunks) if isinstance(t, pa.ChunkedArray) else [t]


def squash(arr: pa.Array, *, spaces: str = "remove") -> pa.Array:
    """NFKC, drop NUL and zero-width characters, unify minus signs, then remove whitespace.

    ``spaces="collapse"`` keeps single inner spaces (date-time text needs them) and strips the ends.
    An all-ASCII array (the common case) skips the Unicode steps, which cannot change it; any step is
    skipped when a look at the raw bytes shows it cannot change anything (no byte that could start one of
    the characters it replaces, or text NFKC leaves alone).
    """
    t = pc.replace_substring(arr, "\x00", "") if may_hold(arr, NUL_BYTE) else arr
    if all_ascii(t):
        if not may_hold(t, _ASCII_WS_BYTES):
            return t  # no whitespace to remove or collapse
        ws = _ASCII_WS_RUN
        edited = False
    else:
        if _nfkc_may_change(t):
            t = pc.utf8_normalize(t, "NFKC")
        edited = False
        for pattern, replacement, leads in ((_INVISIBLE, "", _INVISIBLE_BYTES), (_MINUS, "-", _MINUS_BYTES)):
            if may_hold(t, leads):
                t = pc.replace_substring_regex(t, pattern, replacement)
                edited = True
        ws = _WS_RUN
    if may_hold(t, _WS_BYTES if ws == _WS_RUN else _ASCII_WS_BYTES):
        edited = True
        if spaces == "remove":
            t = pc.replace_substring_regex(t, ws, "")
        else:
            t = pc.utf8_trim(pc.replace_substring_regex(t, ws, " "), " ")
    # removing a space can leave a combining mark next to a letter ('O¯' → 'O' + U+0304): recompose
    # (text nothing was removed from is still what NFKC made it)
    return pc.utf8_normalize(t, "NFKC") if ws == _WS_RUN and edited and _nfkc_may_change(t) else t


def all_ascii(t: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every string in the array is pure ASCII."""
    for chunk in _chunks(t):
        data = utf8_bytes(chunk)
        if data is None:
            if pc.all(pc.string_is_ascii(chunk)).as_py() is False:
                return False
        elif len(data) and int(data.max()) >= 0x80:
            return False
    return True


def utf8_bytes(t: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The UTF-8 bytes of all the strings of ``t``, end to end (a view, no copy); ``None`` for a chunked
    array, other types or missing values (callers then use the Arrow kernels)."""
    if isinstance(t, pa.ChunkedArray) or t.null_count or t.type not in (pa.large_string(), pa.string()):
        return None
    if len(t) == 0:
        return np.zeros(0, dtype=np.uint8)
    buffers = t.buffers()
    width = np.int64 if t.type == pa.large_string() else np.int32
    offsets = np.frombuffer(buffers[1], dtype=width, count=t.offset + len(t) + 1)
    lo, hi = int(offsets[t.offset]), int(offsets[t.offset + len(t)])
    if hi == lo or buffers[2] is None:
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(buffers[2], dtype=np.uint8, count=hi, offset=0)[lo:hi]


def may_hold(t: pa.Array | pa.ChunkedArray, leads: frozenset[int]) -> bool:
    """False only when no string of ``t`` contains a character whose UTF-8 encoding starts with one of the
    ``leads`` bytes (so replacing or finding those characters cannot change anything). Leads up to 0x20
    (whitespace, controls) are tested together as "any byte up to the largest of them", a cheap superset."""
    low = [b for b in leads if b <= 0x20]
    others = sorted(b for b in leads if b > 0x20)
    for chunk in _chunks(t):
        data = utf8_bytes(chunk)
        if data is None:
            return True
        if len(data) == 0:
            continue
        if low and int(data.min()) <= max(low):
            return True
        if others and int(data.max()) >= others[0] and any(bool((data == b).any()) for b in others):
            return True
    return False


def _nfkc_may_change(t: pa.Array | pa.ChunkedArray) -> bool:
    """False only when every character is ASCII or in U+4000..U+9FFF (CJK ideographs, no compatibility or
    combining characters), where NFKC is the identity."""
    for chunk in _chunks(t):
        data = utf8_bytes(chunk)
        if data is None or bool(((data >= 0xC0) & ((data <= 0xE3) | (data >= 0xEA))).any()):
            return True
    return False


def lead_bytes(char_class: str) -> frozenset[int]:
    """First UTF-8 bytes of the characters of a regex character-class body (``a-z`` ranges expanded)."""
    chars: set[str] = set()
    i = 0
    while i < len(char_class):
        if i + 2 < len(char_class) and char_class[i + 1] == "-":
            chars.update(chr(c) for c in range(ord(char_class[i]), ord(char_class[i + 2]) + 1))
            i += 3
        else:
            chars.add(char_class[i])
            i += 1
    return frozenset(c.encode("utf-8")[0] for c in chars)


NUL_BYTE = frozenset({0})
_HASH_BYTE = frozenset({ord("#")})
_ASCII_WS_RUN = "[\t\n\x0b\x0c\r ]+"
_ASCII_WS_BYTES = lead_bytes("\t\n\x0b\x0c\r ")
_WS_BYTES = lead_bytes(WS)
_INVISIBLE_BYTES = lead_bytes(_INVISIBLE[1:-1])
_MINUS_BYTES = lead_bytes(_MINUS[1:-1])


def bool_np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow boolean array as a numpy bool array, null counted as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def is_blank(t: pa.Array, tokens: Iterable[str] = BLANK_TOKENS) -> np.ndarray:
    """Mask of squashed texts that are empty or a placeholder for empty (tokens are squashed too)."""
    value_set, longest = _blank_set(frozenset(tokens) | {""})
    if len(t) and int(pc.min(pc.binary_length(t)).as_py()) > longest:
        return np.zeros(len(t), dtype=bool)  # every text is longer than every token
    return bool_np(pc.is_in(t, value_set=value_set))


@functools.lru_cache(maxsize=64)
def _blank_set(tokens: frozenset[str]) -> tuple[pa.Array, int]:
    """The squashed tokens and the byte length of the longest."""
    value_set = squash(pa.array(sorted(tokens), type=pa.large_string()))
    return value_set, int(pc.max(pc.binary_length(value_set)).as_py() or 0)


def is_excel_error(t: pa.Array) -> np.ndarray:
    """Mask of squashed texts that are an Excel error value such as ``#DIV/0!``."""
    if not may_hold(t, _HASH_BYTE):  # every error value starts with '#'
        return np.zeros(len(t), dtype=bool)
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


def via_uniques(s: pd.Series, parse: Callable[[pd.Series], Parsed], *, adaptive: bool = False) -> Parsed:
    """Run ``parse`` once per distinct text and spread the result back over the rows.

    Dates, flags and categories repeat heavily (a million rows, a few thousand distinct dates), so
    parsing the distinct values and taking by code is much cheaper than parsing every row. ``parse`` must
    treat each row on its own (its result for a text never depends on the other rows). With ``adaptive``
    a column whose sample is mostly distinct (IDs, account numbers) is parsed directly instead: the result
    is the same either way, only the cost differs.
    """
    text = text_of(s)
    if adaptive and not _repetitive(text):
        return parse(s)
    codes, distinct = _distinct(text)
    parsed = parse(distinct)
    values = pd.Series(parsed.values.array.take(codes), index=s.index)
    reason = pd.Series(parsed.reason.to_numpy(dtype=object)[codes], index=s.index, dtype=object)
    flag = None
    if parsed.flag is not None:
        flag = pd.Series(parsed.flag.to_numpy(dtype=object)[codes], index=s.index, dtype=object)
    return Parsed(values, reason, flag)


def text_via_uniques(s: pd.Series, clean: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """:func:`via_uniques` for a row-by-row text cleaner returning a Series (used when values repeat)."""
    text = text_of(s)
    if not _repetitive(text):
        return clean(s)
    codes, distinct = _distinct(text)
    return pd.Series(clean(distinct).array.take(codes), index=s.index)


_SAMPLE_ROWS = 20_000
_MIN_ROWS = 50_000


def _repetitive(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a column is worth parsing once per distinct value: long, and at most a third of its first
    rows distinct (only the cost depends on this guess, never the result)."""
    if len(text) < _MIN_ROWS:
        return False
    sample = text.slice(0, _SAMPLE_ROWS)
    return int(pc.count_distinct(sample).as_py()) * 3 <= len(sample)


def _distinct(text: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pd.Series]:
    """Codes (int64, one per row) into the distinct texts (a ``str`` Series)."""
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):  # chunks as the reader made them: one shared dictionary
        encoded = encoded.unify_dictionaries()
        if encoded.num_chunks == 0:
            return np.zeros(0, dtype=np.int64), pd.Series(pd.array([], dtype="str"))
        dictionary = encoded.chunk(0).dictionary
        codes = np.concatenate(
            [np.asarray(c.indices.to_numpy(zero_copy_only=False), dtype=np.int64) for c in encoded.chunks]
        )
    else:
        dictionary = encoded.dictionary
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, pd.Series(pd.array(dictionary, dtype="str"))


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
