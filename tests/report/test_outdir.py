"""The report folder holds exactly one run's set, whatever sequence of runs, formats and failures went into it
(issue 13, item 12): a property over ReportDir itself, so it runs without auditing anything."""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fundaudit.errors import ConfigError
from fundaudit.report import outdir
from fundaudit.report.outdir import CRASH_LOG, MARKER, REPORT_FILES, ReportDir

RUNS = st.lists(st.tuples(st.sets(st.sampled_from(sorted(REPORT_FILES.values())), min_size=1),
                          st.sampled_from(["ok", "disk-full", "interrupt", "crash"]), st.booleans()),
                min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(runs=RUNS)
def test_out_always_holds_exactly_the_last_complete_runs_set(runs: list[tuple[set[str], str, bool]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        out = Path(tmp) / "rep"
        last: tuple[int, set[str]] | None = None
        log = False  # a crash log beside the last set, until a run's set replaces it
        for n, (names, outcome, exchange) in enumerate(runs):
            mp.setattr(outdir, "_renameat2", outdir._renameat2 if exchange else (lambda *_a: False))
            try:
                with ReportDir(out) as reports, reports.staging() as folder:
                    for i, name in enumerate(sorted(names)):
                        (folder / name).write_text(f"run {n}", encoding="utf-8")
                        if i == len(names) - 1 and outcome == "disk-full":
                            raise OSError(errno.ENOSPC, "No space left on device")
                        if i == len(names) - 1 and outcome == "interrupt":
                            raise KeyboardInterrupt
                        if i == len(names) - 1 and outcome == "crash":
                            raise RuntimeError("a bug")
            except ConfigError as exc:
                assert (outcome, exc.code) == ("disk-full", "out_write_failed")
            except KeyboardInterrupt:
                assert outcome == "interrupt"
            except RuntimeError as exc:
                assert outcome == "crash"
                assert exc.crash_log == out / CRASH_LOG  # type: ignore[attr-defined]
            else:
                assert outcome == "ok"
                last = (n, names)
            log = outcome == "crash" or (log and outcome != "ok")
            beside = sorted(p.name for p in Path(tmp).iterdir())
            assert beside == (["rep"] if out.exists() else [])  # no lock, no new or old set left over
            held = {p.name for p in out.iterdir()} if out.exists() else set()
            want = {MARKER, *(last[1] if last else ()), *([CRASH_LOG] if log else [])}
            assert held == (want if last or log else set())
            if last:
                assert {(out / name).read_text(encoding="utf-8") for name in last[1]} == {f"run {last[0]}"}
