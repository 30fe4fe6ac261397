"""Shared test configuration: Hypothesis profiles chosen by HYPOTHESIS_PROFILE (ci | dev | nightly | fuzz).

"fuzz" (``make fuzz``) runs the tests of tests/fuzz with FUZZ_FACTOR (25) times their budget (tests/fuzz)."""

import os
from collections.abc import Iterator
from pathlib import Path

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
