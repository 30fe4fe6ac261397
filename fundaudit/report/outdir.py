"""The report directory (``--out``): which folders fundaudit may write into, and how a run's artefacts
replace the previous run's as one set.

A run's reports (and the marker that makes the folder recognisably fundaudit's) are built in a fresh folder
beside ``--out`` (same filesystem), then swapped in with one rename: on Linux ``renameat2(RENAME_EXCHANGE)``
exchanges the two folders atomically; elsewhere ``--out`` is renamed aside, the new folder renamed in and the
old one removed. A crash at any step leaves folders named ``.<out>.fundaudit-new-*`` / ``-old-*`` beside it
that the next run recognises by their marker: an ``-old-`` folder is put back when ``--out`` is missing,
the rest removed. Nothing without the marker is ever deleted (an empty folder aside).

A lock file beside ``--out`` (``.<out>.fundaudit.lock``, ``flock``) is held from the check of ``--out`` to the
swap: a second run into the same folder is refused at once (exit 2, naming the pid that holds it).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import stat
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from fundaudit._version import __version__
from fundaudit.errors import ConfigError, FundauditError

__all__ = ["CRASH_LOG", "MARKER", "REPORT_FILES", "ReportDir", "check_out", "write_crash_log"]

REPORT_FILES = {"html": "index.html", "xlsx": "findings.xlsx", "json": "findings.json", "junit": "junit.xml",
                "workpapers": "workpapers.xlsx", "db": "audit.duckdb"}
MARKER = ".fundaudit-report"
CRASH_LOG = "fundaudit-error.log"
#: ``fundaudit sample`` and ``sample evaluate`` write these into a report folder of their own (docs/sampling.md)
SAMPLE_FILES = ("sample.json", "sample.xlsx", "evaluation.json", "evaluation.xlsx")
_OURS = frozenset({*REPORT_FILES.values(), *SAMPLE_FILES, MARKER, CRASH_LOG})


def check_out(out: Path) -> None:
    """Refuse a report directory that could make a report overwrite something unrelated: a file, a directory
    that holds anything but an earlier fundaudit report (recognised by its marker file), or a symbolic link
    where a report file or the marker goes. Nothing is created here, so a refused or failed run leaves no
    trace."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ConfigError("out_dir_not_dir", path=str(out))
    if not out.is_dir():
        return
    names = sorted(p.name for p in out.iterdir())
    if not names:
        return
    marker = out / MARKER
    if marker.is_symlink() or not marker.is_file():
        raise ConfigError("out_dir_foreign", path=str(out), names=", ".join(names[:5]))
    others = [n for n in names if n not in _OURS and not n.endswith(".tmp")]
    if others:
        raise ConfigError("out_dir_foreign", path=str(out), names=", ".join(others[:5]))
    for name in _OURS:
        if (out / name).is_symlink():
            raise ConfigError("out_dir_symlink", path=str(out), name=name)


def _marker_text() -> bytes:
    return f"reports written by fundaudit {__version__}\n".encode()


def _is_ours(folder: Path) -> bool:
    """A real folder (not a link) that is empty or holds fundaudit's marker as a regular file."""
    try:
        if not stat.S_ISDIR(folder.lstat().st_mode):
            return False
        marker = (folder / MARKER).lstat()
    except FileNotFoundError:
        return not any(folder.iterdir())
    return stat.S_ISREG(marker.st_mode)


def _remove_set(folder: Path) -> None:
    """Remove a report set: only the files fundaudit writes there (reports, marker, crash log, writers'
    ``*.tmp``), then the folder; anything else found in it is left, with the marker, and the folder kept."""
    for entry in folder.iterdir():
        if entry.name != MARKER and (entry.name in _OURS or entry.name.endswith(".tmp")) and not entry.is_dir():
            entry.unlink()
    with contextlib.suppress(FileNotFoundError):
        if [p.name for p in folder.iterdir()] in ([MARKER], []):
            (folder / MARKER).unlink(missing_ok=True)
            folder.rmdir()


