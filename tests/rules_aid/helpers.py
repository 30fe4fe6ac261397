"""Helpers for the hardship-aid, register and cross-ledger rule tests: small inputs as a spreadsheet
would hold them (text cells, canonical headers), loaded with ``fundaudit.load``; ONE shipped rule run
on them; what fired read back as ``(severity, ((kind, row), ...))``, sorted.

The DataFrame row number of the n-th record (0-based) is n + 2 (the header is row 1).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from stdnum.cn import ric

import fundaudit
from fundaudit.engine import EngineResult, run_rules
from fundaudit.period import parse_period
from fundaudit.rules.model import Rule, RuleSet, load_pack

ROOT = Path(__file__).resolve().parents[2]
PACKS = ("disbursements", "register", "cross")
Fired = list[tuple[str, tuple[tuple[str, int], ...]]]


@functools.cache
def shipped() -> dict[str, Rule]:
    """The rules of the three packs this folder tests, by id."""
    packs = [load_pack(ROOT / "rules" / f"{name}.yaml", display=f"rules/{name}.yaml") for name in PACKS]
    return dict(RuleSet.build(packs).rules)


def rid(region: str, birth: str, seq: str, *, check: str | None = None) -> str:
    """A resident ID with its GB 11643 check character from python-stdnum (the oracle), or ``check``."""
    body = f"{region}{birth}{seq}"
    assert len(body) == 17
    return body + (check if check is not None else ric.calc_check_digit(body + "0"))


def frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows as text cells (blank for missing), columns in first-seen order."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return pd.DataFrame([{c: "" if r.get(c) is None else str(r[c]) for c in columns} for r in rows], columns=columns)


def run(
    rule_id: str,
    inputs: Mapping[str, Sequence[Mapping[str, Any]] | pd.DataFrame],
    *,
    params: Mapping[str, Any] | None = None,
    period: str | None = "2016",
    region_code: str | None = "341003",
    expect_status: str = "ran",
) -> EngineResult:
    rule = shipped()[rule_id]
    if params:
        rule = dataclasses.replace(rule, params={**rule.params, **params})
    ledgers = {
        kind: fundaudit.load(kind, rows if isinstance(rows, pd.DataFrame) else frame(rows))
        for kind, rows in inputs.items()
    }
    res = run_rules(ledgers, [rule], period=parse_period(period) if period else None, region_code=region_code)
    [status] = res.statuses
    assert status.status == expect_status, (status.status, status.reason_en)
    return res


def fired(rule_id: str, inputs: Mapping[str, Any], **kw: Any) -> Fired:
    """What fired: (severity, sorted refs as (kind, row)) per finding, sorted."""
    res = run(rule_id, inputs, **kw)
    return sorted(
        (f["severity"], tuple(sorted((r["kind"], int(r["row"])) for r in f["refs"])))
        for f in res.findings.to_dict("records")
    )


def rows_of(result: Fired) -> list[list[int]]:
    """Just the row numbers of each finding (single-table tests)."""
    return [[row for _kind, row in refs] for _sev, refs in result]


def values(rule_id: str, inputs: Mapping[str, Any], **kw: Any) -> list[dict[str, Any]]:
    """The finding values (masked as in reports), in finding order."""
    return list(run(rule_id, inputs, **kw).findings["values"])
