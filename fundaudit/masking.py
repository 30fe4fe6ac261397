"""Masking of personal data in every artefact, log and message (CONTRACT.md §4): resident IDs keep the first 6
and last 4 characters, bank accounts and phone numbers the last 4.

Two tools, one recogniser:

- *Typed* masking (:func:`mask_id`, :func:`mask_account`) of a column known to be personal (an ID, account or
  phone column), whatever its value looks like.
- *Recognised* masking (:func:`mask_text`, :func:`mask_series`, :func:`mask_data`) of any text: headers, title
  rows, names and free-text columns, file and sheet names, rejected raw values, notes, error messages, terminal
  output. It finds the numbers as people write them: ASCII or full-width (or any other Unicode) digits, groups
  split by one space (also NBSP and the ideographic space U+3000) or one dash (``-``, ``‐``, ``－``, ``–``…), a
  final ``X``/``Ｘ`` (any case), and the letters ``O``/``I``/``l`` typed inside a number for 0 and 1. A number is
  masked when it is a resident ID (18 characters or 15 digits with a birth date where an ID has it: first 6 and
  last 4 kept), a malformed ID (a typed letter or a final ``X``, 14–20 characters), a mobile phone (``1[3-9]``
  + 9 digits, also after ``+86``/``0086`` and as ``138.1234.5678``), a landline with its area code (``0`` +
  9–11 digits) or a card or account (12 digits or more, an 18- or 15-digit one without a birth date
  included): last 4 kept. Masked text keeps its shape: every hidden character becomes ``*``, separators and
  the kept digits stay as written (``１３８ １２３４ ５６７８`` → ``*** **** ５６７８``).

  Left alone on purpose, so reports stay readable: numbers with a decimal part (``12345678.90``) or thousands
  commas (``1,234,567.00``), dates (``2016-03-01``, ``20160301``, ``20160101-20161231``, ``20160301123045``),
  counts and row numbers (under 12 digits and not phone-shaped), hexadecimal hashes and fingerprints, unified
  social credit codes that hold a letter (GB 32100's alphabet has no ``I``, ``O``, ``S``, ``V``, ``Z``, so a
  typed letter still reads as an ID), and 7–8 digit local phone numbers without their area code (the shape
  of amounts and dates). A number glued to a label (``ID34100…``, ``Tel:138…``) is still masked. Numbers a
  text quotes from a code column (``codes=``: an e-voucher or batch number a finding names) are masked only
  when shaped like an ID with a birth date or a mobile number.

Where it is applied — once per layer, so that a new writer or message cannot forget it:

- :class:`fundaudit.run.AuditResult` of a masked run is the masked view: ``run``, ``rules`` and ``findings``
  are masked whenever they are set, ``inputs`` and ``rejected_rows`` when they are read, and every report
  writer reads only these (the HTML chart's union names, read from a ledger, are masked there). Only
  ``ledgers``, the loaded input itself, stays as read.
- :meth:`fundaudit.errors.FundauditError.message` masks the rendered message (``str(err)`` too).
- The CLI's ``main`` runs with stdout and stderr behind :class:`MaskedStreams`: everything it prints (summary,
  ``inspect``, progress, errors, argparse's usage errors, warnings) is masked a line at a time.

``--unmask`` (``audit(unmask=True)``) is the one switch: it makes the result unmasked and lets the CLI's
streams and error messages through as written. The module depends on nothing in fundaudit but
:class:`fundaudit.errors.Note` (imported lazily), so every layer can use it. Cost: each distinct text once
(an RE2 pass over all of them first picks the few that can hold a number); masking 100,000 findings takes
about 1 s, 3–4 s when every message quotes an unmasked number.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any, TextIO

import numpy as np
import pandas as pd

__all__ = [
    "MaskedStreams",
    "mask_account",
    "mask_data",
    "mask_free_text",
    "mask_id",
    "mask_objects",
    "mask_series",
    "mask_text",
    "mask_value",
]

# --- the recogniser --------------------------------------------------------------------------------------------

_TYPO = "OoIl\uff2f\uff4f\uff29\uff4c"  # letters typed for 0 and 1 inside a number
_X = "Xx\uff38\uff58"  # the check character of a resident ID
_SPACES = " \u00a0\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B))
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_SEP = (_SPACES + _DASHES).replace("-", "\\-")  # one space or dash, in a character class (Python and RE2)
_SEPARATORS = frozenset(_SPACES + _DASHES + ")）.")  # what a masked number keeps as written
_NUMBER = re.compile(
    r"\d(?<!\d\d)(?<!\d\.\d)"  # a first digit not inside a run of digits, nor the decimals of a number
    rf"(?=[\d{_TYPO}{_X}{_SEP}.)）]{{9}})"  # at least 10 characters long (a quick test: most numbers are shorter)
    r"(?:(?<=1)[3-9]\d\.\d{4}\.\d{4}"  # a dotted mobile number
    # digit groups of two or more, one separator (or a closing bracket) apart; possessive: no backtracking
    rf"|(?:[\d{_TYPO}]|(?<=[\d{_TYPO}]{{2}})(?:[{_SEP}]|[)）] ?)(?=\d[\d{_X}]))*+[{_X}]?+)"
    r"(?!\d)(?!\.\d)"  # not followed by decimals
)
_ALNUM = "".join(chr(c) for r in ((48, 58), (65, 91), (97, 123), (0xFF10, 0xFF1A), (0xFF21, 0xFF3B), (0xFF41, 0xFF5B))
                 for c in range(*r))
# what a number glued to letters may be part of, and is then left alone: a hexadecimal hash or fingerprint, or
# a unified social credit code (GB 32100: its alphabet has no I, O, S, V or Z) with a letter in it
_NOT_A_NUMBER = re.compile(r"[0-9a-fA-F]{16,}"
                           r"|(?=.*[A-HJ-NPQRTUWY])[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")
_MOBILE = re.compile(r"(?:(?:00)?86)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")
_TYPO_DIGIT = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "Ｏ": "0", "ｏ": "0", "Ｉ": "1", "ｌ": "1",
                             "Ｘ": "X", "ｘ": "X", "x": "X"})


def _date(s: str, fmt: str) -> bool:
    try:
        d = datetime.strptime(s, fmt)  # a calendar check: no time zone involved
    except ValueError:
        return False
    return date(1900, 1, 1) <= d.date() <= date(2099, 12, 31)


def _born(digits: str) -> bool:
    """Whether an 18- or 15-digit number holds a birth date where a resident ID has it."""
    return _date(digits[6:14] if len(digits) == 18 else "19" + digits[6:12], "%Y%m%d")


@functools.lru_cache(maxsize=1 << 16)  # the same numbers recur in many messages
def _keep(chars: str, lenient: bool = False) -> tuple[int, int] | None:
    """How many leading and trailing characters of the number ``chars`` (separators removed) stay visible, or
    None when it is not personal data. ``lenient`` (a value of a column known to hold codes, such as an
    e-voucher number): only a mobile number or an ID with a real birth date is."""
    digits = chars.translate(_TYPO_DIGIT)
    if not digits.isascii():  # full-width or other Unicode digits
        digits = "".join(str(int(c)) if c.isdecimal() else c for c in digits)
    n = len(digits)
    if lenient:
        if _MOBILE.fullmatch(digits):
            return 0, 4
        return (6, 4) if n in (15, 18) and digits[:17].isdecimal() and _born(digits) else None
    if not digits.isdecimal():  # a letter typed for a digit, or a final X: an ID, well formed or not
        if 14 <= n <= 20:
            return 6, 4
        return (0, 4) if n >= 11 else None
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return 0, 4
    if n in (15, 18) and _born(digits):
        return 6, 4
    if n < 12:
        return None
    if n == 16 and _date(digits[:8], "%Y%m%d") and _date(digits[8:], "%Y%m%d"):  # a date range
        return None
    if n == 14 and _date(digits, "%Y%m%d%H%M%S"):  # a timestamp
        return None
    return 0, 4


def _mask_number(m: re.Match[str], codes: Collection[str] = ()) -> str:
    text = m.group()
    before = m.string[max(m.start() - 80, 0): m.start()]
    after = m.string[m.end(): m.end() + 80]
    left = before[len(before.rstrip(_ALNUM)):]
    right = after[: len(after) - len(after.lstrip(_ALNUM))]
    if (left or right) and _NOT_A_NUMBER.fullmatch(left + text + right):  # a hash or a social credit code
        return text
    at = [i for i, c in enumerate(text) if c not in _SEPARATORS]
    keep = _keep("".join(text[i] for i in at), text in codes)
    if keep is None:
        return text
    head, tail = keep
    out = list(text)
    for i in at[head: len(at) - tail]:
        out[i] = "*"
    return "".join(out)


def mask_text(text: str, *, codes: Collection[str] = ()) -> str:
    """``text`` with every resident ID, phone, card and account number in it masked, in any written form. The
    numbers in ``codes`` (values of code columns the text quotes, such as an e-voucher number) are masked only
    when they are a mobile number or an ID with a real birth date."""
    if codes:
        return _NUMBER.sub(functools.partial(_mask_number, codes=codes), text)
    return _NUMBER.sub(_mask_number, text)


def _quick_pattern() -> str:
    """An RE2 pattern that every number :data:`_NUMBER` masks matches (10 or more digits, typed letters or X,
    at most two separators apart), to skip the texts that cannot hold one without calling Python on them."""
    return rf"\p{{Nd}}(?:[{_SEP}.)）]{{0,2}}[\p{{Nd}}{_TYPO}{_X}]){{9}}"


_QUICK = _quick_pattern()


def _mask_many(texts: list[str]) -> dict[str, str]:
    """The texts among ``texts`` that change when masked, with their masked form."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        hits = pc.match_substring_regex(pa.array(texts, type=pa.string()), _QUICK).to_pylist()
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate (an undecodable name): test them all
        hits = [True] * len(texts)
    out = {}
    for text, hit in zip(texts, hits, strict=True):
        if hit:
            masked = mask_text(text)
            if masked != text:
                out[text] = masked
    return out


