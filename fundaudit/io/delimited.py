"""Delimited text (``.csv``/``.txt``/``.tsv``, and text saved under an Excel name) into a text grid.

Encoding: a BOM decides (UTF-8-sig, UTF-16, UTF-32); otherwise strict UTF-8, then strict GB18030 (a superset
of GBK/GB2312); never latin-1 and never ``errors='replace'``. ``encoding=`` overrides
(``gbk``/``gb2312``/``cp936`` are read as GB18030, their superset). A file that is not UTF-8 as a whole is
checked line by line (numpy over the bytes): a line that is valid UTF-8 and holds a character of three or
more UTF-8 bytes (CJK, full-width forms) is a UTF-8 line pasted into a GBK file and is read as UTF-8 (GBK
text is almost never valid UTF-8 with such a character); the other lines are GB18030; a line that is neither
is rejected (``encoding_bad_line``, with its bytes escaped), never decoded with replacement characters.

Delimiter: comma or tab, whichever splits the first 64 KiB most consistently; if both give one column,
semicolon, full-width comma ``，``, full-width semicolon ``；`` or ``|`` (reliability B7).

Structure: a first pass finds every record's physical start line and field count, vectorised with numpy over
the bytes. Without any quote character every line is a record. With quotes, the pass checks that every quote
either opens a field (first character of the field), closes it (followed by a delimiter, a line break or the
end) or is half of a doubled ``""`` inside a quoted field; then quote parity decides which line breaks and
delimiters are inside quoted fields (quoted newlines make records span lines). Any other use of quotes (a quote
inside an unquoted field, text after a closing quote, an unclosed quote) sends the pass to the ``csv`` module,
which walks the text and is the reference. The file's width is that of the first record (among the first
1,000) at least as wide as the most common field count: the header. Records with more fields are rejected as
``csv_ragged`` unless the extra fields are all empty (then they are trimmed, with a note); shorter records are
padded with ``''`` and named in a note (count and first lines; a blank line or a title line above the header
is not a short record), and ``Grid.short_fields`` keeps how many fields each had, so the loader can tell a
field that was never there from an empty one (``csv_short`` when it is the amount: see ``fundaudit.ledger``).

Parsing: when the vectorised pass succeeded, pyarrow's CSV reader parses the records that have exactly the
file's width (straight into Arrow text, no Python objects); blank, short and trimmed records are parsed by the
``csv`` module and put back in place; the record counts are checked against the first pass. Otherwise (or if
pyarrow disagrees) pandas' C engine parses the text (every field as text, blank lines kept), checked the same
way, with the ``csv`` module as the last resort.
"""

from __future__ import annotations

import codecs
import collections
import csv
import io
import itertools
import re
from array import array
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from fundaudit.errors import ConfigError, LimitExceededError, UnreadableFileError, note
from fundaudit.io.grid import (
    Grid,
    Limits,
    arrow_of,
    make_cells,
    number_ranges,
    strip_nuls_and_check,
    text_series,
    warnings_as_notes,
)

__all__ = ["read_delimited"]

_SAMPLE = 64 * 1024
_ARROW_BLOCK = 1 << 24  # bytes per block of pyarrow's CSV reader
_CHUNK = 1 << 22  # bytes per step of the vectorised passes (keeps their temporaries small)
_NOT_A_LINE_BREAK = re.compile(rb"[^\r\n]")
_WIDTH_SAMPLE = 1000
_RAW_CHARS = 200
_PRIMARY = (",", "\t")
_SECONDARY = (";", "，", "；", "|")
_PLACEHOLDERS = (b"\x1f", b"\x1e", b"\x1d", b"\x1c", b"\x01")
GB_ALIASES = {"gbk", "gb2312", "cp936", "ms936", "euc_cn", "gb18030"}
_DELIMITER_NAMES = {
    ",": "delimiter.commas",
    "\t": "delimiter.tabs",
    ";": "delimiter.semicolons",
    "，": "delimiter.fullwidth_commas",
    "；": "delimiter.fullwidth_semicolons",
    "|": "delimiter.bars",
}


@dataclass
class _Structure:
    starts: np.ndarray  # int64, physical start line of each record (1-based)
    counts: np.ndarray  # int64, fields in each record (a blank line counts as 1)
    line_offsets: np.ndarray  # int64, byte offset where each physical line starts (plus one past the end)
    # int64, byte offset where each record starts (plus one past the end); None when the quoting is not plain
    # enough for the vectorised pass (then the csv module found the records and pyarrow is not used)
    record_offsets: np.ndarray | None = None
    multiline: bool = False  # some record spans several lines (a quoted line break)
    # False while ``counts`` holds only the first records' counts (enough for the width): the vectorised pass
    # counts the rest only if pyarrow finds records of another width (see ``_complete``)
    complete: bool = True
    quotes: np.ndarray | None = None  # int64, offsets of the quote characters (vectorised pass only)


