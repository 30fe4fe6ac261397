"""What a file really is, from its bytes: the extension never decides.

``sniff`` returns the readable format (``xls``, ``xlsx``, ``csv``, ``parquet``, and ``html`` / ``spreadsheetml``
for the HTML tables and Excel 2003 XML that finance systems save with an ``.xls`` name) or raises the error that
says what the file is instead: MHTML saved with an Excel name, an encrypted workbook, a truncated file, a WPS or
other unsupported format, an empty file.
"""

from __future__ import annotations

import codecs
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from xlrd import compdoc

from fundaudit.errors import InputError, UnreadableFileError, note
from fundaudit.io.names import display_name

__all__ = ["FormatInfo", "sniff"]

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
PARQUET_MAGIC = b"PAR1"
_BIFF_BOF = (b"\x09\x00", b"\x09\x02", b"\x09\x04", b"\x09\x08")  # raw BIFF2-8 streams (very old .xls)
_HEAD_BYTES = 8192

_EXPECTED_BY_EXT = {
    ".xls": "xls",
    ".xlt": "xls",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xltx": "xlsx",
    ".xltm": "xlsx",
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".html": "html",
    ".htm": "html",
    ".xml": "spreadsheetml",
}
_DESCRIBE = {
    "xls": "an Excel 97-2003 workbook (.xls)",
    "xlsx": "an Excel workbook (.xlsx)",
    "csv": "delimited text (CSV/TXT)",
    "parquet": "a parquet file",
    "html": "an HTML table",
    "spreadsheetml": "an Excel 2003 XML Spreadsheet (SpreadsheetML)",
}
_OTHER_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"ARROW1", "an Arrow IPC file"),
)


@dataclass(frozen=True)
class FormatInfo:
    """The format a file really has.

    ``format`` is the reader to use; ``ext`` the extension as given (lower case, ``''`` if none);
    ``description`` says in words what was found; ``notes`` carries an extension/content mismatch note.
    ``zip_names`` lists the members of a zip container.
    """

    format: str
    ext: str
    description: str
    notes: tuple[str, ...] = ()
    zip_names: tuple[str, ...] = field(default=(), repr=False)


