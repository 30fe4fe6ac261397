"""Layout recognition: where the header is, which rows are data, and which are not.

Real exports put title rows above the header, split headers over two rows with merged group cells,
repeat the header on every printed page, and end with 合计/小计 rows and sign-off lines. This module
finds the header (scoring rows against the column catalogue), flattens multi-row headers, and
classifies every row below it as data or as one of the non-data types, keeping the declared totals
of 合计/小计 rows for the ``LEDGER-TOTAL`` rule. Nothing here drops a row: non-data rows are
classified and counted.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fundaudit.columns import UNIT_BRACKET_CHARS, UNIT_LINE, catalogue, normalize_header, normalize_headers
from fundaudit.errors import LayoutError, render
from fundaudit.io import Grid
from fundaudit.normalize import WHITESPACE_RUN as _WS_PATTERN  # RE2-safe: no \s, so pyarrow runs it
from fundaudit.normalize._common import WS, bool_np, lead_bytes, may_hold, utf8_bytes

MAX_HEADER_SCAN = 30

NonDataType = str  # 'blank' | 'total' | 'subtotal' | 'carried' | 'repeated_header' | 'note' | 'other_table'

# Patterns are plain strings (not compiled) so pandas hands them to pyarrow's vectorised RE2 kernels.
_TOTAL = r"^(?:本页|本月|本季|本季度|本年|全年)?(?:合计|小计|总计|累计|共计)(?:[:：(（].*)?$"
_CARRIED = r"^(?:承前页|过次页|转下页|承上页|期初余额|期末余额)"
_NOTE = (
    r"^(?:制表人|制表|审核人|审核|复核人|负责人|填报人|填表人|注[:：]|说明[:：]|备注[:：]|单位[:：]|编制单位|填报单位"
    r"|打印时间|打印日期|制表日期|领导签字|财务负责人|经办人[:：]|会计[:：]|出纳[:：]|主管[:：]"
    r"|金额单位[:：]|[(（](?:金额)?单位[:：])"
)


@dataclass(frozen=True)
class Layout:
    """Where a grid's header and data are."""

    header_rows: tuple[int, ...]   # positions (0-based into grid.cells) of the header row(s)
    headers: tuple[str, ...]       # flattened header text per column position ('上/下' for two-row headers)
    title: str                     # text above the header (title rows), joined with ' | '

    @property
    def data_start(self) -> int:
        """Position of the first row below the header."""
        return self.header_rows[-1] + 1


def _alias_keys(kind: str | None) -> set[str]:
    specs = catalogue().values() if kind is None else [catalogue()[kind]]
    keys: set[str] = set()
    for spec in specs:
        keys.update(spec.alias_index)
    return keys


@functools.cache
def _all_header_keys() -> tuple[pa.Array, str, np.ndarray]:
    """Every known header spelling of every kind, normalised, as an Arrow set for ``is_in``; and an RE2
    class of the characters no header cell can hold.

    That class is the ASCII and CJK-unified characters that appear in no key, no unit bracket and no
    removed punctuation: NFKC leaves both ranges as they are and composes nothing from them into a key's
    characters (keys are ASCII and CJK), so a cell holding one of them cannot normalise into a key and
    is not normalised at all (names, places, remarks: nearly every data cell). The third item marks those
    characters by code point (0..0xFFFF), to check a cell's first character without a regex.
    """
    keys = sorted(_alias_keys(None))
    allowed = {ord(c) for c in "".join(keys) + UNIT_BRACKET_CHARS + "()[]*:%\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "}
    allowed |= {ord(c.upper()) for c in "".join(keys) if c.isascii()}
    spans: list[list[int]] = []  # runs of consecutive impossible code points
    for cp in (*range(0x80), *range(0x4E00, 0xA000)):
        if cp in allowed:
            continue
        if spans and spans[-1][1] == cp - 1:
            spans[-1][1] = cp
        else:
            spans.append([cp, cp])
    ranges = [_re2_char(lo) if lo == hi else f"{_re2_char(lo)}-{_re2_char(hi)}" for lo, hi in spans]
    first_impossible = np.zeros(0x10000, dtype=bool)
    for lo, hi in ((0x00, 0x80), (0x4E00, 0xA000)):
        first_impossible[lo:hi] = True
    first_impossible[list(allowed)] = False
    return pa.array(keys, type=pa.large_string()), "[" + "".join(ranges) + "]", first_impossible