def read_delimited(
    data: bytes, *, file: str, ext: str, encoding: str | None, limits: Limits, sha256: str, notes: list[str]
) -> Grid:
    """Read delimited text into one :class:`Grid` (``sheet`` is ``None``)."""
    notes = list(notes)
    bad_lines: dict[int, bytes] = {}
    used, u8 = decode_text(data, file=file, ext=ext, encoding=encoding, notes=notes, bad_lines=bad_lines)
    nuls = u8.count(b"\x00")
    if nuls:
        u8 = u8.replace(b"\x00", b"")
        notes.append(note("nul_bytes_removed", count=nuls))
    if _NOT_A_LINE_BREAK.search(u8) is None:  # nothing but line breaks (without copying the text)
        return Grid(
            file=file,
            sheet=None,
            cells=make_cells([], 0),
            rows=np.zeros(0, dtype=np.int64),
            format="csv",
            sha256=sha256,
            encoding=used,
            notes=notes,
        )
    delim = _sniff_delimiter(u8)
    if delim != ",":
        notes.append(note("delimiter", delimiter=note(_DELIMITER_NAMES[delim])))
    work, placeholder = _work_bytes(u8, delim)
    sep = placeholder.decode() if placeholder else delim
    structure = _structure(work, sep, file=file, ext=ext)
    n_records = len(structure.starts)
    if n_records > limits.max_rows:
        raise limits.exceeded(
            "max_rows", file=file, what=f"{file} has {n_records:,} records"
        )
    header, width = _header(structure.counts)
    if width > limits.max_columns:
        raise limits.exceeded(
            "max_columns", file=file, what=f"{file} has {width:,} columns"
        )
    read = blank = None
    if structure.record_offsets is not None:
        read = _arrow_read(work, sep, width, structure)
        blank = _blank_records(np.frombuffer(work, dtype=np.uint8), structure.record_offsets)
        if read is not None and read.invalid == 0 and not structure.complete:
            # pyarrow found every record that is not a blank line to have exactly the file's width
            counts = np.where(blank, 1, width)
            if np.array_equal(counts[: len(structure.counts)], structure.counts):
                structure.counts, structure.complete = counts, True
    _complete(structure, work, sep)
    ragged = np.flatnonzero(structure.counts > width)
    rejected: list[dict[str, object]] = []
    trimmed_rows: list[int] = []
    trimmed_index: list[int] = []
    trimmed_fields: list[list[str]] = []
    for i in ragged.tolist():
        raw = _raw_record(work, structure, i, sep, delim)
        fields = next(csv.reader(io.StringIO(raw, newline=""), delimiter=delim, strict=False), [])
        if len(fields) > width and not any(fields[width:]):
            trimmed_rows.append(int(structure.starts[i]))
            trimmed_index.append(i)
            trimmed_fields.append(fields[:width])
            continue
        rejected.append(
            {
                "row": int(structure.starts[i]),
                "reason": "csv_ragged",
                "value": raw[:_RAW_CHARS],
                "column": None,
                "found": int(structure.counts[i]),
                "expected": width,
            }
        )
    kept = structure.counts <= width
    built = None
    if read is not None and blank is not None:
        built = _arrow_cells(work, sep, width, structure, read, blank, trimmed_index, trimmed_fields)
    if built is not None:
        cells, rows = built
    else:
        cells, rows = _parse_pandas(work, sep, width, structure, kept, ragged, trimmed_rows, trimmed_fields, notes)
        if cells is None:  # pandas disagreed with the first pass: build from the csv module (the reference)
            cells, rows = _parse_reference(work, sep, width, structure)
            trimmed_rows, trimmed_fields = [], []
            parsed = set(rows.tolist())
            rejected = [r for r in rejected if r["row"] not in parsed]
    if trimmed_rows:
        notes.append(note("trailing_empty_fields", count=len(trimmed_rows), width=width))
    if placeholder:
        cells = _restore_delimiter(cells, sep, delim)
    if width > 1 and len(cells) and bool((cells[width - 1] == "").all()):
        cells = cells.drop(columns=width - 1)
        notes.append(note("trailing_delimiter_column"))
    if rejected:
        notes.append(note("ragged_records", count=len(rejected), width=width))
    if bad_lines:
        cells, rows = _drop_bad_lines(cells, np.asarray(rows, dtype=np.int64), bad_lines, rejected, file=file, ext=ext)
    short_fields = _short_records(structure, header, cells, np.asarray(rows, dtype=np.int64))
    if len(short_fields):
        notes.append(
            note(
                "short_records",
                count=len(short_fields),
                width=cells.shape[1],
                rows=number_ranges(short_fields.index.to_numpy(), most=20),
            )
        )
    cells = strip_nuls_and_check(
        cells.reset_index(drop=True), rows, file=file, where=file, limits=limits, notes=notes, nuls=False
    )
    return Grid(
        file=file,
        sheet=None,
        cells=cells,
        rows=np.asarray(rows, dtype=np.int64),
        format="csv",
        sha256=sha256,
        encoding=used,
        notes=notes,
        rejected=rejected,
        short_fields=short_fields,
    )


# --- encoding ----------------------------------------------------------------------------------------------


