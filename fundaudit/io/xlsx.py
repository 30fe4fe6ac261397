"""``.xlsx``/``.xlsm`` workbooks: a pre-parse gate on the zip, python-calamine as the reader, openpyxl as
fallback.

Order of work, so nothing expensive happens to a hostile file:

1. **Gate** (central directory only, then the first 64 KiB of each XML part): member count, total uncompressed
   size, per-member compression ratio, DTD/entity declarations (``xml_entities``), Strict OOXML namespace,
   external links / data connections / VBA (noted, never followed or run).
2. **Scan** of the shared strings (the byte size of each) and of each worksheet part, streamed in 1 MiB pieces
   with regular expressions: the largest row and column any cell or row actually names (``<dimension>`` can
   lie) and the shared-string text the cells expand to, checked against ``max_rows``, ``max_columns``,
   ``max_cells`` and ``max_shared_text_bytes`` *before* a reader allocates the used range; hidden rows, Excel
   error cells (calamine returns ``''`` for them; we restore ``#DIV/0!`` etc. from ``<v>``), formulas without
   a stored result and merged ranges. Every pattern stays inside the tag (or the cell) it starts in: no
   repetition crosses a ``<`` it does not name, none backtracks (atomic groups, possessive repeats), and the
   carried buffer between pieces is bounded, so the scan is linear in the part's size.
3. **Read** with calamine (``to_python(skip_empty_area=False)``, so index + 1 is the Excel row and column
   position is the Excel column); if calamine fails, openpyxl (``read_only=True, data_only=True``) with a
   note.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
from defusedxml import ElementTree
from python_calamine import CalamineWorkbook

from fundaudit.errors import FundauditError, InputError, UnreadableFileError, note
from fundaudit.io._text import values_text
from fundaudit.io.grid import (
    Grid,
    Limits,
    check_cells_together,
    clip_merged,
    column_letter,
    make_cells,
    strip_nuls_and_check,
    warnings_as_notes,
)

__all__ = ["read_xlsx"]

_HEAD = 64 * 1024
_CHUNK = 1 << 20
_MAX_LISTED = 10
_MIB = 1 << 20

_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_STRICT_NS = b"http://purl.oclc.org/ooxml/"
_P = rb"(?:[A-Za-z_][\w.-]{0,31}+:)?"  # optional namespace prefix
_Q = rb"[\"']"  # an attribute value is quoted with " or '
_EQ = rb"\s*+=\s*+"
_ROW_HIDDEN = re.compile(rb"<" + _P + rb"row\b(?>[^<>]*?\shidden" + _EQ + _Q + rb"(?:1|true)" + _Q + rb")[^<>]*+>")
_R_ATTR = re.compile(rb"\sr" + _EQ + _Q + rb"(\d++)")
_CELL_REF = re.compile(rb"\sr" + _EQ + _Q + rb"\$?([A-Za-z]++)\$?(\d++)" + _Q)
# an error cell's start tag, then its content up to the next cell boundary (never past another <c or </c)
_ERROR_CELL = re.compile(
    rb"<" + _P + rb"c\b((?>[^<>]*?\st" + _EQ + _Q + rb"e" + _Q + rb")[^<>]*+)>"
    rb"((?:[^<]++|<(?!/?" + _P + rb"c[\s/>]))*+)"
)
_V_TEXT = re.compile(rb"<" + _P + rb"v\b[^<>]*+>([^<]*+)</" + _P + rb"v>")
_F_ELEMENT = rb"<" + _P + rb"f\b[^<>]*?(?:/>|>[^<]*+</" + _P + rb"f>)"
_NO_VALUE = re.compile(
    rb"<" + _P + rb"c\b([^<>]*+)(?<!/)>\s*+" + _F_ELEMENT + rb"\s*+(?:<" + _P + rb"v\s*+/>\s*+)?</" + _P + rb"c>"
)
_MERGE = re.compile(
    rb"<" + _P + rb"mergeCell\b(?>[^<>]*?\sref" + _EQ + _Q + rb")"
    rb"\$?([A-Za-z]++)\$?(\d++)(?::\$?([A-Za-z]++)\$?(\d++))?"
)
_HAS_VALUE = re.compile(rb"<" + _P + rb"(?:v|t)[\s>]")
# the extent: every r attribute (only <row> and <c> carry one; r:id has no '=' after the r) ...
_REF_ROW = re.compile(rb"\sr" + _EQ + _Q + rb"\$?[A-Za-z]*+\$?(\d++)")
_REF_COL = re.compile(rb"\sr" + _EQ + _Q + rb"\$?([A-Za-z]++)")
# ... and rows and cells without one (each sits one past the previous)
_ROW_NO_R = re.compile(rb"<" + _P + rb"row\b(?![^<>]*?\sr" + _EQ + rb")")
_CELL_NO_R = re.compile(rb"<" + _P + rb"c\b(?![^<>]*?\sr" + _EQ + rb")")
_ROW_START = re.compile(rb"<" + _P + rb"row\b")
# a shared-string cell and the index it refers to (a formula before <v> is allowed, as readers allow it)
_SHARED_CELL = re.compile(
    rb"<" + _P + rb"c\b(?>[^<>]*?\st" + _EQ + _Q + rb"s" + _Q + rb")[^<>]*+(?<!/)>\s*+(?:" + _F_ELEMENT + rb"\s*+)?"
    rb"<" + _P + rb"v\b[^<>]*+>\s*+(\d{1,10}+)(?!\d)"
)
_SHARED_ITEM = re.compile(rb"<" + _P + rb"si\b")
# a cell, then a row, that is only formatting (no value, its own r): no reader places a value there, so with every
# position given by r it does not widen the used range (Excel and openpyxl write them for a style or a row height
# down to row 1,048,576); where some cell or row omits r, they still count (positions follow from them)
_ATTRS = rb"(?:[^<>/]|/(?!>))*+"
_EMPTY_CELL = re.compile(rb"<" + _P + rb"c\b(?=[^<>]*?\sr" + _EQ + rb")" + _ATTRS + rb"(?:/>|>\s*+</" + _P + rb"c>)")
_EMPTY_ROW = re.compile(rb"<" + _P + rb"row\b(?=[^<>]*?\sr" + _EQ + rb")" + _ATTRS + rb"(?:/>|>\s*+</" + _P + rb"row>)")
# the item count the table declares: calamine reserves room for that many strings before reading one
_SHARED_DECLARED = re.compile(rb"<" + _P + rb"sst\b[^<>]*?\suniqueCount" + _EQ + _Q + rb"(\d++)")
# the fast path, for the way every known writer spells cells and rows: <c r="B7" …> and <row r="7" …> (r first,
# no prefix). '<' never occurs in text, so counting these tags is exact; any other spelling in a piece sends it to
# the general patterns above.
_PLAIN_COL = re.compile(rb'<c r="([A-Za-z]++)\d')
_PLAIN_CELL_ROW = re.compile(rb'<c r="[A-Za-z]++(\d++)"')
_PLAIN_ROW = re.compile(rb'<row r="(\d++)"')
# where a piece of a sheet may end: before a cell, a row or a merged range starts, or a row ends
_BOUNDARY = re.compile(rb"<" + _P + rb"(?:(?:c|row|mergeCell)\b|/" + _P + rb"(?:row|sheetData)>)")
_WINDOW = 64 * 1024  # how far back a piece looks for a boundary before cutting at the last '<'
_MAX_ELEMENT = 16 * _CHUNK  # XML without a single '<' for this long is refused (no cell is near this size)
_HUGE = 10**10  # a row or column number with more digits than this is "too far", whatever it says


_Sheetdata = tuple[list[Any], int]  # text columns (arrow or numpy) and the row count


@dataclass
class _Sheet:
    name: str
    part: str | None  # zip member name of the worksheet XML, as stored
    state: str  # visible | hidden | veryHidden
    kind: str  # worksheet | chartsheet | dialogsheet | macrosheet


@dataclass
class _Workbook:
    sheets: list[_Sheet]
    datemode: int
    strict: bool
    notes: list[str]
    shared: str | None = None  # zip member name of the shared strings part


@dataclass
class _Scan:
    hidden_rows: list[int] = field(default_factory=list)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    no_value: list[tuple[int, int]] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    has_values: bool = False
    unlocated: int = 0
    max_row: int = 0  # the largest row number a <row r> or <c r> names (1-based)
    max_col: int = 0  # the largest column number a <c r> names (1-based)
    rows_without_r: int = 0
    run_without_r: int = 0  # cells without r in the row being read
    widest_without_r: int = 0  # most cells without r in one row
    skip_formatting: bool = False  # leave cells and rows that are only formatting out of max_row/max_col
    empty_max_row: int = 0  # with skip_formatting: the largest row and column of those left out
    empty_max_col: int = 0
    shared_bytes: int = 0  # bytes of shared-string text the cells expand to

    def extent(self) -> tuple[int, int]:
        """Rows and columns of the used range, at most: no reader can place a cell beyond them. Cells and rows
        that are only formatting count only where some cell or row omits ``r`` (its position follows from them)."""
        without_r = max(self.widest_without_r, self.run_without_r)
        if self.rows_without_r or without_r:
            return (max(self.max_row, self.empty_max_row) + self.rows_without_r,
                    max(self.max_col, self.empty_max_col) + without_r)
        return self.max_row, self.max_col


def read_xlsx(
    path: Path, *, file: str, ext: str, sheet: str | None, limits: Limits, sha256: str, notes: list[str]
) -> list[Grid]:
    """Read every worksheet of an ``.xlsx``/``.xlsm`` (or the one named ``sheet``) into text grids."""
    shown_ext = ext or "(none)"
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UnreadableFileError(
            "truncated",
            file=file,
            ext=shown_ext,
            what="zip central directory missing; the file was probably cut short",
        ) from exc
    with zf:
        book = _gate(zf, file=file, ext=shown_ext, limits=limits)
        worksheets = [s for s in book.sheets if s.kind == "worksheet"]
        skipped = [s for s in book.sheets if s.kind != "worksheet"]
        if not worksheets:
            raise UnreadableFileError("no_sheets", file=file)
        if sheet is not None and sheet not in [s.name for s in worksheets]:
            raise InputError("sheet_not_found", file=file, sheet=sheet, sheets="、".join(s.name for s in worksheets))
        selected = [s for s in worksheets if sheet is None or s.name == sheet]
        sizes = _shared_sizes(zf, book.shared, file=file, ext=shown_ext, limits=limits)
        scans = {s.name: _scan(zf, s, sizes, file=file, ext=shown_ext, limits=limits) for s in selected}
        used = sum(rows * cols for rows, cols in (scan.extent() for scan in scans.values()))
        if used > limits.max_cells:  # as in _scan: leave formatting-only cells out before refusing
            scans = {s.name: scans[s.name] if scans[s.name].skip_formatting else _scan_part(
                zf, s, sizes, file=file, ext=shown_ext, limits=limits, skip_formatting=True) for s in selected}
            used = sum(rows * cols for rows, cols in (scan.extent() for scan in scans.values()))
        check_cells_together(used, len(scans), file=file, limits=limits)
        expanded = sum(scan.shared_bytes for scan in scans.values())
        if expanded > limits.max_shared_text_bytes:
            raise limits.exceeded(
                "max_shared_text_bytes",
                file=file,
                what=f"its cells repeat shared strings into {_amount(expanded)} of text",
            )
    file_notes = [*notes, *book.notes]
    for s in skipped:
        file_notes.append(note("sheet_skipped_no_cells", sheet=s.name, kind=s.kind))
    raw = _read_calamine(path, selected, scans, book, file=file, ext=shown_ext, limits=limits, notes=file_notes)
    grids = []
    for s in selected:
        data = raw[s.name]
        grids.append(
            _grid(s, data, scans[s.name], book, file=file, limits=limits, sha256=sha256, notes=list(file_notes))
        )
    return grids


# --- 1. the gate -------------------------------------------------------------------------------------------


def _gate(zf: zipfile.ZipFile, *, file: str, ext: str, limits: Limits) -> _Workbook:
    infos = zf.infolist()
    if len(infos) > limits.max_zip_members:
        raise limits.exceeded(
            "max_zip_members", file=file, what=f"the workbook's zip container holds {len(infos):,} parts"
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        raise limits.exceeded(
            "max_uncompressed_bytes", file=file, what=f"the workbook expands to {total / _MIB:.0f} MiB when unzipped"
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_compression_ratio:
            raise limits.exceeded(
                "max_compression_ratio",
                file=file,
                what=(
                    f"part {info.filename} expands {ratio:.0f}:1 "
                    f"({info.compress_size / 1024:.0f} KiB → {info.file_size / _MIB:.0f} MiB), "
                    "a zip bomb pattern"
                ),
            )
        if info.flag_bits & 0x1:
            raise UnreadableFileError("encrypted", file=file, ext=ext)
    by_lower = {i.filename.replace("\\", "/").lower(): i.filename for i in infos}
    notes: list[str] = []
    if any(n.startswith("xl/externallinks/") for n in by_lower):
        notes.append(note("external_links"))
    if "xl/connections.xml" in by_lower:
        notes.append(note("external_connections"))
    if any(n.endswith("vbaproject.bin") for n in by_lower):
        notes.append(note("vba_macros"))
    strict = False
    for info in infos:
        if not info.filename.lower().endswith((".xml", ".rels", ".vml")) or info.is_dir():
            continue
        head = _read_head(zf, info, file=file, ext=ext)
        if _DTD.search(head) or _DTD.search(_utf16_ascii(head)):
            raise UnreadableFileError("xml_entities", file=file, what=info.filename, ext=ext)
        if _STRICT_NS in head:
            strict = True
    if strict:
        notes.append(note("strict_ooxml"))
    wb_part = _workbook_part(zf, by_lower)
    if wb_part is None:
        raise UnreadableFileError(
            "unreadable", file=file, ext=ext, what="the zip holds no workbook part (xl/workbook.xml)"
        )
    sheets, datemode, shared = _workbook_sheets(zf, wb_part, by_lower, file=file, ext=ext)
    return _Workbook(sheets=sheets, datemode=datemode, strict=strict, notes=notes, shared=shared)


def _read_head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, file: str, ext: str) -> bytes:
    try:
        with zf.open(info) as fh:
            return fh.read(_HEAD)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise UnreadableFileError(
            "truncated", file=file, ext=ext, what=f"zip member {info.filename} is damaged ({exc})"
        ) from exc


def _utf16_ascii(head: bytes) -> bytes:
    """ASCII view of a UTF-16 XML part (``<!DOCTYPE`` hidden between NUL bytes), else ``b''``."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[1:2] == b"\x00" or head[:1] == b"\x00":
        return head.replace(b"\x00", b"")
    return b""


