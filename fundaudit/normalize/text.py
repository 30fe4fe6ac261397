"""Free text, match keys for names and addresses, yes/no flags and enumerations.

Display text keeps what the clerk typed (only invisible characters and the ends are cleaned);
*keys* are aggressive normal forms used only to compare values (duplicate names, a register
match), never shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._common import (
    BLANK_TOKENS,
    NUL_BYTE,
    all_ascii,
    as_text,
    bool_np,
    boolean_series,
    build_reason,
    is_blank,
    is_excel_error,
    lead_bytes,
    lengths,
    may_hold,
    squash,
    str_series,
    text_via_uniques,
    via_uniques,
)
from ._result import Parsed

__all__ = [
    "FALSE_TOKENS",
    "TRUE_TOKENS",
    "address_key",
    "check_length",
    "clean_text",
    "name_key",
    "parse_bool",
    "parse_enum",
]

#: Spellings of yes and no (compared after NFKC, whitespace removal and upper-casing).
TRUE_TOKENS: frozenset[str] = frozenset(
    {"是", "Y", "YES", "TRUE", "T", "1", "1.0", "有", "对", "√", "✓", "✔", "☑"}
)
FALSE_TOKENS: frozenset[str] = frozenset(
    {"否", "N", "NO", "FALSE", "F", "0", "0.0", "无", "没有", "错", "×", "✗", "✘", "☐"}
)

# Middle dots in minority and foreign names (after NFKC: '．' is '.', '･' is '・').
_DOTS = "[.・•‧∙⋅]"


def clean_text(s: pd.Series) -> pd.Series:
    """Display text: remove NUL and zero-width characters, strip the ends (incl. U+3000, NBSP).

    No NFKC and no inner changes, so text reads as typed. Blank cells become missing (NaN).
    """
    return text_via_uniques(s, _clean_text)


def _clean_text(s: pd.Series) -> pd.Series:
    t = as_text(s)
    if may_hold(t, NUL_BYTE):
        t = pc.replace_substring(t, "\x00", "")
    if may_hold(t, _ZERO_WIDTH_BYTES):
        t = pc.replace_substring_regex(t, _ZERO_WIDTH, "")
    t = pc.utf8_trim_whitespace(t)
    return str_series(t, lengths(t) == 0, s.index)


_ZERO_WIDTH = "[\u200b\u200c\u200d\u2060\ufeff]"
_ZERO_WIDTH_BYTES = lead_bytes(_ZERO_WIDTH[1:-1])


def name_key(s: pd.Series) -> pd.Series:
    """Matching key for person names: NFKC, no whitespace at all, one middle dot (U+00B7), upper case.

    '张　三' and '张三' match; '阿依古丽·买买提' matches its '・', '•' and '.' spellings.
    """
    t = squash(as_text(s))
    t = _recompose(pc.utf8_upper(pc.replace_substring_regex(t, _DOTS, "·")))
    return str_series(t, lengths(t) == 0, s.index)


def address_key(s: pd.Series) -> pd.Series:
    """Matching key for addresses: NFKC (half-width digits), no whitespace or punctuation, upper case."""
    t = squash(as_text(s))
    t = _recompose(pc.utf8_upper(pc.replace_substring_regex(t, "[\\p{P}\\p{S}]+", "")))
    return str_series(t, lengths(t) == 0, s.index)


def _recompose(t: pa.Array) -> pa.Array:
    """NFKC again after removing characters, which can leave combining marks to compose."""
    return t if all_ascii(t) else pc.utf8_normalize(t, "NFKC")


def _key(t: pa.Array) -> pa.Array:
    """Comparison form of squashed text for enums and flags: lower case."""
    return pc.utf8_lower(t)


def parse_bool(s: pd.Series, *, blank_tokens: Iterable[str] = BLANK_TOKENS - {"无"}) -> Parsed:
    """Parse yes/no text (是/否, Y/N, yes/no, true/false, 1/0, 有/无, √/×) into nullable ``boolean``.

    Reasons: ``bool_unparseable``, ``excel_error_cell``.
    """
    return via_uniques(s, lambda u: _parse_bool(u, blank_tokens))


def _parse_bool(s: pd.Series, blank_tokens: Iterable[str]) -> Parsed:
    t = squash(as_text(s))
    blank = is_blank(t, blank_tokens)
    upper = pc.utf8_upper(t)
    yes = bool_np(pc.is_in(upper, value_set=pa.array(sorted(TRUE_TOKENS), type=pa.large_string())))
    no = bool_np(pc.is_in(upper, value_set=pa.array(sorted(FALSE_TOKENS), type=pa.large_string())))
    ok = (yes | no) & ~blank
    reason = build_reason(
        len(s), s.index, [(is_excel_error(t), "excel_error_cell"), (~ok & ~blank, "bool_unparseable")]
    )
    return Parsed(boolean_series(yes, ~ok, s.index), reason)


def parse_enum(
    s: pd.Series,
    synonyms: Mapping[str, str],
    *,
    strict: bool,
    blank_tokens: Iterable[str] = BLANK_TOKENS,
) -> Parsed:
    """Map spellings to canonical values (pandas ``str``) through a synonym table.

    Cells and table keys are compared after NFKC, removal of all whitespace and lower-casing;
    canonical values also match themselves. Unknown non-blank values: with ``strict`` they are
    missing with ``enum_unknown``, otherwise kept as their cleaned text with no reason. A blank token
    that is also a key of the table counts as that key.
    """
    return via_uniques(s, lambda u: _parse_enum(u, synonyms, strict, blank_tokens))


def _parse_enum(
    s: pd.Series, synonyms: Mapping[str, str], strict: bool, blank_tokens: Iterable[str]
) -> Parsed:
    pairs = {**{v: v for v in synonyms.values()}, **dict(synonyms)}
    spellings = pd.Series(list(pairs), dtype="str")
    keys = _key(squash(as_text(spellings)))
    canon = pa.array(list(pairs.values()), type=pa.large_string())

    t = squash(as_text(s))
    position = pc.index_in(_key(t), value_set=keys)
    known = bool_np(pc.is_valid(position))
    blank = is_blank(t, blank_tokens) & ~known
    excel = is_excel_error(t) & ~known
    mapped = pc.take(canon, position)
    if strict:
        values = pc.fill_null(mapped, "")
        missing = ~known
    else:
        values = pc.coalesce(mapped, t)
        missing = blank | excel
    unknown = ~known & ~blank & strict
    reason = build_reason(len(s), s.index, [(excel, "excel_error_cell"), (unknown, "enum_unknown")])
    return Parsed(str_series(values, missing, s.index), reason)


def check_length(s: pd.Series, limit: int) -> pd.Series:
    """Reason Series: ``text_too_long`` where the text has more than ``limit`` characters, else None."""
    too_long = lengths(as_text(s)) > limit
    return build_reason(len(s), s.index, [(too_long, "text_too_long")])
