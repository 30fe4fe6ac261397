"""Excel 2003 XML Spreadsheets (SpreadsheetML, ``<?mso-application progid="Excel.Sheet"?>``) into text grids.

Parsed with defusedxml's ``iterparse``, streamed: a DTD (and with it every entity declaration) is refused as
``xml_entities`` before any of it is used; external references are never followed. Each ``<Worksheet
ss:Name>`` becomes one :class:`Grid`. Positions follow the format: a ``<Row>`` is the row after the previous
one unless ``ss:Index`` names its (1-based) row, and ``ss:Span="n"`` repeats it ``n`` more times; a ``<Cell>``
likewise, a cell with ``ss:MergeAcross="n"`` taking ``n`` more columns. ``ss:MergeAcross``/``ss:MergeDown`` are
recorded in ``Grid.merged``; ``ss:Hidden`` rows in ``hidden_rows``; a sheet whose ``x:Visible`` is
``SheetHidden``/``SheetVeryHidden`` is flagged hidden. Rows are the 1-based worksheet rows Excel shows.

Values (``<Data ss:Type>``) become text by the same rules as the other readers (``fundaudit.io._text``):
``Number`` as a float (``800`` → ``'800'``; an 18-digit ID stored as a number comes out in scientific
notation, so the ID normaliser can see it was damaged), ``DateTime`` as ISO date or date and time (a time of
day alone, written as ``1899-12-31T…``, as ``HH:MM:SS``), ``Boolean`` as ``TRUE``/``FALSE``, ``Error`` as its
text (``#DIV/0!``) with the ``error_cells`` note, as the ``.xlsx`` reader does; ``String`` and anything else
as written. Limits (rows, columns, cell text) are checked as each row and cell arrives, and the grid's size
before it is allocated.
"""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as StdET
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from fundaudit.errors import InputError, LimitExceededError, UnreadableFileError, note
from fundaudit.io._text import datetime_text, floats_text, time_text
from fundaudit.io.grid import Grid, Limits, clip_merged, column_letter, make_cells, strip_nuls_and_check

__all__ = ["read_spreadsheetml"]

_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"
_MAX_CELLS = 50_000_000  # rows x columns of one dense grid; a far-away ss:Index must not allocate gigabytes
_MAX_LISTED = 10
_TIME_ONLY_DAY = dt.date(1899, 12, 31)


@dataclass
class _Sheet:
    name: str
    rows: list[int] = field(default_factory=list)  # sparse cells: 0-based row, column, type, text
    cols: list[int] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden_rows: list[int] = field(default_factory=list)
    visible: str = ""
    nrows: int = 0
    ncols: int = 0


def read_spreadsheetml(
    data: bytes, *, file: str, ext: str, sheet: str | None, limits: Limits, sha256: str, notes: list[str]
) -> list[Grid]:
    """Read every worksheet of a SpreadsheetML 2003 file (or the one named ``sheet``) into text grids."""
    shown_ext = ext or "(none)"
    names: list[str] = []
    grids: list[Grid] = []
    try:
        for ws in _worksheets(data, file=file, limits=limits):
            names.append(ws.name)
            if sheet is None or ws.name == sheet:
                grids.append(_grid(ws, file=file, limits=limits, sha256=sha256, notes=list(notes)))
    except DefusedXmlException as exc:
        raise UnreadableFileError("xml_entities", file=file, what=type(exc).__name__, ext=shown_ext) from exc
    except StdET.ParseError as exc:
        raise UnreadableFileError("unreadable", file=file, what=f"XML: {exc}", ext=shown_ext) from exc
    if not names:
        raise UnreadableFileError("no_sheets", file=file)
    if sheet is not None and not grids:
        raise InputError("sheet_not_found", file=file, sheet=sheet, sheets="、".join(names))
    return grids


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attr(el: Any, name: str) -> str | None:
    value = el.get(_SS + name)
    return el.get(name) if value is None else value


