"""The command line stays safe and honest: `--out` never overwrites what fundaudit did not write, never follows
a symbolic link out of the directory, and a refused or failed run leaves nothing behind (CONTRACT.md §7);
`inspect` on a shell glob skips files that are not ledgers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fundaudit.cli import main


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "aid.csv"
    path.write_text("姓名,金额,发放方式,发放日期\n甲,100,现金,2016-03-01\n", encoding="utf-8")
    return path


def _audit(src: Path, out: Path) -> int:
    return main(["audit", str(src), "--format", "json,html", "--out", str(out), "--quiet", "--fail-on", "never",
                 "--lang", "en"])


def test_a_directory_holding_a_file_named_like_a_report_is_not_ours(src: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("my own page", encoding="utf-8")
    assert _audit(src, out) == 2
    assert "not written by fundaudit (index.html)" in capsys.readouterr().err
    assert (out / "index.html").read_text(encoding="utf-8") == "my own page"
    assert not (out / ".fundaudit-report").exists()


def test_a_symlinked_marker_or_report_file_is_refused_and_its_target_untouched(src: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    out = tmp_path / "r"
    out.mkdir()
    os.symlink(victim, out / ".fundaudit-report")
    assert _audit(src, out) == 2
    assert victim.read_text(encoding="utf-8") == "keep"

    out2 = tmp_path / "r2"
    assert _audit(src, out2) == 0  # a real report directory …
    (out2 / "findings.json").unlink()
    os.symlink(victim, out2 / "findings.json")  # … whose report file became a link
    assert _audit(src, out2) == 2
    assert victim.read_text(encoding="utf-8") == "keep"


def test_the_out_directory_itself_may_not_be_a_symlink(src: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    assert _audit(src, tmp_path / "link") == 2
    assert list(real.iterdir()) == []


def test_a_refused_run_creates_no_directory(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("no,header,here\n1,2,3\n", encoding="utf-8")
    out = tmp_path / "never"
    assert _audit(bad, out) == 2
    assert not out.exists()


def test_an_earlier_report_directory_is_reused(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert _audit(src, out) == 0
    assert _audit(src, out) == 0
    assert sorted(p.name for p in out.iterdir()) == [".fundaudit-report", "findings.json", "index.html"]


def test_inspect_skips_files_that_are_not_ledgers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "README.md"
    notes.write_text("# 说明\n姓名,金额\n", encoding="utf-8")
    aid = tmp_path / "aid.csv"
    aid.write_text("姓名,金额,发放方式,发放日期\n甲,100,现金,2016-03-01\n", encoding="utf-8")
    assert main(["inspect", str(notes), str(aid), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert f"== {notes}\n  not a ledger file type (supported: .csv .parquet .tsv .txt .xls .xlsm .xlsx); skipped" in out
    assert "kind: disbursements" in out


def test_a_directory_left_by_a_crash_is_reused(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fundaudit.run

    def boom(**_kw: object) -> None:
        raise RuntimeError("a bug")

    out = tmp_path / "crashed"
    with monkeypatch.context() as m:
        m.setattr(fundaudit.run, "audit", boom)
        assert _audit(src, out) == 3
    assert (out / "fundaudit-error.log").exists() and (out / ".fundaudit-report").is_file()
    assert _audit(src, out) == 0


# --- a run's reports replace the previous run's as one set (issue 13, item 12) ---------------------------------

def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _beside(out: Path) -> list[str]:
    """What fundaudit left beside ``out`` (lock file, staging or old sets)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_a_run_replaces_the_previous_set_entirely(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    assert main(["audit", str(src), "--format", "html,json,junit", "--out", str(out), "--quiet"]) == 1
    assert sorted(p.name for p in out.iterdir()) == [".fundaudit-report", "findings.json", "index.html", "junit.xml"]
    assert main(["audit", str(src), "--format", "json", "--out", str(out), "--quiet"]) == 1
    assert sorted(p.name for p in out.iterdir()) == [".fundaudit-report", "findings.json"]
    assert _beside(out) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "rename-aside"])