def _workbook_part(zf: zipfile.ZipFile, by_lower: dict[str, str]) -> str | None:
    rels = by_lower.get("_rels/.rels")
    if rels is not None:
        for rel_type, target in _relationships(zf.read(rels)).values():
            if rel_type.endswith("/officeDocument"):
                name = target.lstrip("/").lower()
                if name in by_lower:
                    return by_lower[name]
    return by_lower.get("xl/workbook.xml")


def _relationships(xml: bytes) -> dict[str, tuple[str, str]]:
    """``{Id: (Type, Target)}`` from a ``.rels`` part (parsed with defusedxml: no DTDs, no entities)."""
    root = ElementTree.fromstring(xml, forbid_dtd=True)
    out = {}
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "Relationship":
            out[el.get("Id", "")] = (el.get("Type", ""), el.get("Target", ""))
    return out


def _workbook_sheets(
    zf: zipfile.ZipFile, wb_part: str, by_lower: dict[str, str], *, file: str, ext: str
) -> tuple[list[_Sheet], int, str | None]:
    try:
        root = ElementTree.fromstring(zf.read(wb_part), forbid_dtd=True)
        rels_name = posixpath.join(posixpath.dirname(wb_part), "_rels", posixpath.basename(wb_part) + ".rels")
        rels_key = rels_name.lower()
        rels = _relationships(zf.read(by_lower[rels_key])) if rels_key in by_lower else {}
    except Exception as exc:
        if isinstance(exc, FundauditError):
            raise
        if "entit" in str(exc).lower() or "dtd" in type(exc).__name__.lower():
            raise UnreadableFileError("xml_entities", file=file, what=wb_part, ext=ext) from exc
        raise UnreadableFileError(
            "unreadable", file=file, ext=ext, what=f"the workbook part {wb_part} is not valid XML ({exc})"
        ) from exc
    datemode = 0
    sheets = []
    base = posixpath.dirname(wb_part)
    for el in root.iter():
        local = el.tag.rsplit("}", 1)[-1]
        if local == "workbookPr" and el.get("date1904", "0").lower() in ("1", "true"):
            datemode = 1
        if local != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if k.rsplit("}", 1)[-1] == "id" and k.startswith("{")), None)
        rel_type, target = rels.get(rid or "", ("", ""))
        kind = rel_type.rsplit("/", 1)[-1] if rel_type else "worksheet"
        part = None
        if target:
            joined = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            part = by_lower.get(joined.lower())
        sheets.append(_Sheet(name=el.get("name", ""), part=part, state=el.get("state", "visible"), kind=kind))
    shared = by_lower.get("xl/sharedstrings.xml")
    for rel_type, target in rels.values():
        if rel_type.endswith("/sharedStrings") and target:
            joined = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            shared = by_lower.get(joined.lower(), shared)
    return sheets, datemode, shared


