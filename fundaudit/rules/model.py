"""Rule packs as data: load, validate (every problem at once, each with file:line:col and key path),
merge user packs over shipped ones, and apply parameter overrides.

A pack::

    pack: fundaudit-dues            # name
    version: "1.0"
    rules:
      - id: DUES-RATE
        ledger: dues                 # input kind the findings point at
        severity: error              # error | warning | info
        title: {zh: 费率不符, en: Rate not allowed}
        params: {allowed_rates: [0.02], rate_tol: 1.0e-9}      # user-overridable values
        check: {type: in_set, column: rate, values: $allowed_rates, tolerance: $rate_tol}
        where: {column: rate, is_null: false}                  # optional row filter (a condition)
        message: {zh: "费率 {rate} 不在允许范围内", en: "rate {rate} is not allowed"}
        amount: amount_paid          # optional: the money at issue
    override: {DISB-YEAR-END: {severity: warning, params: {share: 0.5}}}   # user packs only
    disable: [DUES-GAP]                                                     # user packs only

``$name`` in a check argument is replaced by the rule's parameter ``name``: a substitution of data,
never an evaluation.

Each parameter has one home. A rule's parameters are the arguments of its check type that its ``check:``
block does not write (conditions, operands, input kinds and column maps excepted: those are the rule's
logic), each at its signature default, overridden by the rule's ``params:``; plus any other ``params:``
entry (a value its conditions or message refer to as ``$name``/``{name}``). A ``params:`` entry named
after such an argument fills it, so a shipped rule writes only what differs from the default
(``check: {type: shared_account}``), and every argument stays overridable by name (``override``,
profile, ``--param``, ``params=``) and shown, marked as a default, by ``rules list``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import math
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fundaudit.columns import catalogue
from fundaudit.errors import RuleError
from fundaudit.rules.conditions import (
    compare_problems,
    inline_values,
    literal_problems,
    operand_unit,
    shown,
    validate_condition,
    validate_operand,
    validate_reasons,
)
from fundaudit.rules.located import Located, Locator, Moved, Problem, Unlocated, bad_char, parse_located
from fundaudit.rules.severity import LEVELS
from fundaudit.rules.signatures import CHECK_TYPES, Arg
from fundaudit.rules.spec import Signature
from fundaudit.rules.values import (
    WINDOW_FORMS,
    column_type,
    literal_key,
    non_finite,
    parse_window,
    re2_error,
    unit_class,
    unit_of,
)

__all__ = [
    "Pack",
    "Rule",
    "RuleSet",
    "apply_params",
    "load_pack",
    "pack_error",
    "param_args",
    "params_from_args",
    "parse_pack",
    "parse_param_arg",
    "resolve_params",
    "rule_problems",
]

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")
PACK_KEYS = {"pack", "version", "description", "rules", "override", "disable"}
RULE_KEYS = {
    "id",
    "ledger",
    "severity",
    "title",
    "description",
    "check",
    "params",
    "where",
    "message",
    "amount",
    "tags",
    "basis",
    "amount_basis",
}
OVERRIDE_KEYS = {"severity", "params", "message", "where"}
# argument kinds that are never parameters (``shape``: a choice of how the rule is written, e.g. flag's ``say``)
LOGIC_KINDS = {"condition", "operand", "kind", "column_map", "column_names", "operand_map", "reasons", "shape"}
EVERY_LEDGER_CHECKS = {"ledger_total"}  # check types that may declare ledger: "*" (they cover every ledger)
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Rule:
    """One validated rule."""

    id: str
    ledger: str
    severity: str
    title: Mapping[str, str]
    message: Mapping[str, str]
    check_type: str
    check: Mapping[str, Any]  # arguments, with $param references still in place
    params: Mapping[str, Any]
    where: Any = None
    amount: Any = None
    tags: tuple[str, ...] = ()
    description: str = ""
    basis: str = ""
    amount_basis: Mapping[str, str] = field(default_factory=dict)  # what its money at issue is, zh/en
    source: str = ""
    line: int = 0
    path: str = ""  # key path of the rule in its pack, such as rules[3]

    @property
    def args(self) -> dict[str, Any]:
        """Check arguments: signature defaults, then parameters named after an argument the check does not
        write, then the check's own arguments with ``$name`` substituted."""
        sig = CHECK_TYPES[self.check_type]
        out = {name: arg.default for name, arg in sig.args.items()}
        out.update({k: self.params[k] for k in param_args(self.check_type, self.check) if k in self.params})
        out.update({k: _substitute(v, self.params) for k, v in self.check.items() if k != "type"})
        return out

    @property
    def row_filter(self) -> Any:
        """The rule's ``where`` with ``$name`` replaced by the parameter's value (None when it has none)."""
        return None if self.where is None else _substitute(self.where, self.params)

    def defaults(self) -> set[str]:
        """Names of the parameters still at their check type's signature default (what ``rules list`` marks)."""
        implicit = param_args(self.check_type, self.check)
        return {k for k, arg in implicit.items() if k in self.params and _same_value(self.params[k], arg.default)}

    @property
    def group(self) -> bool:
        """One finding per group of rows."""
        return CHECK_TYPES[self.check_type].group

    def raw(self) -> dict[str, Any]:
        """The rule as pack data (what :func:`rule_problems` validates)."""
        out: dict[str, Any] = {
            "id": self.id,
            "ledger": self.ledger,
            "severity": self.severity,
            "title": dict(self.title),
            "message": dict(self.message),
            "check": dict(self.check),
            "params": dict(self.params),
        }
        if self.where is not None:
            out["where"] = self.where
        if self.amount is not None:
            out["amount"] = self.amount
        return out


