"""Generic check types: what lets a user write a rule without Python (CONTRACT.md §5).

Implemented in ``fundaudit/engine/checks/generic.py``; tested in ``tests/checks/test_generic.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

_WINDOWS = ("all", "year", "quarter", "month")

SIGNATURES: list[Signature] = [
    # --- generic: a user can write a rule with these and no Python --------------------------------
    signature(
        "not_null",
        "Are the columns filled in? Fires when any (mode: any) or all (mode: all) are empty.",
        columns=Arg("columns", True, min_items=1),
        mode=Arg("choice", default="any", choices=("any", "all")),
    ),
    signature(
        "in_set",
        "Is the value one of the allowed values? (negate: must not be one of them)",
        column=Arg("column", True),
        values=Arg("values", True, typed_by="column"),
        negate=Arg("bool", default=False),
        tolerance=Arg("number", default=0, low=0),
    ),
    signature(
        "range",
        "Is the value within [min, max]?",
        relations=(("le", "min", "max"),),
        column=Arg("column", True),
        min=Arg("value", typed_by="column"),
        max=Arg("value", typed_by="column"),
        inclusive=Arg("bool", default=True),
    ),
    signature(
        "regex",
        "Does the text match the pattern (RE2 syntax)? (negate: must not match)",
        column=Arg("column", True),
        pattern=Arg("pattern", True),
        negate=Arg("bool", default=False),
    ),
    signature(
        "unique",
        "Is the key unique? One finding per set of rows sharing a key.",
        group=True,
        fields=("count",),
        columns=Arg("columns", True, min_items=1),
    ),
    signature(
        "compare",
        "Does `left op right` hold (within tolerance)? Rows where a side is empty are skipped.",
        relations=(("comparable", "left", "right"),),
        left=Arg("operand", True),
        op=Arg("choice", True, choices=("eq", "ne", "lt", "le", "gt", "ge")),
        right=Arg("operand", True),
        tolerance=Arg("number", default=0, low=0),
    ),
    Signature(
        "conditional",
        "When `if` holds, does `then` hold too?",
        {"if": Arg("condition", True), "then": Arg("condition", True)},
    ),
    signature(
        "date_order",
        "Are the dates in order (each on or before the next, plus grace days)?",
        columns=Arg("columns", True, min_items=2, types=("date",)),
        strict=Arg("bool", default=False),
        grace_days=Arg("int", default=0, low=0),
    ),
    signature(
        "group_cap",
        "Does a group's sum, count or distinct count within a window stay within the cap? "
        "One finding per group over the cap, listing its rows.",
        group=True,
        fields=("total", "cap"),
        group_by=Arg("columns", True, min_items=1),
        measure=Arg("choice", True, choices=("sum", "count", "count_distinct")),
        column=Arg("column"),
        cap=Arg("number", True, low=0),
        date=Arg("column", types=("date",)),
        window=Arg("window", default="all", choices=_WINDOWS, doc="all, year, quarter, month or {days: N}"),
    ),
]