# --- 2. the scan -------------------------------------------------------------------------------------------


def _shared_sizes(zf: zipfile.ZipFile, part: str | None, *, file: str, ext: str, limits: Limits) -> np.ndarray:
    """The byte size of each ``<si>`` of the shared strings part, in order: an upper bound of the UTF-8 text it
    holds (markup and escapes only shrink when parsed). Streamed; refused past ``max_cells`` items, found or
    declared (``uniqueCount``, which calamine reserves room for up front)."""
    if part is None:
        return np.zeros(0, dtype=np.int64)
    starts: list[np.ndarray] = []
    count = offset = 0
    tail = b""
    try:
        with zf.open(part) as fh:
            while chunk := fh.read(_CHUNK):
                declared = _SHARED_DECLARED.search(chunk[:4096]) if not offset else None
                if declared and int(declared.group(1)) > limits.max_cells:
                    what = f"its shared strings table declares {int(declared.group(1)):,} items"
                    raise limits.exceeded("max_cells", file=file, what=what)
                buf = tail + chunk
                base = offset - len(tail)
                # an item whose match ends inside the overlap was counted with the previous piece
                found = np.fromiter(
                    (m.start() + base for m in _SHARED_ITEM.finditer(buf) if m.end() > len(tail)), dtype=np.int64
                )
                count += len(found)
                if count > limits.max_cells:
                    what = f"its shared strings table holds more than {limits.max_cells:,} items"
                    raise limits.exceeded("max_cells", file=file, what=what)
                starts.append(found)
                offset += len(chunk)
                tail = buf[-64:]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        what = f"zip member {part} is damaged ({exc})"
        raise UnreadableFileError("truncated", file=file, ext=ext, what=what) from exc
    at = np.concatenate([*starts, np.array([offset], dtype=np.int64)])
    return np.diff(at)