def sniff(path: str | os.PathLike[str], *, name: str | None = None, data: bytes | None = None) -> FormatInfo:
    """Identify ``path`` by its bytes; raise ``UnreadableFileError``/``InputError`` for what cannot be read.

    ``name`` is the display name for messages (default: the path as given); ``data``, when the caller has
    already read the file, saves a second read.
    """
    p = Path(path)
    display = name if name is not None else display_name(path)
    ext = p.suffix.lower()
    shown_ext = ext or "(none)"
    try:
        if not p.exists():
            raise InputError("file_not_found", file=display)
        if p.is_dir():
            raise InputError("bad_source", what=f"{display} (a directory)", file=display)
        with p.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
            size = fh.seek(0, io.SEEK_END)
            tail = b""
            if size >= 4:
                fh.seek(size - 4)
                tail = fh.read(4)
    except OSError as exc:
        raise UnreadableFileError("unreadable", file=display, what=exc.strerror or str(exc), ext=shown_ext) from exc
    if not head:
        raise InputError("file_empty", file=display)

    def unsupported(what: str) -> UnreadableFileError:
        return UnreadableFileError("unsupported_format", file=display, what=what, ext=shown_ext)

    if head.startswith(ZIP_MAGICS):
        names = _zip_names(p, display, shown_ext)
        lowered = {n.replace("\\", "/").lower() for n in names}
        if "xl/workbook.bin" in lowered:
            raise unsupported("an Excel binary workbook (.xlsb)")
        if any(n.startswith("xl/") for n in lowered) and (
            "[content_types].xml" in lowered or "xl/workbook.xml" in lowered
        ):
            return _info("xlsx", ext, display, zip_names=tuple(names))
        if "mimetype" in lowered or "content.xml" in lowered:
            raise unsupported("an OpenDocument file (.ods/.odt), not an Excel workbook")
        if any(n.startswith("word/") for n in lowered):
            raise unsupported("a Word document (.docx)")
        if any(n.startswith("ppt/") for n in lowered):
            raise unsupported("a PowerPoint presentation (.pptx)")
        raise unsupported("a zip archive that holds no Excel workbook")
    if head.startswith(OLE2_MAGIC):
        if data is None:
            try:
                data = p.read_bytes()
            except OSError as exc:
                what = exc.strerror or str(exc)
                raise UnreadableFileError("unreadable", file=display, what=what, ext=shown_ext) from exc
        streams = ole2_stream_names(data, display, shown_ext)
        if {"EncryptionInfo", "EncryptedPackage"} & streams:
            raise UnreadableFileError("encrypted", file=display, ext=shown_ext)
        if {"Workbook", "Book", "WORKBOOK", "BOOK"} & streams:
            return _info("xls", ext, display)
        if ext in (".et", ".ett"):
            raise UnreadableFileError("wps_format", file=display, ext=shown_ext)
        if "WordDocument" in streams:
            raise unsupported("a Word 97-2003 document (.doc)")
        if "PowerPoint Document" in streams:
            raise unsupported("a PowerPoint 97-2003 presentation (.ppt)")
        raise unsupported("an OLE2 compound file without a workbook stream")
    if head.startswith(PARQUET_MAGIC):
        if tail != PARQUET_MAGIC:
            raise UnreadableFileError("truncated", file=display, what="parquet footer missing", ext=shown_ext)
        return _info("parquet", ext, display)
    if head[:2] in _BIFF_BOF and len(head) >= 4 and head[2:4] in (b"\x04\x00", b"\x06\x00", b"\x08\x00", b"\x10\x00"):
        return _info("xls", ext, display)
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            raise unsupported(what)
    if ext in (".et", ".ett"):
        raise UnreadableFileError("wps_format", file=display, ext=shown_ext)

    text = _head_text(head)
    if text is None:
        raise unsupported("binary data that is not a spreadsheet or text")
    start = text.lstrip("\ufeff \t\r\n\x00").lower()
    if start.startswith("<?xml"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in start or 'progid="excel.sheet"' in start:
            return _info("spreadsheetml", ext, display)
        if "<html" in start:
            return _info("html", ext, display)
        raise unsupported("an XML document")
    if start.startswith(("<html", "<!doctype html", "<table", "<head", "<body", "<meta", "<style")) or (
        start.startswith(("<!--", "<!doctype")) and "<html" in start
    ):
        return _info("html", ext, display)
    first_lines = start[:2048]
    if first_lines.startswith("mime-version:") or (
        "mime-version:" in first_lines and "multipart/related" in first_lines
    ):
        raise UnreadableFileError("disguised_mhtml", file=display, ext=shown_ext)
    return _info("csv", ext, display)


def _info(fmt: str, ext: str, display: str, *, zip_names: tuple[str, ...] = ()) -> FormatInfo:
    expected = _EXPECTED_BY_EXT.get(ext)
    notes: tuple[str, ...] = ()
    content = note(f"content.{fmt}")  # the words of _DESCRIBE[fmt]
    if expected is None:
        notes = (note("ext_unexpected", file=display, ext=ext, content=content) if ext
                 else note("ext_missing", file=display, content=content),)
    elif expected != fmt:
        notes = (note("ext_mismatch", file=display, ext=ext, content=content),)
    return FormatInfo(format=fmt, ext=ext, description=_DESCRIBE[fmt], notes=notes, zip_names=zip_names)


def _zip_names(p: Path, display: str, shown_ext: str) -> list[str]:
    try:
        with zipfile.ZipFile(p) as zf:
            return zf.namelist()
    except zipfile.BadZipFile as exc:
        raise UnreadableFileError(
            "truncated",
            file=display,
            ext=shown_ext,
            what="zip central directory missing; the file was probably cut short",
        ) from exc
    except (OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise UnreadableFileError(
            "truncated", file=display, ext=shown_ext, what=f"zip container damaged ({exc})"
        ) from exc


def ole2_stream_names(data: bytes, display: str, shown_ext: str) -> set[str]:
    """Names of the streams in an OLE2 compound file (via xlrd's compdoc, corruption-tolerant)."""
    log = io.StringIO()
    try:
        doc = compdoc.CompDoc(data, logfile=log, ignore_workbook_corruption=True)
        return {d.name for d in doc.dirlist}
    except Exception as exc:
        raise UnreadableFileError("truncated", file=display, ext=shown_ext, what=ole2_damage(data)) from exc


def ole2_damage(data: bytes) -> str:
    """A plain description of what is wrong with a damaged OLE2 file."""
    if len(data) >= 32:
        sector_shift = int.from_bytes(data[30:32], "little")
        sector = 1 << sector_shift if 7 <= sector_shift <= 16 else 512
        if len(data) < 512 or (len(data) - 512) % sector:
            return (
                f"OLE2 file size ({len(data)} bytes) is not a whole number of {sector}-byte sectors; "
                "the file was cut short"
            )
    return "OLE2 sector chain broken"


def _head_text(head: bytes) -> str | None:
    """The first bytes decoded leniently when they look like text (any encoding), else ``None`` (binary)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    sample = head[:4096]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = max(len(sample) // 2, 1)
    if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
        return sample.decode("utf-16-le", errors="replace")
    if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
        return sample.decode("utf-16-be", errors="replace")
    controls = sum(sample.count(bytes([b])) for b in range(32) if b not in (0, 9, 10, 12, 13, 26))
    controls += sample.count(0x7F)
    if controls > 0.01 * len(sample) + 1 or sample.count(0) > max(0.1 * len(sample), 16):
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return _decode_prefix(sample, encoding)
        except UnicodeDecodeError:
            continue
    return sample.decode("latin-1")  # only to look for markup; the CSV reader decides the encoding


def _decode_prefix(sample: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)()
    return decoder.decode(sample, final=False)  # a character cut at the end of the sample is fine