def mask_series(values: pd.Series, *, codes: Callable[[int], Collection[str]] | None = None) -> pd.Series:
    """:func:`mask_text` over a Series, each distinct text once (a million rows with few distinct values are
    cheap); non-text values kept. ``codes(i)`` gives the code values the text at position ``i`` quotes (see
    :func:`mask_text`); it is asked only for the texts masking changes. The Series itself when nothing
    changed."""
    positions, uniques = pd.factorize(values)
    distinct = uniques.tolist()
    changed = _mask_many([u for u in distinct if isinstance(u, str)])
    if not changed:
        return values
    shown = np.asarray([*(changed.get(u, u) if isinstance(u, str) else u for u in distinct), None], dtype=object)
    out = shown[positions]  # position -1 (a missing value) picks the None at the end
    if codes is not None:
        hit = np.asarray([isinstance(u, str) and u in changed for u in distinct] + [False])
        for i in np.flatnonzero(hit[positions]):  # only the rows whose text quotes a number
            quoted = codes(int(i))
            if quoted:
                out[i] = mask_text(distinct[positions[i]], codes=quoted)
    result = pd.Series(out, index=values.index, dtype=object)
    return result if values.dtype == object else result.astype(values.dtype)


def mask_data(obj: Any, *, keep: Iterable[str] = ("sha256", "fingerprint")) -> Any:
    """A JSON-like value (dicts, lists, tuples, strings, reader notes) with every string masked, dict keys
    included; the values of the keys in ``keep`` (hashes) as they are. What holds nothing to mask comes back
    as it is (the same object)."""
    return mask_objects(pd.Series([obj], dtype=object), keep=keep).iloc[0]


