"""HTML tables saved under an Excel name (what many Chinese finance and tax systems export as ".xls").

Parser: lxml's HTML parser (libxml2) driven through a SAX-like *target*, fed the text in 1 MiB pieces, so no
tree is built and every limit is checked while the page streams through. Chosen over the standard library's
``html.parser`` because that one is pure Python and, on the Python versions we support, quadratic on some
inputs (measured on 3.11.7: 500,000 repetitions of ``</`` take 161 s, a 12 MB table 6 s; lxml: 0.0 s and
2.3 s); html5lib/BeautifulSoup are pure Python and slower still. lxml never touches the network
(``no_network``), resolves no external entities, drops comments and processing instructions, and runs no
script (``<script>``/``<style>`` text is ignored).

Text: a byte-order mark decides; then the charset the page declares (``<meta charset>`` or
``http-equiv="Content-Type"``; GBK/GB2312 are read as GB18030, their superset) when the bytes are valid in it;
otherwise the same detection as delimited text: strict UTF-8, then strict GB18030. ``encoding=`` overrides.

Rows as Excel shows the page when it opens it (checked against LibreOffice 7.4's HTML import, which Excel
agrees with on these points): each line of text outside a table (a ``<p>``, heading, ``<div>``, list item or
caption, split further at ``<br>``) takes one row above, between or below the tables, its text in column A;
an empty block takes no row, a ``<br>`` always ends a line. Each ``<tr>`` is one row; several tables stack on
the one sheet, one below the other, with no blank row between them unless the page has one. ``rowspan`` and
``colspan`` work as in a browser and in Excel: the value sits in the top-left cell, the range is recorded in
``Grid.merged`` and later cells of a row move right past cells still covered from above. Where we differ from
LibreOffice (a caption gets its own row instead of being joined to the first cell; ``<div>``s are separate
lines) we follow Excel. Cell text has its runs of spaces and line breaks collapsed as a browser shows them;
``<br>`` and paragraphs inside a cell become line breaks. A ``<tr style="display:none">`` is a hidden row (Excel
hides it; it is read like any other and listed in ``hidden_rows``). A table inside a cell is read as that cell's text.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import numpy as np
from lxml import etree

from fundaudit.errors import UnreadableFileError, note
from fundaudit.io.delimited import GB_ALIASES, decode_text, is_utf8
from fundaudit.io.grid import (
    Grid,
    Limits,
    check_extent,
    clip_merged,
    column_letter,
    scatter_cells,
    strip_nuls_and_check,
)

__all__ = ["read_html"]

_FEED = 1 << 20
_HEAD = 64 * 1024
_CHARSET = re.compile(rb"<meta\b[^>]{0,1024}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
_TR = re.compile(rb"<tr[\s>/]", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\n\r\f]+")  # HTML's white space; a line break from <br> is added as "\n" afterwards
_AROUND_BREAK = re.compile(r" *\n *")
_RUNS = re.compile(r"  +")
_HIDDEN = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_STRIP = " \t\n\r\f\xa0"
_BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "pre", "blockquote",
     "center", "address", "form", "fieldset", "hr", "caption", "section", "article", "header", "footer",
     "nav", "aside", "main", "figure", "figcaption", "table", "tbody", "thead", "tfoot"}
)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_IGNORED = frozenset({"head", "title", "script", "style", "template", "noscript", "xml", "object", "select"})


def read_html(
    data: bytes,
    *,
    file: str,
    ext: str,
    encoding: str | None,
    limits: Limits,
    sha256: str,
    notes: list[str],
) -> Grid:
    """Read an HTML page's tables (and the text lines around them) into one :class:`Grid` (``sheet`` None)."""
    notes = list(notes)
    shown_ext = ext or "(none)"
    declared = _declared_charset(data[:_HEAD]) if encoding is None else None
    used, u8 = _decode(data, declared, file=file, ext=shown_ext, notes=notes, given=encoding)
    trs = sum(1 for _ in _TR.finditer(u8))
    if trs > limits.max_rows:
        raise limits.exceeded("max_rows", file=file, what=f"{file} has {trs} <tr> tags")
    sheet = _Sheet(file=file, limits=limits)
    parser = etree.HTMLParser(
        target=sheet,
        encoding="utf-8",
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        recover=True,
        huge_tree=False,
    )
    for start in range(0, len(u8), _FEED):
        parser.feed(u8[start : start + _FEED])
    parser.close()
    sheet.finish()
    return sheet.grid(sha256=sha256, encoding=used, notes=notes)


