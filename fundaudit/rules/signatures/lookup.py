"""The ``lookup`` check type: a matching row of another input. Implemented in
``fundaudit/engine/checks/lookup.py``."""

from __future__ import annotations

from fundaudit.errors import catalogue
from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "lookup",
        "Does a matching row exist in another input (optionally as of a date)? "
        "mode exists: fires when none matches; not_exists: fires when one does. With fallback_on, report or "
        "reasons: the as-of match, its key (matched_on), the matched values, and reasons over them.",
        fields=("matched_on", "problem", "problem_en"),
        table=Arg("kind", True),
        on=Arg("column_map", True, table="table"),
        mode=Arg("choice", default="exists", choices=("exists", "not_exists"), shape=True),
        date=Arg("column", types=("date",), shape=True),
        valid_from=Arg("column", table="table", types=("date",), shape=True),
        valid_to=Arg("column", table="table", types=("date",), shape=True),
        where=Arg("condition", table="table", doc="a condition on the other input's rows"),
        fallback_on=Arg("column_map", table="table", doc="tried for rows whose `on` key found no row at all"),
        report=Arg("column_names", table="table", doc="{name: column of the other input}: the matched value"),
        pick=Arg("choice", default="min", choices=("min", "earliest", "latest"), shape=True),
        by=Arg("column", table="table", shape=True, doc="earliest/latest: the other input's column to order by"),
        reasons=Arg(
            "reasons",
            table="table",
            doc="as flag's; conditions may read match.NAME, {matched: …} and {any_match|no_match: condition}",
        ),
        report_when=Arg(
            "condition",
            table="table",
            items="match",
            shape=True,
            doc="which matched rows feed report (a condition on the row and match.NAME)",
        ),
        in_period=Arg("bool", default=False, shape=True, doc="only the other input's rows of the audit period match"),
        fallback_when=Arg(
            "choice",
            default="no_row",
            choices=("no_row", "no_match"),
            shape=True,
            doc="fallback_on is tried when `on` found no row at all (no_row) or none passing where/in_period/date",
        ),
        cite=Arg(
            "choice",
            choices=tuple(catalogue()["roles"]),
            shape=True,
            doc="the role of the matched rows a finding cites (default: the table's own, e.g. register_file)",
        ),
    ),
]