def test_both_ways_of_swapping_give_the_new_set(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 exchange: bool) -> None:
    from fundaudit.report import outdir

    if not exchange:
        monkeypatch.setattr(outdir, "_renameat2", lambda *_a: False)
    out = tmp_path / "rep"
    assert _audit(src, out) == 0
    (out / "fundaudit-error.log").write_text("an old crash", encoding="utf-8")
    assert main(["audit", str(src), "--format", "junit", "--out", str(out), "--quiet"]) == 1
    assert sorted(p.name for p in out.iterdir()) == [".fundaudit-report", "junit.xml"]
    assert _beside(out) == []


@pytest.mark.parametrize("failure", ["disk-full", "interrupt"])
def test_a_failure_mid_write_leaves_the_previous_set_intact(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str], failure: str) -> None:
    import errno

    from fundaudit.run import AuditResult

    out = tmp_path / "rep"
    assert _audit(src, out) == 0
    before = _snapshot(out)

    def half_then_fail(self: AuditResult, path: Path, **_kw: object) -> Path:
        Path(path).write_text("<html><body>half a rep", encoding="utf-8")
        if failure == "interrupt":
            raise KeyboardInterrupt
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(AuditResult, "to_html", half_then_fail)
    capsys.readouterr()
    code = main(["audit", str(src), "--format", "json,html", "--out", str(out), "--quiet", "--lang", "en",
                 "--period", "2015"])  # json is written first, with another period: it would differ
    err = capsys.readouterr().err
    if failure == "interrupt":
        assert (code, err) == (3, "fundaudit: interrupted\n")
    else:
        assert (code, err) == (2, f"fundaudit: could not write the reports into {out}: No space left on device; "
                                  "the reports already there are unchanged\n")
    assert _snapshot(out) == before
    assert _beside(out) == []


