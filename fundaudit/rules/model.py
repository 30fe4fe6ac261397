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
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fundaudit.columns import catalogue
from fundaudit.errors import RuleError
from fundaudit.rules.conditions import validate_condition, validate_operand
from fundaudit.rules.located import Located, Problem, parse_located
from fundaudit.rules.signatures import CHECK_TYPES, Arg

__all__ = [
    "Pack",
    "Rule",
    "RuleSet",
    "apply_params",
    "load_pack",
    "pack_error",
    "params_from_args",
    "parse_pack",
    "parse_param_arg",
]

SEVERITIES = ("error", "warning", "info")
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
}
OVERRIDE_KEYS = {"severity", "params", "message", "where"}
EVERY_LEDGER_CHECKS = {"ledger_total"}  # check types that may declare ledger: "*" (they cover every ledger)


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
    source: str = ""
    line: int = 0

    @property
    def args(self) -> dict[str, Any]:
        """Check arguments with parameters substituted and defaults filled in."""
        sig = CHECK_TYPES[self.check_type]
        out = {name: arg.default for name, arg in sig.args.items()}
        out.update({k: _substitute(v, self.params) for k, v in self.check.items() if k != "type"})
        return out

    @property
    def group(self) -> bool:
        """One finding per group of rows."""
        return CHECK_TYPES[self.check_type].group


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

    def manifest(self) -> dict[str, str]:
        """``{"name", "version", "sha256"}`` for findings.json ``run.rule_packs``."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "source": self.source}


@dataclass
class RuleSet:
    """The rules of one run: shipped packs, then user packs (overrides, disables, additions)."""

    rules: dict[str, Rule]
    packs: list[Pack]
    disabled: dict[str, str] = field(default_factory=dict)  # id -> the pack that disabled it

    @classmethod
    def build(cls, packs: Sequence[Pack]) -> RuleSet:
        """Merge packs in order; later packs override, disable or add rules. A duplicate id across
        packs without an ``override`` is an error."""
        rules: dict[str, Rule] = {}
        problems: list[Problem] = []
        disabled: dict[str, str] = {}
        for pack in packs:
            for rule in pack.rules:
                if rule.id in rules:
                    problems.append(
                        Problem(
                            rule.source,
                            rule.line,
                            1,
                            "rules",
                            "pack_duplicate_rule",
                            {"id": rule.id, "other": rules[rule.id].source},
                        )
                    )
                    continue
                rules[rule.id] = rule
            for rid, change in pack.override.items():
                if rid not in rules:
                    problems.append(
                        Problem(
                            pack.source,
                            0,
                            0,
                            f"override.{rid}",
                            "pack_unknown_rule",
                            {"id": rid, "hint": _hint(rid, rules)},
                        )
                    )
                    continue
                rules[rid] = _override(rules[rid], change)
            for rid in pack.disable:
                if rid not in rules:
                    problems.append(
                        Problem(
                            pack.source, 0, 0, "disable", "pack_unknown_rule", {"id": rid, "hint": _hint(rid, rules)}
                        )
                    )
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
    if not isinstance(name, str) or not name:
        problems.append(doc.problem("pack", "pack_missing_key", key="pack"))
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
        if "severity" in change and change["severity"] not in SEVERITIES:
            problems.append(
                doc.problem(
                    f"{path}.severity", "pack_bad_value", value=change["severity"], expected=", ".join(SEVERITIES)
                )
            )
    disable = d.get("disable", []) or []
    if not isinstance(disable, list) or not all(isinstance(x, str) for x in disable):
        problems.append(doc.problem("disable", "pack_wrong_type", expected="list of rule ids", got=_type_name(disable)))
        disable = []
    if problems:
        return None, problems
    return Pack(str(name), str(version), doc.source, sha256, tuple(rules), override, tuple(disable)), []


def _validate_rule(doc: Located, path: str, raw: Any, problems: list[Problem]) -> Rule | None:
    if not isinstance(raw, dict):
        problems.append(doc.problem(path, "pack_wrong_type", expected="mapping", got=_type_name(raw)))
        return None
    n0 = len(problems)
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
    every_ledger = isinstance(raw.get("check"), dict) and raw["check"].get("type") in EVERY_LEDGER_CHECKS
    if "ledger" in raw and ledger not in catalogue() and not (ledger == "*" and every_ledger):
        expected = ", ".join(catalogue()) + (", *" if every_ledger else "")
        problems.append(doc.problem(f"{path}.ledger", "pack_bad_value", value=ledger, expected=expected))
    severity = raw.get("severity")
    if "severity" in raw and severity not in SEVERITIES:
        problems.append(
            doc.problem(f"{path}.severity", "pack_bad_value", value=severity, expected=", ".join(SEVERITIES))
        )
    for key in ("title", "message"):
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            continue
        if not isinstance(value, dict) or "zh" not in value or not all(isinstance(v, str) for v in value.values()):
            problems.append(
                doc.problem(f"{path}.{key}", "pack_wrong_type", expected="{zh: text, en: text}", got=_type_name(value))
            )
        elif set(value) - {"zh", "en"}:
            extra = sorted(set(value) - {"zh", "en"})[0]
            problems.append(doc.problem(f"{path}.{key}.{extra}", "pack_unknown_key", key=extra, allowed="zh, en"))
    params = raw.get("params", {}) or {}
    if not isinstance(params, dict):
        problems.append(doc.problem(f"{path}.params", "pack_wrong_type", expected="mapping", got=_type_name(params)))
        params = {}
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
            _validate_args(
                doc, f"{path}.check", ctype, check, params, ledger if ledger in catalogue() else None, problems
            )
    if raw.get("where") is not None and ledger in catalogue():
        problems.extend(validate_condition(doc, f"{path}.where", raw["where"], str(ledger)))
    if raw.get("amount") is not None and ledger in catalogue():
        problems.extend(validate_operand(doc, f"{path}.amount", raw["amount"], str(ledger)))
    tags = raw.get("tags", []) or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(doc.problem(f"{path}.tags", "pack_wrong_type", expected="list of text", got=_type_name(tags)))
        tags = []
    if len(problems) > n0 or ctype is None:
        return None
    title = raw.get("title") or {"zh": rid, "en": rid}
    message = raw["message"]
    return Rule(
        id=str(rid),
        ledger=str(ledger),
        severity=str(severity),
        title=title if isinstance(title, dict) else {"zh": title, "en": title},
        message=message if isinstance(message, dict) else {"zh": message, "en": message},
        check_type=ctype,
        check=dict(check or {}),
        params=dict(params),
        where=raw.get("where"),
        amount=raw.get("amount"),
        tags=tuple(tags),
        description=str(raw.get("description", "")),
        basis=str(raw.get("basis", "")),
        source=doc.source,
        line=doc.at(path)[0],
    )


def _validate_args(
    doc: Located,
    path: str,
    ctype: str,
    check: Mapping[str, Any],
    params: Mapping[str, Any],
    ledger: str | None,
    problems: list[Problem],
) -> None:
    sig = CHECK_TYPES[ctype]
    for key, value in check.items():
        if key == "type":
            continue
        if key not in sig.args:
            problems.append(
                doc.problem(f"{path}.{key}", "pack_unknown_key", key=key, allowed=_allowed(set(sig.args), key))
            )
            continue
        actual = value
        if isinstance(value, str) and value.startswith("$"):
            if value[1:] not in params:
                problems.append(
                    doc.problem(f"{path}.{key}", "pack_unknown_param", name=value[1:], hint=_hint(value[1:], params))
                )
                continue
            actual = params[value[1:]]
        problems.extend(check_arg(doc, f"{path}.{key}", sig.args[key], actual, ledger))
    for name, arg in sig.args.items():
        if arg.required and name not in check:
            problems.append(doc.problem(path, "pack_missing_key", key=name))


def check_arg(doc: Located, path: str, arg: Arg, value: Any, ledger: str | None) -> list[Problem]:
    """Problems with one check argument's value (after parameter substitution)."""
    k = arg.kind
    cols = catalogue()[ledger].columns if ledger else {}

    def bad(expected: str) -> list[Problem]:
        return [doc.problem(path, "pack_wrong_type", expected=expected, got=_describe(value))]

    if value is None:
        return [] if not arg.required else bad(k)
    if k == "column":
        if not isinstance(value, str):
            return bad("a column name")
        if ledger and value not in cols:
            return [doc.problem(path, "pack_unknown_column", column=value, ledger=ledger, hint=_hint(value, cols))]
        return []
    if k == "columns":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return bad("a list of column names")
        return [
            p
            for v in value
            if ledger and v not in cols
            for p in [doc.problem(path, "pack_unknown_column", column=v, ledger=ledger, hint=_hint(v, cols))]
        ]
    if k == "kind":
        return (
            []
            if value in catalogue()
            else [doc.problem(path, "pack_bad_value", value=value, expected=", ".join(catalogue()))]
        )
    if k in ("number",):
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else bad("a number")
    if k == "int":
        return [] if isinstance(value, int) and not isinstance(value, bool) else bad("a whole number")
    if k == "bool":
        return [] if isinstance(value, bool) else bad("true or false")
    if k == "str":
        return [] if isinstance(value, str) else bad("text")
    if k == "choice":
        return (
            []
            if value in arg.choices
            else [doc.problem(path, "pack_bad_value", value=value, expected=", ".join(arg.choices))]
        )
    if k == "values":
        return [] if isinstance(value, list) and all(_is_scalar(v) for v in value) else bad("a list of values")
    if k == "value":
        return [] if _is_scalar(value) else bad("a value")
    if k == "condition":
        return validate_condition(doc, path, value, ledger) if ledger else []
    if k == "operand":
        return validate_operand(doc, path, value, ledger) if ledger else []
    if k == "mapping":
        return [] if isinstance(value, dict) else bad("a mapping")
    return []


