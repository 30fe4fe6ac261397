"""How serious a finding is: the one list of severities, their order, and what ``--fail-on`` means.

Rules declare a severity (``severity: error``), so its home is the rules layer; the engine, the run,
the reports and the CLI import it from here. ``Severity`` is a ``StrEnum``: a member *is* its string
(``Severity.ERROR == "error"``), so packs, findings frames and findings.json keep plain strings.
"""

from __future__ import annotations

from enum import StrEnum

from fundaudit.errors import ConfigError

__all__ = ["FAIL_ON", "LEVELS", "NEVER", "Severity", "at_or_above", "rank"]


class Severity(StrEnum):
    """A finding's severity, worst first (the declaration order is the order everywhere)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


#: The ``--fail-on`` level under which no finding fails a run.
NEVER = "never"
#: Every severity as a plain string, worst first (for argparse choices, pandas ``isin``, messages).
LEVELS: tuple[str, ...] = tuple(s.value for s in Severity)
#: Every ``--fail-on`` level, as the command line and ``AuditResult.exit_code`` accept them.
FAIL_ON: tuple[str, ...] = (*LEVELS, NEVER)


def rank(severity: object) -> int:
    """Position of ``severity`` in the order, worst (error) first; anything else sorts after info."""
    return LEVELS.index(severity) if isinstance(severity, str) and severity in LEVELS else len(LEVELS)


def at_or_above(fail_on: str) -> tuple[str, ...]:
    """The severities that fail a run at ``--fail-on`` level ``fail_on``: that one and every worse one
    (none for ``never``). Raises ConfigError ``bad_fail_on`` for any other value."""
    if fail_on not in FAIL_ON:
        raise ConfigError("bad_fail_on", value=fail_on)
    return () if fail_on == NEVER else LEVELS[: rank(fail_on) + 1]
