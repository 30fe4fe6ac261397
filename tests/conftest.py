"""Shared test configuration: Hypothesis profiles chosen by HYPOTHESIS_PROFILE (ci | dev | nightly | fuzz).

"fuzz" (``make fuzz``) runs the tests of tests/fuzz with FUZZ_FACTOR (25) times their budget (tests/fuzz)."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("nightly", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=1500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


#: The subject key every test runs with (subjects in snapshots stay the same): never the user's own.
TEST_SUBJECT_KEY = b"fundaudit-tests-subject-key-0001"


@pytest.fixture(scope="session", autouse=True)
def _subject_key_outside_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test writes a subject key into the real home: FUNDAUDIT_SUBJECT_KEY names a fixed key in a temporary
    folder, and the config folder a key would be created in (XDG_CONFIG_HOME, APPDATA) is temporary too."""
    root = tmp_path_factory.mktemp("subject-key")
    key = root / "subject.key"
    key.write_bytes(TEST_SUBJECT_KEY)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUNDAUDIT_SUBJECT_KEY", str(key))
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        mp.setenv("APPDATA", str(root / "config"))
        yield key


# --- Spark (issue 17): one session for the whole run, in multi-process mode --------------------------------

SPARK_MASTER = os.environ.get("FUNDAUDIT_SPARK_MASTER", "local-cluster[2,1,1024]")


def spark_missing() -> str | None:
    """Why the Spark tests cannot run here (None: they can): pyspark or a Java runtime is missing."""
    from fundaudit.engine.spark import unavailable
    from fundaudit.errors import render

    code = unavailable()
    return None if code is None else render("errors", code, "en") + ": the Spark equivalence tests did not run"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A SparkSession on ``local-cluster[2,1,1024]`` (two executor processes: rows really cross processes),
    UTC, no UI, few shuffle partitions; skips with the reason when pyspark or Java is absent. Session-scoped:
    starting Spark costs tens of seconds, so the Spark tests share one."""
    missing = spark_missing()
    if missing and os.environ.get("FUNDAUDIT_REQUIRE_SPARK"):  # CI: a Spark test that cannot run is a failure
        pytest.fail(f"FUNDAUDIT_REQUIRE_SPARK is set but {missing}")
    if missing:
        pytest.skip(missing)
    from fundaudit.engine.spark import local_session

    session = local_session(SPARK_MASTER, **{"spark.sql.shuffle.partitions": "2"})
    session.sparkContext.setLogLevel("FATAL")  # a query Spark refuses is a rule skipped, not a log line
    yield session
    session.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say at the end of every run whether the Spark equivalence tests ran, so a skip is never missed."""
    missing = spark_missing()
    if missing:
        terminalreporter.write_line(f"Spark: {missing}", yellow=True)
