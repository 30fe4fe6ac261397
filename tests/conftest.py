"""Shared test configuration: Hypothesis profiles chosen by HYPOTHESIS_PROFILE (ci | dev | nightly | fuzz).

"fuzz" (``make fuzz``) runs the tests of tests/fuzz with FUZZ_FACTOR (25) times their budget (tests/fuzz)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("nightly", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=1500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