@dataclass(frozen=True)
class Pack:
    """A parsed pack: its rules, and (user packs) overrides and disabled ids."""

    name: str
    version: str
    source: str
    sha256: str
    rules: tuple[Rule, ...]
    override: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    disable: tuple[str, ...] = ()
    marks: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def manifest(self) -> dict[str, str]:
        """``{"name", "version", "sha256"}`` for findings.json ``run.rule_packs``."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "source": self.source}

    def locator(self) -> Located:
        """Problems located in this pack's file (line and column of any key path)."""
        return Located(None, self.source, dict(self.marks))


@dataclass
class RuleSet:
    """The rules of one run: shipped packs, then user packs (overrides, disables, additions)."""

    rules: dict[str, Rule]
    packs: list[Pack]
    disabled: dict[str, str] = field(default_factory=dict)  # id -> the pack that disabled it

    @classmethod
    def build(cls, packs: Sequence[Pack]) -> RuleSet:
        """Merge packs in order; later packs override, disable or add rules. A duplicate id across
        packs without an ``override`` is an error; so is an override or disable of an unknown rule, and
        an override whose parameters, message or filter do not hold for the rule (each located in the
        pack that says it)."""
        rules: dict[str, Rule] = {}
        problems: list[Problem] = []
        disabled: dict[str, str] = {}
        for pack in packs:
            loc = pack.locator()
            for rule in pack.rules:
                if rule.id in rules:
                    problems.append(
                        loc.problem(
                            f"{rule.path}.id" if rule.path else "rules",
                            "pack_duplicate_rule",
                            id=rule.id,
                            other=rules[rule.id].source,
                        )
                    )
                    continue
                rules[rule.id] = rule
            for rid, change in pack.override.items():
                if rid not in rules:
                    problems.append(loc.problem(f"override.{rid}", "pack_unknown_rule", id=rid, hint=_hint(rid, rules)))
                    continue
                try:
                    rules[rid] = _override(rules[rid], change, loc, f"override.{rid}")
                except RuleError as exc:
                    problems.extend(exc.problems)
            for i, rid in enumerate(pack.disable):
                if rid not in rules:
                    problems.append(loc.problem(f"disable[{i}]", "pack_unknown_rule", id=rid, hint=_hint(rid, rules)))
                    continue
                disabled[rid] = pack.name
        if problems:
            raise pack_error(problems)
        return cls(rules, list(packs), disabled)

    def active(self) -> list[Rule]:
        """Rules that will run, in declaration order."""
        return [r for rid, r in self.rules.items() if rid not in self.disabled]


# --- loading ------------------------------------------------------------------------------------