def _scan(
    zf: zipfile.ZipFile, sheet: _Sheet, shared_sizes: np.ndarray, *, file: str, ext: str, limits: Limits
) -> _Scan:
    """What the reader will not tell us, and the sheet's true extent, checked against the limits before any
    reader allocates the used range."""
    scan = _scan_part(zf, sheet, shared_sizes, file=file, ext=ext, limits=limits, skip_formatting=False)
    if sheet.part is None:
        return scan
    where = f"{file} [{sheet.name}]"
    nrows, ncols = scan.extent()
    if _over(nrows, ncols, limits):  # formatting far below (a style on A1048576) may be all that is out there
        scan = _scan_part(zf, sheet, shared_sizes, file=file, ext=ext, limits=limits, skip_formatting=True)
        nrows, ncols = scan.extent()
    if nrows > limits.max_rows:
        raise limits.exceeded("max_rows", file=file, what=f"{where} has {nrows:,} rows")
    if ncols > limits.max_columns:
        raise limits.exceeded(
            "max_columns", file=file, what=f"{where} has cells out to column {_letters(ncols)} ({ncols:,} columns)"
        )
    if nrows * ncols > limits.max_cells:
        raise limits.exceeded(
            "max_cells",
            file=file,
            what=(
                f"{where} has cells down to row {nrows:,} and out to column {_letters(ncols)}: a used range of "
                f"{nrows:,} × {ncols:,} = {nrows * ncols:,} cells"
            ),
        )
    return scan


