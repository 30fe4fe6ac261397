from datetime import date

import pytest

from fundaudit import ConfigError
from fundaudit.period import parse_period


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2016", date(2016, 1, 1), date(2016, 12, 31)),
    ("2016Q1", date(2016, 1, 1), date(2016, 3, 31)),
    ("2016q4", date(2016, 10, 1), date(2016, 12, 31)),
    ("2016-02", date(2016, 2, 1), date(2016, 2, 29)),
    ("2015-02", date(2015, 2, 1), date(2015, 2, 28)),
    ("2016-01-01..2016-06-30", date(2016, 1, 1), date(2016, 6, 30)),
])
def test_periods(text: str, start: date, end: date) -> None:
    p = parse_period(text)
    assert (p.start, p.end) == (start, end)


@pytest.mark.parametrize("text", ["16", "2016Q5", "2016-13", "2016-06-30..2016-01-01", "2016-02-30..2016-03-01", ""])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_period(text)
    assert exc.value.code == "bad_period"