def load_pack(path: str | Path, *, display: str | None = None) -> Pack:
    """Load and validate a pack file; raises :class:`RuleError` listing every problem."""
    p = Path(path)
    name = display or str(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise RuleError("pack_unreadable", file=name, what=exc.strerror or str(exc)) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleError("pack_unreadable", file=name, what="not UTF-8 text") from exc
    return parse_pack(text, source=name, sha256=hashlib.sha256(data).hexdigest())


def parse_pack(text: str, *, source: str = "<string>", sha256: str | None = None) -> Pack:
    """Parse and validate pack text (named ``source`` in messages)."""
    located, problems = parse_located(text, source)
    pack = None
    if located is not None:
        pack, problems = _validate_pack(located, sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest())
    if problems or pack is None:
        raise pack_error(problems)
    return pack


def pack_error(problems: Sequence[Problem]) -> RuleError:
    """One :class:`RuleError` listing every problem, rendered in the caller's language."""
    return RuleError("pack_invalid", problems=list(problems), count=len(problems))


def _validate_pack(doc: Located, sha256: str) -> tuple[Pack | None, list[Problem]]:
    d = doc.data
    problems: list[Problem] = []
    if not isinstance(d, dict):
        return None, [doc.problem("", "pack_wrong_type", expected="mapping", got=_type_name(d))]
    for key in d:
        if key not in PACK_KEYS:
            problems.append(doc.problem(key, "pack_unknown_key", key=key, allowed=_allowed(PACK_KEYS, key)))
    name = d.get("pack")
    if name is None or name == "":
        problems.append(doc.problem("pack" if "pack" in d else "", "pack_missing_key", key="pack"))
    else:
        problems.extend(_text_problems(doc, "pack", name))
    if "description" in d:
        problems.extend(_text_problems(doc, "description", d["description"]))
    version = d.get("version", "")
    if not isinstance(version, str | int | float):
        problems.append(doc.problem("version", "pack_wrong_type", expected="text", got=_type_name(version)))
    rules_raw = d.get("rules", [])
    if not isinstance(rules_raw, list):
        problems.append(doc.problem("rules", "pack_wrong_type", expected="list", got=_type_name(rules_raw)))
        rules_raw = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(rules_raw):
        rule = _validate_rule(doc, f"rules[{i}]", raw, problems)
        if rule is None:
            continue
        if rule.id in seen:
            problems.append(doc.problem(f"rules[{i}].id", "pack_duplicate_rule", id=rule.id, other=doc.source))
        seen.add(rule.id)
        rules.append(rule)
    override = d.get("override", {}) or {}
    if not isinstance(override, dict):
        problems.append(doc.problem("override", "pack_wrong_type", expected="mapping", got=_type_name(override)))
        override = {}
    for rid, change in override.items():
        path = f"override.{rid}"
        if not isinstance(change, dict):
            problems.append(doc.problem(path, "pack_wrong_type", expected="mapping", got=_type_name(change)))
            continue
        for key in change:
            if key not in OVERRIDE_KEYS:
                problems.append(
                    doc.problem(f"{path}.{key}", "pack_unknown_key", key=key, allowed=_allowed(OVERRIDE_KEYS, key))
                )
        if "severity" in change and change["severity"] not in LEVELS:
            problems.append(
                doc.problem(f"{path}.severity", "pack_bad_value", value=change["severity"], expected=", ".join(LEVELS))
            )
        if "params" in change and not isinstance(change["params"], dict):
            problems.append(
                doc.problem(f"{path}.params", "pack_wrong_type", expected="mapping", got=_type_name(change["params"]))
            )
        if "message" in change:
            problems.extend(_text_map_problems(doc, f"{path}.message", change["message"]))
    disable = d.get("disable", []) or []
    if not isinstance(disable, list) or not all(isinstance(x, str) for x in disable):
        problems.append(doc.problem("disable", "pack_wrong_type", expected="list of rule ids", got=_type_name(disable)))
        disable = []
    if problems:
        return None, problems
    return (
        Pack(str(name), str(version), doc.source, sha256, tuple(rules), override, tuple(disable), dict(doc.marks)),
        [],
    )


def _validate_rule(doc: Located, path: str, raw: Any, problems: list[Problem]) -> Rule | None:
    found = rule_problems(doc, path, raw)
    problems.extend(found)
    if found:
        return None
    rid, check, message = raw["id"], raw["check"], raw["message"]
    title = raw.get("title") or {"zh": rid, "en": rid}
    return Rule(
        id=str(rid),
        ledger=str(raw["ledger"]),
        severity=str(raw["severity"]),
        title=title if isinstance(title, dict) else {"zh": title, "en": title},
        message=message if isinstance(message, dict) else {"zh": message, "en": message},
        check_type=check["type"],
        check=dict(check),
        params=resolve_params(check["type"], check, raw.get("params", {}) or {}),
        where=raw.get("where"),
        amount=raw.get("amount"),
        tags=tuple(raw.get("tags", []) or []),
        description=str(raw.get("description", "")),
        basis=str(raw.get("basis", "")),
        amount_basis=_text_map(raw.get("amount_basis")),
        source=doc.source,
        line=doc.at(path)[0],
        path=path,
    )


def rule_problems(doc: Locator, path: str, raw: Any) -> list[Problem]:
    """Every problem of one rule (``raw``, pack data at key path ``path``): keys, types, check
    arguments and the values of its parameters, filter, amount and message templates."""
    if not isinstance(raw, dict):
        return [doc.problem(path, "pack_wrong_type", expected="mapping", got=_type_name(raw))]
    problems: list[Problem] = []
    for key in raw:
        if key not in RULE_KEYS:
            problems.append(doc.problem(f"{path}.{key}", "pack_unknown_key", key=key, allowed=_allowed(RULE_KEYS, key)))
    for key in ("id", "ledger", "severity", "check", "message"):
        if key not in raw:
            problems.append(doc.problem(path, "pack_missing_key", key=key))
    rid = raw.get("id")
    if "id" in raw and (not isinstance(rid, str) or not RULE_ID.match(rid)):
        problems.append(doc.problem(f"{path}.id", "pack_bad_value", value=rid, expected="an id like DISB-CASH"))
    ledger = raw.get("ledger")
    every_ledger = isinstance(raw.get("check"), dict) and str(raw["check"].get("type")) in EVERY_LEDGER_CHECKS
    if "ledger" in raw and not isinstance(ledger, str):
        problems.extend(_text_problems(doc, f"{path}.ledger", ledger))
    elif "ledger" in raw and ledger not in catalogue() and not (ledger == "*" and every_ledger):
        expected = ", ".join(catalogue()) + (", *" if every_ledger else "")
        problems.append(doc.problem(f"{path}.ledger", "pack_bad_value", value=ledger, expected=expected))
    kind = ledger if isinstance(ledger, str) and ledger in catalogue() else None
    severity = raw.get("severity")
    if "severity" in raw and severity not in LEVELS:
        problems.append(doc.problem(f"{path}.severity", "pack_bad_value", value=severity, expected=", ".join(LEVELS)))
    text_ok = {}
    for key in ("title", "message", "amount_basis"):
        found = _text_map_problems(doc, f"{path}.{key}", raw[key]) if key in raw else []
        text_ok[key] = not found
        problems.extend(found)
    for key in ("description", "basis"):
        if key in raw:
            problems.extend(_text_problems(doc, f"{path}.{key}", raw[key]))
    params = raw.get("params", {}) or {}
    if not isinstance(params, dict):
        problems.append(doc.problem(f"{path}.params", "pack_wrong_type", expected="mapping", got=_type_name(params)))
        params = {}
    for name, value in params.items():
        if non_finite(value):
            problems.append(
                doc.problem(
                    f"{path}.params.{name}", "pack_bad_value", value=shown(value), expected="a finite number"
                )
            )
    check = raw.get("check")
    ctype = None
    if "check" in raw:
        if not isinstance(check, dict) or not isinstance(check.get("type"), str):
            problems.append(
                doc.problem(f"{path}.check", "pack_wrong_type", expected="{type: …, …}", got=_type_name(check))
            )
        elif check["type"] not in CHECK_TYPES:
            problems.append(
                doc.problem(
                    f"{path}.check.type",
                    "pack_unknown_check",
                    value=check["type"],
                    hint=_hint(check["type"], CHECK_TYPES),
                )
            )
        else:
            ctype = check["type"]
            _validate_args(doc, f"{path}.check", ctype, check, params, f"{path}.params", kind, problems)
    if raw.get("where") is not None and kind:
        problems.extend(_where_problems(doc, path, raw["where"], params, kind))
    if raw.get("amount") is not None and kind:
        amount = _amount_operand(raw["amount"], check, params)
        found = validate_operand(doc, f"{path}.amount", amount, kind)
        problems.extend(found)
        unit = operand_unit(doc, f"{path}.amount", amount, kind)[0]
        if not found and unit not in (None, "bare", "money"):
            problems.append(
                doc.problem(
                    f"{path}.amount", "pack_wrong_type", expected="money (an amount column or a sum of them)", got=unit
                )
            )
    tags = raw.get("tags", []) or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(doc.problem(f"{path}.tags", "pack_wrong_type", expected="list of text", got=_type_name(tags)))
    message = raw.get("message")
    if ctype is not None and "message" in raw and text_ok["message"]:
        reported = check.get("report") if isinstance(check, dict) else None  # a lookup's reported names
        named = tuple(reported) if isinstance(reported, dict) else ()
        named += _value_names(check)
        resolved = resolve_params(ctype, check or {}, params)  # a default parameter may fill a message too
        problems.extend(_placeholder_problems(doc, f"{path}.message", message, kind, ctype, resolved, named))
    return _one_per_key(problems)


def _one_per_key(problems: list[Problem]) -> list[Problem]:
    """The first problem at each key path (a parameter used twice, or both not finite and not money, is
    one problem); missing keys are all reported on their parent, unknown placeholders on their template."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for p in problems:
        key = (p.source, p.path, str(p.fields.get("name", "")) if p.code == "pack_unknown_placeholder" else "")
        if p.code != "pack_missing_key" and key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out


def _text_problems(doc: Locator, path: str, value: Any) -> list[Problem]:
    """Text where text is expected: a number, list, mapping or nothing (``key:`` left empty) is a problem."""
    if isinstance(value, str):
        return []
    return [doc.problem(path, "pack_wrong_type", expected="text", got=_type_name(value))]


def _text_map(value: Any) -> dict[str, str]:
    """A validated text or ``{zh, en}`` map as ``{zh, en}`` (English falls back to the Chinese); {} for none."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"zh": value, "en": value}
    return {"zh": str(value["zh"]), "en": str(value.get("en", value["zh"]))}


def _text_map_problems(doc: Locator, path: str, value: Any) -> list[Problem]:
    """A title or message: text, or ``{zh: text, en: text}`` (an empty value is a problem at its key)."""
    if isinstance(value, str):
        return []
    if not isinstance(value, dict) or "zh" not in value:
        return [doc.problem(path, "pack_wrong_type", expected="{zh: text, en: text}", got=_type_name(value))]
    found = [p for lang, text in value.items() for p in _text_problems(doc, f"{path}.{lang}", text)]
    if found:
        return found
    if set(value) - {"zh", "en"}:
        extra = sorted(set(value) - {"zh", "en"})[0]
        return [doc.problem(f"{path}.{extra}", "pack_unknown_key", key=extra, allowed="zh, en")]
    return []


MESSAGE_FIELDS = ("amount", "file", "sheet", "row")  # every finding offers these to its message


def _value_names(check: Any) -> tuple[str, ...]:
    """The names of a flag's computed ``values`` (message fields and finding values)."""
    values = check.get("values") if isinstance(check, dict) else None
    return tuple(values) if isinstance(values, dict) else ()


def _amount_operand(amount: Any, check: Any, params: Mapping[str, Any]) -> Any:
    """The rule's ``amount:`` with the names of its check's computed ``values`` replaced by their operands
    (parameters substituted), so it is validated as what runs."""
    values = check.get("values") if isinstance(check, dict) else None
    if not isinstance(values, dict):
        return amount
    declared = params if isinstance(params, Mapping) else {}
    defaults = resolve_params(check["type"], check, declared) if check.get("type") in CHECK_TYPES else declared
    return inline_values(amount, _substitute(values, defaults))


def _placeholder_problems(
    doc: Locator,
    path: str,
    message: Any,
    kind: str | None,
    ctype: str,
    params: Mapping[str, Any],
    reported: tuple[str, ...] = (),
) -> list[Problem]:
    """Each ``{name}`` of a message must be something a finding of this rule can fill: a column of
    its ledger, a field of its check type, a parameter, or amount/file/sheet/row."""
    templates = message.items() if isinstance(message, dict) else [("", message)]
    columns = catalogue()[kind].columns if kind else {}
    fields = {*MESSAGE_FIELDS, *CHECK_TYPES[ctype].fields, *params, *reported}
    problems = []
    for lang, template in templates:
        where = f"{path}.{lang}" if lang else path
        try:
            names = [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
        except ValueError as exc:
            problems.append(doc.problem(where, "pack_bad_template", what=str(exc)))
            continue
        for name in dict.fromkeys(names):
            if name not in columns and name not in fields:
                problems.append(
                    doc.problem(
                        where,
                        "pack_unknown_placeholder",
                        name=name,
                        ledger=kind or "*",
                        fields=", ".join(sorted(fields)),
                        hint=_hint(name, [*columns, *fields]),
                    )
                )
    return problems


def _validate_args(
    doc: Locator,
    path: str,
    ctype: str,
    check: Mapping[str, Any],
    params: Mapping[str, Any],
    params_path: str,
    ledger: str | None,
    problems: list[Problem],
) -> None:
    """Check arguments against the check type's signature, with ``$name`` replaced by the parameter's
    value. A problem with a substituted value is reported where the value is written: at
    ``params_path.name``, not at the ``$name`` that refers to it."""
    sig = CHECK_TYPES[ctype]
    refs: dict[str, str] = {}
    resolved: dict[str, Any] = {}
    for key, value in check.items():
        if key == "type":
            continue
        if key not in sig.args:
            problems.append(
                doc.problem(f"{path}.{key}", "pack_unknown_key", key=key, allowed=_allowed(set(sig.args), key))
            )
            continue
        undefined = _collect_refs(value, f"{path}.{key}", params, params_path, refs)
        for where, name in undefined:
            problems.append(doc.problem(where, "pack_unknown_param", name=name, hint=_hint(name, params)))
        if not undefined:
            resolved[key] = _substitute(value, params)
    for key in param_args(ctype, check):  # a parameter named after an argument the check does not write fills it
        if key in params:
            refs[f"{path}.{key}"] = f"{params_path}.{key}"
            resolved[key] = params[key]
    located = Moved(doc, refs)
    limited = _limit_problems(doc, sig, check, params, params_path)
    problems.extend(p for found in limited.values() for p in found)
    broken = {f"{params_path}.{name}" for name, found in limited.items() if found}
    for key, value in resolved.items():  # an argument naming a parameter out of its limits: said once, there
        if any(r.startswith(f"{path}.{key}") and t in broken for r, t in refs.items()):
            continue
        problems.extend(
            check_arg(located, f"{path}.{key}", sig.args[key], value, ledger, resolved, params=tuple(params))
        )
    for rel, a, b in sig.relations:
        if resolved.get(a) is None or resolved.get(b) is None:
            continue
        pa, pb = f"{path}.{a}", f"{path}.{b}"
        if rel == "le":
            column = resolved.get(sig.args[a].typed_by) if sig.args[a].typed_by else None
            unit = unit_of(ledger, column) if isinstance(column, str) and column_type(ledger, column) else "number"
            try:
                low, high = literal_key(resolved[a], unit), literal_key(resolved[b], unit)
            except (ValueError, TypeError):
                continue  # reported by check_arg
            if low > high:
                where = pb if pb in refs or pa not in refs else pa
                problems.append(
                    located.problem(
                        where,
                        "pack_bad_order",
                        low=a,
                        high=b,
                        low_value=shown(resolved[a]),
                        high_value=shown(resolved[b]),
                    )
                )
        elif rel == "comparable" and ledger:
            if validate_operand(located, pa, resolved[a], ledger) or validate_operand(located, pb, resolved[b], ledger):
                continue  # reported by check_arg
            problems.extend(
                compare_problems(
                    located,
                    pa,
                    resolved[a],
                    pb,
                    resolved[b],
                    ledger,
                    tolerance=resolved.get("tolerance"),
                    tolerance_path=f"{path}.tolerance",
                )
            )
    for name, arg in sig.args.items():
        if arg.required and name not in check:
            problems.append(doc.problem(path, "pack_missing_key", key=name))


_LIMIT_KEYS: dict[str, type | tuple[type, ...]] = {
    "items": str, "low": (int, float), "high": (int, float), "length": int, "ascending": bool
}


def _limits_shape(doc: Locator, path: str, value: Any, params: tuple[str, ...]) -> list[Problem]:
    """A ``limits`` argument: ``{parameter: {items: int|number, low, high, length, ascending}}``, each
    naming a parameter the rule declares."""
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        return [doc.problem(path, "pack_wrong_type", expected="a mapping {parameter: limits}", got=shown(value))]
    problems = []
    for name, spec in value.items():
        if name not in params:
            problems.append(doc.problem(f"{path}.{name}", "pack_unknown_param", name=name, hint=_hint(name, params)))
        for key, v in spec.items():
            want = _LIMIT_KEYS.get(key)
            if want is None:
                allowed = ", ".join(_LIMIT_KEYS)
                problems.append(doc.problem(f"{path}.{name}.{key}", "pack_unknown_key", key=key, allowed=allowed))
            elif isinstance(v, bool) != (want is bool) or not isinstance(v, want):
                expected = "true or false" if want is bool else "text" if want is str else "a number"
                problems.append(
                    doc.problem(f"{path}.{name}.{key}", "pack_wrong_type", expected=expected, got=shown(v))
                )
        if spec.get("items", "int") not in ("int", "number"):
            bad = shown(spec["items"])
            problems.append(doc.problem(f"{path}.{name}.items", "pack_bad_value", value=bad, expected="int, number"))
    return problems


def _limit_problems(
    doc: Locator, sig: Signature, check: Mapping[str, Any], params: Mapping[str, Any], params_path: str
) -> dict[str, list[Problem]]:
    """Each limited parameter's problems against the bounds its check's ``limits`` argument declares (a
    flag rule's own parameters, which no signature types), located at ``params_path.NAME``: the same
    checks and messages as a check type's :class:`Arg` constraints."""
    limits = check.get("limits")
    if not isinstance(limits, dict) or not any(a.kind == "limits" for a in sig.args.values()):
        return {}
    problems: dict[str, list[Problem]] = {}
    for name, spec in limits.items():
        if name not in params or not isinstance(spec, dict) or _limits_shape(doc, "", {name: spec}, tuple(params)):
            continue  # reported by check_arg
        value = params[name]
        bounds = {k: v for k, v in spec.items() if k != "items"}
        if isinstance(value, list):
            arg = Arg("values", items=spec.get("items", "number"), **bounds)
        else:
            arg = Arg(spec.get("items", "number"), **bounds)
        problems[name] = check_arg(doc, f"{params_path}.{name}", arg, value, None)
    return problems


def _collect_refs(
    value: Any, path: str, params: Mapping[str, Any], params_path: str, refs: dict[str, str]
) -> list[tuple[str, str]]:
    """Record where each ``$name`` in ``value`` stands (``refs``: its path → the parameter's path);
    return the references to parameters the rule does not declare."""
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] in params:
            refs[path] = f"{params_path}.{value[1:]}"
            return []
        return [(path, value[1:])]
    if isinstance(value, list):
        return [u for i, v in enumerate(value) for u in _collect_refs(v, f"{path}[{i}]", params, params_path, refs)]
    if isinstance(value, dict):
        return [u for k, v in value.items() for u in _collect_refs(v, f"{path}.{k}", params, params_path, refs)]
    return []


def check_arg(
    doc: Locator,
    path: str,
    arg: Arg,
    value: Any,
    ledger: str | None,
    args: Mapping[str, Any] | None = None,
    *,
    params: tuple[str, ...] = (),
) -> list[Problem]:
    """Problems with one check argument's value (after parameter substitution): its type, and the
    constraints its :class:`Arg` declares. ``args`` are the rule's other (substituted) arguments, ``params``
    the names of its parameters (a reason's text may name them)."""
    k = arg.kind
    args = args or {}
    kind = ledger
    if arg.table:
        other = args.get(arg.table)
        kind = other if isinstance(other, str) and other in catalogue() else None

    def bad(expected: str) -> list[Problem]:
        return [doc.problem(path, "pack_wrong_type", expected=expected, got=shown(value))]

    if value is None:  # a true/false written as null would silently stand for false: it is refused too
        return [] if not arg.required and k != "bool" else bad("true or false" if k == "bool" else k)
    if k == "column":
        if not isinstance(value, str):
            return bad("a column name")
        return _column_problems(doc, path, value, kind, arg.types)
    if k == "columns":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return bad("a list of column names")
        if len(value) < arg.min_items:
            return bad(f"a list of at least {arg.min_items} column names")
        return [p for i, v in enumerate(value) for p in _column_problems(doc, f"{path}[{i}]", v, kind, arg.types)]
    if k == "kind":
        return (
            []
            if isinstance(value, str) and value in catalogue()
            else [doc.problem(path, "pack_bad_value", value=value, expected=", ".join(catalogue()))]
        )
    if k in ("number", "int"):
        return _item_problems(doc, path, value, k, arg)
    if k == "bool":
        return [] if isinstance(value, bool) else bad("true or false")
    if k == "str":
        return [] if isinstance(value, str) else bad("text")
    if k == "pattern":
        if not isinstance(value, str):
            return bad("a regular expression")
        error = re2_error(value)
        return [] if error is None else [doc.problem(path, "pack_bad_pattern", value=shown(value), what=error)]
    if k == "window":  # group_cap: a calendar bucket (choices) or a rolling {days: N}
        if isinstance(value, dict):
            if set(value) != {"days"}:
                return bad("{days: N}")
            return _item_problems(doc, f"{path}.days", value["days"], "int", Arg("int", low=1))
        return (
            []
            if value in arg.choices
            else [doc.problem(path, "pack_bad_value", value=value, expected=", ".join([*arg.choices, "{days: N}"]))]
        )
    if k in ("choice", "shape"):
        return (
            []
            if value in arg.choices
            else [doc.problem(path, "pack_bad_value", value=value, expected=", ".join(arg.choices))]
        )
    if k == "values":
        if not isinstance(value, list) or not all(_is_scalar(v) for v in value):
            return bad("a list of values")
        if arg.length is not None and len(value) != arg.length:
            return bad(f"a list of {arg.length} values")
        if len(value) < arg.min_items:
            return bad(f"a list of at least {arg.min_items} values")
        problems = [p for i, v in enumerate(value) for p in _element_problems(doc, f"{path}[{i}]", v, arg, args, kind)]
        if not problems and arg.ascending and any(a > b for a, b in itertools.pairwise(value)):
            problems.append(
                doc.problem(path, "pack_bad_value", value=shown(value), expected="[low, high], low ≤ high")
            )
        return problems
    if k == "value":
        if not _is_scalar(value):
            return bad("a value")
        return _element_problems(doc, path, value, arg, args, kind)
    if k == "reasons":  # flag, lookup: conditions on the ledger (and the table's rows as match.NAME)
        reported = args.get("report")
        fields = tuple(reported) if isinstance(reported, dict) else ()
        fields += _value_names(args)
        other = kind if arg.table else None
        extra = ("matched_on",) if other else ()
        return validate_reasons(doc, path, value, ledger, other=other, fields=(*fields, *extra, *params))
    if k == "condition" and arg.items == "match":  # a condition on the ledger's row and match.NAME
        return validate_condition(doc, path, value, ledger, other=kind) if kind else []
    if k == "condition":
        return validate_condition(doc, path, value, kind) if kind else []
    if k == "operand":
        return validate_operand(doc, path, value, kind) if kind else []
    if k == "mapping":
        if not isinstance(value, dict):
            return bad("a mapping")
        return [p for key, v in value.items() for p in _item_problems(doc, f"{path}.{key}", v, arg.items, arg)]
    if k == "operand_map":  # {name: operand}, e.g. flag's computed values
        if not isinstance(value, dict) or not value or not all(isinstance(n, str) for n in value):
            return bad("a mapping {name: operand}")
        taken = {*MESSAGE_FIELDS, "matched_on", "problem", "problem_en"}
        clash = [n for n in value if n in taken or (ledger is not None and column_type(ledger, n) is not None)]
        if clash:  # a computed name would hide a column of the ledger or a field of the finding
            return [doc.problem(f"{path}.{clash[0]}", "pack_bad_value", value=clash[0], expected="a new name")]
        return [p for name, v in value.items() for p in validate_operand(doc, f"{path}.{name}", v, ledger)]
    if k == "limits":  # flag: {parameter: {items, low, high, length, ascending}}, checked by _limit_problems
        return _limits_shape(doc, path, value, params)
    if k == "column_names":  # {name: column of the other input}, e.g. a lookup's report
        if not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values()):
            return bad("a mapping {name: column of the other input}")
        taken = {*MESSAGE_FIELDS, "matched_on", "problem", "problem_en"}
        clash = [n for n in value if n in taken or (ledger is not None and column_type(ledger, n) is not None)]
        if clash:  # a reported name would hide a column of the ledger or a field of the finding
            return [doc.problem(f"{path}.{clash[0]}", "pack_bad_value", value=clash[0], expected="a new name")]
        return [p for name, v in value.items() for p in _column_problems(doc, f"{path}.{name}", v, kind, ())]
    if k == "column_map":
        if not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values()):
            return bad("a mapping {column: column of the other input}")
        problems = []
        for local, remote in value.items():
            found = _column_problems(doc, f"{path}.{local}", local, ledger, ()) + _column_problems(
                doc, f"{path}.{local}", remote, kind, ()
            )
            problems.extend(found)
            if not found and ledger and kind:
                lu, ru = unit_of(ledger, local), unit_of(kind, remote)
                if unit_class(lu) != unit_class(ru):
                    problems.append(
                        doc.problem(
                            f"{path}.{local}",
                            "pack_incomparable",
                            left=f"{ledger}.{local} ({column_type(ledger, local)})",
                            right=f"{kind}.{remote} ({column_type(kind, remote)})",
                        )
                    )
        return problems
    return []