def _re2_char(cp: int) -> str:
    return f"\\x{{{cp:x}}}"


def _norm_cells(values: Iterable[str]) -> list[str]:
    return [normalize_header(v) if str(v).strip() else "" for v in values]


def find_header(grid: Grid, kind: str | None = None) -> Layout:
    """Find the header row(s) of ``grid`` by scoring the first rows against the alias catalogue.

    The row with the most cells that are known header spellings wins (ties: the upper row); at least
    two must match. A neighbouring row completes a two-row header when its labels sit under (or
    over) merged group cells, as in ``公示情况`` over ``开始日期 | 结束日期``.
    """
    cells = grid.cells
    keys = _alias_keys(kind)
    if grid.named_columns:  # parquet and DataFrames: the column names are the header; one known name suffices
        names = [str(v) for v in cells.iloc[0].tolist()]
        if not any(v in keys for v in _norm_cells(names)):
            raise LayoutError("columns_not_recognised", where=grid.file, found=" | ".join(names)[:200] or "-")
        return Layout((0,), tuple(names), "")
    scan = min(MAX_HEADER_SCAN, len(cells))
    norm = [_norm_cells(cells.iloc[i].tolist()) for i in range(scan)]
    scores = [sum(1 for v in row if v and v in keys) for row in norm]
    if not scores or max(scores) < 2:
        found = next((" | ".join(v for v in cells.iloc[i].tolist() if str(v).strip())
                      for i in range(scan) if any(str(v).strip() for v in cells.iloc[i].tolist())), "")
        where = grid.file if grid.sheet is None else f"{grid.file} [{grid.sheet}]"
        shown = found[:200] or render("message_parts", "empty")
        raise LayoutError("header_not_found", where=where, rows=scan, found=shown)
    best = int(np.argmax(scores))
    rows: tuple[int, ...] = (best,)
    if best + 1 < scan and _is_sub_header(norm[best], norm[best + 1], keys, grid, best):
        rows = (best, best + 1)
    elif best > 0 and _is_sub_header(norm[best - 1], norm[best], keys, grid, best - 1):
        rows = (best - 1, best)
    headers = _flatten(grid, rows)
    title = " | ".join(
        " ".join(v.strip() for v in cells.iloc[i].tolist() if str(v).strip()) for i in range(rows[0])
    ).strip(" |")
    return Layout(rows, headers, title)


def _h_merged_cols(grid: Grid, row: int) -> set[int]:
    """Columns of ``row`` covered by a merged range spanning several columns."""
    cols: set[int] = set()
    for r0, r1, c0, c1 in grid.merged:
        if r0 <= row <= r1 and c1 > c0:
            cols.update(range(c0, c1 + 1))
    return cols


def _is_sub_header(upper: list[str], lower: list[str], keys: set[str], grid: Grid, upper_pos: int) -> bool:
    """True when ``lower`` is the second row of a header whose first row is ``upper``."""
    lower_filled = [i for i, v in enumerate(lower) if v]
    if not lower_filled or not any(lower[i] in keys for i in lower_filled):
        return False
    if len(lower_filled) >= len([v for v in upper if v]):
        return False
    grouped = _h_merged_cols(grid, upper_pos)
    for i in lower_filled:
        above = upper[i] if i < len(upper) else ""
        if above and i not in grouped:
            return False
    return True