def _scan_part(
    zf: zipfile.ZipFile,
    sheet: _Sheet,
    shared_sizes: np.ndarray,
    *,
    file: str,
    ext: str,
    limits: Limits,
    skip_formatting: bool,
) -> _Scan:
    """One pass of the scan over the sheet's part. The quick pass counts every ``r``; only a sheet that pass
    puts over a limit is scanned again leaving formatting-only cells and rows out (what no reader allocates)."""
    scan = _Scan(skip_formatting=skip_formatting)
    if sheet.part is None:
        return scan
    where = f"{file} [{sheet.name}]"
    try:
        with zf.open(sheet.part) as fh:
            utf16 = bool(_utf16_ascii(fh.read(4)))
        with zf.open(sheet.part) as fh:
            stream: IO[bytes] | _Utf8 = _Utf8(fh) if utf16 else fh
            _scan_stream(stream, scan, shared_sizes, file=file, where=where, limits=limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise UnreadableFileError(
            "truncated", file=file, ext=ext, what=f"zip member {sheet.part} is damaged ({exc})"
        ) from exc
    return scan


def _over(nrows: int, ncols: int, limits: Limits) -> bool:
    return nrows > limits.max_rows or ncols > limits.max_columns or nrows * ncols > limits.max_cells


class _Utf8(io.RawIOBase):
    """A UTF-16 XML part read as UTF-8, so the scan's byte patterns see it (a reader may well parse it)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.text = io.TextIOWrapper(fh, encoding="utf-16", errors="replace")

    def read(self, size: int = -1) -> bytes:
        return self.text.read(size).encode("utf-8")


def _amount(n: int) -> str:
    return f"{n / _MIB:,.0f} MiB" if n >= _MIB else f"{n:,} bytes"


def _letters(ncols: int) -> str:
    return column_letter(ncols - 1) if ncols <= 18_278 else f"#{ncols:,}"  # XFD is 16,384; ZZZ is 18,278


def _scan_stream(
    fh: IO[bytes] | _Utf8, scan: _Scan, shared_sizes: np.ndarray, *, file: str, where: str, limits: Limits
) -> None:
    """Feed the part to :func:`_scan_segment` in pieces that end where a cell or row starts, so no cell is
    split; what is carried to the next piece is at most one cell (refused past ``_MAX_ELEMENT``)."""
    carry = b""
    while True:
        chunk = fh.read(_CHUNK)
        buf = carry + chunk if carry else chunk
        if not chunk:
            _scan_segment(buf, scan, shared_sizes)
            scan.widest_without_r = max(scan.widest_without_r, scan.run_without_r)
            return
        cut = _boundary(buf)
        if cut <= 0:
            if len(buf) > _MAX_ELEMENT:
                raise limits.exceeded(
                    "max_cell_chars",
                    file=file,
                    what=f"{where} holds {len(buf) / _MIB:.0f} MiB of XML in which no cell or row starts",
                )
            carry = buf
            continue
        _scan_segment(buf[:cut], scan, shared_sizes)
        carry = buf[cut:]


def _boundary(buf: bytes) -> int:
    """Offset of the last cell, row or merged-range start (or row end) in the last ``_WINDOW`` bytes of ``buf``;
    failing that, of its last ``<`` (so no tag is split); -1 when there is none."""
    lo = max(0, len(buf) - _WINDOW)
    pos = len(buf)
    while (pos := buf.rfind(b"<", lo, pos)) >= 0:
        if _BOUNDARY.match(buf, pos):
            return pos
    return buf.rfind(b"<")


def _scan_segment(seg: bytes, scan: _Scan, shared_sizes: np.ndarray) -> None:
    if not seg:
        return
    if not scan.has_values and _HAS_VALUE.search(seg):
        scan.has_values = True
    _scan_extent(seg, scan)
    if len(shared_sizes):
        found = _SHARED_CELL.findall(seg)
        if found:
            index = np.array(found).astype(np.int64)
            scan.shared_bytes += int(shared_sizes[index[index < len(shared_sizes)]].sum())
    if b"hidden" in seg:
        for m in _ROW_HIDDEN.finditer(seg):
            r = _R_ATTR.search(m.group(0))
            if r:
                scan.hidden_rows.append(_number(r.group(1)))
            else:
                scan.unlocated += 1
    if b'"e"' in seg or (b"'" in seg and b"'e'" in seg):
        for m in _ERROR_CELL.finditer(seg):
            attrs = m.group(1)
            if attrs.rstrip().endswith(b"/"):
                continue  # <c t="e"/>: no value to restore
            where = _cell_position(attrs)
            v = _V_TEXT.search(m.group(2))
            if where is None:
                scan.unlocated += 1
            elif v:
                scan.errors[where] = _xml_unescape(v.group(1).decode("utf-8", errors="replace"))
    if b"f>" in seg or b"f/>" in seg or b"f " in seg:
        for m in _NO_VALUE.finditer(seg):
            where = _cell_position(m.group(1))
            if where is not None:
                scan.no_value.append(where)
    if b"mergeCell" in seg:
        for m in _MERGE.finditer(seg):
            c0, r0 = _col_index(m.group(1)), _number(m.group(2)) - 1
            c1 = _col_index(m.group(3)) if m.group(3) else c0
            r1 = _number(m.group(4)) - 1 if m.group(4) else r0
            scan.merged.append((min(r0, r1), max(r0, r1), min(c0, c1), max(c0, c1)))


def _scan_extent(seg: bytes, scan: _Scan) -> None:
    """Grow the scan's extent by the rows and columns ``seg`` names (each distinct value converted once), and
    by the rows and cells without ``r``; with ``skip_formatting``, cells and rows that are only formatting do
    not count."""
    if scan.skip_formatting and (b"/>" in seg or b"></" in seg):
        empty: list[bytes] = []
        for pattern in (_EMPTY_CELL, _EMPTY_ROW):  # cells first: a row holding only such cells is then empty too
            if found := pattern.findall(seg):
                empty += found
                seg = pattern.sub(b"", seg)
        if empty:
            tags = b"".join(empty)
            if rows := _REF_ROW.findall(tags):
                scan.empty_max_row = max(scan.empty_max_row, *map(_number, set(rows)))
            if cols := _REF_COL.findall(tags):
                scan.empty_max_col = max(scan.empty_max_col, *(_col_index(c) + 1 for c in set(cols)))
    if b":c" not in seg and b":row" not in seg:
        cols, cell_rows, rows_ = _PLAIN_COL.findall(seg), _PLAIN_CELL_ROW.findall(seg), _PLAIN_ROW.findall(seg)
        n_cells = seg.count(b"<c")
        if len(cols) == len(cell_rows) == n_cells and len(rows_) == seg.count(b"<row"):
            if n_cells:
                scan.max_col = max(scan.max_col, *(_col_index(c) + 1 for c in set(cols)))
                scan.max_row = max(scan.max_row, *map(_number, set(cell_rows)))
            if rows_:
                scan.max_row = max(scan.max_row, *map(_number, set(rows_)))
                scan.widest_without_r = max(scan.widest_without_r, scan.run_without_r)
                scan.run_without_r = 0
            return
    rows = _REF_ROW.findall(seg)
    if rows:
        scan.max_row = max(scan.max_row, *map(_number, set(rows)))
    cols = _REF_COL.findall(seg)
    if cols:
        scan.max_col = max(scan.max_col, *(_col_index(c) + 1 for c in set(cols)))
    if b"<" not in seg:
        return
    scan.rows_without_r += len(_ROW_NO_R.findall(seg))
    if _CELL_NO_R.search(seg) is None:
        if _ROW_START.search(seg):
            scan.widest_without_r = max(scan.widest_without_r, scan.run_without_r)
            scan.run_without_r = 0
        return
    for i, part in enumerate(_ROW_START.split(seg)):  # only for sheets whose cells omit r: count them per row
        if i:
            scan.widest_without_r = max(scan.widest_without_r, scan.run_without_r)
            scan.run_without_r = 0
        scan.run_without_r += len(_CELL_NO_R.findall(part))


def _number(digits: bytes) -> int:
    """A row number from its digits; more than ten digits is simply "too far" (and never a slow conversion)."""
    return int(digits) if len(digits) <= 10 else _HUGE


def _cell_position(attrs: bytes) -> tuple[int, int] | None:
    m = _CELL_REF.search(attrs)
    if m is None:
        return None
    return _number(m.group(2)) - 1, _col_index(m.group(1))


def _col_index(letters: bytes) -> int:
    """0-based column of ``letters``; more than four letters is "too far" (ZZZZ is beyond every limit)."""
    if len(letters) > 4:
        return _HUGE
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n - 1


def _xml_unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )


# --- 3. reading ---------------------------------------------------------------------------------------------


class _Columns:
    """Rows of Python cell values → text columns (arrow), converted in blocks so that a big sheet never exists
    as millions of Python objects at once. Rows may be ragged; the width grows as needed."""

    _BLOCK = 65_536

    def __init__(self, *, file: str, sheet: str, limits: Limits) -> None:
        self.file, self.sheet, self.limits = file, sheet, limits
        self.block: list[Any] = []
        self.chunks: list[list[pa.Array]] = []
        self.nrows = 0

    def add(self, row: Any) -> None:
        self.block.append(row)
        if len(self.block) >= self._BLOCK:
            self.flush()

    def flush(self) -> None:
        if not self.block:
            return
        width = max(len(r) for r in self.block)
        _check_shape(self.nrows + len(self.block), width, file=self.file, sheet=self.sheet, limits=self.limits)
        while len(self.chunks) < width:  # a new column: empty in every earlier row
            self.chunks.append([_empty_text(self.nrows)] if self.nrows else [])
        rows = [r if len(r) == width else [*r, *([None] * (width - len(r)))] for r in self.block]
        for j, values in enumerate(zip(*rows, strict=True)):
            self.chunks[j].append(pa.array(values_text(values, excel=True), type=pa.large_string()))
        for j in range(width, len(self.chunks)):
            self.chunks[j].append(_empty_text(len(rows)))
        self.nrows += len(rows)
        self.block = []

    def result(self, *, top: int = 0, left: int = 0) -> tuple[list[pa.ChunkedArray], int]:
        """The columns, with ``top`` empty rows and ``left`` empty columns put in front."""
        self.flush()
        columns = [
            pa.chunked_array(([_empty_text(top)] if top else []) + c, type=pa.large_string()) for c in self.chunks
        ]
        nrows = self.nrows + top if columns else 0
        empty = [pa.chunked_array([_empty_text(nrows)], type=pa.large_string()) for _ in range(left)]
        return ([*empty, *columns] if columns else []), nrows


def _empty_text(n: int) -> pa.Array:
    return pa.array(np.full(n, "", dtype=object), type=pa.large_string())


def _read_calamine(
    path: Path,
    selected: list[_Sheet],
    scans: dict[str, _Scan],
    book: _Workbook,
    *,
    file: str,
    ext: str,
    limits: Limits,
    notes: list[str],
) -> dict[str, _Sheetdata]:
    """``{sheet name: (text columns, row count)}`` from calamine, or from openpyxl when calamine fails."""
    try:
        out = _calamine_rows(path, selected, file=file, limits=limits)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except FundauditError:
        raise
    except BaseException as exc:  # calamine is native code: a Rust panic arrives as a BaseException
        calamine_error: BaseException | None = exc
        out = {}
    else:
        calamine_error = None
        empty_but_data = [s.name for s in selected if not out[s.name][1] and scans[s.name].has_values]
        if not empty_but_data:
            return out
    if book.strict:
        what = f"calamine: {calamine_error}" if calamine_error else "calamine found no cells"
        raise UnreadableFileError("strict_ooxml", file=file, ext=ext, what=what)
    try:
        out = _openpyxl_rows(path, selected, file=file, limits=limits, notes=notes)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except FundauditError:
        raise
    except Exception as exc:
        first = calamine_error or exc
        text = f"{_short(first)}; openpyxl: {_short(exc)}"
        if any(w in text.lower() for w in ("entity", "entities", "dtd")):
            raise UnreadableFileError("xml_entities", file=file, what=text, ext=ext) from exc
        raise UnreadableFileError("unreadable", file=file, what=f"calamine: {text}", ext=ext) from exc
    notes.append(
        note("openpyxl_fallback_error", error=_short(calamine_error))
        if calamine_error
        else note("openpyxl_fallback_no_cells")
    )
    return out


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _calamine_rows(path: Path, selected: list[_Sheet], *, file: str, limits: Limits) -> dict[str, _Sheetdata]:
    out: dict[str, _Sheetdata] = {}
    # from a file object: from_path would pick the format by extension (an .xlsx renamed .xls fails)
    with path.open("rb") as fh, CalamineWorkbook.from_filelike(fh) as wb:
        for s in selected:
            sh = wb.get_sheet_by_name(s.name)
            start, end = sh.start, sh.end
            if start is None or end is None:
                out[s.name] = ([], 0)
                continue
            _check_shape(end[0] + 1, end[1] + 1, file=file, sheet=s.name, limits=limits)
            acc = _Columns(file=file, sheet=s.name, limits=limits)
            first_width = None
            for row in sh.iter_rows():
                if first_width is None:
                    first_width = len(row)
                acc.add(row)
            # iter_rows yields rows from A1's row but columns from the used range's first column (python-calamine
            # 0.9); accept that or the fully anchored forms, and refuse anything else rather than misplace cells
            width = end[1] - start[1] + 1
            left = start[1] if first_width == width else 0 if first_width == end[1] + 1 else -1
            top = 0 if acc.nrows + len(acc.block) == end[0] + 1 else start[0]
            if left < 0 or acc.nrows + len(acc.block) + top != end[0] + 1:
                raise RuntimeError(f"calamine iter_rows returned an unexpected shape for sheet {s.name}")
            out[s.name] = acc.result(top=top, left=left)
    return out


def _openpyxl_rows(
    path: Path, selected: list[_Sheet], *, file: str, limits: Limits, notes: list[str]
) -> dict[str, _Sheetdata]:
    import openpyxl

    out: dict[str, _Sheetdata] = {}
    with warnings_as_notes(notes, "openpyxl"), path.open("rb") as fh:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True, keep_links=False)
        try:
            for s in selected:
                ws = wb[s.name]
                ws.reset_dimensions()  # a bogus <dimension ref="A1:XFD1048576"> must not pad every row
                acc = _Columns(file=file, sheet=s.name, limits=limits)
                pending: list[list[Any]] = []  # trailing empty rows are dropped, as calamine does
                for row in ws.iter_rows(min_row=1, min_col=1, values_only=True):
                    values = list(row)
                    while values and values[-1] is None:
                        values.pop()
                    if not values:
                        pending.append(values)
                        continue
                    for empty in pending:
                        acc.add(empty)
                    pending = []
                    acc.add(values)
                out[s.name] = acc.result()
        finally:
            wb.close()
    return out


def _check_shape(nrows: int, ncols: int, *, file: str, sheet: str, limits: Limits) -> None:
    if nrows > limits.max_rows:
        raise limits.exceeded("max_rows", file=file, what=f"{file} [{sheet}] has {nrows:,} rows")
    if ncols > limits.max_columns:
        raise limits.exceeded("max_columns", file=file, what=f"{file} [{sheet}] has {ncols:,} columns")


def _grid(
    s: _Sheet,
    data: _Sheetdata,
    scan: _Scan,
    book: _Workbook,
    *,
    file: str,
    limits: Limits,
    sha256: str,
    notes: list[str],
) -> Grid:
    where = f"{file} [{s.name}]"
    columns, nrows = data
    ncols = len(columns)
    # error cells the reader dropped may lie just outside its used range: grow the grid to hold them
    for r, c in scan.errors:
        nrows, ncols = max(nrows, r + 1), max(ncols, c + 1)
    _check_shape(nrows, ncols, file=file, sheet=s.name, limits=limits)
    if scan.errors:
        grown: list[Any] = []
        for j in range(ncols):
            col = columns[j].to_numpy(zero_copy_only=False) if j < len(columns) else np.zeros(0, dtype=object)
            if len(col) < nrows:
                col = np.concatenate([col.astype(object), np.full(nrows - len(col), "", dtype=object)])
            grown.append(col.astype(object))
        for (r, c), text in scan.errors.items():
            grown[c][r] = text
        columns = grown
    rows = np.arange(1, nrows + 1, dtype=np.int64)
    cells = make_cells(columns, nrows)
    cells = strip_nuls_and_check(cells, rows, file=file, where=where, limits=limits, notes=notes)
    hidden_rows = sorted({r for r in scan.hidden_rows if r <= nrows})
    if s.state != "visible":
        notes.append(note("sheet_very_hidden" if s.state == "veryHidden" else "sheet_hidden", sheet=s.name))
    if hidden_rows:
        notes.append(note("hidden_rows", sheet=s.name, count=len(hidden_rows)))
    if scan.errors:
        notes.append(note("error_cells", sheet=s.name, count=len(scan.errors), cells=_refs(sorted(scan.errors))))
    if scan.no_value:
        notes.append(
            note("formulas_without_results", sheet=s.name, count=len(scan.no_value), cells=_refs(scan.no_value))
        )
    if scan.unlocated:
        notes.append(note("unlocated_cells", sheet=s.name, count=scan.unlocated))
    if book.datemode == 1:
        notes.append(note("date_1904"))
    return Grid(
        file=file,
        sheet=s.name,
        cells=cells,
        rows=rows,
        format="xlsx",
        sha256=sha256,
        encoding=None,
        datemode=book.datemode,
        merged=clip_merged(scan.merged, nrows, ncols),
        hidden=s.state != "visible",
        hidden_rows=hidden_rows,
        notes=notes,
    )


def _refs(cells: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"{column_letter(c)}{r + 1}" for r, c in cells[:_MAX_LISTED])
    return shown + (f" and {len(cells) - _MAX_LISTED} more" if len(cells) > _MAX_LISTED else "")
