"""The data contract of an audit's result, shared by the run that builds it and every report that writes it.

``fundaudit.run`` (the :class:`~fundaudit.run.AuditResult`), the engine (which builds the findings frame)
and the writers under ``fundaudit.report`` all import these from here; nothing here imports any of them,
so the run and the reports do not depend on each other for a constant.
"""

from __future__ import annotations

import pandas as pd

from fundaudit.rules.severity import Severity

__all__ = ["AT_ISSUE", "FINDING_COLUMNS", "FINDING_FRAME_COLUMNS", "TRIAGE_COLUMNS", "at_issue_fen"]

#: Fields a finding gains in a run given decisions or a baseline (``audit(triage=, baseline=)``; docs/triage.md).
TRIAGE_COLUMNS = ["triage", "since_baseline", "recurs_after"]
#: The fields of a finding in findings.json (CONTRACT.md §4), in order (``TRIAGE_COLUMNS`` only when present).
FINDING_COLUMNS = ["id", "fingerprint", "rule", "severity", "kind", "union", "subject", "message", "message_en",
                   "amount", "values", "refs", "evidence", *TRIAGE_COLUMNS]
#: The columns of the findings frame the engine builds: the findings.json fields and, beside the displayed
#: ``amount``, the exact ``amount_fen`` every total is computed from (a run adds ``TRIAGE_COLUMNS`` to it).
FINDING_FRAME_COLUMNS = [*FINDING_COLUMNS[: FINDING_COLUMNS.index("amount") + 1], "amount_fen",
                         *[c for c in FINDING_COLUMNS[FINDING_COLUMNS.index("amount") + 1:] if c not in TRIAGE_COLUMNS]]
#: Severities whose amounts make the "money at issue": info findings are statistical signals (an
#: under-spent allocation, a year-end rush) and their amounts are never added to it.
AT_ISSUE: tuple[str, ...] = (Severity.ERROR.value, Severity.WARNING.value)


def at_issue_fen(findings: pd.DataFrame) -> pd.Series:
    """Per finding, the fen it adds to the money at issue: its ``amount_fen`` when error or warning, else 0 (info
    findings and findings without money)."""
    if "amount_fen" not in findings.columns or not len(findings):
        return pd.Series(0, index=findings.index, dtype="int64")
    fen = pd.to_numeric(findings["amount_fen"], errors="coerce").fillna(0).round().astype("int64")
    return fen.where(findings["severity"].isin(AT_ISSUE), 0)
