"""Identifiers: resident ID numbers, taxpayer IDs (USCC), bank accounts and phone numbers.

Cleaning (``clean_*``) only normalises spelling: NFKC, whitespace, the text-forcing wrappers that
exporters add (``="…"``, a leading apostrophe), case and look-alike letters. It rejects only what
cannot be an identifier at all, notably a number Excel stored in scientific notation, whose last
digits are gone. Length and check-character failures are *facts* (``*_facts``), computed with
numpy over digit matrices, for the rule layer to report.

Algorithms: GB 11643-1999 (ISO 7064 MOD 11-2) for resident IDs, GB 32100-2015 (mod 31) for unified
social credit codes with the embedded GB 11714 organisation code check (mod 11), Luhn for cards.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._common import (
    BLANK_TOKENS,
    all_ascii,
    as_text,
    boolean_series,
    build_reason,
    char_matrix,
    concat,
    datetime_series,
    is_blank,
    is_excel_error,
    lead_bytes,
    lengths,
    matches,
    matches_where,
    may_hold,
    squash,
    str_series,
    utf8_bytes,
    via_uniques,
    ymd_to_days,
)
from ._result import Parsed

__all__ = [
    "clean_account",
    "clean_id",
    "clean_phone",
    "clean_taxpayer_id",
    "luhn_valid",
    "resident_id_facts",
    "taxpayer_id_facts",
    "upgrade_15_to_18",
]

_RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_RIC_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def _lookup(alphabet: str) -> np.ndarray:
    table = np.full(256, -1, dtype=np.int64)
    table[np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)] = np.arange(len(alphabet))
    return table


_USCC_VALUE = _lookup(_USCC_ALPHABET)
_ORG_VALUE = _lookup("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

_SCIENTIFIC_RE = "^[0-9](?:\\.[0-9]+)?E[-+]?[0-9]+$"
_FLOAT_RE = "^[0-9]{15,}\\.0*$"
_LOOKALIKE_X = "[ХΧ×]"  # Cyrillic U+0425, Greek U+03A7 (after upper-casing), multiplication sign


def _unwrap(s: pd.Series) -> pa.Array:
    """NFKC, no whitespace anywhere, and no exporter wrappers (``="…"``, ``"…"``, leading ``'``)."""
    t = squash(as_text(s))
    if may_hold(t, _WRAPPER_BYTES) and (
        pc.any(pc.starts_with(t, "=")).as_py() or pc.any(pc.starts_with(t, '"')).as_py()
    ):
        t = pc.replace_substring_regex(t, '^=?"(.*)"$', "\\1")
    return pc.utf8_ltrim(t, "'`") if may_hold(t, _APOSTROPHE_BYTES) else t


def _upper(t: pa.Array) -> pa.Array:
    """``utf8_upper``, skipped for ASCII text without lower-case letters (which it cannot change)."""
    data = utf8_bytes(t)
    ascii_text = data is not None and (len(data) == 0 or int(data.max()) < 0x80)
    if ascii_text and data is not None and not bool(((data >= ord("a")) & (data <= ord("z"))).any()):
        return t
    return pc.utf8_upper(t)


def _all_of(t: pa.Array, allowed: str) -> np.ndarray:
    """Mask of non-empty texts made only of the ASCII characters ``allowed`` (``^[…]+$``)."""
    data = utf8_bytes(t)
    if data is not None:
        codes = sorted(lead_bytes(allowed))  # ASCII: a character is its byte
        if len(data) == 0:
            return lengths(t) > 0
        if int(data.min()) >= codes[0] and int(data.max()) <= codes[-1]:
            table = np.zeros(256, dtype=bool)
            table[codes] = True
            if bool(table[data].all()):  # every byte allowed: only empty texts fail
                return lengths(t) > 0
    return matches(t, f"^[{allowed}]+$")


_WRAPPER_BYTES = frozenset({ord("="), ord('"')})
_APOSTROPHE_BYTES = frozenset({ord("'"), ord("`")})
_DASH_BYTES = frozenset({ord("-")})
_PHONE_PUNCT_BYTES = frozenset({ord("-"), ord("("), ord(")")})


def clean_id(
    s: pd.Series, *, blank_tokens: Iterable[str] = BLANK_TOKENS, keep_invalid: bool = False
) -> Parsed:
    """Clean resident ID numbers (身份证号) into canonical text of digits and ``X``.

    Upper-cases ``x`` and maps look-alikes of X (Cyrillic, Greek, ``×``) to ``X``. Does not check
    length or check character (see ``resident_id_facts``). Reasons: ``id_scientific`` (the ID was a
    number in Excel, ``1.10101199003078E+17``), ``id_float_damaged`` (``110101199003078000.0``),
    ``id_bad_chars``, ``excel_error_cell``.

    With ``keep_invalid`` (what the loader uses) an ID that is not digits and ``X`` is kept as its
    cleaned text, without a reason, for the ID rules to report (its ``resident_id_facts`` status says
    what is wrong); only an Excel error cell (``#N/A``), which holds no ID at all, is still rejected.
    Cleaning is lossless (NFKC, whitespace and exporter wrappers removed, upper case), so the kept
    text is the value as read.
    """
    return via_uniques(s, lambda u: _clean_id(u, blank_tokens, keep_invalid), adaptive=True)


def _clean_id(s: pd.Series, blank_tokens: Iterable[str], keep_invalid: bool = False) -> Parsed:
    t = _upper(_unwrap(s))
    if not all_ascii(t):
        t = pc.replace_substring_regex(t, _LOOKALIKE_X, "X")
    blank = is_blank(t, blank_tokens)
    suspect = ~_all_of(t, "0-9X") & ~blank
    if keep_invalid:
        reason = build_reason(len(s), s.index, [(blank, ""), (is_excel_error(t) & suspect, "excel_error_cell")])
        return _finish(t, blank, reason, s.index)
    reason = build_reason(
        len(s),
        s.index,
        [
            (blank, ""),
            (is_excel_error(t), "excel_error_cell"),
            (matches_where(t, _SCIENTIFIC_RE, suspect), "id_scientific"),
            (matches_where(t, _FLOAT_RE, suspect), "id_float_damaged"),
            (suspect, "id_bad_chars"),
        ],
    )
    return _finish(t, blank, reason, s.index)


def _finish(t: pa.Array, blank: np.ndarray, reason: pd.Series, index: pd.Index) -> Parsed:
    """Turn the blank marker ('' reason) back into None and build the text result."""
    raw = reason.to_numpy(dtype=object, copy=True)
    raw[blank] = None
    missing = blank | pd.notna(raw)
    return Parsed(str_series(t, missing, index), pd.Series(raw, index=index, dtype=object))


def _ric_check(digits17: np.ndarray) -> np.ndarray:
    """Check characters (as ASCII codes) for an ``(n, 17)`` matrix of digit values."""
    return _RIC_CHECK[(digits17.astype(np.int64) @ _RIC_WEIGHTS) % 11]


def _ascii_column(codes: np.ndarray, rows: np.ndarray, n: int, index: pd.Index) -> pd.Series:
    """A ``str`` Series of single characters from ASCII codes at ``rows``; NaN elsewhere."""
    full = np.full(n, ord("?"), dtype=np.uint8)
    full[rows] = codes
    missing = np.ones(n, dtype=bool)
    missing[rows] = False
    text = pc.cast(pa.array(full.view("S1")), pa.large_string())
    return str_series(text, missing, index)


def resident_id_facts(s: pd.Series) -> pd.DataFrame:
    """Facts about resident ID numbers (raw or cleaned text), one row per input row.

    Columns: ``status`` ('ok', 'bad_length', 'bad_chars', 'bad_checksum', 'bad_birth_date',
    'legacy15' for a plausible 15-digit first-generation ID, 'excel_number' for an ID Excel stored
    as a number, whose last digits are lost, '' for blank), ``valid`` (boolean,
    True for 'ok' and 'legacy15', <NA> for blank), ``birth_date`` (NaT unless the embedded date is a
    real calendar date), ``sex`` ('M'/'F' by the parity of the 17th, or 15th, digit),
    ``check_char`` (the correct check character, for 18-character and 17-digit input). The region
    code is not checked. A birth date before 1800 or after today is 'bad_birth_date' (the
    standard's own example is born in 1880).
    """
    index = s.index
    n = len(s)
    cleaned = clean_id(s)
    t = as_text(cleaned.values)
    blank = cleaned.blank.to_numpy(dtype=bool)
    length = lengths(t)
    # cleaned values hold only digits and X, so "all digits" is "no X" (ASCII 88)
    r18, m18 = _rows_of_length(t, length, 18, digits_upto=17)
    r17, m17 = _rows_of_length(t, length, 17, digits_upto=17)
    r15, m15 = _rows_of_length(t, length, 15, digits_upto=15)
    m15 = m15.astype(np.int64) - 48
    check18 = _ric_check(m18[:, :17] - 48)
    checksum_ok = np.zeros(n, dtype=bool)
    checksum_ok[r18] = check18 == m18[:, 17]

    y = np.zeros(n, dtype=np.int64)
    mo = np.zeros(n, dtype=np.int64)
    d = np.zeros(n, dtype=np.int64)
    sex_digit = np.zeros(n, dtype=np.int64)
    d18 = m18.astype(np.int64) - 48
    y[r18] = d18[:, 6:10] @ [1000, 100, 10, 1]
    mo[r18] = d18[:, 10:12] @ [10, 1]
    d[r18] = d18[:, 12:14] @ [10, 1]
    sex_digit[r18] = d18[:, 16]
    y[r15] = 1900 + m15[:, 6:8] @ [10, 1]
    mo[r15] = m15[:, 8:10] @ [10, 1]
    d[r15] = m15[:, 10:12] @ [10, 1]
    sex_digit[r15] = m15[:, 14]
    days, real = ymd_to_days(y, mo, d)
    has_date = np.zeros(n, dtype=bool)
    has_date[r18] = True
    has_date[r15] = True
    real &= has_date & (y >= 1678) & (y <= 2261)
    birth_ok = real & (y >= 1800) & (days <= np.datetime64(date.today(), "D"))

    is18 = np.zeros(n, dtype=bool)
    is18[r18] = True
    is15 = np.zeros(n, dtype=bool)
    is15[r15] = True
    status = np.full(n, "bad_length", dtype=object)
    status[(length == 18) | (length == 15)] = "bad_chars"
    status[is18 & ~checksum_ok] = "bad_checksum"
    status[is18 & checksum_ok] = np.where(birth_ok[is18 & checksum_ok], "ok", "bad_birth_date")
    status[is15] = np.where(birth_ok[is15], "legacy15", "bad_birth_date")
    status[cleaned.invalid.to_numpy(dtype=bool)] = "bad_chars"
    status[cleaned.reason.isin(["id_scientific", "id_float_damaged"]).to_numpy(dtype=bool)] = "excel_number"
    status[blank] = ""

    valid = (status == "ok") | (status == "legacy15")
    sex_rows = np.concatenate([r18, r15])
    sex_codes = np.where(sex_digit[sex_rows] % 2 == 1, ord("M"), ord("F")).astype(np.uint8)
    check_rows = np.concatenate([r18, r17])
    check_codes = np.concatenate([check18, _ric_check(m17.astype(np.int64) - 48)])
    return pd.DataFrame(
        {
            "status": pd.Series(status, index=index, dtype="str"),
            "valid": boolean_series(valid, blank, index),
            "birth_date": datetime_series(days, ~real, index),
            "sex": _ascii_column(sex_codes, sex_rows, n, index),
            "check_char": _ascii_column(check_codes, check_rows, n, index),
        },
        index=index,
    )


def _rows_of_length(
    t: pa.Array, length: np.ndarray, width: int, *, digits_upto: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of cleaned IDs with ``width`` characters whose first ``digits_upto`` are digits, and
    their ``(n, width)`` ASCII matrix."""
    rows = np.flatnonzero(length == width)
    matrix = char_matrix(pc.take(t, pa.array(rows)), width)
    keep = (matrix[:, :digits_upto] != ord("X")).all(axis=1)
    return rows[keep], matrix[keep]


def upgrade_15_to_18(s: pd.Series) -> pd.Series:
    """Convert 15-digit first-generation IDs to 18 characters (GB 11643-1999).

    Inserts '19' after the 6-digit region code and appends the check character:
    '110105491231002' → '11010519491231002X'. Other values are returned cleaned but unchanged;
    blank and rejected values are missing.
    """
    cleaned = clean_id(s)
    t = as_text(cleaned.values)
    rows, _ = _rows_of_length(t, lengths(t), 15, digits_upto=15)
    legacy = pc.take(t, pa.array(rows))
    body = concat(pc.utf8_slice_codeunits(legacy, 0, 6), "19", pc.utf8_slice_codeunits(legacy, 6))
    check = _ric_check(char_matrix(body, 17).astype(np.int64) - 48)
    upgraded = concat(body, pc.cast(pa.array(check.view("S1")), pa.large_string()))
    mask = np.zeros(len(s), dtype=bool)
    mask[rows] = True
    positions = np.cumsum(mask) - 1
    spread = pc.take(upgraded, pa.array(np.where(mask, positions, 0))) if len(rows) else t
    out = pc.if_else(pa.array(mask), spread, t)
    return str_series(out, cleaned.values.isna().to_numpy(dtype=bool), s.index)


def clean_taxpayer_id(s: pd.Series, *, blank_tokens: Iterable[str] = BLANK_TOKENS) -> Parsed:
    """Clean taxpayer IDs (统一社会信用代码 / 纳税人识别号): NFKC, no spaces or dashes, upper case.

    Letters outside the GB 32100 alphabet (I, O, S, V, Z) are kept, so that ``taxpayer_id_facts``
    can report them. Reasons: ``id_scientific``, ``id_float_damaged``, ``id_bad_chars`` (anything
    but ASCII letters and digits), ``excel_error_cell``.
    """
    return via_uniques(s, lambda u: _clean_taxpayer_id(u, blank_tokens), adaptive=True)


def _code_text(s: pd.Series, blank_tokens: Iterable[str]) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """An upper-cased code without dashes (taxpayer IDs, bank accounts), and which cells are blank, Excel
    errors, or hold anything but ASCII letters and digits (``suspect``)."""
    t = _upper(_unwrap(s))
    blank = is_blank(t, blank_tokens)
    excel = is_excel_error(t)
    t = pc.replace_substring(t, "-", "") if may_hold(t, _DASH_BYTES) else t
    blank |= (lengths(t) == 0) & ~excel
    suspect = ~_all_of(t, "0-9A-Z") & ~blank
    return t, blank, excel, suspect


def _clean_taxpayer_id(s: pd.Series, blank_tokens: Iterable[str]) -> Parsed:
    t, blank, excel, suspect = _code_text(s, blank_tokens)
    reason = build_reason(
        len(s),
        s.index,
        [
            (blank, ""),
            (excel, "excel_error_cell"),
            (matches_where(t, _SCIENTIFIC_RE, suspect), "id_scientific"),
            (matches_where(t, _FLOAT_RE, suspect), "id_float_damaged"),
            (suspect, "id_bad_chars"),
        ],
    )
    return _finish(t, blank, reason, s.index)


def _org_code_ok(chars: np.ndarray) -> np.ndarray:
    """GB 11714 check over an ``(n, 9)`` ASCII matrix of organisation codes."""
    values = _ORG_VALUE[chars[:, :8]]
    c = 11 - (values @ _ORG_WEIGHTS) % 11
    expected = np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), 48 + c))
    return (values.min(axis=1, initial=0) >= 0) & (expected == chars[:, 8])


def taxpayer_id_facts(s: pd.Series) -> pd.DataFrame:
    """Facts about taxpayer IDs (raw or cleaned text), one row per input row.

    Columns: ``status`` ('ok', 'bad_length', 'bad_chars', 'bad_checksum', 'legacy15' (6-digit region
    + 9-character organisation code), 'legacy20' (18-character resident ID + 2 digits), '' for
    blank), ``valid`` (True for 'ok' and the legacy forms, <NA> for blank) and ``org_code_valid``
    (the embedded GB 11714 check for 18- and 15-character IDs, <NA> otherwise; informational, as
    some subject identifiers, e.g. of individual businesses, are not organisation codes).
    """
    index = s.index
    n = len(s)
    cleaned = clean_taxpayer_id(s)
    t = as_text(cleaned.values)
    blank = cleaned.blank.to_numpy(dtype=bool)
    length = lengths(t)
    r18 = np.flatnonzero(length == 18)
    r15 = np.flatnonzero(matches_where(t, "^[0-9]{6}[0-9A-Z]{8}[0-9X]$", length == 15))
    r20 = np.flatnonzero(matches_where(t, "^[0-9]{17}[0-9X][0-9]{2}$", length == 20))

    status = np.full(n, "bad_length", dtype=object)
    status[(length == 15) | (length == 20)] = "bad_chars"
    org_ok = np.zeros(n, dtype=bool)
    org_known = np.zeros(n, dtype=bool)

    m18 = char_matrix(pc.take(t, pa.array(r18)), 18)
    values = _USCC_VALUE[m18]
    # positions 3-8 are the GB/T 2260 division code: digits only
    region = m18[:, 2:8]
    chars_ok = (values.min(axis=1, initial=0) >= 0) & ((region >= ord("0")) & (region <= ord("9"))).all(
        axis=1
    )
    check = (31 - (values[:, :17] @ _USCC_WEIGHTS) % 31) % 31
    status[r18] = np.where(~chars_ok, "bad_chars", np.where(check == values[:, 17], "ok", "bad_checksum"))
    org_ok[r18] = _org_code_ok(m18[:, 8:17])
    org_known[r18] = True

    m15 = char_matrix(pc.take(t, pa.array(r15)), 15)
    ok15 = _org_code_ok(m15[:, 6:15])
    status[r15] = np.where(ok15, "legacy15", "bad_checksum")
    org_ok[r15] = ok15
    org_known[r15] = True

    m20 = char_matrix(pc.take(t, pa.array(r20)), 20)
    ok20 = _ric_check(m20[:, :17].astype(np.int64) - 48) == m20[:, 17]
    status[r20] = np.where(ok20, "legacy20", "bad_checksum")

    status[cleaned.invalid.to_numpy(dtype=bool)] = "bad_chars"
    status[blank] = ""
    valid = np.isin(status, ["ok", "legacy15", "legacy20"])
    return pd.DataFrame(
        {
            "status": pd.Series(status, index=index, dtype="str"),
            "valid": boolean_series(valid, blank, index),
            "org_code_valid": boolean_series(org_ok, ~org_known | blank, index),
        },
        index=index,
    )


def clean_account(s: pd.Series, *, blank_tokens: Iterable[str] = BLANK_TOKENS) -> Parsed:
    """Clean bank account numbers as text: no spaces, dashes or wrappers; leading zeros kept.

    Digits and ASCII letters (upper-cased) are allowed. Reasons: ``account_scientific`` (stored
    as a number in Excel: ``6.22202E+18``, or a 16+-digit float ``…000.0``), ``account_bad_chars``,
    ``excel_error_cell``.
    """
    return via_uniques(s, lambda u: _clean_account(u, blank_tokens), adaptive=True)


def _clean_account(s: pd.Series, blank_tokens: Iterable[str]) -> Parsed:
    t, blank, excel, suspect = _code_text(s, blank_tokens)
    scientific = matches_where(t, _SCIENTIFIC_RE, suspect) | matches_where(t, "^[0-9]{16,}\\.0*$", suspect)
    reason = build_reason(
        len(s),
        s.index,
        [
            (blank, ""),
            (excel, "excel_error_cell"),
            (scientific, "account_scientific"),
            (suspect, "account_bad_chars"),
        ],
    )
    return _finish(t, blank, reason, s.index)


def luhn_valid(s: pd.Series) -> pd.Series:
    """Luhn (ISO/IEC 7812) check of card-like account numbers, as a nullable boolean Series.

    Applies to 12–19 digits after ``clean_account``; <NA> for blank values and for values the check
    does not apply to (other lengths, letters, rejected cells). A failure is a hint, not a rejection:
    many valid accounts (passbooks, corporate accounts, some UnionPay cards) are not Luhn-valid.
    """
    cleaned = clean_account(s)
    t = as_text(cleaned.values)
    applies = matches(t, "^[0-9]{12,19}$")
    rows = np.flatnonzero(applies)
    digits = char_matrix(pc.utf8_lpad(pc.take(t, pa.array(rows)), 19, "0"), 19).astype(np.int64) - 48
    doubled = digits[:, 1::2] * 2  # columns 1, 3, …, 17: every second digit counting from the right
    doubled -= np.where(doubled > 9, 9, 0)
    total = digits[:, 0::2].sum(axis=1) + doubled.sum(axis=1)
    ok = np.zeros(len(s), dtype=bool)
    ok[rows] = total % 10 == 0
    return boolean_series(ok, ~applies, s.index)


def clean_phone(s: pd.Series, *, blank_tokens: Iterable[str] = BLANK_TOKENS) -> Parsed:
    """Clean phone numbers to digits: no spaces, dashes, brackets or ``+86``/``0086`` prefix.

    Anything left that is not a digit (an extension written as '转', letters) gives ``id_bad_chars``.
    """
    return via_uniques(s, lambda u: _clean_phone(u, blank_tokens), adaptive=True)


def _clean_phone(s: pd.Series, blank_tokens: Iterable[str]) -> Parsed:
    t = _unwrap(s)
    blank = is_blank(t, blank_tokens)
    excel = is_excel_error(t)
    t = pc.replace_substring_regex(t, "[-()]", "") if may_hold(t, _PHONE_PUNCT_BYTES) else t
    t = pc.replace_substring_regex(t, "^(?:\\+86|0086)", "")
    blank |= (lengths(t) == 0) & ~excel
    reason = build_reason(
        len(s),
        s.index,
        [(blank, ""), (excel, "excel_error_cell"), (~_all_of(t, "0-9"), "id_bad_chars")],
    )
    return _finish(t, blank, reason, s.index)