def _flatten(grid: Grid, rows: tuple[int, ...]) -> tuple[str, ...]:
    """Header text per column; two-row headers become ``上/下`` with group labels carried across
    their merged range."""
    cells = grid.cells
    top = [str(v).strip() for v in cells.iloc[rows[0]].tolist()]
    if len(rows) == 1:
        return tuple(top)
    for r0, r1, c0, c1 in grid.merged:
        if r0 <= rows[0] <= r1 and c1 > c0:
            label = top[c0]
            for c in range(c0, min(c1 + 1, len(top))):
                top[c] = top[c] or label
    bottom = [str(v).strip() for v in cells.iloc[rows[1]].tolist()]
    out = []
    for t, b in zip(top, bottom, strict=True):
        if t and b and t != b:
            out.append(f"{t}/{b}")
        else:
            out.append(b or t)
    return tuple(out)


_ROW_TYPES = ("", "blank", "carried", "subtotal", "total", "repeated_header", "note", "other_table")
_SUB_LABEL = "小计|本页|本月|本季"
_WS_LEADS = lead_bytes(WS)


def classify_rows(grid: Grid, layout: Layout) -> pd.Series:
    """Classify every row below the header: '' for data, else the non-data type.

    Vectorised over the grid: blank rows; 合计/小计/累计 rows (``total``/``subtotal``, recognised in
    the first two filled cells); 承前页/过次页 carry-overs (``carried``); repeated header rows (page
    breaks: at least two cells, and 60% of the row's filled cells, equal to the header's); sign-off and
    note lines (``note``: 制表人：…, 注：…, with at most two filled cells).

    A cell is filled when its text, with Unicode whitespace trimmed from both ends, is not empty; labels are
    compared trimmed and with all whitespace removed. Only the first two filled cells of each row are
    trimmed and matched, and a cell is compared with the header only where it contains the header's text.
    """
    data = grid.cells.iloc[layout.data_start:]
    if data.empty:
        return pd.Series([], dtype="str", index=data.index)
    texts = [_column_text(data[c]) for c in data.columns]
    if list(data.columns) != list(range(len(texts))) or any(t is None for t in texts):
        return _classify_rows_general(grid, layout)  # not positional Arrow text without missing values
    columns: list[pa.Array] = [t for t in texts if t is not None]
    n = len(data)
    headers: list[list[str] | None] = []
    for hrow in layout.header_rows:
        labels = [str(v).strip() for v in grid.cells.iloc[hrow].tolist()]
        headers.append(labels if len([v for v in labels if v]) >= 2 else None)
    # one trim per column gives both "filled" and the exact header matches (page breaks repeat the header)
    filled = np.empty((len(columns), n), dtype=bool)
    header_hits = [np.zeros(n, dtype=np.int64) for _ in headers]
    for k, t in enumerate(columns):
        trimmed = pc.utf8_trim_whitespace(t)
        filled[k] = lengths_np(trimmed) > 0
        for header, hits in zip(headers, header_hits, strict=True):
            if header is not None and header[k]:
                np.add(hits, bool_np(pc.equal(trimmed, header[k])), out=hits)
        del trimmed
    n_filled = filled.sum(axis=0)

    # position of the first and second filled cell of each row (-1 when there is none)
    first = np.full(n, -1, dtype=np.int64)
    second = np.full(n, -1, dtype=np.int64)
    for k in reversed(range(len(columns))):
        second = np.where(filled[k], first, second)
        first = np.where(filled[k], k, first)
    first_total, first_sub, carried, noted = _label_matches(columns, first, (_TOTAL, _SUB_LABEL, _CARRIED, _NOTE))
    second_total, second_sub = _label_matches(columns, second, (_TOTAL, _SUB_LABEL))
    is_total = first_total | second_total
    is_sub = is_total & np.where(first_total, first_sub, second_sub)

    code = np.zeros(n, dtype=np.int8)
    code[n_filled == 0] = 1
    for mask, value in ((carried, 2), (is_sub, 3), (is_total, 4)):
        code[(code == 0) & mask] = value
    for header, matches in zip(headers, header_hits, strict=True):
        if header is not None:
            repeated = (matches >= 2) & (matches >= 0.6 * n_filled)
            code[(code == 0) & repeated] = 5
    other = _other_table(columns, filled, (code == 0) & (n_filled >= 2), code == 5)
    code[(code == 0) & noted & (n_filled <= 2)] = 6
    code[other] = 7
    kinds = pc.take(pa.array(_ROW_TYPES, type=pa.large_string()), pa.array(code))
    return pd.Series(pd.array(kinds, dtype="str"), index=data.index)