def mask_objects(values: pd.Series, *, keep: Iterable[str] = ("sha256", "fingerprint"),
                 codes: Iterable[str] = ()) -> pd.Series:
    """:func:`mask_data` over a Series of nested values (findings' ``values`` and ``refs``): one walk collects
    the distinct strings, which are masked together; a second walk rebuilds only the values that hold one
    that changed. The values of the keys in ``codes`` (code columns) are masked as ``mask_text(v, codes=[v])``
    does. The Series itself when nothing changed."""
    from fundaudit.errors import Note

    keep = frozenset(keep)
    code_keys = frozenset(codes)
    lenient: dict[str, str] = {}
    found: set[str] = set()

    scalars = (int, float, bool, type(None))

    def collect(o: Any) -> None:
        if isinstance(o, str):
            found.add(o)
            if isinstance(o, Note):
                collect(o.fields)
        elif isinstance(o, Mapping):
            if flat(o):
                return
            for k, v in o.items():
                if type(k) is str:
                    found.add(k)
                if k in keep or type(v) in scalars:
                    continue
                if type(v) is str:  # the common case, without a call
                    found.add(v)
                else:
                    collect(v)
        elif isinstance(o, list | tuple):
            for v in o:
                collect(v)

    update = found.update

    def flat(d: Any) -> bool:  # a flat dict's keys and values added at C speed (non-text ones dropped below)
        if type(d) is not dict or not keep.isdisjoint(d):
            return False
        try:
            update(d)
            update(d.values())
        except TypeError:  # a nested list or dict among the values
            return False
        return True

    items = values.tolist()
    for item in items:  # the common shapes (a dict, a list of dicts) without a call per level
        if type(item) is list:
            for d in item:
                if not flat(d):
                    collect(d)
        elif not flat(item):
            collect(item)
    texts = [t if type(t) is str else str(t) for t in found if isinstance(t, str)]
    changed = _mask_many(texts) if texts else {}
    if not changed:
        return values

    touched = changed.keys()

    def code(v: Any) -> Any:
        if type(v) is not str or v not in changed:
            return rebuild(v)
        if v not in lenient:
            lenient[v] = mask_text(v, codes=(v,))
        return v if lenient[v] == v else lenient[v]

    def rebuild(o: Any) -> Any:
        if type(o) is dict:
            try:
                if touched.isdisjoint(o) and touched.isdisjoint(o.values()):
                    return o
            except TypeError:  # a nested list or dict among the values
                pass
        if isinstance(o, Note):
            fields = rebuild(o.fields)
            return o if fields is o.fields else Note(o.code, fields)
        if isinstance(o, str):
            return changed.get(o, o)
        if isinstance(o, Mapping):
            pairs = [(rebuild(k), v if k in keep else code(v) if k in code_keys else rebuild(v)) for k, v in o.items()]
            same = all(k2 is k and v2 is v for (k2, v2), (k, v) in zip(pairs, o.items(), strict=True))
            return o if same else dict(pairs)
        if isinstance(o, list | tuple):
            seq = [rebuild(v) for v in o]
            if all(a is b for a, b in zip(seq, o, strict=True)):
                return o
            return seq if isinstance(o, list) else tuple(seq)
        return o

    return pd.Series([rebuild(item) for item in items], index=values.index, dtype=object)