def _count(el: Any, name: str, *, file: str, where: str) -> int:
    """A non-negative integer attribute (0 when absent); anything else makes the file unreadable."""
    raw = _attr(el, name)
    if raw is None or not raw.strip():
        return 0
    text = raw.strip()
    if not text.isdigit() or len(text) > 12:
        what = f"{where}: ss:{name}={raw[:40]!r} is not a count"
        raise UnreadableFileError("unreadable", file=file, what=what, ext="")
    return int(text)


def _worksheets(data: bytes, *, file: str, limits: Limits) -> Any:
    """Yield one filled :class:`_Sheet` per ``<Worksheet>``, streaming; limits are checked as cells arrive."""
    ws: _Sheet | None = None
    table: Any = None
    row = col = -1
    cell: tuple[int, int] | None = None
    count = 0
    for event, el in iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True):
        tag = _local(el.tag)
        if event == "start":
            if tag == "Worksheet":
                ws = _Sheet(name=_attr(el, "Name") or f"Sheet{count + 1}")
                count += 1
                row = -1
            elif ws is None:
                continue
            elif tag == "Table":
                table, row = el, -1
            elif tag == "Row":
                index = _count(el, "Index", file=file, where=f"{file} [{ws.name}] row after {row + 1}")
                row = index - 1 if index else row + 1
                if row + 1 > limits.max_rows:
                    raise LimitExceededError(
                        "limit_exceeded", file=file, limit=limits.max_rows, what=f"{file} [{ws.name}] has row {row + 1}"
                    )
                ws.nrows = max(ws.nrows, row + 1)
                if (_attr(el, "Hidden") or "").strip() in ("1", "true"):
                    ws.hidden_rows.append(row + 1)
                col = -1
            elif tag == "Cell" and row >= 0:
                where = f"{file} [{ws.name}] row {row + 1}"
                index = _count(el, "Index", file=file, where=where)
                col = index - 1 if index else col + 1
                across = _count(el, "MergeAcross", file=file, where=where)
                down = _count(el, "MergeDown", file=file, where=where)
                if col + across + 1 > limits.max_columns:
                    raise LimitExceededError(
                        "limit_exceeded",
                        file=file,
                        limit=limits.max_columns,
                        what=f"{where} reaches column {col + across + 1}",
                    )
                if across or down:
                    ws.merged.append((row, row + min(down, limits.max_rows), col, col + across))
                cell = (row, col)
                col += across
            continue
        # end events
        if ws is None:
            continue
        if tag == "Data" and cell is not None:
            text = "".join(el.itertext())
            if len(text) > limits.max_cell_chars:
                raise LimitExceededError(
                    "limit_exceeded",
                    file=file,
                    limit=limits.max_cell_chars,
                    what=f"{file} [{ws.name}]: row {cell[0] + 1}, column {column_letter(cell[1])} has "
                    f"{len(text)} characters",
                )
            ws.rows.append(cell[0])
            ws.cols.append(cell[1])
            ws.types.append((_attr(el, "Type") or "").strip())
            ws.texts.append(text)
            ws.ncols = max(ws.ncols, cell[1] + 1)
        elif tag == "Cell":
            cell = None
        elif tag == "Row":
            span = _count(el, "Span", file=file, where=f"{file} [{ws.name}] row {row + 1}")
            row += span
            ws.nrows = max(ws.nrows, row + 1) if span else ws.nrows
            if row + 1 > limits.max_rows:
                raise LimitExceededError(
                    "limit_exceeded", file=file, limit=limits.max_rows, what=f"{file} [{ws.name}] has row {row + 1}"
                )
            if table is not None:
                table.clear()  # the row is read: keep memory flat however long the sheet is
        elif tag == "Visible":
            ws.visible = (el.text or "").strip()
        elif tag == "Worksheet":
            yield ws
            ws, table = None, None
            el.clear()


