"""The ``subject`` of a finding: the person or employer it is about, as a keyed hash of their ID, never the ID.

A finding's subject is HMAC-SHA256 (truncated to 32 hex characters, 128 bits) over the subject type and the
normalised ID read on the finding's first row (``person:`` + a resident ID in its 18-character form,
``taxpayer:`` + a taxpayer ID), so the same person paid in one ledger and filed in another has one subject, and
the same person next year has the same subject again (``recurs_after``, docs/triage.md).

Why a key: a resident ID has so few valid values per region and birth date that an unkeyed hash of one is
reversed by trying them all. The key is read from ``audit(subject_key=)`` / ``--subject-key FILE``, else from the
file ``FUNDAUDIT_SUBJECT_KEY`` names, else from ``subject.key`` in the user's configuration folder, created on
first use (32 random bytes, hex-encoded; file mode 0600, folder 0700). The key never leaves that file: a run
records only :func:`key_id`, a short public name of the key, so a baseline made with another key is detected.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
from pathlib import Path

import pandas as pd

from fundaudit.errors import ConfigError

__all__ = ["ENV", "MIN_KEY_BYTES", "PREFIXES", "default_key_path", "key_id", "read_key", "subjects"]

#: The environment variable naming a key file.
ENV = "FUNDAUDIT_SUBJECT_KEY"
#: A key shorter than this many bytes is refused.
MIN_KEY_BYTES = 16
#: The subject type each ID column type is hashed under.
PREFIXES = {"resident_id": "person:", "taxpayer_id": "taxpayer:"}
_HEX_CHARS = 32  # 128 bits of the HMAC
_KEY_ID_LABEL = b"fundaudit subject key id v1\x00"  # domain separation: the key id is no subject hash
_KEY_FILE = "subject.key"


def default_key_path() -> Path:
    """Where the key lives when none is given: ``$XDG_CONFIG_HOME/fundaudit/subject.key``, else on Windows
    ``%APPDATA%\\fundaudit\\subject.key``, else ``~/.config/fundaudit/subject.key``."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    if not base and sys.platform == "win32":
        base = os.environ.get("APPDATA") or ""
    root = Path(base) if base else Path.home() / ".config"
    return root / "fundaudit" / _KEY_FILE


def read_key(key: str | os.PathLike[str] | bytes | None = None) -> bytes:
    """The subject key: ``key`` itself when bytes, the content of the file ``key`` names, else of the file the
    environment's ``FUNDAUDIT_SUBJECT_KEY`` names, else of :func:`default_key_path` (created when missing). A key
    file's content with surrounding whitespace removed is the key. Raises :class:`ConfigError` (exit 2) when the
    file cannot be read or the key is shorter than ``MIN_KEY_BYTES``."""
    if isinstance(key, bytes):
        return _checked(key, "<bytes>")
    if key is not None:
        return _read_file(Path(key))
    named = os.environ.get(ENV, "").strip()
    if named:
        return _read_file(Path(named))
    path = default_key_path()
    if not path.exists():
        _create(path)
    return _read_file(path)


def _read_file(path: Path) -> bytes:
    path = path.expanduser()  # FUNDAUDIT_SUBJECT_KEY=~/keys/union.key, quoted so no shell expanded it
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError("subject_key_unreadable", file=str(path), why=exc.strerror or type(exc).__name__) from exc
    return _checked(data.strip(), str(path))


def _checked(key: bytes, where: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError("subject_key_too_short", file=where, size=len(key), min=MIN_KEY_BYTES)
    return key


def _create(path: Path) -> None:
    """Write a new key to ``path`` (folder 0700, file 0600), complete or not at all: written under a temporary
    name, then linked into place, so a run starting at the same moment reads either no key or the whole key,
    and when two runs create one, the first wins and both use it."""
    folder = path.parent
    made = not folder.exists()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if made:
            folder.chmod(0o700)
        text = secrets.token_bytes(32).hex().encode("ascii")
        tmp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another run made it first: use theirs
            except OSError:  # no hard links here (FAT, some network shares): create it exclusively instead
                _create_exclusive(path, text)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError("subject_key_unreadable", file=str(path), why=exc.strerror or type(exc).__name__) from exc


def _create_exclusive(path: Path, text: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(text)


def _normalised(values: pd.Series, column_type: str) -> pd.Series:
    """IDs as the loader cleans them (:func:`fundaudit.normalize.clean_id` / ``clean_taxpayer_id``: NFKC, no
    whitespace or exporter wrappers, upper case), a 15-digit resident ID in its 18-character form; a value
    cleaning refuses, as read, trimmed and upper-cased; None where blank or an Excel error (``#N/A``)."""
    from fundaudit.normalize import clean_id, clean_taxpayer_id, upgrade_15_to_18

    raw = pd.Series(values.astype(object).where(values.notna(), None).to_numpy(), index=values.index, dtype=object)
    parsed = clean_id(raw, keep_invalid=True) if column_type == "resident_id" else clean_taxpayer_id(raw)
    clean = parsed.values.astype(object).where(parsed.values.notna(), None)
    legacy = clean.str.len().eq(15).fillna(False).astype(bool)
    if column_type == "resident_id" and legacy.any():
        upgraded = upgrade_15_to_18(clean[legacy])
        clean.loc[legacy] = upgraded.astype(object).where(upgraded.notna(), clean[legacy])
    refused = parsed.reason.notna() & parsed.reason.ne("excel_error_cell")  # an Excel error cell holds no ID
    if refused.any():
        as_read = raw[refused].map(lambda v: str(v).strip().upper() or None)
        clean.loc[refused] = as_read
    return clean.where(clean.notna(), None)


def key_id(key: bytes) -> str:
    """A short public name of ``key`` (12 hex characters of SHA-256 over a fixed label and the key): recorded in
    findings.json ``run.subject_key_id``, so runs hashed with different keys are told apart. It says nothing
    about the key."""
    return hashlib.sha256(_KEY_ID_LABEL + key).hexdigest()[:12]


def subjects(values: pd.Series, column_type: str, key: bytes) -> pd.Series:
    """The subject of each ID in ``values`` (a column of type ``resident_id`` or ``taxpayer_id``): the keyed hash
    of the type's prefix and the ID normalised (trimmed, upper case; a 15-digit resident ID in its 18-character
    form; an ID that is no valid one as it reads, trimmed). None where the value is blank. One HMAC per distinct
    ID (called on the first rows of findings, never on a whole ledger)."""
    text = _normalised(values, column_type)
    prefix = PREFIXES[column_type]
    hashed = {v: hmac.new(key, (prefix + v).encode("utf-8"), hashlib.sha256).hexdigest()[:_HEX_CHARS]
              for v in text.dropna().unique().tolist()}
    return text.map(hashed, na_action="ignore").astype(object).where(text.notna(), None)