def _column_text(col: pd.Series) -> pa.Array | None:
    """The Arrow text of a ``str`` column as one array, or ``None`` for other dtypes or missing values."""
    if not (isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow"):
        return None
    arr = pa.array(col.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return None if arr.null_count else arr


def _label_matches(columns: list[pa.Array], position: np.ndarray, patterns: tuple[str, ...]) -> list[np.ndarray]:
    """For each row, whether the cell at ``position`` (trimmed, whitespace removed) matches each pattern
    (RE2 search); False where ``position`` is -1.

    Every pattern here starts with a Chinese character, so a cell whose first byte is printable ASCII
    (a serial number, an amount) cannot match and is not looked at.
    """
    n = len(position)
    out = [np.zeros(n, dtype=bool) for _ in patterns]
    for k in np.flatnonzero(np.bincount(position + 1, minlength=len(columns) + 1)[1:]).tolist():
        rows = np.flatnonzero((position == k) & ~_starts_printable_ascii(columns[k]))
        if len(rows) == 0:
            continue
        cells = columns[k] if len(rows) == n else pc.take(columns[k], pa.array(rows))
        label = pc.utf8_trim_whitespace(cells)
        if may_hold(label, _WS_LEADS):
            label = pc.replace_substring_regex(label, _WS_PATTERN, "")
        for result, pattern in zip(out, patterns, strict=True):
            result[rows] = bool_np(pc.match_substring_regex(label, pattern))
    return out


def _starts_printable_ascii(t: pa.Array) -> np.ndarray:
    """Mask of texts whose first byte is printable ASCII other than space ('!'..'~'); such a character is
    neither trimmed nor removed as whitespace, so it is the label's first character."""
    first = _first_char(t)
    return (first >= 0x21) & (first <= 0x7E)


_NO_CHAR = 0xFFFF  # a noncharacter: stands for "empty, or not read here"


def _first_char(t: pa.Array, rows: np.ndarray | None = None) -> np.ndarray:
    """The code point of the first character of each text (or of the texts at ``rows``) when it is in the
    Basic Multilingual Plane, decoded from the UTF-8 bytes with numpy; else ``0xFFFF`` (also for empty
    texts, and for all when the bytes are not one plain buffer)."""
    n = len(t) if rows is None else len(rows)
    data = utf8_bytes(t)
    if data is None or n == 0 or len(data) == 0:
        return np.full(n, _NO_CHAR, dtype=np.int32)
    offsets = np.frombuffer(t.buffers()[1], dtype=np.int64, count=t.offset + len(t) + 1)[t.offset :]
    if rows is None:
        starts, ends = offsets[:-1] - offsets[0], offsets[1:] - offsets[0]
    else:
        starts, ends = offsets[rows] - offsets[0], offsets[rows + 1] - offsets[0]
    last = len(data) - 1
    b0 = data[starts].astype(np.int32) if len(starts) and starts.max() <= last else \
        data[np.minimum(starts, last)].astype(np.int32)
    out = np.where(ends > starts, b0, _NO_CHAR)
    multi = np.flatnonzero((b0 >= 0x80) & (ends > starts))  # few in ASCII columns; names are all here
    if len(multi):
        s0, b = starts[multi], b0[multi]
        b1 = data[np.minimum(s0 + 1, last)].astype(np.int32) & 0x3F
        b2 = data[np.minimum(s0 + 2, last)].astype(np.int32) & 0x3F
        width = np.where(b < 0xE0, 2, np.where(b < 0xF0, 3, 4))
        cp = np.where(width == 2, ((b & 0x1F) << 6) | b1, ((b & 0x0F) << 12) | (b1 << 6) | b2)
        out[multi] = np.where((ends[multi] - s0 >= width) & (width < 4), cp, _NO_CHAR)
    return out


def lengths_np(t: pa.Array) -> np.ndarray:
    """Byte length of each string."""
    return np.asarray(pc.binary_length(t).to_numpy(zero_copy_only=False), dtype=np.int64)


def _classify_rows_general(grid: Grid, layout: Layout) -> pd.Series:
    """``classify_rows`` for cells that are not all Arrow text (one pandas string operation per column)."""
    data = grid.cells.iloc[layout.data_start:]
    if data.empty:
        return pd.Series([], dtype="str", index=data.index)
    stripped = data.apply(lambda col: col.str.strip())  # pyarrow utf8 trim: one kernel per column
    filled = stripped.ne("")
    n_filled = filled.sum(axis=1)
    kind = pd.Series("", index=data.index, dtype="str")
    kind[n_filled == 0] = "blank"

    first = pd.Series("", index=data.index, dtype="str")
    second = pd.Series("", index=data.index, dtype="str")
    for c in reversed(list(data.columns)):
        second = first.where(filled[c], second)
        first = stripped[c].where(filled[c], first)
    first = first.str.replace(_WS_PATTERN, "", regex=True)
    second = second.str.replace(_WS_PATTERN, "", regex=True)

    first_total = first.str.contains(_TOTAL, regex=True)
    is_total = first_total | second.str.contains(_TOTAL, regex=True)
    label = first.where(first_total, second)
    is_sub = is_total & label.str.contains(_SUB_LABEL, regex=True)
    carried = first.str.contains(_CARRIED, regex=True)
    kind[(kind == "") & carried] = "carried"
    kind[(kind == "") & is_sub] = "subtotal"
    kind[(kind == "") & is_total] = "total"

    for hrow in layout.header_rows:
        header = [str(v).strip() for v in grid.cells.iloc[hrow].tolist()]
        h_filled = [i for i, v in enumerate(header) if v]
        if len(h_filled) < 2:
            continue
        matches = pd.Series(0, index=data.index)
        for i in h_filled:
            matches += stripped[i].eq(header[i]).astype(int)
        repeated = (matches >= 2) & (matches >= 0.6 * n_filled)
        kind[(kind == "") & repeated] = "repeated_header"

    texts = [pa.array(stripped[c].fillna("").astype(str).to_numpy(dtype=object), type=pa.large_string())
             for c in data.columns]
    other = _other_table(texts, filled.to_numpy(dtype=bool).T, (kind.eq("") & n_filled.ge(2)).to_numpy(),
                         kind.eq("repeated_header").to_numpy())
    is_note = first.str.contains(_NOTE, regex=True) & (n_filled <= 2)
    kind[(kind == "") & is_note] = "note"
    kind[other] = "other_table"
    return kind


def _other_table(columns: list[pa.Array], filled: np.ndarray, candidate: np.ndarray,
                 repeat: np.ndarray) -> np.ndarray:
    """Rows of another table stacked below the first: from a row that is a header of different columns
    up to (not including) the next repeat of the detected header.

    ``filled`` is the (columns × rows) mask of non-blank cells. A ``candidate`` row (still data, at least two
    filled cells) is such a header when at least two of its cells, and more than half of its filled cells,
    are known header spellings of any kind (compared as :func:`~fundaudit.columns.normalize_header` does):
    ``单位 | 金额`` is one, a payment to someone named 金额 is not. Only cells made of characters that occur
    in header spellings are normalised, and a row stops being looked at once it has missed too often.
    """
    n = len(candidate)
    if not candidate.any():
        return np.zeros(n, dtype=bool)
    n_filled = filled.sum(axis=0)
    slack = n_filled - np.maximum(2, n_filled // 2 + 1)  # misses a header row can afford
    hits = np.zeros(n, dtype=np.int64)
    misses = np.zeros(n, dtype=np.int64)
    keys, impossible, impossible_first = _all_header_keys()
    for k, t in enumerate(columns):
        rows = np.flatnonzero(candidate & filled[k] & (misses <= slack))
        cheap_miss = impossible_first[_first_char(t, rows)]
        misses[rows[cheap_miss]] += 1
        rows = rows[~cheap_miss]
        if len(rows) == 0:
            continue
        cells = t if len(rows) == n else pc.take(t, pa.array(rows))
        hit = ~bool_np(pc.match_substring_regex(cells, impossible))
        if hit.any():
            hit[hit] = bool_np(pc.is_in(normalize_headers(cells.filter(pa.array(hit))), value_set=keys))
        hits[rows] += hit
        misses[rows] += ~hit
    start = candidate & (hits >= 2) & (2 * hits > n_filled)
    if not start.any():
        return np.zeros(n, dtype=bool)
    index = np.arange(n)
    last_start = np.maximum.accumulate(np.where(start, index, -1))
    last_repeat = np.maximum.accumulate(np.where(repeat, index, -1))
    return last_start > last_repeat


def totals_coverage(non_data: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """For each 合计/小计 row, the span of rows it declares a total for.

    ``non_data`` has columns ``row`` and ``type`` (the non-data rows of one sheet, in order) and
    ``first_row`` is the first row below the header. A ``subtotal`` (小计, 本页合计) covers the rows
    since the previous subtotal, total or repeated header (a page break); a ``total`` (合计, 总计,
    本年累计) covers every row since the header. Returns columns ``row``, ``type``, ``covers_from``,
    ``covers_to`` (user row numbers, inclusive).
    """
    out = []
    section_start = first_row
    for typ, row in zip(non_data["type"].tolist(), non_data["row"].tolist(), strict=True):
        if typ == "total":
            out.append((int(row), typ, first_row, int(row) - 1))
            section_start = int(row) + 1
        elif typ == "subtotal":
            out.append((int(row), typ, section_start, int(row) - 1))
            section_start = int(row) + 1
        elif typ == "repeated_header":
            section_start = int(row) + 1
    return pd.DataFrame(out, columns=["row", "type", "covers_from", "covers_to"])


@dataclass(frozen=True)
class UnitLine:
    """A line stating the money unit of a whole sheet (``单位：万元``), above the header or below the data."""

    row: int    # the user's row number
    unit: str   # 元, 千元 or 万元 (keys of fundaudit.columns.MONEY_UNITS)
    text: str   # the statement as written, NFKC: 单位:万元


def unit_lines(grid: Grid, layout: Layout, row_type: pd.Series) -> list[UnitLine]:
    """The unit lines of a sheet: statements such as ``单位：万元`` in any cell of the title rows above the
    header or of the ``note`` rows below it (``row_type`` from :func:`classify_rows`); the first line of
    each unit stated, in row order (enough to apply one and to name two that disagree).

    Only those rows are looked at (a handful), one vectorised search over their cells.
    """
    notes = np.flatnonzero(row_type.eq("note").to_numpy()) + layout.data_start
    positions = [*range(layout.header_rows[0] if layout.header_rows else 0), *notes.tolist()]
    if not positions:
        return []
    cells = grid.cells.iloc[positions].astype(str)
    cells.index = pd.RangeIndex(len(positions))
    stacked = cells.stack()
    found = stacked.str.normalize("NFKC").str.extract(UNIT_LINE).dropna().drop_duplicates("unit")
    out: list[UnitLine] = []
    for (i, _col), text, unit in zip(found.index, found["text"], found["unit"], strict=True):
        out.append(UnitLine(int(grid.rows[positions[i]]), str(unit), str(text)))
    return out


def header_positions(layout: Layout) -> Mapping[int, str]:
    """Column position -> flattened header text, for non-empty headers."""
    return {i: h for i, h in enumerate(layout.headers) if h}
