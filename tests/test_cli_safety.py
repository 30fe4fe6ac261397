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