def decode_text(
    data: bytes, *, file: str, ext: str, encoding: str | None, notes: list[str], bad_lines: dict[int, bytes]
) -> tuple[str, bytes]:
    """``(encoding used, the text as UTF-8 bytes without BOM)``; lines that no encoding reads are blanked
    and put in ``bad_lines`` (line number -> raw bytes)."""
    if encoding is not None:
        return _decode_as(data, encoding, file=file, ext=ext, notes=notes)
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            u8 = _strict(data, name, file=file, ext=ext, given=None)
            notes.append(note("encoding_bom", encoding=name.upper()))
            return name, u8
    bomless = _utf16_without_bom(data)
    if bomless:
        u8 = _strict(data, bomless, file=file, ext=ext, given=None)
        notes.append(note("encoding_utf16_no_bom", encoding=bomless.upper()))
        return bomless, u8
    if is_utf8(data):
        notes.append(note("encoding_utf8"))
        return "utf-8", data
    starts, ends = _lines(data)
    utf8 = _utf8_lines(np.frombuffer(data, dtype=np.uint8), starts, ends)
    if not utf8.any():
        try:
            u8 = data.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            notes.append(note("encoding_gb18030"))
            return "gb18030", u8
    u8 = _decode_mixed(data, starts, ends, utf8, bad_lines, file=file, ext=ext)
    if utf8.any():
        notes.append(note("encoding_mixed", rows=number_ranges(np.flatnonzero(utf8) + 1, most=20)))
    else:
        notes.append(note("encoding_gb18030"))
    return "gb18030", u8


#: Undecodable lines are rejected one by one only while they are at most this many and under a tenth of the
#: file's lines; beyond that the file is not GB18030 text at all and is refused as a whole.
_MAX_BAD_LINES = 1000


_UTF8_BLOCK = 1 << 18


