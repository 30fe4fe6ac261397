"""docs/columns.md, generated from the catalogue so the page cannot drift from the code.

Regenerate with ``python -m fundaudit.columns.docs > docs/columns.md`` (a test checks it is current).
"""

from __future__ import annotations

from fundaudit.columns import catalogue

TYPE_NOTES = {
    "money": "integer fen (分)", "rate": "fraction (2% = 0.02)", "date": "date", "int": "whole number",
    "bool": "yes/no", "enum": "one of the values", "resident_id": "resident ID (GB 11643), personal",
    "taxpayer_id": "credit code / taxpayer ID (GB 32100)", "account": "account number", "phone": "phone, personal",
    "period": "YYYY-MM", "code": "code (text)", "text": "text", "name": "person's name",
}


def render() -> str:
    """The whole page as Markdown."""
    out = ["# Canonical columns and header aliases", "",
           "Generated from `fundaudit/columns/catalogue.yaml` by `python -m fundaudit.columns.docs`; do not edit.",
           "Headers are matched after normalisation (see [inputs.md](inputs.md)); the canonical snake_case",
           "name is always accepted as a header too. **Bold** columns are essential: an unreadable value",
           "rejects the row.", ""]
    for kind, spec in catalogue().items():
        role = "ledger" if spec.ledger else "reference table"
        out += [f"## `{kind}` — {spec.title_zh} ({spec.title_en}, {role})", ""]
        if spec.identity:
            out.append(f"A row with none of {', '.join(f'`{c}`' for c in spec.identity)} identifies nobody and "
                       "is rejected." + (f" Totals reconcile on `{spec.amount}`." if spec.amount else ""))
            out.append("")
        if spec.subject:
            named = " or ".join(f"`{c}`" for c in spec.subject) + (" (the first not empty)" if len(spec.subject) > 1
                                                                    else "")
            out.append(f"A finding about a row is about the person or employer its {named} names: "
                       "the finding's `subject`, a keyed hash of that ID ([triage.md](triage.md)).")
            out.append("")
        out += ["| column | type | header spellings |", "|---|---|---|"]
        for col in spec.columns.values():
            name = f"**`{col.name}`**" if col.essential else f"`{col.name}`"
            kind_text = TYPE_NOTES[col.type]
            if col.values:
                kind_text += ": " + ", ".join(col.values)
            if col.personal and "personal" not in kind_text:
                kind_text += ", personal"
            if col.fallback_for:
                kind_text += f"; read as `{col.fallback_for}` when no header of the sheet is one"
            out.append(f"| {name} | {kind_text} | {', '.join(col.aliases)} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
