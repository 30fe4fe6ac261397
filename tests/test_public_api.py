"""The public API is exactly what CONTRACT.md §6 promises: a name appearing or disappearing fails here."""

import subprocess
import sys

import fundaudit

EXPECTED = [
    "AuditResult", "ConfigError", "ExitCode", "FundauditError", "InputError", "InputSummary", "LayoutError",
    "Ledger", "LimitExceededError", "Limits", "Period", "RuleError", "UnreadableFileError", "__version__",
    "audit", "load",
    "SamplePlan", "evaluate_sample", "sample",  # issue 18: audit sampling (docs/sampling.md)
]


def test_all_is_pinned() -> None:
    assert sorted(fundaudit.__all__) == sorted(EXPECTED)
    for name in fundaudit.__all__:
        assert hasattr(fundaudit, name), name


#: ``fundaudit.triage``: the 核实 round trip (docs/triage.md), for scripts and notebooks.
TRIAGE = ["ANSWERS", "BY", "DECISION_COLUMNS", "STATUSES", "TriageError", "apply", "export", "load", "read_baseline",
          "read_decisions", "status_label", "write_decisions"]


def test_triage_api_is_pinned() -> None:
    from fundaudit import triage

    assert sorted(triage.__all__) == sorted(TRIAGE)
    for name in triage.__all__:
        assert hasattr(triage, name), name
    assert issubclass(triage.TriageError, fundaudit.InputError)


def test_exception_tree() -> None:
    for cls in (fundaudit.InputError, fundaudit.RuleError, fundaudit.ConfigError):
        assert issubclass(cls, fundaudit.FundauditError)
        assert issubclass(cls, ValueError)
    for cls in (fundaudit.UnreadableFileError, fundaudit.LimitExceededError, fundaudit.LayoutError):
        assert issubclass(cls, fundaudit.InputError)


def test_import_does_not_load_great_expectations_or_pandera() -> None:
    code = "import sys, fundaudit; print('great_expectations' in sys.modules, 'pandera' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_error_messages_come_from_the_catalogue() -> None:
    err = fundaudit.InputError("file_not_found", file="x.xls")
    assert str(err) == "找不到文件 x.xls"
    assert err.message("en") == "file x.xls does not exist"
    assert err.code == "file_not_found"
    assert err.file == "x.xls"


#: ``fundaudit.sampling``: plan, size, selection and evaluation of audit samples (docs/sampling.md).
SAMPLING = ["ALGORITHM", "ALGORITHM_VERSION", "METHODS", "SamplePlan", "allocate", "attribute_size",
            "difference_bound", "evaluate", "evaluate_sample", "mus_size", "poisson_factor", "sample", "select_mus",
            "select_random", "select_systematic", "stratified_bound", "stringer_bound", "uniforms"]


def test_sampling_api_is_pinned() -> None:
    from fundaudit import sampling

    assert sorted(sampling.__all__) == sorted(SAMPLING)
    for name in sampling.__all__:
        assert hasattr(sampling, name), name
    from fundaudit.report.sample import SampleResultsError

    assert issubclass(SampleResultsError, fundaudit.InputError)


def test_import_does_not_load_scipy() -> None:
    """scipy is imported inside the sampling functions that need it, never by ``import fundaudit``."""
    code = "import sys, fundaudit; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