def _column_problems(doc: Locator, path: str, name: str, kind: str | None, types: tuple[str, ...]) -> list[Problem]:
    if not kind:
        return []
    cols = catalogue()[kind].columns
    ctype = column_type(kind, name)  # a catalogue column, or a fact the engine derives from one
    if ctype is None:
        return [doc.problem(path, "pack_unknown_column", column=name, ledger=kind, hint=_hint(name, cols))]
    if types and ctype not in types:
        return [
            doc.problem(
                path,
                "pack_wrong_type",
                expected=f"a column of type {' or '.join(types)}",
                got=f"{name} ({ctype})",
            )
        ]
    return []


def _element_problems(
    doc: Locator, path: str, value: Any, arg: Arg, args: Mapping[str, Any], kind: str | None
) -> list[Problem]:
    """One literal of a ``value``/``values`` argument: an allowed choice, of its item kind, readable as
    the type of the column it is compared with."""
    if arg.choices and value not in arg.choices:
        return [doc.problem(path, "pack_bad_value", value=shown(value), expected=", ".join(arg.choices))]
    if arg.items:
        return _item_problems(doc, path, value, arg.items, arg)
    if arg.typed_by:
        column = args.get(arg.typed_by)
        return literal_problems(doc, path, value, kind, column if isinstance(column, str) else None)
    if non_finite(value):
        return [doc.problem(path, "pack_bad_value", value=shown(value), expected="a finite number")]
    return []


