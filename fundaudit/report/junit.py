"""junit.xml for CI: one test case per rule, failing when the rule has findings at or above
``--fail-on``; skipped rules are skipped test cases, crashed rules are errors."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from fundaudit.report.json import write_atomic

if TYPE_CHECKING:
    from fundaudit.run import AuditResult

__all__ = ["write_junit"]

SEVERITIES = ("error", "warning", "info")
MAX_LISTED = 50


def write_junit(result: AuditResult, path: str | os.PathLike[str], *, fail_on: str = "error") -> Path:
    """Write junit.xml atomically."""
    worse = SEVERITIES[: SEVERITIES.index(fail_on) + 1] if fail_on in SEVERITIES else ()
    f = result.findings
    suite = ET.Element("testsuite", name="fundaudit", timestamp=result.generated_at)
    failures = errors = skipped = 0
    for rule in result.rules:
        case = ET.SubElement(suite, "testcase", classname=f"fundaudit.{rule['ledger']}", name=rule["id"])
        if rule["status"] == "skipped":
            skipped += 1
            ET.SubElement(case, "skipped", message=rule.get("reason_en") or "")
            continue
        if rule["status"] == "error":
            errors += 1
            ET.SubElement(case, "error", message=rule.get("reason_en") or "")
            continue
        mine = f[(f["rule"] == rule["id"]) & f["severity"].isin(worse)] if len(f) else f
        if len(mine):
            failures += 1
            lines = [
                f"{r['id']} [{r['severity']}] {r['message_en']} @ "
                + "; ".join(
                    f"{x['file']}{'[' + x['sheet'] + ']' if x.get('sheet') else ''}:{x['row']}" for x in r["refs"]
                )
                for r in mine.head(MAX_LISTED).to_dict("records")
            ]
            if len(mine) > MAX_LISTED:
                lines.append(f"... and {len(mine) - MAX_LISTED} more (see findings.json)")
            fail = ET.SubElement(
                case, "failure", message=f"{len(mine)} finding(s) at or above {fail_on}", type=rule["severity"]
            )
            fail.text = "\n".join(lines)
    suite.set("tests", str(len(result.rules)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    data = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return write_atomic(Path(path), data)
