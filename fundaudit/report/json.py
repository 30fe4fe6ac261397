"""findings.json, exactly as CONTRACT.md §4, written under a temporary name and renamed."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from fundaudit.run import AuditResult

__all__ = ["result_to_dict", "write_atomic", "write_json"]


def result_to_dict(result: AuditResult) -> dict[str, Any]:
    """The findings.json document of ``result`` (already masked unless the run was unmasked)."""
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
        "rejected_rows": rejected_rows,
        "rules": result.rules,
        "summary": result.summary,
        "findings": result.findings_records(),
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
    text = json.dumps(_clean(result_to_dict(result)), ensure_ascii=False, indent=2, allow_nan=False)
    # Control characters are \u-escaped by json.dumps; a lone surrogate (undecodable input) cannot be
    # UTF-8 encoded, so it is written as its \uXXXX escape, which is still valid JSON.
    return write_atomic(Path(path), text.encode("utf-8", errors="backslashreplace"))


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
