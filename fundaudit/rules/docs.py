"""docs/rules.md, generated from the shipped packs and the check-type signatures, so the rule
reference cannot drift from the rules. Regenerate: ``python -m fundaudit.rules.docs > docs/rules.md``."""

from __future__ import annotations

from typing import Any

from fundaudit.rules.shipped import shipped_packs
from fundaudit.rules.signatures import CHECK_TYPES


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    return str(v)


# Parameters that changed when a shipped rule moved from a Python check type to YAML (issue 14 item 5).
MOVED_NOTES = [
    "**Rules moved to YAML.** `DISB-CASH` and `DISB-ACCOUNT-NAME` are `flag` rules, `DISB-NOT-FILED` a `lookup`;",
    "their parameters are",
    "the rule's `params:`. `DISB-NOT-FILED.programs_requiring_file` lists the programmes needing a file",
    "unconditionally; the old `送温暖(困难职工)` entry is `hardship_programs: [送温暖]` (a file needed only when",
    "the row's 困难类别 is one of `hardship_categories`). Its `match_on` and `fallback_on` are no longer",
    "parameters: they are the lookup's `on:` and `fallback_on:` (to match on other keys, disable the rule and",
    "write the lookup in a pack of your own);",
    "payments without a 档案编号 column are matched on the ID alone.",
    "`DISB-ID` and `REG-ID` are `flag` rules (`age_range`, `allow_15_digit` keep their names, meaning and",
    "bounds, declared in the check's `limits:`); `REG-ID.date` (the column to read the age at, default the",
    "period end) is no longer a parameter: REG-ID reads the age at `{period: end}`, written in the rule.",
    "`DISB-AFTER-EXIT` (`grace_days`) and `DISB-CATEGORY` (`category_map`, `hardship_categories`) are `lookup`",
    "rules too, with the same parameters; like DISB-NOT-FILED's, their `match_on` and `fallback_on` are now",
    "the lookup's `on:` and `fallback_on:`, no longer parameters.",
    "",
]


def render() -> str:
    """The whole page as Markdown."""
    out = [
        "# Rule reference",
        "",
        "Generated from `rules/*.yaml` and `fundaudit/rules/signatures/` by `python -m fundaudit.rules.docs`;",
        "do not edit. How to write your own rules: [rule-language.md](rule-language.md).",
        "",
        "**Parameters.** Each value has one home. A rule's parameters are the arguments of its check type that its",
        "`check:` block does not write (conditions, operands, input kinds and column maps excepted), each at the",
        "check type's default (marked *default* below), overridden by the rule's `params:`, plus any other",
        "`params:` value its conditions or messages refer to (`$allowed_rates`, `{tol_yuan}`). A shipped rule",
        "therefore writes only what differs from the default: `check: {type: shared_account}`. Every parameter",
        "listed here, default or not, is changed by name alike: `--param DISB-AFTER-EXIT.grace_days=3`,",
        '`params={"DISB-AFTER-EXIT": {"grace_days": 3}}` in Python, a user pack\'s',
        "`override: {DISB-AFTER-EXIT: {params: {grace_days: 3}}}` or a profile's `params:`. Precedence: check type",
        "default < the rule's `params:` < profile < user pack `override` < `--param`/`params=`. `fundaudit rules",
        "list` prints the values in force, those still at the default after `defaults:`.",
        "",
        *MOVED_NOTES,
    ]
    for pack in shipped_packs():
        out += [
            f"## Pack `{pack.name}` ({pack.source}, version {pack.version})",
            "",
            "| id | ledger | severity | check | parameters | what it checks |",
            "|---|---|---|---|---|---|",
        ]
        for r in pack.rules:
            defaults = r.defaults()
            params = (
                "<br>".join(
                    f"`{k}`: {_value(v)}" + (" *default*" if k in defaults else "") for k, v in r.params.items()
                )
                or "—"
            )
            title = r.title.get("zh", "") + (f" / {r.title['en']}" if r.title.get("en") else "")
            basis = f" ({r.basis})" if r.basis else ""
            out.append(f"| `{r.id}` | {r.ledger} | {r.severity} | `{r.check_type}` | {params} | {title}{basis} |")
        out.append("")
    out += ["## Money at issue", "",
            "What each rule's `amount` (a finding's money at issue, summed in `summary.amount_at_issue` for error",
            "and warning findings) is, as the rule's `amount_basis:` states it. A finding without money at",
            "issue is one where no money is at stake (a register file, an identity document).", "",
            "| id | money at issue | (zh) |", "|---|---|---|"]
    for pack in shipped_packs():
        for r in pack.rules:
            out.append(f"| `{r.id}` | {r.amount_basis.get('en', '—')} | {r.amount_basis.get('zh', '—')} |")
    out += ["", "## Check types", "", "| type | one finding per | arguments | what it asks |", "|---|---|---|---|"]
    for sig in CHECK_TYPES.values():
        args = ", ".join(f"`{n}`{'*' if a.required else ''}" for n, a in sig.args.items())
        out.append(f"| `{sig.name}` | {'group' if sig.group else 'row'} | {args} | {sig.doc} |")
    out += ["", "`*` = required.", ""]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