def _item_problems(doc: Locator, path: str, value: Any, item: str, arg: Arg) -> list[Problem]:
    """A value of kind ``item`` (int, number, text, window; '' = anything finite) within the bounds
    ``arg`` declares."""
    got = shown(value)
    if item in ("int", "number"):
        whole = item == "int"
        if isinstance(value, bool) or not isinstance(value, int | float) or (whole and isinstance(value, float)):
            return [doc.problem(path, "pack_wrong_type", expected="a whole number" if whole else "a number", got=got)]
        if not math.isfinite(value):
            return [doc.problem(path, "pack_bad_value", value=got, expected="a finite number")]
        if (arg.low is not None and value < arg.low) or (arg.high is not None and value > arg.high):
            return [doc.problem(path, "pack_out_of_range", value=got, expected=_bounds(arg))]
        return []
    if item == "text":
        return [] if isinstance(value, str) else [doc.problem(path, "pack_wrong_type", expected="text", got=got)]
    if item == "window":
        try:
            parse_window(value)
        except ValueError:
            return [doc.problem(path, "pack_bad_value", value=got, expected=WINDOW_FORMS)]
        return []
    return [doc.problem(path, "pack_bad_value", value=got, expected="a finite number")] if non_finite(value) else []


def _bounds(arg: Arg) -> str:
    def n(x: float) -> str:
        return f"{x:g}"

    if arg.low is not None and arg.high is not None:
        return f"{n(arg.low)} to {n(arg.high)}"
    return f"≥ {n(arg.low)}" if arg.low is not None else f"≤ {n(arg.high or 0)}"