def _declared_charset(head: bytes) -> str | None:
    m = _CHARSET.search(head)
    if m is None:
        return None
    name = m.group(1).decode("ascii").strip("'\"")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decode(
    data: bytes, declared: str | None, *, file: str, ext: str, notes: list[str], given: str | None
) -> tuple[str, bytes]:
    """``(encoding used, UTF-8 bytes)``: BOM, then the declared charset if the bytes fit it, then detection.

    A page declaring a GB charset whose bytes are valid UTF-8 with non-ASCII text is UTF-8 (systems often
    keep an old ``charset=gb2312`` line; real GBK text is almost never valid UTF-8, while UTF-8 text often
    decodes as GB18030 into nonsense without an error).
    """
    if given is None and declared is not None and not data.startswith(_BOMS):
        gb = declared.replace("-", "_") in GB_ALIASES
        name = "gb18030" if gb else declared
        if gb and not data.isascii() and is_utf8(data):
            notes.append(note("html_charset_utf8", declared=declared.upper()))
            return "utf-8", data
        try:
            text = data.decode(name)
        except (UnicodeDecodeError, LookupError):
            notes.append(note("html_charset_ignored", declared=declared.upper()))
        else:
            notes.append(note("html_charset", encoding=name.upper(), declared=declared.upper()))
            return name, text.encode("utf-8")
    bad_lines: dict[int, bytes] = {}
    encoding, u8 = decode_text(data, file=file, ext=ext, encoding=given, notes=notes, bad_lines=bad_lines)
    if bad_lines:  # a page's lines are not its rows: a line no encoding reads cannot be rejected as one row
        raise UnreadableFileError("bad_encoding", file=file, ext=ext, encoding="UTF-8 / GB18030", line=min(bad_lines))
    return encoding, u8


