"""The column catalogue (canonical columns, types and Chinese header aliases per input kind) and
header mapping: which physical column of a sheet is which canonical column.

The catalogue is data (``catalogue.yaml``); everything here derives from it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

ColumnType = Literal[
    "text", "name", "money", "rate", "int", "date", "bool", "enum",
    "resident_id", "taxpayer_id", "account", "phone", "period", "code",
]
PERSONAL_TYPES = frozenset({"resident_id", "account", "phone"})

__all__ = [
    "IGNORE",
    "MONEY_UNITS",
    "UNIT_BRACKET_CHARS",
    "UNIT_LINE",
    "Column",
    "HeaderMapping",
    "KindSpec",
    "catalogue",
    "check_overrides",
    "detect_kind",
    "header_unit",
    "kinds",
    "map_headers",
    "normalize_header",
    "normalize_headers",
]


@dataclass(frozen=True)
class Column:
    """One canonical column of one input kind."""

    name: str
    type: ColumnType
    aliases: tuple[str, ...]
    essential: bool = False
    personal: bool = False
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    strict: bool = False
    fallback_for: str | None = None   # read as this column when the sheet has no header for it

    @property
    def header_zh(self) -> str | None:
        """The header users know: the first alias written in Chinese (None when every alias is Latin)."""
        return next((a for a in self.aliases if any("\u4e00" <= ch <= "\u9fff" for ch in a)), None)

    @property
    def synonyms(self) -> dict[str, str]:
        """For enums: spelling -> canonical value (canonical values spell themselves)."""
        out: dict[str, str] = {}
        for canonical, spellings in self.values.items():
            out[canonical] = canonical
            for s in spellings:
                out[s] = canonical
        return out


@dataclass(frozen=True)
class KindSpec:
    """One input kind: its canonical columns and how to recognise and reconcile it."""

    name: str
    title_zh: str
    title_en: str
    ledger: bool
    amount: str | None
    identity: tuple[str, ...]
    signature: tuple[str, ...]
    columns: Mapping[str, Column]
    role: str = ""  # what a row of this kind is when a finding cites it (refs[].role)
    union: tuple[str, ...] = ()  # columns naming the grassroots union of a row (first non-empty wins)
    subject: tuple[str, ...] = ()  # ID columns naming the person or employer a row is about (first non-empty wins)

    @functools.cached_property
    def alias_index(self) -> dict[str, str]:
        """Normalised header text -> canonical column name."""
        index: dict[str, str] = {}
        for col in self.columns.values():
            index[normalize_header(col.name)] = col.name
            for alias in col.aliases:
                index.setdefault(normalize_header(alias), col.name)
        return index


@functools.cache
def catalogue() -> Mapping[str, KindSpec]:
    """All input kinds, in catalogue order (ledgers first)."""
    from ruamel.yaml import YAML

    text = resources.files("fundaudit.columns").joinpath("catalogue.yaml").read_text("utf-8")
    raw = YAML(typ="safe", pure=True).load(text)
    return {name: _kind(name, spec) for name, spec in raw["kinds"].items()}


def kinds() -> tuple[str, ...]:
    """Names of every input kind."""
    return tuple(catalogue())


def _kind(name: str, spec: Mapping[str, Any]) -> KindSpec:
    columns = {}
    for col_name, c in spec["columns"].items():
        ctype = c["type"]
        columns[col_name] = Column(
            name=col_name,
            type=ctype,
            aliases=tuple(str(a) for a in c.get("aliases", ())),
            essential=bool(c.get("essential", False)),
            personal=bool(c.get("personal", ctype in PERSONAL_TYPES)),
            values={str(k): tuple(str(s) for s in v) for k, v in (c.get("values") or {}).items()},
            strict=bool(c.get("strict", False)),
            fallback_for=c.get("fallback_for"),
        )
    return KindSpec(
        name=name,
        title_zh=spec["title"]["zh"],
        title_en=spec["title"]["en"],
        ledger=bool(spec["ledger"]),
        amount=spec.get("amount"),
        identity=tuple(spec.get("identity", ())),
        signature=tuple(spec.get("signature", ())),
        columns=columns,
        role=str(spec.get("role", name)),
        union=tuple(spec.get("union", ())),
        subject=tuple(spec.get("subject", ())),
    )


# --- header normalisation ---------------------------------------------------------------------

_UNIT_WORDS = r"(?:人民币)?(?:万元|元|千元|万|人|%|天|日|月|个|户|次|yuan|rmb)"
_UNIT_BRACKET = re.compile(r"\(\s*(?:单位[:：]?\s*)?" + _UNIT_WORDS + r"\s*\)")
#: Every character of the unit-bracket pattern (a superset of what a removed unit bracket can hold).
UNIT_BRACKET_CHARS = "".join(sorted(set(_UNIT_BRACKET.pattern)))
# Python's \s for text, plus zero-width space and BOM; spelled out so pyarrow's RE2 kernels match the same
_SPACE_CHARS = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPACE = re.compile(f"[{_SPACE_CHARS}]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: Money units and what they multiply an amount by to give yuan.
MONEY_UNITS: Mapping[str, int] = {"元": 1, "千元": 1000, "万元": 10000}
_HEADER_UNIT = re.compile(r"\((?:单位:?)?(?:人民币)?(万元|万|千元|元)\)")
#: A sheet's unit line, searched in NFKC text (so ： is :, （ is ( ): ``单位：万元``, ``金额单位:万元``,
#: ``（单位：万元）``, ``单位：人民币元``, also inside a longer title cell (``编制单位：某工会  单位：元``).
#: Group ``text`` is the statement as written, ``unit`` the unit; a following Chinese character
#: (``单位：元宝公司``) is no unit.
UNIT_LINE = (r"(?:^|[\s(\[,;|/、])(?P<text>(?:金额)?单位:\s*(?:人民币)?\s*(?P<unit>万元|千元|元))"
             r"(?:$|[\s)\],;|/、.。])")


def normalize_header(text: str) -> str:
    """Normalise a header cell for alias matching.

    NFKC (full-width to half-width, so （元） and (元) agree), all whitespace and line breaks removed,
    unit brackets such as （元） dropped, other brackets kept as plain text (应补（退）税额 → 应补退税额),
    a leading/trailing ``*`` (required-field marker) and a trailing colon removed, ASCII lower-cased.
    """
    t = unicodedata.normalize("NFKC", str(text))
    t = _SPACE.sub("", t)
    t = _UNIT_BRACKET.sub("", t)
    t = t.replace("(", "").replace(")", "").replace("[", "").replace("]", "")
    t = t.strip("*:：")
    return t.translate(_ASCII_LOWER)


def normalize_headers(texts: pa.Array) -> pa.Array:
    """:func:`normalize_header` for a whole Arrow string array (pyarrow kernels, no Python loop): how
    layout compares every cell of a sheet with the alias catalogue."""
    t = pc.utf8_normalize(texts, "NFKC")
    t = pc.replace_substring_regex(t, _SPACE.pattern, "")
    t = pc.replace_substring_regex(t, _UNIT_BRACKET.pattern, "")
    t = pc.replace_substring_regex(t, r"[()\[\]]", "")
    t = pc.utf8_trim(t, "*:：")
    return pc.ascii_lower(t)


def header_unit(text: str) -> str | None:
    """The money unit a header states (金额（万元） → 万元, 金额(元) → 元, 金额（万） → 万元), or None."""
    t = _SPACE.sub("", unicodedata.normalize("NFKC", str(text)))
    m = _HEADER_UNIT.search(t)
    if m is None:
        return None
    return "万元" if m.group(1) == "万" else m.group(1)


# --- mapping headers to canonical columns -------------------------------------------------------

@dataclass(frozen=True)
class HeaderMapping:
    """How one sheet's header maps onto one kind's canonical columns."""

    kind: str
    columns: Mapping[int, str]              # physical position -> canonical name
    headers: Mapping[int, str]              # physical position -> header text as found
    unmapped: tuple[tuple[int, str], ...]   # non-empty headers that map to nothing (or lost a collision)
    duplicates: Mapping[str, tuple[int, ...]]  # canonical name -> positions, when >1 map to it
    ignored: tuple[tuple[int, str], ...] = ()  # headers the caller mapped to "-" (also in ``unmapped``)

    @property
    def by_header(self) -> dict[str, str]:
        """Header text as found -> canonical name (for reports: findings.json ``inputs[].columns``)."""
        return {self.headers[pos]: name for pos, name in self.columns.items()}


#: The target that tells :func:`map_headers` to leave a header unmapped on purpose (``--map 'HEADER=-'``).
IGNORE = "-"


def map_headers(kind: str, headers: Sequence[str], overrides: Mapping[str, str] | None = None) -> HeaderMapping:
    """Map a header row onto ``kind``'s canonical columns.

    ``overrides`` (header text -> canonical name, or ``"-"`` to ignore the header) come first; headers are
    compared after :func:`normalize_header`. Otherwise each header is tried whole, then, for flattened
    multi-row headers written ``上/下``, by its last part alone. When several physical columns claim one
    canonical column the first keeps it, the others are listed in ``unmapped`` (never dropped without
    trace) and the clash in ``duplicates`` (the loader decides whether that is an error or a note). A
    column with ``fallback_for`` (应补（退）税额 → ``amount_due``) is read as that column when no header
    of the sheet claims it.
    """
    spec = catalogue()[kind]
    # overrides aimed at another kind's columns are not for this sheet (one --map serves a whole directory);
    # the rest join the alias index, so they also reach the sub-header of a flattened 上/下 header
    chosen = {normalize_header(h): c for h, c in (overrides or {}).items() if c == IGNORE or c in spec.columns}
    index = {**spec.alias_index, **chosen}
    applied: set[str] = set()
    columns: dict[int, str] = {}
    found: dict[int, str] = {}
    unmapped: list[tuple[int, str]] = []
    ignored: list[tuple[int, str]] = []
    claims: dict[str, list[int]] = {}
    for pos, header in enumerate(headers):
        if not str(header).strip():
            continue
        found[pos] = str(header)
        canonical, key = _lookup_key(index, str(header))
        if key in chosen and canonical is not None:
            applied.add(canonical)
        if canonical == IGNORE:
            ignored.append((pos, str(header)))
            continue
        if canonical is None:
            unmapped.append((pos, str(header)))
            continue
        claims.setdefault(canonical, []).append(pos)
    explicit = applied  # only overrides that met a header of this sheet switch a fallback off
    for canonical in list(claims):
        stand_in = spec.columns[canonical].fallback_for
        if stand_in and stand_in not in claims and canonical not in explicit:
            claims[stand_in] = claims.pop(canonical)
    for canonical, positions in claims.items():
        columns[positions[0]] = canonical
        unmapped.extend((p, found[p]) for p in positions[1:])
    duplicates = {k: tuple(v) for k, v in claims.items() if len(v) > 1}
    unmapped = sorted([*unmapped, *ignored])
    return HeaderMapping(kind, dict(sorted(columns.items())), found, tuple(unmapped), duplicates, tuple(ignored))


def _lookup(index: Mapping[str, str], header: str) -> str | None:
    return _lookup_key(index, header)[0]


def _lookup_key(index: Mapping[str, str], header: str) -> tuple[str | None, str | None]:
    """The canonical column ``header`` maps to in ``index``, with the index key that matched."""
    key = normalize_header(header)
    if key in index:
        return index[key], key
    if "/" in key:  # flattened two-row header: 公示情况/公示开始日期
        parts = [p for p in key.split("/") if p]
        for candidate in (parts[-1], "".join(parts), parts[0]):
            if candidate in index:
                return index[candidate], candidate
    return None, None


def check_overrides(kind: str, overrides: Mapping[str, str] | None) -> None:
    """Every target of ``overrides`` (``columns=`` of :func:`fundaudit.load` for one kind) is ``-`` or a column of
    ``kind``: checked before any input is read."""
    spec = catalogue()[kind]
    for header, column in (overrides or {}).items():
        if column != IGNORE and column not in spec.columns:
            from fundaudit.errors import ConfigError

            raise ConfigError("map_unknown_column", header=header, column=column, kind=kind,
                              columns=", ".join(spec.columns))


def detect_kind(headers: Sequence[str]) -> list[tuple[str, float]]:
    """Score every kind against a header row, best first.

    Score = mapped columns + 2 × mapped signature columns; kinds with fewer than two mapped columns
    score 0. The loader treats the best kind as detected when it clearly beats the runner-up.
    """
    scores: list[tuple[str, float]] = []
    for name, spec in catalogue().items():
        mapped = set(map_headers(name, headers).columns.values())
        if len(mapped) < 2:
            scores.append((name, 0.0))
            continue
        sig = len(mapped & set(spec.signature))
        scores.append((name, float(len(mapped) + 2 * sig)))
    scores.sort(key=lambda kv: -kv[1])
    return scores
