"""Masking of personal data in every artefact, log and error message (CONTRACT.md §4): resident IDs keep the
first 6 and last 4 characters, bank accounts and phone numbers the last 4. Vectorised over Series (one pass per
distinct value length, not per row). Depends on nothing in fundaudit, so every layer (errors, engine, reports,
CLI) can use it."""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["mask_account", "mask_id", "mask_text", "mask_value"]

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{14,17}[0-9Xx](?![0-9A-Za-z])")
_LONG_DIGITS = re.compile(r"(?<![0-9*])[0-9]{7,}(?![0-9])")


def _mask(values: pd.Series, keep_head: int, keep_tail: int) -> pd.Series:
    s = values.astype("str").fillna("")
    n = s.str.len()
    out = s.copy()
    for value_length in n[n > 0].unique():
        sel = n == value_length
        length = int(value_length)
        if length <= keep_head + keep_tail:
            head, tail = 0, min(keep_tail, max(length - 1, 0))
        else:
            head, tail = keep_head, keep_tail
        stars = "*" * (length - head - tail)
        out[sel] = s[sel].str.slice_replace(head, length - tail, stars)
    return out.where(values.notna() & s.ne(""), values)


def mask_id(values: pd.Series) -> pd.Series:
    """Resident IDs: first 6 and last 4 characters kept, the rest ``*`` (the birth date is hidden)."""
    return _mask(values, 6, 4)


def mask_account(values: pd.Series) -> pd.Series:
    """Bank accounts and phone numbers: only the last 4 characters kept."""
    return _mask(values, 0, 4)


def mask_text(text: str) -> str:
    """Mask ID-like numbers and long digit runs inside free text (messages, raw rejected lines)."""
    text = _ID_LIKE.sub(lambda m: m.group(0)[:6] + "*" * (len(m.group(0)) - 10) + m.group(0)[-4:], text)
    return _LONG_DIGITS.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(0)[-4:], text)


def mask_value(value: str, column_type: str) -> str:
    """Mask one value of a personal column type (``resident_id``, ``account``, ``phone``; other
    personal columns such as addresses are masked as free text)."""
    s = pd.Series([value], dtype="str")
    if column_type == "resident_id":
        return str(mask_id(s).iloc[0])
    if column_type in {"account", "phone"}:
        return str(mask_account(s).iloc[0])
    return mask_text(value)
