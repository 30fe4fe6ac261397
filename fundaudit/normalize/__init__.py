"""Vectorised normalisers: cell text in, typed canonical values plus per-row reason codes out.

Readers hand over every cell as text; these functions turn a whole column (a pandas Series of
``str`` or ``object`` dtype) into typed values in one pass of Arrow/numpy kernels, never a Python
loop over rows. Each parser returns a ``Parsed``: ``values`` (canonical dtype, same index, missing
where blank or rejected) and ``reason`` (a code from the ``reasons`` section of the message
catalogue, or None), so every rejected value can be listed with its reason and nothing turns into
NaN, a float or 1970 silently.
"""

from __future__ import annotations

from ._common import _WS_RUN as WHITESPACE_RUN
from ._common import BLANK_TOKENS, EXCEL_ERRORS
from ._result import Parsed
from .dates import parse_date, parse_period
from .ids import (
    clean_account,
    clean_id,
    clean_phone,
    clean_taxpayer_id,
    luhn_valid,
    resident_id_facts,
    taxpayer_id_facts,
    upgrade_15_to_18,
)
from .money import MAX_FEN, format_fen, format_fen_series, parse_money
from .numeric import parse_int, parse_rate
from .text import (
    address_key,
    check_length,
    clean_text,
    name_key,
    parse_bool,
    parse_enum,
)

__all__ = [
    "BLANK_TOKENS",
    "EXCEL_ERRORS",
    "MAX_FEN",
    "WHITESPACE_RUN",
    "Parsed",
    "address_key",
    "check_length",
    "clean_account",
    "clean_id",
    "clean_phone",
    "clean_taxpayer_id",
    "clean_text",
    "format_fen",
    "format_fen_series",
    "luhn_valid",
    "name_key",
    "parse_bool",
    "parse_date",
    "parse_enum",
    "parse_int",
    "parse_money",
    "parse_period",
    "parse_rate",
    "resident_id_facts",
    "taxpayer_id_facts",
    "upgrade_15_to_18",
]
