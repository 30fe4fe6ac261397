"""Excel 2003 XML Spreadsheets (SpreadsheetML, ``<?mso-application progid="Excel.Sheet"?>``) into text grids.

Parsed with defusedxml's expat parser driving a target (no element tree is built), fed 1 MiB at a time: a DTD
(and with it every entity declaration) is refused as ``xml_entities`` before any of it is used; external
references are never followed. Each ``<Worksheet ss:Name>`` becomes one :class:`Grid`. Positions follow the
format: a ``<Row>`` is the row after the previous one unless ``ss:Index`` names its (1-based) row, and
``ss:Span="n"`` repeats it ``n`` more times; a ``<Cell>`` likewise, a cell with ``ss:MergeAcross="n"`` taking
``n`` more columns. ``ss:MergeAcross``/``ss:MergeDown`` are recorded in ``Grid.merged``; ``ss:Hidden`` rows in
``hidden_rows``; a sheet whose ``x:Visible`` is ``SheetHidden``/``SheetVeryHidden`` is flagged hidden. Rows are
the 1-based worksheet rows Excel shows.

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
import xml.etree.ElementTree as StdET
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from fundaudit.errors import InputError, UnreadableFileError, note
from fundaudit.io._text import datetime_text, floats_text, time_text
from fundaudit.io.grid import (
    Grid,
    Limits,
    check_extent,
    clip_merged,
    column_letter,
    scatter_cells,
    strip_nuls_and_check,
)

__all__ = ["read_spreadsheetml"]

_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"
_MAX_LISTED = 10
_FEED = 1 << 20
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
    reader = _Reader(file=file, limits=limits)
    parser = DefusedXMLParser(target=reader, forbid_dtd=True)
    try:
        for start in range(0, len(data), _FEED):
            parser.feed(data[start : start + _FEED])
            for ws in reader.take():  # a finished worksheet becomes a grid (or is dropped) before the next piece
                names.append(ws.name)
                if sheet is None or ws.name == sheet:
                    grids.append(_grid(ws, file=file, limits=limits, sha256=sha256, notes=list(notes)))
        parser.close()
    except DefusedXmlException as exc:
        raise UnreadableFileError("xml_entities", file=file, what=type(exc).__name__, ext=shown_ext) from exc
    except StdET.ParseError as exc:
        raise UnreadableFileError("unreadable", file=file, what=f"XML: {exc}", ext=shown_ext) from exc
    if not names:
        raise UnreadableFileError("no_sheets", file=file)
    if sheet is not None and not grids:
        raise InputError("sheet_not_found", file=file, sheet=sheet, sheets="、".join(names))
    return grids


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(attrib: dict[str, str], name: str) -> str | None:
    value = attrib.get(_SS + name)
    return attrib.get(name) if value is None else value


class _Reader:
    """The expat target: start/end/data in document order, no element tree; limits checked as cells arrive."""

    def __init__(self, *, file: str, limits: Limits) -> None:
        self.file = file
        self.limits = limits
        self.done: list[_Sheet] = []
        self.ws: _Sheet | None = None
        self.count = 0
        self.row = -1
        self.col = -1
        self.cell: tuple[int, int] | None = None
        self.text: list[str] | None = None  # text of the open <Data>, with any rich-text markup inside it
        self.data_type = ""
        self.visible: list[str] | None = None
        self.span = 0

    def take(self) -> list[_Sheet]:
        done, self.done = self.done, []
        return done

    def _count(self, attrib: dict[str, str], name: str, where: str) -> int:
        """A non-negative integer attribute (0 when absent); anything else makes the file unreadable."""
        raw = _attr(attrib, name)
        if raw is None:
            return 0
        text = raw.strip()
        if not text:
            return 0
        if not text.isdigit() or len(text) > 12:
            what = f"{where}: ss:{name}={raw[:40]!r} is not a count"
            raise UnreadableFileError("unreadable", file=self.file, what=what, ext="")
        return int(text)

    def _row_limit(self, ws: _Sheet) -> None:
        if self.row + 1 > self.limits.max_rows:
            raise self.limits.exceeded(
                "max_rows",
                file=self.file,
                what=f"{self.file} [{ws.name}] has row {self.row + 1}",
            )

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.text is not None:
            return  # rich-text markup inside <Data>: its text is collected by data()
        name = _local(tag)
        ws = self.ws
        if name == "Worksheet":
            self.count += 1
            self.ws = _Sheet(name=_attr(attrib, "Name") or f"Sheet{self.count}")
            self.row = -1
        elif ws is None:
            return
        elif name == "Cell" and self.row >= 0:
            where = f"{self.file} [{ws.name}] row {self.row + 1}"
            index = self._count(attrib, "Index", where) if attrib else 0
            col = index - 1 if index else self.col + 1
            across = self._count(attrib, "MergeAcross", where) if attrib else 0
            down = self._count(attrib, "MergeDown", where) if attrib else 0
            if col + across + 1 > self.limits.max_columns:
                raise self.limits.exceeded(
                    "max_columns",
                    file=self.file,
                    what=f"{where} reaches column {col + across + 1}",
                )
            if across or down:
                ws.merged.append((self.row, self.row + min(down, self.limits.max_rows), col, col + across))
            self.cell = (self.row, col)
            self.col = col + across
        elif name == "Data" and self.cell is not None:
            self.text = []
            self.data_type = (_attr(attrib, "Type") or "").strip()
        elif name == "Row":
            index = self._count(attrib, "Index", f"{self.file} [{ws.name}] row after {self.row + 1}") if attrib else 0
            self.row = index - 1 if index else self.row + 1
            self._row_limit(ws)
            ws.nrows = max(ws.nrows, self.row + 1)
            if attrib and (_attr(attrib, "Hidden") or "").strip() in ("1", "true"):
                ws.hidden_rows.append(self.row + 1)
            self.col = -1
            self.span = self._count(attrib, "Span", f"{self.file} [{ws.name}] row {self.row + 1}") if attrib else 0
        elif name == "Table":
            self.row = -1
        elif name == "Visible":
            self.visible = []

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)
        elif self.visible is not None:
            self.visible.append(text)

    def end(self, tag: str) -> None:
        name = _local(tag)
        ws = self.ws
        if self.text is not None:
            if name != "Data" or ws is None or self.cell is None:
                return
            text = "".join(self.text)
            self.text = None
            r, c = self.cell
            if len(text) > self.limits.max_cell_chars:
                raise self.limits.exceeded(
                    "max_cell_chars",
                    file=self.file,
                    what=f"{self.file} [{ws.name}]: row {r + 1}, column {column_letter(c)} has {len(text)} characters",
                )
            ws.rows.append(r)
            ws.cols.append(c)
            ws.types.append(self.data_type)
            ws.texts.append(text)
            ws.ncols = max(ws.ncols, c + 1)
        elif ws is None:
            return
        elif name == "Cell":
            self.cell = None
        elif name == "Row":
            if self.span:  # ss:Span="n": n more rows like this one
                self.row += self.span
                ws.nrows = max(ws.nrows, self.row + 1)
                self._row_limit(ws)
        elif name == "Visible" and self.visible is not None:
            ws.visible = "".join(self.visible).strip()
            self.visible = None
        elif name == "Worksheet":
            self.done.append(ws)
            self.ws = None

    def close(self) -> None:
        return


def _grid(ws: _Sheet, *, file: str, limits: Limits, sha256: str, notes: list[str]) -> Grid:
    where = f"{file} [{ws.name}]"
    nrows, ncols = ws.nrows, ws.ncols
    check_extent(nrows, ncols, file=file, where=where, limits=limits)
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
    rows = np.arange(1, nrows + 1, dtype=np.int64)
    cells = scatter_cells(r, c, text, nrows, ncols)
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