# --- overrides and parameters -------------------------------------------------------------------


def _override(rule: Rule, change: Mapping[str, Any]) -> Rule:
    kw: dict[str, Any] = {}
    if "severity" in change:
        kw["severity"] = change["severity"]
    if "params" in change:
        kw["params"] = _merged_params(rule, change["params"], source="override")
    if "message" in change:
        msg = change["message"]
        kw["message"] = msg if isinstance(msg, dict) else {"zh": msg, "en": msg}
    if "where" in change:
        kw["where"] = change["where"]
    return replace(rule, **kw)


def _merged_params(rule: Rule, new: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    out = dict(rule.params)
    problems = []
    for key, value in new.items():
        if key not in rule.params:
            problems.append(
                Problem(
                    source,
                    0,
                    0,
                    "",
                    "param_unknown_key",
                    {"rule": rule.id, "key": key, "hint": _hint(key, rule.params)},
                )
            )
            continue
        if not _same_shape(rule.params[key], value):
            problems.append(
                Problem(
                    source,
                    0,
                    0,
                    "",
                    "param_bad_value",
                    {"rule": rule.id, "key": key, "value": _describe(value), "expected": _describe(rule.params[key])},
                )
            )
            continue
        out[key] = value
    if problems:
        raise pack_error(problems)
    return out


def apply_params(ruleset: RuleSet, params: Mapping[str, Mapping[str, Any]], *, source: str = "--param") -> RuleSet:
    """Override parameters (``{"DISB-SPLIT": {"window_days": 15}}``); unknown rules, unknown keys and
    values of the wrong shape are :class:`RuleError`."""
    rules = dict(ruleset.rules)
    problems: list[Problem] = []
    for rid, values in params.items():
        if rid not in rules:
            problems.append(Problem(source, 0, 0, "", "param_unknown_rule", {"rule": rid, "hint": _hint(rid, rules)}))
            continue
        if not isinstance(values, Mapping):
            problems.append(Problem(source, 0, 0, "", "param_syntax", {"value": f"{rid}: {values!r}"}))
            continue
        try:
            rules[rid] = replace(rules[rid], params=_merged_params(rules[rid], values, source=source))
        except RuleError as exc:
            problems.extend(exc.fields["problems"])
    if problems:
        raise pack_error(problems)
    return RuleSet(rules, ruleset.packs, ruleset.disabled)


def parse_param_arg(text: str) -> tuple[str, str, Any]:
    """``RULE.KEY=VALUE`` → (rule, key, value); VALUE is read as a YAML flow value (``15``,
    ``[0.008]``, ``true``, ``"2%"``)."""
    head, sep, raw = text.partition("=")
    rid, dot, key = head.strip().rpartition(".")
    if not sep or not dot or not rid or not key:
        raise RuleError("param_syntax", value=text)
    located, _problems = parse_located(raw if raw.strip() else '""', "--param")
    if located is None:
        raise RuleError("param_syntax", value=text) from None
    return rid, key, located.data


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


def _describe(v: Any) -> str:
    text = repr(v) if not isinstance(v, str) else f'"{v}"'
    return text if len(text) <= 60 else text[:57] + "…"


def _hint(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(options), n=1)
    return f" (→ {close[0]}?)" if close else ""


def _allowed(keys: Iterable[str], key: str) -> str:
    return ", ".join(sorted(keys)) + _hint(key, keys)
