"""fundaudit: audits the money of Chinese trade unions.

Loads the ledgers an audit committee (经审) receives (tax-collected union dues, 送温暖 and hardship-aid
payments, the hardship register and reference tables) as real systems export them, turns them into
canonical, typed frames with file/sheet/row provenance on every row, and reports what it finds.

The whole public API is listed in ``__all__`` (pinned by ``tests/test_public_api.py``)::

    import fundaudit
    ledger = fundaudit.load("disbursements", "送温暖2016.xlsx")
    result = fundaudit.audit({"disbursements": "送温暖2016.xlsx"}, period="2016")
    plan = fundaudit.sample(paths=["ledgers/"], kind="disbursements", method="mus", tolerable="5000", seed=1)
"""

from fundaudit._version import __version__
from fundaudit.errors import (
    ConfigError,
    ExitCode,
    FundauditError,
    InputError,
    LayoutError,
    LimitExceededError,
    RuleError,
    UnreadableFileError,
)
from fundaudit.io import Limits
from fundaudit.ledger import InputSummary, Ledger, load
from fundaudit.period import Period
from fundaudit.run import AuditResult, audit
from fundaudit.sampling import SamplePlan, evaluate_sample, sample

__all__ = [
    "AuditResult",
    "ConfigError",
    "ExitCode",
    "FundauditError",
    "InputError",
    "InputSummary",
    "LayoutError",
    "Ledger",
    "LimitExceededError",
    "Limits",
    "Period",
    "RuleError",
    "SamplePlan",
    "UnreadableFileError",
    "__version__",
    "audit",
    "evaluate_sample",
    "load",
    "sample",
]
