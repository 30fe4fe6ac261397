"""The benchmark harness keeps working (run at a tiny size; speed itself is measured only in bench/)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench import audit, scale


@pytest.mark.slow
def test_audit_benchmark_runs_at_a_tiny_size_and_finds_only_what_it_planted(tmp_path: Path) -> None:
    doc = audit.main(["--dues", "2400", "--disbursements", "4000", "--findings", "500", "--data", str(tmp_path),
                      "--no-save"])
    whole = doc["whole_pack"]
    assert whole["rows"]["dues"] == 2400 and whole["rows"]["disbursements"] == 4000
    assert {s for s in whole["statuses"].values()} <= {"ran", "skipped"}
    assert whole["statuses"]["DISB-NOT-FILED"] == "ran" and whole["statuses"]["XL-UNION-ACCOUNT"] == "ran"
    # the generated ledgers are clean but for the planted rows: no rule outside these fires
    assert whole["by_rule"] == {"DISB-CASH": 5, "DISB-NOT-FILED": 4, "DISB-ACCOUNT-SHARED": 4, "DISB-OVER-CAP": 4,
                                "DUES-RATE": 1, "DUES-CALC": 1, "DUES-LATE": 1}
    per_plant = [sum(1 for i in range(4000) if i % scale.PLANT_EVERY == r) for r in (3, 13, 17)]
    found = [whole["by_rule"].get(rule, 0) for rule in ("DISB-CASH", "DISB-NOT-FILED", "DISB-ACCOUNT-SHARED")]
    assert found == per_plant  # one finding per planted row or group, nothing else
    assert doc["reports"]["findings"] == 500 and set(doc["reports"]["seconds"]) == {"json", "junit", "xlsx", "html"}


def _read(path: Path) -> pa.Table:
    """One ledger as written: a parquet file, or a directory's part files in order."""
    if path.is_dir():
        return pa.concat_tables([pq.read_table(p) for p in sorted(path.glob("part-*.parquet"))])
    return pq.read_table(path)


def _digest(table: pa.Table) -> str:
    h = hashlib.sha256()
    for name in table.column_names:
        h.update(name.encode() + b"\x1e" + "\x1f".join(table.column(name).to_pylist()).encode() + b"\x1d")
    return h.hexdigest()[:16]


def test_generated_data_are_what_the_one_shot_generator_wrote(tmp_path: Path) -> None:
    """The sizes the bench and tests use keep their data (digests of what bench/scale.py wrote at d49773b, when
    it built each ledger as one pandas frame): the published figures stay comparable."""
    paths = scale.build(tmp_path, dues=2400, disbursements=4000)
    assert {k: p.name for k, p in paths.items()} == {k: f"{k}.parquet" for k in scale.KINDS}
    assert {k: (_digest(_read(p)), _read(p).num_rows) for k, p in paths.items()} == {
        "budget": ("f98c83caab2590a9", 3), "disbursements": ("da93c0b995564526", 4000),
        "dues": ("74d182926434dc56", 2400), "employers": ("d7c3f058e87803cd", 100),
        "register": ("54c8c8be70c44d7d", 1000), "staff": ("99dea7ff02aa1ea4", 2), "unions": ("65a5b756373f0119", 90),
    }
    assert {k: _digest(_read(p)) for k, p in scale.build(tmp_path / "odd", dues=24001, disbursements=10003).items()
            if k in ("dues", "disbursements", "register")} == {
        "dues": "ba96a8191d05c8e0", "disbursements": "ccc8385c0f1602a9", "register": "556b4b9788963076"}


