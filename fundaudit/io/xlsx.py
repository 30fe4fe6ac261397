"""``.xlsx``/``.xlsm`` workbooks: a pre-parse gate on the zip, python-calamine as the reader, openpyxl as
fallback.

Order of work, so nothing expensive happens to a hostile file:

1. **Gate** (central directory only, then the first 64 KiB of each XML part): member count, total uncompressed
   size, per-member compression ratio, DTD/entity declarations (``xml_entities``), Strict OOXML namespace,
   external links / data connections / VBA (noted, never followed or run).
2. **Scan** of each worksheet part, streamed in 1 MiB pieces with regular expressions: hidden rows, Excel
   error cells (calamine returns ``''`` for them; we restore ``#DIV/0!`` etc. from ``<v>``), formulas without
   a stored result, merged ranges and the last row number (an early row-limit check).
3. **Read** with calamine (``to_python(skip_empty_area=False)``, so index + 1 is the Excel row and column
   position is the Excel column); if calamine fails, openpyxl (``read_only=True, data_only=True``) with a
   note.
"""

from __future__ import annotations

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

from fundaudit.errors import FundauditError, InputError, LimitExceededError, UnreadableFileError, note
from fundaudit.io._text import values_text
from fundaudit.io.grid import (
    Grid,
    Limits,
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
_P = rb"(?:[A-Za-z_][\w.-]*:)?"  # optional namespace prefix
_ROW_HIDDEN = re.compile(rb"<" + _P + rb"row\b[^>]*?\shidden=\"(?:1|true)\"[^>]*>")
_ROW_TAG = re.compile(rb"<" + _P + rb"row\b[^>]*?\sr=\"(\d+)\"")
_ROW_END = re.compile(rb"</" + _P + rb"row>")
_R_ATTR = re.compile(rb"\sr=\"(\d+)\"")
_CELL_REF = re.compile(rb"\sr=\"\$?([A-Za-z]{1,3})\$?(\d+)\"")
_ERROR_CELL = re.compile(rb"<" + _P + rb"c\b([^>]*?\st=\"e\"[^>]*)>(.*?)</" + _P + rb"c>", re.DOTALL)
_V_TEXT = re.compile(rb"<" + _P + rb"v>([^<]*)</" + _P + rb"v>")
_NO_VALUE = re.compile(
    rb"<" + _P + rb"c\b([^>]*)>\s*<" + _P + rb"f\b[^>]*?(?:/>|>[^<]*</" + _P + rb"f>)\s*"
    rb"(?:<" + _P + rb"v\s*/>\s*)?</" + _P + rb"c>"
)
_MERGE = re.compile(rb"<" + _P + rb"mergeCell\b[^>]*?\sref=\"\$?([A-Za-z]+)\$?(\d+)(?::\$?([A-Za-z]+)\$?(\d+))?\"")
_HAS_VALUE = re.compile(rb"<" + _P + rb"(?:v|t)[\s>]")


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


@dataclass
class _Scan:
    hidden_rows: list[int] = field(default_factory=list)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    no_value: list[tuple[int, int]] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    last_row: int = 0
    has_values: bool = False
    unlocated: int = 0


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
        scans = {s.name: _scan(zf, s, file=file, ext=shown_ext, limits=limits) for s in selected}
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
        raise LimitExceededError(
            "limit_exceeded",
            file=file,
            limit=limits.max_zip_members,
            what=f"the workbook's zip container holds {len(infos)} parts",
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        raise LimitExceededError(
            "limit_exceeded",
            file=file,
            limit=f"{limits.max_uncompressed_bytes // _MIB} MiB",
            what=f"the workbook expands to {total / _MIB:.0f} MiB when unzipped",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_compression_ratio:
            raise LimitExceededError(
                "limit_exceeded",
                file=file,
                limit=f"{limits.max_compression_ratio:g}:1",
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
    sheets, datemode = _workbook_sheets(zf, wb_part, by_lower, file=file, ext=ext)
    return _Workbook(sheets=sheets, datemode=datemode, strict=strict, notes=notes)


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
) -> tuple[list[_Sheet], int]:
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
    return sheets, datemode


# --- 2. the scan -------------------------------------------------------------------------------------------


def _scan(zf: zipfile.ZipFile, sheet: _Sheet, *, file: str, ext: str, limits: Limits) -> _Scan:
    scan = _Scan()
    if sheet.part is None:
        return scan
    try:
        with zf.open(sheet.part) as fh:
            _scan_stream(fh, scan)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise UnreadableFileError(
            "truncated", file=file, ext=ext, what=f"zip member {sheet.part} is damaged ({exc})"
        ) from exc
    if scan.last_row > limits.max_rows:
        raise LimitExceededError(
            "limit_exceeded",
            file=file,
            limit=limits.max_rows,
            what=f"{file} [{sheet.name}] has {scan.last_row} rows",
        )
    return scan


def _scan_stream(fh: IO[bytes], scan: _Scan) -> None:
    carry = b""
    while True:
        chunk = fh.read(_CHUNK)
        buf = carry + chunk
        if not chunk:
            _scan_segment(buf, scan)
            return
        cut = _last_row_end(buf)
        if cut <= 0:
            carry = buf
            continue
        _scan_segment(buf[:cut], scan)
        carry = buf[cut:]


def _last_row_end(buf: bytes) -> int:
    """Offset just past the last complete ``</row>`` (any namespace prefix) in ``buf``, or -1."""
    pos = len(buf)
    while True:
        pos = buf.rfind(b"row>", 0, pos)
        if pos < 0:
            return -1
        lt = buf.rfind(b"</", max(0, pos - 64), pos)
        if lt >= 0 and _ROW_END.fullmatch(buf, lt, pos + 4):
            return pos + 4


def _scan_segment(seg: bytes, scan: _Scan) -> None:
    if not seg:
        return
    if not scan.has_values and _HAS_VALUE.search(seg):
        scan.has_values = True
    if b"hidden=" in seg:
        for m in _ROW_HIDDEN.finditer(seg):
            r = _R_ATTR.search(m.group(0))
            if r:
                scan.hidden_rows.append(int(r.group(1)))
            else:
                scan.unlocated += 1
    if b't="e"' in seg:
        for m in _ERROR_CELL.finditer(seg):
            where = _cell_position(m.group(1))
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
            c0, r0 = _col_index(m.group(1)), int(m.group(2)) - 1
            c1 = _col_index(m.group(3)) if m.group(3) else c0
            r1 = int(m.group(4)) - 1 if m.group(4) else r0
            scan.merged.append((min(r0, r1), max(r0, r1), min(c0, c1), max(c0, c1)))
    tail_rows = list(_ROW_TAG.finditer(seg, max(0, len(seg) - _HEAD)))
    if tail_rows:
        scan.last_row = max(scan.last_row, int(tail_rows[-1].group(1)))


def _cell_position(attrs: bytes) -> tuple[int, int] | None:
    m = _CELL_REF.search(attrs)
    if m is None:
        return None
    return int(m.group(2)) - 1, _col_index(m.group(1))


def _col_index(letters: bytes) -> int:
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
        raise LimitExceededError(
            "limit_exceeded", file=file, limit=limits.max_rows, what=f"{file} [{sheet}] has {nrows} rows"
        )
    if ncols > limits.max_columns:
        raise LimitExceededError(
            "limit_exceeded",
            file=file,
            limit=limits.max_columns,
            what=f"{file} [{sheet}] has {ncols} columns",
        )


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
