"""Safe YAML with locations: every value of a rule pack remembers its file, line and column, so each
problem can be reported as ``rules/dues.yaml:42:7 rules[3].params.grace_days: …``.

The document is *composed* (a node tree) and turned into plain Python by hand: nothing is ever
constructed from a tag, so no pack can run code. Tags other than YAML's standard ones, anchors and
aliases (a 340-byte alias bomb expands to 35 MB when walked) and duplicate keys are refused; so are
documents nested deeper than :data:`MAX_DEPTH` (checked by the composer before it descends, so a
900-level ``[[[…]]]`` never reaches Python's recursion limit) and text that cannot be written out as
UTF-8 or holds control characters (a lone surrogate such as ``"\\ud800"``, an escape sequence ``"\\e[2J"``).

Packs are YAML 1.2, and only 1.2: a ``%YAML`` directive naming another version is refused at its line before
the document is composed. YAML 1.1 would read ``yes``/``no``/``on``/``off``/``y``/``n`` as booleans, ``0123``
as octal 83 and ``1:30`` as 90, so ``negate: yes`` could silently invert a check. A value tagged
``!!bool`` (or ``!!null``) must be one of YAML 1.2's own spellings (``true``/``false``, ``null``/``~``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["MAX_DEPTH", "Located", "Locator", "Moved", "Problem", "Unlocated", "bad_char", "parse_located"]

MAX_PACK_BYTES = 1 << 20
MAX_DEPTH = 40  # nesting levels (a scalar counts as one); the shipped packs reach 13
MAX_INT = 2**63 - 1  # a whole number the engine can hold (BIGINT); larger ones are refused where written
_STD = "tag:yaml.org,2002:"
# C0 and C1 control characters other than tab, line feed and carriage return; lone surrogates; non-characters
# a line that starts with "%" (a directive, or a syntax error the composer reports): only then are tokens scanned
_DIRECTIVE_LINE = re.compile(r"^%", re.MULTILINE)
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Problem:
    """One problem in a rule pack or parameter: where, which catalogue code, and its fields."""

    source: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    path: str  # key path such as rules[3].params.grace_days
    code: str  # catalogue code under errors.*
    fields: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str = "zh") -> str:
        """``file:line:col path: message`` in the chosen language."""
        from fundaudit.errors import render

        where = self.source + (f":{self.line}:{self.column}" if self.line else "")
        text = render("errors", self.code, lang, **self.fields)  # type: ignore[arg-type]
        return f"{where} {self.path}: {text}" if self.path else f"{where} {text}"


@dataclass
class Located:
    """Plain data plus a map from key path to (line, column)."""

    data: Any
    source: str
    marks: dict[str, tuple[int, int]]

    def at(self, path: str) -> tuple[int, int]:
        """Line and column of ``path``, or of its nearest located ancestor."""
        p = path
        while p:
            if p in self.marks:
                return self.marks[p]
            cut = max(p.rfind("."), p.rfind("["))
            p = p[:cut] if cut > 0 else ""
        return self.marks.get("", (0, 0))

    def problem(self, path: str, code: str, **fields: Any) -> Problem:
        """A :class:`Problem` located at ``path``."""
        line, col = self.at(path)
        return Problem(self.source, line, col, path, code, fields)


class Locator(Protocol):
    """Anything that turns a key path into a located :class:`Problem` (a :class:`Located` document,
    or a view of one)."""

    def problem(self, path: str, code: str, **fields: Any) -> Problem:
        """A :class:`Problem` at ``path``."""
        ...


@dataclass
class Unlocated:
    """Problems in a source without lines: ``--param``, ``params=``, a profile's parameters."""

    source: str

    def problem(self, path: str, code: str, **fields: Any) -> Problem:
        """A :class:`Problem` naming ``source`` and ``path``."""
        return Problem(self.source, 0, 0, path, code, fields)


@dataclass
class Moved:
    """A view of ``target`` that reports what is found under a moved path where it really is: a check
    argument ``rules[0].check.max: $limit`` at ``rules[0].params.limit``; an overridden parameter at
    ``override.DISB-SPLIT.params.window_days``. Paths under no move go to ``fallback`` (when set)."""

    target: Locator
    moves: Mapping[str, str]
    fallback: str | None = None

    def problem(self, path: str, code: str, **fields: Any) -> Problem:
        """The problem at the moved path."""
        p = path
        while p:
            if p in self.moves:
                return self.target.problem(self.moves[p] + path[len(p) :], code, **fields)
            cut = max(p.rfind("."), p.rfind("["))
            p = p[:cut] if cut > 0 else ""
        return self.target.problem(path if self.fallback is None else self.fallback, code, **fields)


def parse_located(text: str, source: str) -> tuple[Located | None, list[Problem]]:
    """Parse ``text`` (named ``source`` in messages) into located plain data, or problems."""
    from ruamel.yaml import YAML
    from ruamel.yaml.composer import MaxDepthExceededError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    if len(text.encode("utf-8", "surrogatepass")) > MAX_PACK_BYTES:
        return None, [Problem(source, 0, 0, "", "pack_too_large", {"limit": MAX_PACK_BYTES})]
    yaml = YAML(typ="rt", pure=True)
    yaml.max_depth = MAX_DEPTH  # the composer refuses the next level before it recurses into it
    yaml.composer.warn_double_anchors = False  # every anchor is refused below; no warning on stderr first
    version = _version_problems(yaml, text, source)
    if version:
        return None, version
    try:
        node = yaml.compose(text)
    except MaxDepthExceededError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return None, [Problem(source, line, col, "", "pack_too_deep", {"limit": MAX_DEPTH})]
    except ReaderError as exc:  # a character YAML does not allow anywhere (a control character, U+FFFE…)
        pos = int(exc.position)
        line, col = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else str(exc.character)
        return None, [Problem(source, line, col, "", "pack_bad_text", {"char": char})]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return None, [Problem(source, line, col, "", "pack_yaml_syntax", {"what": str(exc.problem or exc)})]
    except YAMLError as exc:
        return None, [Problem(source, 0, 0, "", "pack_yaml_syntax", {"what": str(exc)})]
    if node is None:
        return None, [Problem(source, 1, 1, "", "pack_empty", {})]
    marks: dict[str, tuple[int, int]] = {}
    problems: list[Problem] = []
    data = _plain(node, "", source, marks, problems, set())
    return (None if problems else Located(data, source, marks)), problems


