"""findings.json, exactly as CONTRACT.md §4, written under a temporary name and renamed."""

from __future__ import annotations

import json
import math
import os
import tempfile
from json.encoder import encode_basestring as _str
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fundaudit.result import FINDING_COLUMNS

if TYPE_CHECKING:
    from fundaudit.run import AuditResult

__all__ = ["result_to_dict", "write_atomic", "write_json"]


def result_to_dict(result: AuditResult) -> dict[str, Any]:
    """The findings.json document of ``result`` (already masked unless the run was unmasked)."""
    return {**_head(result), "findings": result.findings_records()}


def _head(result: AuditResult) -> dict[str, Any]:
    """The findings.json document without its last key, ``findings``."""
    rejected = result.rejected_rows
    cols = ["kind", "file", "sheet", "row", "column", "value", "reason", "message", "message_en", "action"]
    rejected_rows = [
        {k: (None if _isna(v) else v) for k, v in rec.items()}
        for rec in rejected[cols].to_dict("records")
    ] if len(rejected) else []
    for r in rejected_rows:
        r["row"] = int(r["row"] or 0)
    return {
        "schema_version": 1,
        "fundaudit_version": result.version,
        "generated_at": result.generated_at,
        "run": result.run,
        "inputs": result.inputs,
        "skipped_inputs": result.skipped_inputs,
        "rejected_rows": rejected_rows,
        "rules": result.rules,
        "summary": result.summary,
        **({"resolved_since_baseline": result.resolved_since_baseline, "stale_decisions": result.stale_decisions}
           if "triage" in result.findings.columns else {}),
    }


def _clean(v: Any) -> Any:
    """Strict JSON: NaN/NA become null, numpy scalars plain Python."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if v is None or isinstance(v, str | bool):
        return v
    if hasattr(v, "item") and not isinstance(v, int | float):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def write_json(result: AuditResult, path: str | os.PathLike[str]) -> Path:
    """Write findings.json atomically."""
    head = "".join(f"\n{_INDENT}{_str(k)}: {_dumps(v, 1)}," for k, v in _head(result).items())
    text = f"{{{head}\n{_INDENT}\"findings\": {_findings(result)}\n}}"
    # Control characters are \u-escaped by json.dumps; a lone surrogate (undecodable input) cannot be
    # UTF-8 encoded, so it is written as its \uXXXX escape, which is still valid JSON.
    return write_atomic(Path(path), text.encode("utf-8", errors="backslashreplace"))


_INDENT = "  "


def _dumps(v: Any, level: int) -> str:
    """``v`` exactly as ``json.dumps(_clean(v), ensure_ascii=False, indent=2, allow_nan=False)`` writes
    it ``level`` containers deep, without the pure-Python encoder that ``indent`` forces: plain
    strings, numbers, booleans, None and lists and str-keyed dicts of them directly (a JSON string
    never holds a raw newline, so the indentation is the only newlines); anything else (numpy
    scalars, tuples, non-str keys, infinities) through ``_clean`` and ``json.dumps``, indented to
    ``level``."""
    t = type(v)
    if t is str:
        return _str(v)
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return int.__repr__(v)
    if t is float:
        if math.isfinite(v):
            return float.__repr__(v)
        if math.isnan(v):
            return "null"
    elif t is dict:
        if not v:
            return "{}"
        if all(type(k) is str for k in v):
            inner = "\n" + _INDENT * (level + 1)
            items = [f"{_str(k)}: {_str(x) if type(x) is str else _dumps(x, level + 1)}" for k, x in v.items()]
            return f"{{{inner}{(',' + inner).join(items)}\n{_INDENT * level}}}"
    elif t is list:
        if not v:
            return "[]"
        inner = "\n" + _INDENT * (level + 1)
        items = [_str(x) if type(x) is str else _dumps(x, level + 1) for x in v]
        return f"[{inner}{(',' + inner).join(items)}\n{_INDENT * level}]"
    text = json.dumps(_clean(v), ensure_ascii=False, indent=2, allow_nan=False)
    return text.replace("\n", "\n" + _INDENT * level) if level else text


def _findings(result: AuditResult) -> str:
    """The ``findings`` list of findings.json (as ``_dumps(result.findings_records(), 1)``), encoded a
    column at a time and put together per finding with one %-format."""
    f = result.findings
    cols = [c for c in FINDING_COLUMNS if c in f.columns]
    if not len(f) or not cols or f.columns.duplicated().any():
        return _dumps(result.findings_records(), 1)
    data = f[cols].to_dict("list")  # the values to_dict("records") gives, by column
    encoded = [[_str(v) if type(v) is str else _dumps(v, 3) for v in data[c]] for c in cols]
    row = "{" + ",".join(f"\n{_INDENT * 3}{_str(c).replace('%', '%%')}: %s" for c in cols) + f"\n{_INDENT * 2}}}"
    inner = "\n" + _INDENT * 2
    return f"[{inner}{(',' + inner).join([row % values for values in zip(*encoded, strict=True)])}\n{_INDENT}]"


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
