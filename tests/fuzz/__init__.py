"""Fuzz tests (Hypothesis): the readers, the rule-pack loader and ``--param`` take any input and either
succeed or raise a :class:`fundaudit.errors.FundauditError` (the CLI: exit 0, 1 or 2, never 3).

They run in ``make test`` under the "ci" profile with a small budget each (:func:`fuzz_settings`), and
with many more examples in ``make fuzz`` (``HYPOTHESIS_PROFILE=fuzz``). Each example runs under
:func:`guarded`: a wall-clock alarm (a hang fails the example instead of stalling the run). The readers'
examples run in a forked child (:func:`in_child`) that also has an address-space and a CPU-time cap: a
reader that tries to allocate gigabytes, or whose native code aborts or loops, fails that example instead
of taking the test run (or the machine) down.
"""

from __future__ import annotations

import faulthandler
import os
import resource
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
LONG = PROFILE in ("fuzz", "nightly")
FACTOR = int(os.environ.get("FUZZ_FACTOR", "25"))  # make fuzz: this many times the ci budget


def fuzz_settings(examples: int, deadline_ms: int) -> settings:
    """``examples`` per test under the ci/dev profiles, :data:`FACTOR` times as many under fuzz/nightly.
    ``deadline_ms`` is the per-example deadline: generous, since the machine may be busy, and far below
    what a quadratic scan or a hang takes."""
    return settings(
        max_examples=examples * FACTOR if LONG else examples,
        deadline=timedelta(milliseconds=deadline_ms),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        derandomize=not LONG,  # make test is reproducible; make fuzz explores a new part of the space each run
        database=None if not LONG else settings().database,
    )


class HangError(Exception):
    """An example ran past its wall-clock alarm."""


@contextmanager
def guarded(seconds: float = 20.0, memory_mb: int | None = None) -> Iterator[None]:
    """Run a block with a wall-clock alarm of ``seconds`` (raises :class:`HangError`) and, when ``memory_mb``
    is given, at most that much more address space than the process holds now (allocations beyond raise
    ``MemoryError``). Only for code that starts no thread pools: DuckDB and Arrow reserve address space by the
    gigabyte on first use, which the cap would turn into a false failure."""

    def alarm(_signum: int, _frame: object) -> None:
        raise HangError(f"no result after {seconds} s")

    old_handler = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if memory_mb is not None:
        cap = _address_space() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)


def _address_space() -> int:
    """The process's current virtual size in bytes (2**62 where /proc is missing: then no real cap)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 1 << 62


def in_child(fn: Callable[[], None], *, seconds: float = 30.0, memory_mb: int | None = 1024) -> None:
    """Run ``fn`` in a forked child under :func:`guarded` and re-raise its failure here as an AssertionError
    carrying the child's traceback. A reader that aborts the process (a native library's failed allocation
    calls ``abort()``) or never returns fails the example instead of killing or stalling the test run."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        os.close(read_end)
        faulthandler.disable()  # an abort is reported by the parent, not dumped on the terminal
        status = 0
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)  # a native loop never sees the alarm: SIGXCPU ends it
        resource.setrlimit(resource.RLIMIT_CPU, (int(seconds) + 5, hard))
        try:
            with guarded(seconds=seconds, memory_mb=memory_mb):
                fn()
        except BaseException:  # everything, reported to the parent
            status = 1
            os.write(write_end, traceback.format_exc()[-20000:].encode("utf-8", "replace"))
        os.close(write_end)
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode("utf-8", "replace")  # EOF when the child exits, however it exits
    _, wait_status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(wait_status):
        name = signal.Signals(os.WTERMSIG(wait_status)).name
        raise AssertionError(f"the process died of {name} (a native library aborted: an allocation beyond the "
                             f"{memory_mb} MB cap, or a crash)\n{report}")
    if os.WEXITSTATUS(wait_status) != 0:
        raise AssertionError(f"in the child process:\n{report}")