def _version_problems(yaml: Any, text: str, source: str) -> list[Problem]:
    """A ``%YAML`` directive of any version other than 1.2, at its line (before composing: under 1.1 the
    resolver would turn ``yes`` into a boolean, and ruamel's parser asserts on 1.0 or 1.3). Tokens are
    scanned only when some line starts with ``%``; a scanning error is left for the composer to report."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.tokens import DirectiveToken

    if _DIRECTIVE_LINE.search(text) is None:
        return []
    problems = []
    try:
        for token in yaml.scan(text):
            if isinstance(token, DirectiveToken) and token.name == "YAML" and tuple(token.value) != (1, 2):
                mark = token.start_mark
                shown = ".".join(str(v) for v in token.value)
                problems.append(
                    Problem(source, mark.line + 1, mark.column + 1, "", "pack_yaml_version", {"version": shown})
                )
    except YAMLError:
        pass
    return problems


def _plain(
    node: Any, path: str, source: str, marks: dict[str, tuple[int, int]], problems: list[Problem], seen: set[int]
) -> Any:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    marks.setdefault(path, (line, col))
    if getattr(node, "anchor", None) or id(node) in seen:
        problems.append(Problem(source, line, col, path, "pack_alias", {}))
        return None
    seen.add(id(node))
    tag = str(node.tag)
    kind = type(node).__name__
    if kind == "MappingNode":
        if tag != _STD + "map":
            problems.append(Problem(source, line, col, path, "pack_tag", {"tag": tag}))
            return None
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            before = len(problems)
            key = _plain(key_node, path, source, {}, problems, seen)
            if len(problems) > before:  # the key itself is refused (a tag, a character not allowed…)
                continue
            if not isinstance(key, str | int):
                problems.append(
                    Problem(
                        source, key_node.start_mark.line + 1, key_node.start_mark.column + 1, path, "pack_bad_key", {}
                    )
                )
                continue
            key = str(key)
            child = f"{path}.{key}" if path else key
            if key in out:
                problems.append(
                    Problem(
                        source,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        child,
                        "pack_duplicate_key",
                        {},
                    )
                )
                continue
            marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _plain(value_node, child, source, marks, problems, seen)
        return out
    if kind == "SequenceNode":
        if tag != _STD + "seq":
            problems.append(Problem(source, line, col, path, "pack_tag", {"tag": tag}))
            return None
        return [_plain(v, f"{path}[{i}]", source, marks, problems, seen) for i, v in enumerate(node.value)]
    return _scalar(node, tag, path, source, problems)


def bad_char(text: str) -> str | None:
    """The first character of ``text`` that a pack or parameter may not hold, as ``U+XXXX``: a lone
    surrogate (it cannot be written as UTF-8, so any report or terminal line quoting it would fail) or
    a control character other than tab and line breaks (it could rewrite the user's terminal)."""
    m = _BAD_CHAR.search(text)
    return None if m is None else f"U+{ord(m.group()):04X}"


def _scalar(node: Any, tag: str, path: str, source: str, problems: list[Problem]) -> Any:
    value: str = node.value
    char = bad_char(value)
    if char is not None:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        problems.append(Problem(source, line, col, path, "pack_bad_text", {"char": char}))
        return None
    if not tag.startswith(_STD) and tag != "!":
        problems.append(
            Problem(source, node.start_mark.line + 1, node.start_mark.column + 1, path, "pack_tag", {"tag": tag})
        )
        return None
    name = tag[len(_STD) :] if tag.startswith(_STD) else "str"
    if name == "str" or node.style in ("'", '"'):
        return value
    if name == "null" and value in _NULLS:
        return None
    if name == "bool" and value in _BOOLS:
        return _BOOLS[value]
    if name in ("null", "bool"):  # an explicit !!bool or !!null on another word: never guess what it meant
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        expected = "true or false" if name == "bool" else "null or ~"
        problems.append(Problem(source, line, col, path, "pack_bad_value", {"value": value, "expected": expected}))
        return None
    if name == "int":
        try:  # a numeral far longer than any int64 is not converted at all (int() is quadratic in its length)
            number = (
                MAX_INT + 1
                if len(value.lstrip("+-0_")) > 80
                else int(value.replace("_", ""), 0)
                if value.lower().startswith(("0x", "0o"))
                else int(value)
            )
        except ValueError:
            return value
        if not -MAX_INT - 1 <= number <= MAX_INT:
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            shown = value if len(value) <= 30 else value[:29] + "…"
            problems.append(
                Problem(
                    source,
                    line,
                    col,
                    path,
                    "pack_out_of_range",
                    {"value": shown, "expected": f"a whole number from {-MAX_INT - 1} to {MAX_INT}"},
                )
            )
            return None
        return number
    if name == "float":
        try:
            return float(value)
        except ValueError:
            return value
    return value  # timestamps and anything else stay text; checks parse what they need