def _lines(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Byte offsets where each physical line starts and ends (the end is its LF, or for a line ended by a lone
    CR that CR; a CR before an LF stays in the line, where it is whitespace)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    n = len(arr)
    breaks = np.flatnonzero(arr == 0x0A)
    if b"\r" in data:  # old Mac line breaks: a CR alone ends a line too
        cr = np.flatnonzero(arr == 0x0D)
        lone = cr[(cr + 1 >= n) | (arr[np.minimum(cr + 1, n - 1)] != 0x0A)]
        if len(lone):
            breaks = np.sort(np.concatenate((breaks, lone)))
    starts = np.concatenate(([0], breaks + 1)).astype(np.int64)
    ends = np.concatenate((breaks, [n])).astype(np.int64)
    if starts[-1] == n and len(starts) > 1:  # the file ends with a line break
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def _utf8_lines(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per line: (probably) valid UTF-8 holding at least one character of three or more bytes (U+0800 and up:
    CJK, CJK punctuation, full-width forms). Vectorised over the bytes in blocks of whole lines of about
    ``_UTF8_BLOCK`` bytes (the temporaries stay in cache: four times faster than 4 MiB blocks): every
    continuation byte must be one a lead byte before it asked for, and only those. The overlong and
    surrogate limits are left to the strict decoder, which :func:`_decode_mixed` runs on the lines this
    selects."""
    out = np.zeros(len(starts), dtype=bool)
    first = 0
    while first < len(starts):
        last = max(int(np.searchsorted(starts, starts[first] + _UTF8_BLOCK, side="left")), first + 1)
        lo, hi = int(starts[first]), int(ends[last - 1])
        out[first:last] = _utf8_block(arr[lo:hi], starts[first:last] - lo, ends[first:last] - lo)
        first = last
    return out


def _utf8_block(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """:func:`_utf8_lines` for one block (compares and shifts of boolean arrays, no table look-ups)."""
    if len(arr) == 0:
        return np.zeros(len(starts), dtype=bool)
    arr = np.concatenate((arr, np.full(3, 0x0A, dtype=np.uint8)))  # a sequence cut by the end owes these
    n = len(arr)
    lead = arr >= 0xC2  # a lead byte owes one continuation byte, from E0 two, from F0 three
    wide = arr >= 0xE0
    # where a continuation byte is owed: after a lead, two after E0-FF, three after F0-FF
    owed = np.zeros(n, dtype=bool)
    owed[1:] = lead[:-1]
    owed[2:] |= wide[:-2]
    owed[3:] |= arr[:-3] >= 0xF0
    # nothing is owed across a line break: a line's first two bytes owe only to what precedes them in the line
    first = starts[(starts > 0) & (starts < n)]
    owed[first] = False
    second = starts[(starts + 1 < n) & (ends > starts)] + 1
    owed[second] = lead[second - 1]
    bad = ((arr & 0xC0) == 0x80) != owed  # a continuation byte nobody asked for, or one missing
    bad |= arr >= 0xF5
    bad |= (arr & 0xFE) == 0xC0  # C0, C1: only ever overlong
    cuts = np.minimum(starts, n - 1)
    any_bad = np.logical_or.reduceat(bad, cuts)
    any_wide = np.logical_or.reduceat(wide, cuts)  # in a line without a bad byte, E0-F4 leads a whole character
    return (ends > starts) & ~any_bad & any_wide


def _decode_mixed(
    data: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    utf8: np.ndarray,
    bad_lines: dict[int, bytes],
    *,
    file: str,
    ext: str,
) -> bytes:
    """Decode a file whose lines are GB18030 or UTF-8 (``utf8`` marks the latter): one step per run of lines in
    one encoding (a handful in a file with a few pasted lines), plus one per undecodable line, which is blanked
    and recorded in ``bad_lines``."""
    lines = len(starts)
    change = np.flatnonzero(np.diff(utf8.astype(np.int8))) + 1
    bounds = [0, *change.tolist(), lines]
    out: list[bytes] = []
    for first, last in itertools.pairwise(bounds):
        lo = int(starts[first])
        hi = int(starts[last]) if last < lines else len(data)
        if not utf8[first]:
            out.append(_decode_gb_run(data, lo, hi, starts, ends, bad_lines, file=file, ext=ext))
        elif is_utf8(data[lo:hi]):
            out.append(data[lo:hi])
        else:  # overlong or surrogate forms the quick byte check lets through: strict decoding decides
            for line in range(first, last):
                a, z = int(starts[line]), int(starts[line + 1]) if line + 1 < lines else len(data)
                if is_utf8(data[a:z]):
                    out.append(data[a:z])
                else:
                    utf8[line] = False
                    out.append(_decode_gb_run(data, a, z, starts, ends, bad_lines, file=file, ext=ext))
    return b"".join(out)


def _decode_gb_run(
    data: bytes,
    lo: int,
    hi: int,
    starts: np.ndarray,
    ends: np.ndarray,
    bad_lines: dict[int, bytes],
    *,
    file: str,
    ext: str,
) -> bytes:
    """``data[lo:hi]`` (whole lines) from GB18030 to UTF-8; a line that does not decode is blanked (its line
    break kept, so later lines keep their numbers) and recorded in ``bad_lines``."""
    out: list[bytes] = []
    lines = len(starts)
    while lo < hi:
        try:
            out.append(data[lo:hi].decode("gb18030").encode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            line = int(np.searchsorted(starts, lo + exc.start, side="right")) - 1
            if len(bad_lines) >= min(_MAX_BAD_LINES, lines // 10):
                raise UnreadableFileError("encoding_undetected", file=file, ext=ext, line=line + 1) from exc
            line_start, line_end = int(starts[line]), int(ends[line])
            out.append(data[lo:line_start].decode("gb18030").encode("utf-8"))
            bad_lines[line + 1] = data[line_start:line_end].rstrip(b"\r")
            lo = line_end
    return b"".join(out)


def _drop_bad_lines(
    cells: pd.DataFrame,
    rows: np.ndarray,
    bad_lines: dict[int, bytes],
    rejected: list[dict[str, object]],
    *,
    file: str,
    ext: str,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Take the (blanked) undecodable lines out of the grid and list them as rejected rows. A line inside a
    quoted multi-line record would leave that record incomplete: the file is refused instead."""
    bad = np.fromiter(bad_lines, dtype=np.int64, count=len(bad_lines))
    last = int(rows.max()) if len(rows) else 0
    inside = bad[~np.isin(bad, rows) & (bad <= last)]
    if len(inside):
        raise UnreadableFileError("encoding_undetected", file=file, ext=ext, line=int(inside[0]))
    keep = ~np.isin(rows, bad)
    for line, raw in sorted(bad_lines.items()):
        rejected.append(
            {
                "row": line,
                "reason": "encoding_bad_line",
                "value": raw.decode("utf-8", "backslashreplace")[:_RAW_CHARS],
                "column": None,
            }
        )
    if keep.all():
        return cells, rows
    return cells[keep].reset_index(drop=True), rows[keep]


def _decode_as(data: bytes, encoding: str, *, file: str, ext: str, notes: list[str]) -> tuple[str, bytes]:
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise ConfigError("unknown_encoding", encoding=encoding) from exc
    if name.replace("-", "_") in GB_ALIASES:
        if name != "gb18030":
            notes.append(note("encoding_gb_superset", encoding=encoding))
        name = "gb18030"
    if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        name = "utf-8-sig"
    u8 = _strict(data, name, file=file, ext=ext, given=encoding)
    notes.append(note("encoding_given", encoding=name.upper()))
    return name, u8


def _strict(data: bytes, name: str, *, file: str, ext: str, given: str | None) -> bytes:
    if name == "utf-8" and is_utf8(data):
        return data
    try:
        text = data.decode(name)
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start, name)
        raise UnreadableFileError("bad_encoding", file=file, ext=ext, encoding=given or name, line=line) from exc
    return text.encode("utf-8")


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` is well-formed UTF-8 (the same bytes Python's strict decoder accepts), checked by Arrow's
    validator on the bytes in place, without building a Python string."""
    offsets = pa.py_buffer(np.asarray([0, len(data)], dtype=np.int64))
    whole = pa.LargeBinaryArray.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        whole.view(pa.large_string()).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True




def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    half = max(len(sample) // 2, 1)
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _line_of(data: bytes, offset: int, encoding: str) -> int:
    prefix = data[:offset].decode(encoding, errors="replace")
    return prefix.count("\n") + prefix.count("\r") - prefix.count("\r\n") + 1


# --- delimiter and structure -------------------------------------------------------------------------------


def _sniff_delimiter(u8: bytes) -> str:
    sample = u8[:_SAMPLE]
    if len(u8) > _SAMPLE:
        cut = max(sample.rfind(b"\n"), sample.rfind(b"\r"))
        if cut > 0:
            sample = sample[:cut]
    text = sample.decode("utf-8", errors="ignore")
    for candidates in (_PRIMARY, _SECONDARY):
        best: tuple[float, int] | None = None
        choice = None
        for d in candidates:
            if d not in text:
                continue
            counts = _field_counts(text, d)
            if not counts:
                continue
            mode, freq = collections.Counter(counts).most_common(1)[0]
            if mode < 2:
                continue
            score = (freq / len(counts), mode)
            if best is None or score > best:
                best, choice = score, d
        if choice is not None:
            return choice
    return ","


def _field_counts(text: str, delim: str) -> list[int]:
    counts: list[int] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False):
            if record:
                counts.append(len(record))
    except csv.Error:
        pass  # a huge or unclosed field in the sample: judge by the records before it
    return counts


def _work_bytes(u8: bytes, delim: str) -> tuple[bytes, bytes | None]:
    """The bytes pandas parses: a multi-byte delimiter is swapped for an unused control byte."""
    encoded = delim.encode("utf-8")
    if len(encoded) == 1:
        return u8, None
    for placeholder in _PLACEHOLDERS:
        if placeholder not in u8:
            return u8.replace(encoded, placeholder), placeholder
    raise UnreadableFileError("unreadable", file="", what="no free control character for the delimiter")


def _positions(arr: np.ndarray, byte: int) -> np.ndarray:
    """Sorted int64 offsets of every occurrence of ``byte`` (chunked: no text-sized temporary array)."""
    found: list[np.ndarray] = []
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    buf = np.empty(min(_CHUNK, len(arr)), dtype=bool)
    for i in range(0, len(arr), _CHUNK):
        part = arr[i : i + _CHUNK]
        hit = np.flatnonzero(np.equal(part, byte, out=buf[: len(part)]))
        if len(hit):
            found.append(hit.astype(np.int64) + i)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _count_before(arr: np.ndarray, byte: int, points: np.ndarray) -> np.ndarray:
    """For sorted offsets ``points`` (each in ``0..len(arr)``), how many ``byte`` occur before each one."""
    out = np.zeros(len(points), dtype=np.int64)
    if len(arr) == 0 or len(points) == 0:
        return out
    eq = np.empty(min(_CHUNK, len(arr)), dtype=bool)
    cum = np.empty(min(_CHUNK, len(arr)), dtype=np.int64)
    carry = 0
    j = int(np.searchsorted(points, 0, side="right"))  # points at offset 0 have nothing before them
    for i in range(0, len(arr), _CHUNK):
        part = arr[i : i + _CHUNK]
        size = len(part)
        c = np.cumsum(np.equal(part, byte, out=eq[:size]), out=cum[:size])
        k = int(np.searchsorted(points, i + size, side="right"))
        if k > j:  # points in (i, i + size]: what lies before them in this chunk, plus the earlier chunks
            out[j:k] = c[points[j:k] - i - 1] + carry
        carry += int(c[-1])
        j = k
    return out


def _line_offsets(arr: np.ndarray, *, has_cr: bool) -> np.ndarray:
    """Start offset of every physical line (``\\n``, ``\\r\\n`` or a lone ``\\r`` ends one), plus the end."""
    ends = _positions(arr, 10)
    if has_cr:
        cr = _positions(arr, 13)
        after = cr + 1
        lone = cr[(after >= len(arr)) | (arr[np.minimum(after, len(arr) - 1)] != 10)]
        if len(lone):  # old Mac line breaks (disjoint from the \\n positions)
            ends = np.sort(np.concatenate([ends, lone]))
    starts = np.concatenate([np.zeros(1, dtype=np.int64), ends + 1]).astype(np.int64)
    if starts[-1] == len(arr):  # the text ends with a line break: no empty line after it
        return starts
    return np.concatenate([starts, np.asarray([len(arr)], dtype=np.int64)])


def _structure(work: bytes, sep: str, *, file: str, ext: str) -> _Structure:
    arr = np.frombuffer(work, dtype=np.uint8)
    offsets = _line_offsets(arr, has_cr=b"\r" in work)
    n_lines = len(offsets) - 1
    if b'"' not in work:
        quotes = np.zeros(0, dtype=np.int64)
        return _Structure(
            starts=np.arange(1, n_lines + 1, dtype=np.int64),
            counts=_record_widths(arr, sep, offsets, quotes, upto=_WIDTH_SAMPLE),
            line_offsets=offsets,
            record_offsets=offsets,
            complete=n_lines <= _WIDTH_SAMPLE,
            quotes=quotes,
        )
    plain = _plain_quoted_structure(arr, offsets, sep)
    if plain is not None:
        return plain
    text = work.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=False)
    record_starts, record_counts = array("q"), array("q")
    previous = 0
    try:
        for record in reader:
            record_starts.append(previous + 1)
            record_counts.append(max(len(record), 1))
            previous = reader.line_num
    except csv.Error as exc:  # a field beyond the csv module's size limit: an unclosed quote, or a huge cell
        _check_quotes(work, offsets, previous + 1, sep, file=file, ext=ext)
        raise LimitExceededError(
            "limit_exceeded",
            file=file,
            limit=csv.field_size_limit(),
            what=f"{file}: a field starting on line {previous + 1} is too long",
        ) from exc
    structure = _Structure(
        starts=np.frombuffer(record_starts, dtype=np.int64).copy(),
        counts=np.frombuffer(record_counts, dtype=np.int64).copy(),
        line_offsets=offsets,
    )
    if len(structure.starts):
        _check_quotes(work, offsets, int(structure.starts[-1]), sep, file=file, ext=ext)
    return structure


def _plain_quoted_structure(arr: np.ndarray, offsets: np.ndarray, sep: str) -> _Structure | None:
    """The structure of text whose quotes are all plain CSV quoting, vectorised; ``None`` otherwise.

    Plain: quotes pair up in order; an opening quote starts a field (first byte, or after a delimiter or a line
    break) or follows its field's previous closing quote (a doubled ``""``); a closing quote ends the field
    (followed by a delimiter, a line break or the end) or precedes the next opening quote (``""``). For such
    text the ``csv`` module's records and fields are exactly: line breaks and delimiters outside quotes split,
    the quotes are removed and ``""`` is ``"``. Anything else (an unclosed quote, a quote inside an unquoted
    field, text after a closing quote) is left to the ``csv`` module, which is the reference.
    """
    n = len(arr)
    quotes = _positions(arr, 34)
    if len(quotes) % 2:
        return None
    opens, closes = quotes[0::2], quotes[1::2]
    boundary = np.zeros(256, dtype=bool)
    boundary[[ord(sep), 10, 13]] = True
    previous_close = np.concatenate([np.asarray([-2], dtype=np.int64), closes[:-1]])
    opens_field = (opens == 0) | boundary[arr[np.maximum(opens - 1, 0)]] | (opens - 1 == previous_close)
    next_open = np.concatenate([opens[1:], np.asarray([n + 2], dtype=np.int64)])
    ends_field = (closes == n - 1) | boundary[arr[np.minimum(closes + 1, n - 1)]] | (closes + 1 == next_open)
    if not (bool(opens_field.all()) and bool(ends_field.all())):
        return None
    # a line ends its record when an even number of quotes lies before its end
    quotes_before = np.searchsorted(quotes, offsets[1:], side="left")
    end_lines = np.flatnonzero(quotes_before % 2 == 0)
    first_lines = np.concatenate([np.zeros(1, dtype=np.int64), end_lines[:-1] + 1]).astype(np.int64)
    record_offsets = offsets[np.concatenate([first_lines, np.asarray([len(offsets) - 1])])]
    return _Structure(
        starts=first_lines + 1,
        counts=_record_widths(arr, sep, record_offsets, quotes, upto=_WIDTH_SAMPLE),
        line_offsets=offsets,
        record_offsets=record_offsets,
        multiline=len(first_lines) != len(offsets) - 1,
        complete=len(first_lines) <= _WIDTH_SAMPLE,
        quotes=quotes,
    )


def _record_widths(
    arr: np.ndarray, sep: str, record_offsets: np.ndarray, quotes: np.ndarray, *, upto: int | None = None
) -> np.ndarray:
    """Fields per record (delimiters outside quoted fields, plus one) for plainly quoted text, for every
    record or only the first ``upto``."""
    if upto is not None and upto < len(record_offsets) - 1:
        end = int(record_offsets[upto])
        record_offsets = record_offsets[: upto + 1]
        quotes = quotes[: int(np.searchsorted(quotes, end))]  # quote pairs never straddle records
        arr = arr[:end]
    opens, closes = quotes[0::2], quotes[1::2]
    n_records = len(record_offsets) - 1
    points = np.concatenate([record_offsets, opens, closes])
    order = np.argsort(points, kind="stable")
    before = np.empty(len(points), dtype=np.int64)
    before[order] = _count_before(arr, ord(sep), points[order])
    total = np.diff(before[: n_records + 1])
    if len(opens) == 0:
        return total + 1
    # delimiters between an opening quote and its closing quote are text, not field breaks
    at_opens = before[n_records + 1 : n_records + 1 + len(opens)]
    inside = before[n_records + 1 + len(opens) :] - at_opens
    record_of_quote = np.searchsorted(record_offsets, opens, side="right") - 1
    quoted = np.bincount(record_of_quote, weights=inside, minlength=n_records)[:n_records].astype(np.int64)
    return total - quoted + 1


def _complete(structure: _Structure, work: bytes, sep: str) -> None:
    """Count the fields of every record (the vectorised pass counted only the first ones)."""
    if structure.complete:
        return
    assert structure.record_offsets is not None and structure.quotes is not None
    arr = np.frombuffer(work, dtype=np.uint8)
    structure.counts = _record_widths(arr, sep, structure.record_offsets, structure.quotes)
    structure.complete = True


def _blank_records(arr: np.ndarray, record_offsets: np.ndarray) -> np.ndarray:
    """Mask of records that are nothing but a line break (blank lines)."""
    ends = record_offsets[1:]
    last = arr[ends - 1]
    crlf = (last == 10) & (ends - 2 >= record_offsets[:-1]) & (arr[np.maximum(ends - 2, 0)] == 13)
    breaks = ((last == 10) | (last == 13)).astype(np.int64) + crlf
    return (ends - record_offsets[:-1]) == breaks


def _check_quotes(work: bytes, offsets: np.ndarray, line: int, sep: str, *, file: str, ext: str) -> None:
    """Raise ``csv_unterminated_quote`` if the record starting on ``line`` opens a quote it never closes."""
    tail = work[int(offsets[line - 1]) :].decode("utf-8")
    opened = _unclosed_quote(tail, sep)
    if opened is not None:
        before = tail[:opened]
        line += before.count("\n") + before.count("\r") - before.count("\r\n")
        raise UnreadableFileError("csv_unterminated_quote", file=file, line=line, ext=ext)


def _unclosed_quote(record: str, sep: str) -> int | None:
    """Offset of a quote that opens a field and is never closed (``csv`` module rules), else ``None``."""
    i, n = 0, len(record)
    while i < n:
        if record[i] == '"':  # a quoted field
            j = i + 1
            while True:
                k = record.find('"', j)
                if k < 0:
                    return i
                if record.startswith('""', k):
                    j = k + 2
                    continue
                break
            i = k + 1
        # the rest of an unquoted field (or what follows a closing quote) runs to a delimiter or line end
        ends = [p for p in (record.find(sep, i), record.find("\n", i), record.find("\r", i)) if p >= 0]
        if not ends:
            return None
        stop = min(ends)
        if record[stop] != sep:
            return None  # the record ended at a line break outside quotes
        i = stop + 1
    return None


def _header(counts: np.ndarray) -> tuple[int, int]:
    """``(index of the header record, the file's width)``: the first early record at least as wide as the
    most common width is the header, and its width is the file's.

    The most common field count (ties → the smaller) among the first records with two or more fields is the
    data width; the first record at least that wide is taken as the header, so a header wider than rows
    whose trailing empty fields were trimmed keeps its width, while a title line above it does not count.
    """
    head = counts[:_WIDTH_SAMPLE]
    wide = head[head >= 2]
    if not len(wide):
        return 0, 1
    values, freq = np.unique(wide, return_counts=True)
    mode = int(values[freq == freq.max()].min())
    first = int(np.flatnonzero(head >= mode)[0])
    return first, int(head[first])


def _short_records(structure: _Structure, header: int, cells: pd.DataFrame, rows: np.ndarray) -> pd.Series:
    """Fields of each record below the header that has fewer than the grid's columns (vectorised), indexed by
    its row number: the records that were padded with ``''``. A blank line (or one holding only spaces) is
    not short, nor is anything above the header (a title line); records no longer in the grid (an
    undecodable line) are left out."""
    width = cells.shape[1]
    found = structure.counts[header + 1 :]
    candidates = np.flatnonzero(found < width) + header + 1
    if not len(candidates) or not len(rows):
        return pd.Series([], index=pd.Index([], dtype="int64"), dtype="int64")
    lines = structure.starts[candidates]
    at = np.minimum(np.searchsorted(rows, lines), len(rows) - 1)  # rows ascend: each record's position
    present = rows[at] == lines
    candidates, lines, at = candidates[present], lines[present], at[present]
    counts = structure.counts[candidates]
    one = np.flatnonzero(counts == 1)
    if len(one):  # a record of one field is a blank line when that field is empty or spaces only
        first = text_series(arrow_of(cells[cells.columns[0]]).take(pa.array(at[one])))
        blank = np.zeros(len(candidates), dtype=bool)
        blank[one] = first.str.strip().eq("").to_numpy(dtype=bool)
        counts, lines = counts[~blank], lines[~blank]
    return pd.Series(counts.astype(np.int64), index=pd.Index(lines.astype(np.int64)), dtype="int64")


def _raw_record(work: bytes, structure: _Structure, i: int, sep: str, delim: str) -> str:
    first = int(structure.starts[i]) - 1
    last = int(structure.starts[i + 1]) - 1 if i + 1 < len(structure.starts) else len(structure.line_offsets) - 1
    raw = work[int(structure.line_offsets[first]) : int(structure.line_offsets[last])].decode("utf-8")
    raw = raw.rstrip("\r\n") if raw.endswith(("\n", "\r")) else raw
    return raw.replace(sep, delim) if sep != delim else raw


# --- parsing -----------------------------------------------------------------------------------------------


@dataclass
class _ArrowRead:
    columns: list[pa.ChunkedArray]  # the records with exactly the file's width, in order
    invalid: int  # records pyarrow set aside (another number of fields); blank lines are skipped silently


def _arrow_read(work: bytes, sep: str, width: int, structure: _Structure) -> _ArrowRead | None:
    """pyarrow's CSV reader over the whole text (only for text whose quoting the vectorised pass understood):
    every field as text, straight into Arrow. ``None`` if pyarrow refuses the text."""
    invalid = 0

    def skip(_row: object) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    names = [f"c{j}" for j in range(width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(work)),
            read_options=pacsv.ReadOptions(column_names=names, block_size=_ARROW_BLOCK),
            parse_options=pacsv.ParseOptions(
                delimiter=sep,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=structure.multiline,
                ignore_empty_lines=True,
                invalid_row_handler=skip,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.large_string() for c in names},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,  # the text is valid UTF-8 and fields are split at ASCII bytes
            ),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    return _ArrowRead(columns=list(table.columns), invalid=invalid)


def _arrow_cells(
    work: bytes,
    sep: str,
    width: int,
    structure: _Structure,
    read: _ArrowRead,
    blank: np.ndarray,
    trimmed_index: list[int],
    trimmed_fields: list[list[str]],
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Cells and row numbers of every kept record (trimmed ones included): pyarrow's records of the file's
    width, plus blank records (a row of ``''``), shorter records (parsed by the ``csv`` module, padded) and
    the trimmed records, each in its place. ``None`` if pyarrow's record counts disagree with the first pass.
    """
    record_offsets = structure.record_offsets
    assert record_offsets is not None
    counts = structure.counts
    normal = (counts == width) & ~blank
    short = (counts < width) & ~blank
    n_normal = len(read.columns[0]) if read.columns else 0
    if n_normal != int(normal.sum()) or read.invalid != int((~blank & ~normal).sum()):
        return None

    extra_fields: dict[int, list[str]] = dict(zip(trimmed_index, trimmed_fields, strict=True))
    short_index = np.flatnonzero(short)
    if len(short_index):
        raw = b"".join(work[int(record_offsets[i]) : int(record_offsets[i + 1])] for i in short_index.tolist())
        parsed = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), delimiter=sep, strict=False))
        if len(parsed) != len(short_index):
            return None
        for i, fields in zip(short_index.tolist(), parsed, strict=True):
            extra_fields[i] = fields + [""] * (width - len(fields))
    extra_index = np.sort(np.concatenate([np.flatnonzero(blank | short), np.asarray(trimmed_index, dtype=np.int64)]))
    empty = [""] * width
    extra_rows = [extra_fields.get(i, empty) for i in extra_index.tolist()]
    normal_index = np.flatnonzero(normal)
    order = np.argsort(np.concatenate([normal_index, extra_index]), kind="stable") if len(extra_index) else None
    out: list[pa.ChunkedArray] = []
    columns: list[pa.ChunkedArray | None] = list(read.columns)
    read.columns = []
    for j in range(width):
        col = columns[j]
        columns[j] = None  # each column is released once it is rebuilt
        assert col is not None
        if order is None:
            out.append(col)  # kept in pyarrow's blocks: no copy
        else:
            extra = pa.array([r[j] for r in extra_rows], type=pa.large_string())
            out.append(pc.take(pa.chunked_array([*col.chunks, extra], type=pa.large_string()), pa.array(order)))
    kept = np.sort(np.concatenate([normal_index, extra_index]))
    return make_cells(out, len(kept)), structure.starts[kept]


def _parse_pandas(
    work: bytes,
    sep: str,
    width: int,
    structure: _Structure,
    kept: np.ndarray,
    ragged: np.ndarray,
    trimmed_rows: list[int],
    trimmed_fields: list[list[str]],
    notes: list[str],
) -> tuple[pd.DataFrame | None, np.ndarray]:
    """Cells and row numbers from pandas' C engine plus the trimmed records; ``None`` cells if pandas
    disagrees with the first pass."""
    cells = _parse(work, sep, width, expected=int(kept.sum()), has_ragged=bool(len(ragged)), notes=notes)
    rows = structure.starts[kept]
    if cells is None or not trimmed_rows:
        return cells, rows
    extra = make_cells([[f[j] for f in trimmed_fields] for j in range(width)], len(trimmed_rows))
    all_rows = np.concatenate([rows, np.asarray(trimmed_rows, dtype=np.int64)])
    order = np.argsort(all_rows, kind="stable")
    cells = pd.concat([cells, extra], ignore_index=True).iloc[order].reset_index(drop=True)
    return cells, all_rows[order]


def _parse(
    work: bytes, sep: str, width: int, *, expected: int, has_ragged: bool, notes: list[str]
) -> pd.DataFrame | None:
    try:
        with warnings_as_notes(notes, "pandas"):
            frame = pd.read_csv(
                io.BytesIO(work),
                header=None,
                names=list(range(width)),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,
                engine="c",
                sep=sep,
                quotechar='"',
                encoding="utf-8",
                on_bad_lines="skip" if has_ragged else "error",
            )
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError, MemoryError) as exc:
        if isinstance(exc, MemoryError):
            raise
        notes.append(note("pandas_parse_failed", error=str(exc).strip()[:120]))
        return None
    if len(frame) != expected:
        notes.append(note("pandas_count_mismatch", found=len(frame), expected=expected))
        return None
    return frame.reset_index(drop=True)


def _parse_reference(work: bytes, sep: str, width: int, structure: _Structure) -> tuple[pd.DataFrame, np.ndarray]:
    """The slow exact reading with the ``csv`` module (used only if pandas disagrees with the first pass)."""
    text = work.decode("utf-8")
    records = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=False)
    columns: list[list[str]] = [[] for _ in range(width)]
    rows = []
    for i, record in enumerate(records):
        if len(record) > width and any(record[width:]):
            continue
        rows.append(int(structure.starts[i]))
        for j in range(width):
            columns[j].append(record[j] if j < len(record) else "")
    return make_cells(columns, len(rows)), np.asarray(rows, dtype=np.int64)


def _restore_delimiter(cells: pd.DataFrame, placeholder: str, delim: str) -> pd.DataFrame:
    for j in cells.columns:
        arr = arrow_of(cells[j])
        if pc.any(pc.match_substring(arr, placeholder)).as_py():
            cells[j] = text_series(pc.replace_substring(arr, placeholder, delim)).set_axis(cells.index)
    return cells
