"""Audit periods: ``2016``, ``2016Q1``, ``2016-03``, ``2016-01-01..2016-06-30`` (CONTRACT.md §3)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from fundaudit.errors import ConfigError

__all__ = ["Period", "parse_period"]


@dataclass(frozen=True)
class Period:
    """A closed date interval [start, end]."""

    start: date
    end: date

    def to_dict(self) -> dict[str, str]:
        """``{"start": "2016-01-01", "end": "2016-12-31"}`` as in findings.json."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str) -> Period:
    """Parse a period argument; anything else is a :class:`ConfigError` naming the accepted forms."""
    t = text.strip()
    try:
        if m := _YEAR.match(t):
            y = int(m.group(1))
            return Period(date(y, 1, 1), date(y, 12, 31))
        if m := _QUARTER.match(t):
            y, q = int(m.group(1)), int(m.group(2))
            first = 3 * (q - 1) + 1
            return Period(date(y, first, 1), date(y, first + 2, calendar.monthrange(y, first + 2)[1]))
        if m := _MONTH.match(t):
            y, mo = int(m.group(1)), int(m.group(2))
            return Period(date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1]))
        if m := _RANGE.match(t):
            start, end = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
            if start <= end:
                return Period(start, end)
    except ValueError:
        pass
    raise ConfigError("bad_period", value=text)