class _Sheet:
    """The lxml parser target: receives start/end/data in document order and lays out rows as Excel does."""

    def __init__(self, *, file: str, limits: Limits) -> None:
        self.file = file
        self.limits = limits
        self.row_of: list[int] = []  # sparse cells: row position, column position, text
        self.col_of: list[int] = []
        self.text_of: list[str] = []
        self.merged: list[tuple[int, int, int, int]] = []
        self.hidden_rows: list[int] = []  # rows Excel hides: <tr style="display:none">
        self.nrows = 0
        self.ncols = 0
        self.tables = 0
        self.table_starts: list[int] = []
        self.ignored = 0  # depth inside <head>, <script>, <style>…
        self.depth = 0  # depth of nested tables
        self.line: list[str] = []  # the current line of text outside tables
        self.line_has_content = False
        self.line_chars = 0
        self.lines_pending: list[str] = []  # lines of the current block ended by <br>
        self.cell: list[str] | None = None  # pieces of the open cell's text
        self.cell_at: tuple[int, int, int, int] | None = None  # row, column, rowspan, colspan
        self.cell_chars = 0
        self.row_open = False
        self.col = 0
        self.covered: dict[int, int] = {}  # column -> last row position still covered by a rowspan
        self.table_last_row = -1
        self.pending_spans: list[tuple[int, int, int, int]] = []  # of the current table, clipped at its end

    # --- lxml target protocol ----------------------------------------------------------------------------

    def start(self, tag: Any, attrib: Any) -> None:
        name = tag.lower() if isinstance(tag, str) else ""
        if self.ignored or name in _IGNORED:
            self.ignored += name in _IGNORED
            return
        if self.depth > 1:  # a table inside a cell: its text joins the cell's
            if name == "table":
                self.depth += 1
            elif name in ("tr", "br", "p", "div", "li") and self.cell is not None:
                self._cell_text("", brk=True)
            return
        if name == "table":
            if self.depth == 1 and self.cell is not None:
                self.depth += 1
                self._cell_text("", brk=True)
                return
            self._begin_table()
            return
        if self.depth == 0 and name in ("tr", "td", "th"):  # a row or cell without <table>: a table begins
            self._begin_table()
        if self.depth == 1:
            if name == "tr":
                self._end_row()
                self._start_row()
                if attrib and _HIDDEN.search(attrib.get("style") or ""):
                    self.hidden_rows.append(self.nrows)
            elif name in ("td", "th"):
                if not self.row_open:
                    self._start_row()
                self._end_cell()
                self._start_cell(attrib)
            elif self.cell is not None and (name == "br" or (name in _BLOCKS and self.cell and self.cell[-1] != "\n")):
                self._cell_text("", brk=True)
            elif name == "caption":
                self.depth = -1  # caption text is a line of its own above the table
            return
        if name == "br":
            self.lines_pending.append(self._line_text())
            self.line, self.line_has_content, self.line_chars = [], True, 0
        elif name in _BLOCKS:
            self._end_line(block=True)

    def end(self, tag: Any) -> None:
        name = tag.lower() if isinstance(tag, str) else ""
        if self.ignored:
            self.ignored -= name in _IGNORED
            return
        if self.depth == -1:
            if name == "caption":
                self._end_line(block=True)
                self.depth = 1
            return
        if self.depth > 1:
            if name == "table":
                self.depth -= 1
            return
        if self.depth == 1:
            if name in ("td", "th"):
                self._end_cell()
            elif name == "tr":
                self._end_row()
            elif name == "table":
                self._end_row()
                self._end_table()
            return
        if name in _BLOCKS:
            self._end_line(block=True)

    def data(self, text: str) -> None:
        if self.ignored:
            return
        if self.depth >= 1:
            if self.cell is not None:
                self._cell_text(text)
            return
        self.line.append(_SPACES.sub(" ", text))  # outside tables, or a caption (depth -1)
        self.line_chars += len(text)
        if text.strip(" \t\n\r\f"):
            self.line_has_content = True
        self._check_chars(self.line_chars, self.nrows, 0)

    def comment(self, text: str) -> None:  # pragma: no cover - comments are removed by the parser
        return

    def close(self) -> None:
        return

    # --- rows ------------------------------------------------------------------------------------------------

    def finish(self) -> None:
        if self.depth:
            self._end_row()
            self._end_table()
        self._end_line(block=True)

    def _line_text(self) -> str:
        return _clean("".join(self.line))

    def _end_line(self, *, block: bool) -> None:
        """End the current block of text: each of its lines (split at ``<br>``) becomes a row."""
        if self.line_has_content or self.lines_pending:
            lines = [*self.lines_pending, self._line_text()] if block else self.lines_pending
            for text in lines:
                self._new_row()
                if text:
                    self._put(self.nrows - 1, 0, text)
        self.line, self.line_has_content, self.lines_pending, self.line_chars = [], False, [], 0

    def _begin_table(self) -> None:
        self._end_line(block=True)
        self.depth = 1
        self.tables += 1
        self.table_starts.append(self.nrows)
        self.covered = {}
        self.table_last_row = self.nrows - 1

    def _new_row(self) -> int:
        self.nrows += 1
        if self.nrows > self.limits.max_rows:
            raise self.limits.exceeded("max_rows", file=self.file, what=f"{self.file} has more rows")
        return self.nrows - 1

    def _start_row(self) -> None:
        self.row_open = True
        self.col = 0
        self._new_row()
        self.table_last_row = self.nrows - 1

    def _end_row(self) -> None:
        self._end_cell()
        self.row_open = False

    def _end_table(self) -> None:
        last = self.table_last_row
        for r0, r1, c0, c1 in self.pending_spans:  # a rowspan ends with its table, as in a browser
            self.merged.append((r0, min(r1, last), c0, c1))
        self.pending_spans = []
        self.covered = {}
        self.depth = 0

    def _start_cell(self, attrib: Any) -> None:
        row = self.nrows - 1
        while self.covered.get(self.col, -1) >= row:
            self.col += 1
        rowspan = colspan = 1
        if attrib:  # most cells have no attributes: skip the (slow) attribute mapping
            rowspan, colspan = _span(attrib.get("rowspan")), _span(attrib.get("colspan"))
        col = self.col
        if col + colspan > self.limits.max_columns:
            raise self.limits.exceeded(
                "max_columns",
                file=self.file,
                what=f"{self.file}: row {row + 1} reaches column {col + colspan}",
            )
        if rowspan > 1 or colspan > 1:
            last_row = row + min(rowspan, self.limits.max_rows) - 1
            self.pending_spans.append((row, last_row, col, col + colspan - 1))
            if rowspan > 1:
                for c in range(col, col + colspan):
                    self.covered[c] = last_row
        self.col = col + colspan
        self.cell, self.cell_at, self.cell_chars = [], (row, col, rowspan, colspan), 0

    def _cell_text(self, text: str, *, brk: bool = False) -> None:
        assert self.cell is not None and self.cell_at is not None
        self.cell.append("\n" if brk else _SPACES.sub(" ", text))
        self.cell_chars += len(text)
        if self.cell_chars > self.limits.max_cell_chars:
            self._check_chars(self.cell_chars, self.cell_at[0], self.cell_at[1])

    def _check_chars(self, chars: int, row: int, col: int) -> None:
        if chars > 4 * self.limits.max_cell_chars + 1024:  # collapsing spaces may shorten it; refuse long before
            raise self.limits.exceeded(
                "max_cell_chars",
                file=self.file,
                what=f"{self.file}: row {row + 1}, column {column_letter(col)} has {chars} characters",
            )

    def _end_cell(self) -> None:
        if self.cell is None or self.cell_at is None:
            return
        cell = self.cell
        text = _clean(cell[0] if len(cell) == 1 else "".join(cell))
        if text:
            self._put(self.cell_at[0], self.cell_at[1], text)
        self.cell, self.cell_at = None, None

    def _put(self, row: int, col: int, text: str) -> None:
        self.row_of.append(row)
        self.col_of.append(col)
        self.text_of.append(text)
        self.ncols = max(self.ncols, col + 1)

    # --- the grid --------------------------------------------------------------------------------------------

    def grid(self, *, sha256: str, encoding: str, notes: list[str]) -> Grid:
        nrows, ncols = self.nrows, self.ncols
        check_extent(nrows, ncols, file=self.file, where=self.file, limits=self.limits)
        rows_at = np.asarray(self.row_of, dtype=np.int64)
        cols_at = np.asarray(self.col_of, dtype=np.int64)
        texts = np.asarray(self.text_of, dtype=object)
        rows = np.arange(1, nrows + 1, dtype=np.int64)
        cells = scatter_cells(rows_at, cols_at, texts, nrows, ncols)
        cells = strip_nuls_and_check(cells, rows, file=self.file, where=self.file, limits=self.limits, notes=notes)
        if self.hidden_rows:
            notes.append(note("hidden_rows", sheet=self.file, count=len(self.hidden_rows)))
        if self.tables == 0:
            notes.append(note("html_no_table"))
        elif self.tables > 1:
            starts = ", ".join(str(r + 1) for r in self.table_starts[:20])
            notes.append(note("html_tables_stacked", count=self.tables, rows=starts))
        return Grid(
            file=self.file,
            sheet=None,
            cells=cells,
            rows=rows,
            format="html",
            sha256=sha256,
            encoding=encoding,
            merged=clip_merged(self.merged, nrows, ncols),
            hidden_rows=self.hidden_rows,
            notes=notes,
        )


def _span(value: str | None) -> int:
    """A rowspan/colspan attribute as a browser reads it: leading digits, at least 1."""
    if not value:
        return 1
    m = re.match(r"\s*(\d{1,9})", value)
    return max(int(m.group(1)), 1) if m else 1


def _clean(text: str) -> str:
    """Collapsed text as a browser shows it: one space per run, none around line breaks, none at the ends."""
    if not text:
        return ""
    if "\n" not in text and "  " not in text:
        return text.strip(_STRIP)
    return _AROUND_BREAK.sub("\n", _RUNS.sub(" ", text)).strip(_STRIP)