@pytest.mark.parametrize("chunk_rows", [13, 24, 1000])
@pytest.mark.parametrize("workers", [None, 150])
def test_chunked_output_concatenates_to_the_one_shot_output(tmp_path: Path, chunk_rows: int,
                                                             workers: int | None) -> None:
    one = scale.build(tmp_path / "one", dues=1213, disbursements=713, workers=workers)
    parts = scale.build(tmp_path / "parts", dues=1213, disbursements=713, workers=workers, chunk_rows=chunk_rows,
                        directory_above=0)
    for kind in scale.KINDS:
        assert one[kind].is_file() and parts[kind].is_dir()
        assert _read(parts[kind]).equals(_read(one[kind])), kind
    dues_parts = sorted(p.name for p in parts["dues"].iterdir())
    assert len(dues_parts) == -(-1200 // chunk_rows) and dues_parts[0] == "part-00000.parquet"
    assert all(pq.read_metadata(p).num_rows == min(chunk_rows, 1200) for p in sorted(parts["dues"].iterdir())[:-1])


def test_workers_sets_the_register_size_and_five_payments_each_stay_clean_but_for_the_planted_rows(
        tmp_path: Path) -> None:
    from fundaudit.run import audit as run_audit

    paths = scale.build(tmp_path, dues=2400, disbursements=5000, workers=1000)
    assert (_read(paths["register"]).num_rows, _read(paths["disbursements"]).num_rows) == (1000, 5000)
    disb = _read(paths["disbursements"])
    assert disb.slice(0, 5).column("program").to_pylist() == ["送温暖", "生活救助", "医疗救助", "生活救助", "生活救助"]
    assert disb.column("file_no").to_pylist()[4995:] == ["HSQ00000999"] * 5
    result = run_audit({k: str(p) for k, p in paths.items()}, profile="anhui-2016", period="2016")
    # planted rows below 5,000: cash 3, 1000, …, 4988 (6); unfiled 13, … (6); shared 17, … (5 groups); over the
    # cap 7, 1004, 2001, 2998, 3995, 4992 except where that is the 医疗救助 payment (7 and 4992: cap 5,000)
    assert result.findings["rule"].value_counts().to_dict() == {
        "DISB-CASH": 6, "DISB-NOT-FILED": 6, "DISB-ACCOUNT-SHARED": 5, "DISB-OVER-CAP": 4,
        "DUES-RATE": 1, "DUES-CALC": 1, "DUES-LATE": 1}
    with pytest.raises(ValueError, match="more than 5 each"):
        scale.make_plan(dues=240, disbursements=6001, workers=1000)


def test_province_cli_writes_a_manifest_and_skips_what_is_already_there(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["province", str(tmp_path), "--dues", "480", "--disbursements", "100", "--workers", "25"]
    scale.main(argv)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["params"] == {"generator": scale.GENERATOR_VERSION, "dues": 480, "disbursements": 100,
                                  "workers": 25, "seed": 2016, "directory_above": scale.DIRECTORY_ABOVE}
    assert {k: (v["path"], v["rows"]) for k, v in manifest["kinds"].items()} == {
        "dues": ("dues.parquet", 480), "disbursements": ("disbursements.parquet", 100),
        "register": ("register.parquet", 25), "employers": ("employers.parquet", 20),
        "unions": ("unions.parquet", 18), "budget": ("budget.parquet", 3), "staff": ("staff.parquet", 2)}
    assert all(v["bytes"] == (tmp_path / v["path"]).stat().st_size for v in manifest["kinds"].values())
    assert "dues: 480 rows" in capsys.readouterr().out
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    scale.main(argv)  # same parameters: nothing written again
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps
    assert capsys.readouterr().out.startswith(f"{tmp_path}: ")
    (tmp_path / "register.parquet").unlink()  # a ledger gone: only it is written again
    scale.main(argv)
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()[:-1]] == ["register"]
    scale.main([*argv[:-1], "26"])  # other parameters: everything again
    assert _read(tmp_path / "register.parquet").num_rows == 26
    assert json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["params"]["workers"] == 26


@pytest.mark.slow
def test_province_bench_generates_and_measures_the_loader_at_a_tiny_size(tmp_path: Path) -> None:
    from bench import province

    doc = province.main(["--data", str(tmp_path), "--dues", "4800", "--disbursements", "500", "--workers", "100",
                         "--chunk-rows", "1000", "--directory-above", "1000", "--no-save"])
    assert {k: (v["path"], v["rows"]) for k, v in doc["manifest"]["kinds"].items()} == {
        "dues": ("dues", 4800), "disbursements": ("disbursements.parquet", 500),
        "register": ("register.parquet", 100), "employers": ("employers.parquet", 200),
        "unions": ("unions.parquet", 180), "budget": ("budget.parquet", 3), "staff": ("staff.parquet", 2)}
    load = doc["load"]
    assert (load["register"]["whole"]["rows"], load["register"]["whole"]["rejected"]) == (100, 0)
    assert load["disbursements"]["whole"]["rows"] == 500
    dues = load["dues"]
    assert (dues["rows"], dues["files"], dues["first_part"]["rows"], dues["first_two_parts"]["rows"],
            dues["whole"]["rows"]) == (4800, 5, 1000, 2000, 4800)
    assert all(r["max_rss_mib"] > 0 and r["seconds"] > 0 for r in (dues["first_part"], dues["whole"]))
    # over the memory budget the ledger is not loaded whole: the estimate is reported instead
    capped = province.measure_load("dues", tmp_path / "dues", max_gib=0.0)
    assert "whole" not in capped and capped["estimated_gib"] > 0


@pytest.mark.slow
def test_province_bench_audits_out_of_core_and_keeps_each_engines_figures(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """``--audit duckdb`` runs the CLI on the generated set (dues as a directory of parts, scanned out of core) in
    a fresh process and records its figures; a later run of another engine keeps them beside its own."""
    from bench import province

    results = tmp_path / "results"
    monkeypatch.setattr(province, "RESULTS", results)
    argv = ["--data", str(tmp_path / "data"), "--dues", "4800", "--disbursements", "500", "--workers", "100",
            "--chunk-rows", "1000", "--directory-above", "1000", "--no-load"]
    doc = province.main([*argv, "--audit", "duckdb"])
    run = doc["audit"]["runs"]["duckdb"]
    assert "failed" not in run, run
    assert run["rows_read"] == 4800 + 500 + 100 + 200 + 180 + 3 + 2
    assert run["findings"] > 0 and run["peak_tree_rss_mib"] > 0 and run["cpu_seconds"] > 0
    assert len(run["fingerprints"]) == 16 and doc["audit"]["same_findings"] is None
    saved = json.loads((results / "province.json").read_text(encoding="utf-8"))
    assert saved["audit"]["runs"]["duckdb"] == run
    monkeypatch.setitem(province.ENGINE_ARGS, "again", province.ENGINE_ARGS["duckdb"])  # a second "engine"
    later = province.main([*argv, "--audit", "again"])
    assert set(later["audit"]["runs"]) == {"duckdb", "again"}
    assert later["audit"]["runs"]["again"]["fingerprints"] == run["fingerprints"]
