"""Choosing the engine (issue 17 item 1): ``audit --engine duckdb|spark`` / ``audit(engine=, spark=)``. The
whole run on Spark gives the findings the default DuckDB run gives; an engine that cannot run here is refused,
exit 2, before any input is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import fundaudit
from fundaudit.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SHOWN = ["fingerprint", "rule", "severity", "union", "subject", "message", "message_en", "amount", "refs",
         "evidence"]


@pytest.mark.spark
def test_a_whole_audit_on_spark_finds_what_duckdb_finds(spark: Any) -> None:
    on_duckdb = fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016")
    on_spark = fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016", engine="spark", spark=spark)
    assert (on_duckdb.run["engine"], on_spark.run["engine"]) == ("duckdb", "spark")
    assert on_spark.findings[SHOWN].to_dict("records") == on_duckdb.findings[SHOWN].to_dict("records")
    assert on_spark.summary == on_duckdb.summary and on_spark.exit_code("error") == 1


@pytest.mark.parametrize("code", ["spark_no_pyspark", "spark_no_java"])
def test_a_spark_that_cannot_start_is_refused_before_any_input(code: str, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    import fundaudit.engine.spark as spark_mod

    monkeypatch.setattr(spark_mod, "unavailable", lambda: code)
    assert main(["audit", str(tmp_path / "no-such-file.xlsx"), "--engine", "spark", "--out",
                 str(tmp_path / "r"), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    expected = {"spark_no_pyspark": "pyspark is not installed (pip install 'fundaudit[spark]')",
                "spark_no_java": "no Java runtime (java not on PATH, JAVA_HOME unset)"}[code]
    assert err == f"fundaudit: the Spark engine cannot run here: {expected}\n"  # not the missing file: not read


def test_a_spark_master_without_the_spark_engine_is_refused(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    assert main(["audit", str(SAMPLES), "--spark-master", "local[2]", "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == (
        "fundaudit: 指定了 Spark（--spark-master），但没有选择 Spark 引擎：请加上 --engine spark\n")


def test_an_unknown_engine_is_a_config_error() -> None:
    with pytest.raises(fundaudit.ConfigError) as e:
        fundaudit.audit(paths=[SAMPLES], engine="polars")
    assert (e.value.code, e.value.message("en")) == ("unknown_engine",
                                                     "unknown engine polars; available: duckdb, spark")