def _grid(ws: _Sheet, *, file: str, limits: Limits, sha256: str, notes: list[str]) -> Grid:
    where = f"{file} [{ws.name}]"
    nrows, ncols = ws.nrows, ws.ncols
    if ncols > limits.max_columns:
        what = f"{where} has {ncols} columns"
        raise LimitExceededError("limit_exceeded", file=file, limit=limits.max_columns, what=what)
    if nrows * ncols > _MAX_CELLS:
        raise LimitExceededError(
            "limit_exceeded", file=file, limit=f"{_MAX_CELLS} cells",
            what=f"{where} spans {nrows} rows x {ncols} columns"
        )
    r = np.asarray(ws.rows, dtype=np.int64)
    c = np.asarray(ws.cols, dtype=np.int64)
    types = np.asarray(ws.types, dtype=object)
    raw = np.asarray(ws.texts, dtype=object)
    text = _values_text(types, raw)
    if len(r):
        key = r * max(ncols, 1) + c
        last = len(key) - 1 - np.unique(key[::-1], return_index=True)[1]  # a later cell on the same place wins
        if len(last) < len(key):
            notes.append(note("spreadsheetml_cells_skipped", sheet=ws.name, count=len(key) - len(last)))
            keep = np.sort(last)
            r, c, types, text = r[keep], c[keep], types[keep], text[keep]
    columns = []
    for j in range(ncols):
        out = np.full(nrows, "", dtype=object)
        mask = c == j
        out[r[mask]] = text[mask]
        columns.append(out)
    rows = np.arange(1, nrows + 1, dtype=np.int64)
    cells = make_cells(columns, nrows)
    cells = strip_nuls_and_check(cells, rows, file=file, where=where, limits=limits, notes=notes)
    errors = sorted(zip(r[types == "Error"].tolist(), c[types == "Error"].tolist(), strict=True))
    if errors:
        refs = ", ".join(f"{column_letter(cc)}{rr + 1}" for rr, cc in errors[:_MAX_LISTED])
        if len(errors) > _MAX_LISTED:
            refs += f" and {len(errors) - _MAX_LISTED} more"
        notes.append(note("error_cells", sheet=ws.name, count=len(errors), cells=refs))
    hidden = ws.visible in ("SheetHidden", "SheetVeryHidden")
    if hidden:
        notes.append(note("sheet_very_hidden" if ws.visible == "SheetVeryHidden" else "sheet_hidden", sheet=ws.name))
    hidden_rows = sorted({x for x in ws.hidden_rows if x <= nrows})
    if hidden_rows:
        notes.append(note("hidden_rows", sheet=ws.name, count=len(hidden_rows)))
    return Grid(
        file=file,
        sheet=ws.name,
        cells=cells,
        rows=rows,
        format="spreadsheetml",
        sha256=sha256,
        encoding=None,
        merged=clip_merged(ws.merged, nrows, ncols),
        hidden=hidden,
        hidden_rows=hidden_rows,
        notes=notes,
    )


def _values_text(types: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Each ``<Data>`` as text by its ``ss:Type``; a value that does not parse as its type stays as written."""
    out = raw.copy()
    number = types == "Number"
    if number.any():
        parsed = pd.to_numeric(pd.Series(raw[number], dtype=object).str.strip(), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        ok = np.isfinite(parsed)
        shown = raw[number].copy()
        shown[ok] = floats_text(parsed[ok])
        out[number] = shown
    boolean = types == "Boolean"
    if boolean.any():
        flags = np.char.strip(raw[boolean].astype(str))
        shown = raw[boolean].copy()
        shown[flags == "1"] = "TRUE"
        shown[flags == "0"] = "FALSE"
        out[boolean] = shown
    when = types == "DateTime"
    if when.any():
        cache: dict[str, str] = {}
        out[when] = [cache[v] if v in cache else cache.setdefault(v, _datetime_text(v)) for v in raw[when]]
    return out


def _datetime_text(value: str) -> str:
    try:
        v = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if v.date() == _TIME_ONLY_DAY:
        return time_text(v.time(), excel=True)
    return datetime_text(v, excel=True)