# --- typed masking of personal columns ------------------------------------------------------------------------

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


TEXT_HEAD = 3  # characters of personal free text (an address: its district) a masked artefact shows


def mask_free_text(values: pd.Series) -> pd.Series:
    """Personal free text (an address): its first ``TEXT_HEAD`` characters kept, every other one ``*``."""
    text = values.astype("string")  # a missing value stays missing
    hidden = text.str.slice(0, TEXT_HEAD) + text.str.slice(TEXT_HEAD).str.replace(r"(?s).", "*", regex=True)
    return hidden.where((text.str.len() > TEXT_HEAD).fillna(False), text)


def mask_value(value: str, column_type: str) -> str:
    """Mask one value of a personal column type (``resident_id``, ``account``, ``phone``; other
    personal columns such as addresses are masked as free text)."""
    s = pd.Series([value], dtype="str")
    if column_type == "resident_id":
        return str(mask_id(s).iloc[0])
    if column_type in {"account", "phone"}:
        return str(mask_account(s).iloc[0])
    return mask_text(value)


# --- the terminal ---------------------------------------------------------------------------------------------

class _MaskingStream:
    """A text stream that masks what is written to it, a line at a time (a number is never split between two
    writes of one ``print``); ``masked`` False passes text through."""

    def __init__(self, stream: TextIO, owner: MaskedStreams) -> None:
        self._stream = stream
        self._owner = owner
        self._pending = ""

    def write(self, s: str) -> int:
        if not self._owner.masked:
            self._flush_pending()
            return self._stream.write(s)
        self._pending += s
        if "\n" in s:
            lines, _, self._pending = self._pending.rpartition("\n")
            self._stream.write(mask_text(lines + "\n"))
        return len(s)

    def _flush_pending(self) -> None:
        if self._pending:
            text, self._pending = self._pending, ""
            self._stream.write(mask_text(text) if self._owner.masked else text)

    def flush(self) -> None:
        self._flush_pending()
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding… of the real stream
        return getattr(self._stream, name)


class MaskedStreams:
    """``with MaskedStreams() as streams:`` puts ``sys.stdout`` and ``sys.stderr`` behind masking streams
    until the block ends; ``streams.masked = False`` (``--unmask``) lets text through as it is."""

    def __init__(self, masked: bool = True) -> None:
        self.masked = masked
        self._saved: tuple[TextIO, TextIO] | None = None

    def __enter__(self) -> MaskedStreams:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _MaskingStream(sys.stdout, self)
        sys.stderr = _MaskingStream(sys.stderr, self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._saved is not None
        wrapped = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = self._saved
        for stream in wrapped:
            if isinstance(stream, _MaskingStream):
                with contextlib.suppress(BrokenPipeError, ValueError):  # output closed early (`| head`)
                    stream.flush()