_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2(src, dst, flags)`` (Linux); False when the C library or the filesystem lacks it."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(src), None, str(dst))


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX; Windows has neither flag
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _try_lock(fd: int) -> None:
    """Lock the open file ``fd`` exclusively without waiting; OSError when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class ReportDir:
    """``--out`` held for one run: checked, locked, and replaced as a set.

    ``with ReportDir(out) as reports:`` checks ``out`` (:func:`check_out`), takes its lock and tidies what an
    interrupted run left beside it; ``with reports.staging() as folder:`` gives a fresh folder (with the
    marker) to write the reports into and, when the block ends without an error, swaps it in place of
    ``out``: the previous run's files are gone, all of them, and only then. A write that fails (disk full,
    permission) is exit 2 naming ``out``; the previous set stays as it was. An internal error inside the
    ``with`` writes its traceback into ``out`` (the folder passed the checks) while the lock is held, and
    sets the exception's ``crash_log``.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(os.path.abspath(out))  # `--out .` has a name and a parent too
        self._prefix = f".{self.out.name}.fundaudit-"
        self._lock_fd: int | None = None

    @property
    def lock_path(self) -> Path:
        """The lock file beside ``out``."""
        return self.out.parent / f".{self.out.name}.fundaudit.lock"

    def __enter__(self) -> ReportDir:
        check_out(self.out)
        with contextlib.suppress(OSError):  # the set is swapped whole: a shell left inside would see it vanish
            if Path.cwd().resolve().is_relative_to(self.out.resolve()):
                raise ConfigError("out_dir_is_cwd", path=str(self.out))
        if self.out.parent.is_dir():  # else taken when the folder is made (nothing can be there to race for)
            self._lock()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if isinstance(exc, Exception) and not isinstance(exc, FundauditError):
                text = "".join(traceback.format_exception(exc))
                with contextlib.suppress(OSError):  # nowhere to write: the caller says so
                    exc.crash_log = write_crash_log(text, self.out)  # type: ignore[attr-defined]
        finally:
            self._unlock()

    def _lock(self) -> None:
        """Take the lock file beside ``out`` (refusing at once when another run holds it), then tidy the
        leftovers of interrupted runs and check ``out`` again: nothing can change under the lock now."""
        path = self.lock_path
        while self._lock_fd is None:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o600)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise ConfigError("out_dir_symlink", path=str(self.out), name=path.name) from None
                raise ConfigError("out_write_failed", path=str(self.out), error=exc.strerror or str(exc)) from exc
            try:
                _try_lock(fd)
            except OSError:
                try:
                    held = os.read(fd, 32).decode("ascii", "replace").strip()
                except OSError:  # Windows: the holder's locked byte cannot be read
                    held = ""
                finally:
                    os.close(fd)
                pid: int | str = int(held) if held.isdigit() else "?"
                raise ConfigError("out_dir_busy", path=str(self.out), pid=pid) from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed the file as we opened it: lock the new one
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._lock_fd = fd
        try:
            self._recover()
            check_out(self.out)
        except BaseException:
            self._unlock()
            raise

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is None:
            return
        try:
            if os.path.samestat(os.fstat(fd), os.stat(self.lock_path, follow_symlinks=False)):
                self.lock_path.unlink()  # while still held: a waiting opener then retries on a new file
        except (FileNotFoundError, PermissionError):  # Windows cannot remove an open file: it stays
            pass
        finally:
            os.close(fd)

    def _leftovers(self) -> list[Path]:
        return [p for p in self.out.parent.iterdir() if p.name.startswith(self._prefix) and _is_ours(p)]

    def _recover(self) -> None:
        """Undo what an interrupted run left: its previous set put back if ``out`` went missing between the
        two renames, every other leftover set removed."""
        leftovers = self._leftovers()
        old = sorted((p for p in leftovers if p.name.startswith(self._prefix + "old-")),
                     key=lambda p: p.lstat().st_mtime)
        if old and not os.path.lexists(self.out):
            os.rename(old[-1], self.out)
            leftovers.remove(old[-1])
        for p in leftovers:
            _remove_set(p)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A new folder beside ``out`` holding the marker, to write every report of the run into; swapped in
        place of ``out`` when the block ends without an error, removed otherwise."""
        folder = self.out.parent / f"{self._prefix}new-{secrets.token_hex(6)}"
        try:
            if self._lock_fd is None:
                self.out.parent.mkdir(parents=True, exist_ok=True)
                self._lock()
            folder.mkdir(0o777)  # the umask applies, as for any folder the user makes
            if self.out.is_dir():
                folder.chmod(stat.S_IMODE(self.out.stat().st_mode))
            (folder / MARKER).write_bytes(_marker_text())
            yield folder
            self._swap(folder)
        except OSError as exc:
            raise ConfigError("out_write_failed", path=str(self.out),
                              error=exc.strerror or str(exc)) from exc
        finally:
            if folder.is_dir():
                _remove_set(folder)

    def _swap(self, new: Path) -> None:
        """Put ``new`` in place of ``out``; the previous set is then removed."""
        out = self.out
        if not os.path.lexists(out):
            if not _renameat2(new, out, _RENAME_NOREPLACE):
                os.rename(new, out)
            return
        check_out(out)  # still ours: its files are about to be removed
        if _renameat2(new, out, _RENAME_EXCHANGE):
            _remove_set(new)  # now the previous set
            return
        old = out.parent / f"{self._prefix}old-{os.getpid()}"
        os.rename(out, old)
        os.rename(new, out)
        _remove_set(old)


def write_crash_log(text: str, out: Path | None = None) -> Path:
    """Write an internal error's traceback (personal data masked) and return where it went: into ``out`` when
    given (a report folder that passed :func:`check_out`, created with its marker when missing, so the next run
    reuses it), else, or when that fails, into a new private temporary folder. The log is written under a new
    name and renamed, or created exclusively: never through a symbolic link."""
    from fundaudit.masking import mask_text

    data = mask_text(text).encode("utf-8", "backslashreplace")
    if out is not None:
        from fundaudit.report.json import write_atomic

        try:
            out.mkdir(parents=True, exist_ok=True)
            if not (out / MARKER).is_file():
                write_atomic(out / MARKER, _marker_text())
            return write_atomic(out / CRASH_LOG, data)
        except OSError:
            pass
    log = Path(tempfile.mkdtemp(prefix="fundaudit-error-")) / CRASH_LOG  # mode 0700
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return log
