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
        "therefore writes only what differs from the default: `check: {type: paid_after_exit}`. Every parameter",
        "listed here, default or not, is changed by name alike: `--param DISB-AFTER-EXIT.grace_days=3`,",
        '`params={"DISB-AFTER-EXIT": {"grace_days": 3}}` in Python, a user pack\'s',
        "`override: {DISB-AFTER-EXIT: {params: {grace_days: 3}}}` or a profile's `params:`. Precedence: check type",
        "default < the rule's `params:` < profile < user pack `override` < `--param`/`params=`. `fundaudit rules",
        "list` prints the values in force, those still at the default after `defaults:`.",
        "",
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
    out += ["## Check types", "", "| type | one finding per | arguments | what it asks |", "|---|---|---|---|"]
    for sig in CHECK_TYPES.values():
        args = ", ".join(f"`{n}`{'*' if a.required else ''}" for n, a in sig.args.items())
        out.append(f"| `{sig.name}` | {'group' if sig.group else 'row'} | {args} | {sig.doc} |")
    out += ["", "`*` = required.", ""]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
