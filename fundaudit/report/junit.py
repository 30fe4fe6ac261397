"""junit.xml for CI: one test case per rule, failing when the rule has findings at or above
``--fail-on``; skipped rules are skipped test cases, crashed rules are errors; each file found and not
audited is a skipped test case of classname ``fundaudit.inputs``.

The test cases agree with the exit code: with ``fail_on="never"`` no case fails, and a rule whose
findings are all below ``fail_on`` passes. Findings that do not fail a case are still listed, in the
case's ``<system-out>``.

Every text and attribute is made XML 1.0-safe first: characters XML cannot carry (C0 controls other
than tab, LF and CR, lone surrogates, U+FFFE/U+FFFF) are written as ``\\xNN`` / ``\\uNNNN`` so the file
always parses, and each listed finding is cut at ``MAX_LINE`` characters.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fundaudit.report.json import write_atomic
from fundaudit.rules.severity import at_or_above

if TYPE_CHECKING:
    import pandas as pd

    from fundaudit.run import AuditResult

__all__ = ["write_junit", "xml_safe"]

MAX_LISTED = 50
MAX_LINE = 2_000
_NONE = np.zeros(0, dtype=np.intp)

# Not a Char of XML 1.0 (https://www.w3.org/TR/xml/#charsets).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_safe(value: Any) -> str:
    """``value`` as text XML 1.0 can carry: disallowed characters written as ``\\xNN``/``\\uNNNN``."""
    text = "" if value is None else str(value)
    return _NOT_XML.sub(_escape_char, text)


def _cut(text: str, limit: int = MAX_LINE) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _ref(x: dict[str, Any]) -> str:
    sheet = x.get("sheet")
    return f"{x.get('file')}{'[' + str(sheet) + ']' if sheet else ''}:{x.get('row')}"


def _lines(records: list[dict[str, Any]], total: int) -> list[str]:
    """One line per finding (the first ``MAX_LISTED`` of ``total``): id, severity, English message,
    provenance."""
    lines = [
        _cut(f"{r['id']} [{r['severity']}] {r['message_en']} @ " + "; ".join(_ref(x) for x in r["refs"] or []))
        for r in records[:MAX_LISTED]
    ]
    if total > MAX_LISTED:
        lines.append(f"... and {total - MAX_LISTED} more (see findings.json)")
    return lines


def _by_rule(findings: pd.DataFrame, worse: tuple[str, ...]) -> tuple[dict[Any, np.ndarray], np.ndarray]:
    """Positions of each rule's findings (in order), and which findings are at or above ``--fail-on``:
    one pass over the frame instead of a boolean selection per rule."""
    if not len(findings):
        return {}, np.zeros(0, dtype=bool)
    from fundaudit.triage import counted

    positions = findings.groupby("rule", sort=False).indices
    # a finding excluded on verification never fails a case (as it leaves the exit code); it is still listed
    failing = (findings["severity"].isin(worse) & counted(findings)).to_numpy(dtype=bool)
    return positions, failing


def _records(findings: pd.DataFrame, positions: list[np.ndarray]) -> dict[int, dict[str, Any]]:
    """The listed findings (the first ``MAX_LISTED`` of each selection) as records, by position: one
    take for all of them."""
    if not positions:
        return {}
    wanted = np.unique(np.concatenate([p[:MAX_LISTED] for p in positions]))
    part = findings.iloc[wanted]
    return dict(zip(wanted.tolist(), part.to_dict("records"), strict=True))


def write_junit(result: AuditResult, path: str | os.PathLike[str], *, fail_on: str = "error") -> Path:
    """Write junit.xml atomically; ``fail_on`` is ``error|warning|info|never`` as on the command line."""
    worse = at_or_above(fail_on)
    f = result.findings
    positions, worse_mask = _by_rule(f, worse)
    selections: dict[str, tuple[Any, Any]] = {}  # rule id → (its findings, the failing ones), positions
    for rule in result.rules:
        if rule["status"] in ("skipped", "error") or rule["id"] in selections:
            continue
        found = positions.get(rule["id"], _NONE)
        selections[rule["id"]] = (found, found[worse_mask[found]])
    records = _records(f, [p for pair in selections.values() for p in pair])
    suite = ET.Element("testsuite", name="fundaudit", timestamp=xml_safe(result.generated_at))
    failures = errors = skipped = 0
    for rule in result.rules:
        case = ET.SubElement(suite, "testcase", classname=xml_safe(f"fundaudit.{rule['ledger']}"),
                             name=xml_safe(rule["id"]))
        if rule["status"] == "skipped":
            skipped += 1
            ET.SubElement(case, "skipped", message=xml_safe(rule.get("reason_en") or ""))
            continue
        if rule["status"] == "error":
            errors += 1
            ET.SubElement(case, "error", message=xml_safe(rule.get("reason_en") or ""))
            continue
        found, failing = selections[rule["id"]]
        if len(failing):
            failures += 1
            fail = ET.SubElement(case, "failure", type=xml_safe(rule["severity"]),
                                 message=xml_safe(f"{len(failing)} finding(s) at or above {fail_on}"))
            listed = [records[p] for p in failing[:MAX_LISTED].tolist()]
            fail.text = xml_safe("\n".join(_lines(listed, len(failing))))
        elif len(found):  # findings below --fail-on: the case passes, and still lists them
            head = f"{len(found)} finding(s), none failing at --fail-on {fail_on}:"
            listed = [records[p] for p in found[:MAX_LISTED].tolist()]
            ET.SubElement(case, "system-out").text = xml_safe("\n".join([head, *_lines(listed, len(found))]))
    for skip in result.skipped_inputs:  # files found and not audited: skipped cases, so CI shows them
        case = ET.SubElement(suite, "testcase", classname="fundaudit.inputs",
                             name=xml_safe(skip["file"] + (f" [{skip['sheet']}]" if skip["sheet"] else "")))
        ET.SubElement(case, "skipped", message=xml_safe(f"[{skip['reason']}] {skip['message_en']}"))
        skipped += 1
    suite.set("tests", str(len(result.rules) + len(result.skipped_inputs)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    data = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return write_atomic(Path(path), data)