# --- overrides and parameters -------------------------------------------------------------------


def param_args(check_type: str, check: Mapping[str, Any]) -> dict[str, Arg]:
    """The arguments of ``check_type`` that are parameters of a rule whose check block is ``check``: every
    optional argument it does not write, except conditions, operands, input kinds, column maps and the
    arguments marked ``shape`` (how the rule is written)."""
    sig = CHECK_TYPES[check_type]
    return {
        name: arg
        for name, arg in sig.args.items()
        if name not in check and not arg.required and arg.kind not in LOGIC_KINDS and not arg.shape
    }


def resolve_params(check_type: str, check: Mapping[str, Any], declared: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's parameters: its declared ``params`` (in their order), then each argument of
    :func:`param_args` it does not declare, at its signature default (a copy: defaults are shared)."""
    out = dict(declared)
    for name, arg in param_args(check_type, check).items():
        if name not in out:
            out[name] = copy.deepcopy(arg.default)
    return out


def _override(rule: Rule, change: Mapping[str, Any], loc: Locator, path: str) -> Rule:
    """``rule`` changed by a user pack's ``override`` at ``path`` (located by ``loc``); raises
    :class:`RuleError` when the changed rule does not hold."""
    kw: dict[str, Any] = {}
    if "severity" in change:
        kw["severity"] = change["severity"]
    if "params" in change:
        kw["params"] = _merged_params(rule, change["params"], lambda key: (loc, f"{path}.params.{key}"))
    if "message" in change:
        msg = change["message"]
        kw["message"] = msg if isinstance(msg, dict) else {"zh": msg, "en": msg}
    if "where" in change:
        kw["where"] = change["where"]
    new = replace(rule, **kw)
    moves = {f"_rule.{key}": f"{path}.{key}" for key in ("params", "message", "where", "severity") if key in change}
    _revalidate(new, Moved(loc, moves, fallback=path))
    return new


def _revalidate(rule: Rule, loc: Locator) -> None:
    """Validate a changed rule as if it were written in a pack (at ``_rule``); problems go where
    ``loc`` moves them."""
    problems = rule_problems(loc, "_rule", rule.raw())
    if problems:
        raise pack_error(problems)


def _merged_params(rule: Rule, new: Mapping[str, Any], where: Callable[[str], tuple[Locator, str]]) -> dict[str, Any]:
    """``rule``'s parameters with ``new`` values; an unknown key or a value of another shape than the
    default is a problem, located by ``where(key)``."""
    out = dict(rule.params)
    problems = []
    for key, value in new.items():
        loc, path = where(key)
        if key not in rule.params:
            problems.append(loc.problem(path, "param_unknown_key", rule=rule.id, key=key, hint=_hint(key, rule.params)))
            continue
        if isinstance(rule.params[key], bool) and not isinstance(value, bool):  # yes, on, 1, null…: never guessed
            problems.append(loc.problem(path, "pack_wrong_type", expected="true or false", got=shown(value)))
            continue
        if not _same_shape(rule.params[key], value):
            problems.append(
                loc.problem(
                    path,
                    "param_bad_value",
                    rule=rule.id,
                    key=key,
                    value=shown(value),
                    expected=shown(rule.params[key]),
                )
            )
            continue
        out[key] = value
    if problems:
        raise pack_error(problems)
    return out


def apply_params(ruleset: RuleSet, params: Mapping[str, Mapping[str, Any]], *, source: str = "--param") -> RuleSet:
    """Override parameters (``{"DISB-SPLIT": {"window_days": 15}}``); unknown rules, unknown keys,
    values of the wrong shape and values the rule's check does not accept (out of range, not
    finite, a column its ledger lacks…) are :class:`RuleError`, each named ``RULE.KEY``."""
    rules = dict(ruleset.rules)
    problems: list[Problem] = []
    loc = Unlocated(source)
    for rid, values in params.items():
        if rid not in rules:
            problems.append(loc.problem(rid, "param_unknown_rule", rule=rid, hint=_hint(rid, rules)))
            continue
        if not isinstance(values, Mapping):
            problems.append(loc.problem(rid, "param_syntax", value=f"{rid}: {values!r}"))
            continue
        if not values:
            continue
        try:
            rule = replace(rules[rid], params=_merged_params(rules[rid], values, _at_key(loc, rid)))
            moves = {f"_rule.params.{key}": f"{rid}.{key}" for key in values}
            _revalidate(rule, Moved(loc, moves, fallback=f"{rid}.{next(iter(values))}"))
            rules[rid] = rule
        except RuleError as exc:
            problems.extend(exc.problems)
    if problems:
        raise pack_error(problems)
    return RuleSet(rules, ruleset.packs, ruleset.disabled)


def _at_key(loc: Locator, rid: str) -> Callable[[str], tuple[Locator, str]]:
    return lambda key: (loc, f"{rid}.{key}")


def parse_param_arg(text: str) -> tuple[str, str, Any]:
    """``RULE.KEY=VALUE`` → (rule, key, value); VALUE is read as a YAML flow value (``15``,
    ``[0.008]``, ``true``, ``"2%"``)."""
    head, sep, raw = text.partition("=")
    rid, dot, key = head.strip().rpartition(".")
    if not sep or not dot or not rid or not key:
        raise RuleError("param_syntax", value=text)
    loc = Unlocated("--param")
    if bad_char(head) is not None:  # a lone surrogate (argv bytes that are not UTF-8), a control character
        raise pack_error([loc.problem("", "pack_bad_text", char=bad_char(head))])
    located, problems = parse_located(raw if raw.strip() else '""', "--param")
    if located is None:
        if any(p.code in ("pack_yaml_syntax", "pack_empty", "pack_too_large") for p in problems):
            raise RuleError("param_syntax", value=text) from None
        # nested too deep, a character not allowed (in VALUE: located by the YAML reader), a tag or alias
        raise pack_error([loc.problem(f"{rid}.{key}{_sub(p.path)}", p.code, **p.fields) for p in problems])
    return rid, key, located.data


def _sub(path: str) -> str:
    """A key path inside a value, as a suffix: ``[0]``, ``.a``."""
    return path if not path or path.startswith("[") else "." + path


def params_from_args(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Collect ``--param`` arguments into ``{rule: {key: value}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        rid, key, value = parse_param_arg(item)
        out.setdefault(rid, {})[key] = value
    return out


# --- helpers ------------------------------------------------------------------------------------


def _substitute(value: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:] in params:
        return params[value[1:]]
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, params) for k, v in value.items()}
    return value


def _same_value(a: Any, b: Any) -> bool:
    """Equal, element by element, with true/false never equal to a number (``0`` is not ``false``)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _same_shape(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, list):
        return isinstance(value, list)
    if isinstance(default, dict):
        return isinstance(value, dict)
    return default is None


def _is_scalar(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) or v is None


def _type_name(v: Any) -> str:
    return {
        dict: "mapping",
        list: "list",
        str: "text",
        int: "number",
        float: "number",
        bool: "true/false",
        type(None): "nothing",
    }.get(type(v), type(v).__name__)


def _hint(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(options), n=1)
    return f" (→ {close[0]}?)" if close else ""


def _allowed(keys: Iterable[str], key: str) -> str:
    return ", ".join(sorted(keys)) + _hint(key, keys)


def _where_problems(doc: Locator, path: str, where: Any, params: Mapping[str, Any], ledger: str) -> list[Problem]:
    """Problems of a rule's ``where``, with ``$name`` replaced by the parameter's value (a problem with a
    substituted value is reported at ``params.name``, as for check arguments)."""
    refs: dict[str, str] = {}
    undefined = _collect_refs(where, f"{path}.where", params, f"{path}.params", refs)
    if undefined:
        return [doc.problem(at, "pack_unknown_param", name=name, hint=_hint(name, params)) for at, name in undefined]
    return validate_condition(Moved(doc, refs), f"{path}.where", _substitute(where, params), ledger)