def test_a_second_run_into_a_locked_folder_is_refused(src: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import fcntl

    out = tmp_path / "rep"
    assert _audit(src, out) == 0
    before = _snapshot(out)
    lock = tmp_path / ".rep.fundaudit.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"4242\n")
        capsys.readouterr()
        assert _audit(src, out) == 2
        assert capsys.readouterr().err == (f"fundaudit: another fundaudit run (pid 4242) is writing to {out}; "
                                           "wait for it to finish or choose another --out\n")
        assert _snapshot(out) == before
    finally:
        os.close(fd)
    assert _audit(src, out) == 0
    assert _beside(out) == []  # the lock file goes with the run that held it


def test_out_may_not_be_the_working_directory(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "here"
    out.mkdir()
    monkeypatch.chdir(out)
    assert main(["audit", str(src), "--format", "json", "--out", ".", "--quiet", "--lang", "en"]) == 2
    assert capsys.readouterr().err == (
        f"fundaudit: output directory {out} is (or holds) the working directory: each run replaces the folder as a "
        "whole, which would leave your shell in a removed folder; give a folder inside it, e.g. --out report\n")
    assert list(out.iterdir()) == []
    assert main(["audit", str(src), "--format", "json", "--out", "report", "--quiet", "--fail-on", "never"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["report"]


def test_leftovers_of_an_interrupted_swap_are_recovered_by_their_marker(tmp_path: Path) -> None:
    from fundaudit.report.outdir import ReportDir

    out = tmp_path / "rep"
    old = tmp_path / ".rep.fundaudit-old-999"  # interrupted between renaming out aside and the new set in
    old.mkdir()
    (old / ".fundaudit-report").write_text("m", encoding="utf-8")
    (old / "findings.json").write_text("the previous run", encoding="utf-8")
    new = tmp_path / ".rep.fundaudit-new-0a0b"  # a complete or half-written new set: unused
    new.mkdir()
    (new / ".fundaudit-report").write_text("m", encoding="utf-8")
    (new / "index.html").write_text("half", encoding="utf-8")
    foreign = tmp_path / ".rep.fundaudit-new-mine"  # named like ours, but no marker: never touched
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep", encoding="utf-8")
    with ReportDir(out):
        assert (out / "findings.json").read_text(encoding="utf-8") == "the previous run"
        assert _beside(out) == [".rep.fundaudit-new-mine", ".rep.fundaudit.lock"]
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep"
    assert _beside(out) == [".rep.fundaudit-new-mine"]


# --- crash logs only into a checked --out or a new private folder (issue 13, item 13) ----------------------------

def _crash_log_named(err: str) -> Path:
    lead = "fundaudit: internal error; traceback: "
    assert err.startswith(lead) and err.endswith("\n") and err.count("\n") == 1, err
    return Path(err[len(lead):-1])


def _assert_private_log(err: str, *, not_in: Path) -> None:
    import stat

    log = _crash_log_named(err)
    assert log.name == "fundaudit-error.log" and log.parent.name.startswith("fundaudit-error-")
    assert not log.is_relative_to(not_in)
    assert "RuntimeError: a bug" in log.read_text(encoding="utf-8")
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700 and stat.S_IMODE(log.stat().st_mode) == 0o600


def _boom(*_a: object, **_kw: object) -> None:
    raise RuntimeError("a bug")


def test_a_crash_before_out_is_checked_writes_nothing_into_a_refused_folder(
        src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import fundaudit.rules.model

    out = tmp_path / "site"
    out.mkdir()
    (out / "mine.txt").write_text("mine", encoding="utf-8")
    monkeypatch.setattr(fundaudit.rules.model, "params_from_args", _boom)
    assert main(["audit", str(src), "--out", str(out), "--lang", "en"]) == 3
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    _assert_private_log(capsys.readouterr().err, not_in=tmp_path)


def test_a_crash_never_writes_its_log_through_a_symlink(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import fundaudit.rules.model

    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    out = tmp_path / "rep"
    assert _audit(src, out) == 0
    os.symlink(victim, out / "fundaudit-error.log")
    monkeypatch.setattr(fundaudit.rules.model, "params_from_args", _boom)
    capsys.readouterr()
    assert main(["audit", str(src), "--out", str(out), "--lang", "en"]) == 3
    assert victim.read_text(encoding="utf-8") == "keep"
    _assert_private_log(capsys.readouterr().err, not_in=tmp_path)


def test_a_crash_after_the_checks_logs_into_out_beside_the_previous_set(
        src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import fundaudit.run

    out = tmp_path / "rep"
    assert _audit(src, out) == 0
    before = _snapshot(out)
    monkeypatch.setattr(fundaudit.run, "collect", _boom)
    capsys.readouterr()
    assert _audit(src, out) == 3
    log = _crash_log_named(capsys.readouterr().err)
    assert log == out / "fundaudit-error.log" and "RuntimeError: a bug" in log.read_text(encoding="utf-8")
    assert {k: v for k, v in _snapshot(out).items() if k != log.name} == before
    assert _beside(out) == []


@pytest.mark.parametrize("command", ["rules check", "inspect"])
def test_rules_check_and_inspect_never_write_into_the_working_directory(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import fundaudit.ledger
    import fundaudit.rules.shipped

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    given = tmp_path / "given.csv"
    given.write_text("姓名,金额\n甲,1\n", encoding="utf-8")
    monkeypatch.setattr(fundaudit.rules.shipped, "check_packs", _boom)
    monkeypatch.setattr(fundaudit.ledger, "read_sources", _boom)
    assert main([*command.split(), str(given), "--lang", "en"]) == 3
    assert list(cwd.iterdir()) == []
    _assert_private_log(capsys.readouterr().err, not_in=tmp_path)


def test_a_crash_with_nowhere_to_write_its_log_still_says_so(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import errno
    import tempfile

    import fundaudit.rules.model

    def full(*_a: object, **_kw: object) -> str:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fundaudit.rules.model, "params_from_args", _boom)
    monkeypatch.setattr(tempfile, "mkdtemp", full)
    assert main(["audit", str(src), "--out", str(tmp_path / "rep"), "--lang", "en"]) == 3
    assert capsys.readouterr().err == "fundaudit: internal error; traceback: not written (No space left on device)\n"
