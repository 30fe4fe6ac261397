"""A scanner for unmasked personal data in any written form, for tests of artefacts and terminal output.

Text is normalised first (NFKC: full-width digits, letters and the ideographic space become ASCII; a single
space or dash between two digits is dropped), then searched for resident IDs (18 characters with a birth
date, or the letter O typed for a zero), mobile phone numbers and bank card numbers (16–19 digits passing
Luhn). Independent of fundaudit.masking on purpose: it checks the masking, it must not share its mistakes."""

from __future__ import annotations

import re
import unicodedata

_SEP = "[ \u00a0\u3000\u2000-\u200a\u202f\\-\u2010-\u2015\u2212\uff0d]"
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9O]{5}(19|20)[0-9O]{2}(0[1-9O]|1[0-2])[0-9O]{5}[0-9OXx](?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_CARD = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])")


def normalised(text: str) -> str:
    """``text`` as NFKC with single separators between digits removed."""
    return re.sub(rf"(?<=[0-9]){_SEP}(?=[0-9])", "", unicodedata.normalize("NFKC", text))


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def pii_found(text: str) -> list[str]:
    """Every unmasked resident ID, mobile number and bank card number in ``text``, normalised."""
    n = normalised(text)
    return ([m.group() for m in _RESIDENT_ID.finditer(n)] + [m.group() for m in _MOBILE.finditer(n)]
            + [m.group() for m in _CARD.finditer(n) if _luhn(m.group())])
