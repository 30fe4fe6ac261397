"""The public API is exactly what CONTRACT.md §6 promises: a name appearing or disappearing fails here."""

import subprocess
import sys

import fundaudit

EXPECTED = [
    "AuditResult", "ConfigError", "ExitCode", "FundauditError", "InputError", "InputSummary", "LayoutError",
    "Ledger", "LimitExceededError", "Limits", "Period", "RuleError", "UnreadableFileError", "__version__",
    "audit", "load",
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
