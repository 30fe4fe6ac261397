"""Fuzzing the rule-pack loader: whatever bytes a pack file holds, loading it either gives a pack or raises
:class:`RuleError` whose every problem names the file and a line (or the file cannot be read at all), and
``fundaudit rules check`` exits 0 or 2, never 3.

Inputs are the shipped packs and a small user pack, mutated three ways: as data (a node replaced by a
wrong type, nothing, a deep nest, a huge or non-finite number, text with surrogates and control characters),
as text (anchors, aliases, tags, duplicate keys, directives (%YAML 1.0, 1.1, 1.3), YAML 1.1 words such as
yes/off, stray characters, lines deleted or repeated)
and as bytes (flips, truncation, other encodings).
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fundaudit.cli import main
from fundaudit.errors import RuleError
from fundaudit.rules.located import parse_located
from fundaudit.rules.model import Pack, RuleSet, load_pack
from fundaudit.rules.shipped import shipped_dir, shipped_packs
from fundaudit.rules.signatures import CHECK_TYPES
from tests.fuzz import fuzz_settings, guarded

USER_PACK = """\
pack: fuzz-user
version: "1"
rules:
  - id: FUZZ-CASH
    ledger: disbursements
    severity: warning
    title: {zh: 现金, en: Cash}
    params: {cash: [现金], cap: 5000}
    check: {type: in_set, column: payment_method, values: $cash, negate: true}
    where: {all: [{column: amount, gt: 0}, {not: {column: recipient_name, is_null: true}}]}
    message: {zh: "现金 {amount}", en: "cash {amount}"}
    amount: amount
override: {DISB-SPLIT: {severity: info, params: {window_days: 15}}}
disable: [DUES-GAP]
"""


@functools.cache
def _seeds() -> tuple[str, ...]:
    """The text of every shipped pack and of a user pack with overrides."""
    return (USER_PACK, *(p.read_text("utf-8") for p in sorted(shipped_dir().glob("*.yaml"))))


@functools.cache
def _seed_data() -> tuple[Any, ...]:
    out = []
    for text in _seeds():
        located, _ = parse_located(text, "seed")
        assert located is not None
        out.append(located.data)
    return tuple(out)


@functools.cache
def _shipped() -> tuple[Pack, ...]:
    return tuple(shipped_packs())


# --- values a pack might hold -------------------------------------------------------------------------------

_SPECIAL_CHARS = "\ud800\udfff\udcff\x00\x1b\x07\x7f\x85\ufeff\ufffe\u202e{}$%:#&*!|>'\"\\\n\t 　现金"
_CHAR = st.one_of(
    st.sampled_from(list(_SPECIAL_CHARS)),
    st.characters(codec=None, exclude_categories=()),  # any code point, surrogates included
)
_TEXT = st.text(_CHAR, max_size=12)
_NAMES = st.sampled_from([
    "amount", "payment_method", "recipient_id_no", "payment_date", "rate", "$cash", "$cap", "$nope", "dues",
    "disbursements", "register", "*", "error", "warning", "info", "zh", "en", "type", "column", "values",
    "all", "any", "not", "compare", "eq", "between", "matches", "(?=x)", "[", "{amount}", "{nope}", "{",
    *sorted(CHECK_TYPES)[:12],
])
_NUMBER = st.one_of(
    st.integers(-(10**30), 10**30),
    st.sampled_from([0, -1, 2**63 - 1, 2**63, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_SCALAR = st.one_of(st.none(), st.booleans(), _NUMBER, _TEXT, _NAMES)


def _deep(n: int) -> Any:
    value: Any = 1
    for i in range(n):
        value = [value] if i % 2 else {"a": value}
    return value


_VALUE = st.one_of(
    _SCALAR,
    st.recursive(_SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAMES | _TEXT, inner,
                                                                                       max_size=3), max_leaves=8),
    st.integers(30, 70).map(_deep),
)


def _emit(value: Any) -> str:
    """``value`` as YAML flow text: strings double-quoted with JSON escapes (valid YAML escapes, so lone
    surrogates and control characters arrive as such), numbers as YAML writes them."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_emit(v) for v in value) + "]"
    return "{" + ", ".join(f"{_emit(str(k))}: {_emit(v)}" for k, v in value.items()) + "}"


def _emit_pack(data: Any) -> str:
    """A pack in block style at the top (one line per key, one line per rule) so problems have lines."""
    if not isinstance(data, dict):
        return _emit(data) + "\n"
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            lines.append(f"{_emit(str(key))}:")
            lines.extend(f"  - {_emit(v)}" for v in value)
        else:
            lines.append(f"{_emit(str(key))}: {_emit(value)}")
    return "\n".join(lines) + "\n"


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*path, i)))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any, how: str) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        if not rest and how == "delete":
            out.pop(head, None)
        elif not rest and how == "add":
            out[f"{head}_x"] = new
        else:
            out[head] = _replace(value[head], rest, new, how)
        return out
    out_list = list(value)
    if not rest and how == "delete":
        del out_list[head]
    else:
        out_list[head] = _replace(value[head], rest, new, how)
    return out_list


@st.composite
def data_mutants(draw: st.DrawFn) -> str:
    """A seed pack with one to three nodes replaced, deleted or given a sibling, written back as YAML."""
    data = draw(st.sampled_from(_seed_data()))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        data = _replace(data, path, draw(_VALUE), draw(st.sampled_from(["set", "set", "delete", "add"])))
    return _emit_pack(data)


_INSERTS = [
    "&a ", "*a", "&a [x, x]\n", "!!python/object/apply:os.system ['true'] ", "!x ", "!!binary ", "!!set ",
    "<<: *a\n", "<<: {a: 1}\n", "? ", "- ", "\t", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "---\n", "...\n",
    "\x00", "\ufeff", "\ud800", "\x1b[2J", "\r", "\u2028", "{", "}", "[", "]", '"', "'", "|", ">", ": ", "#",
    "id: X-Y\n", "severity: error\n", "  ", "\n", "1e400", "0x" + "f" * 30, "9" * 30, "~",
    # YAML versions and words that are booleans only in YAML 1.1 (reliability 2.C.3): never a silent false
    "%YAML 1.0\n", "%YAML 1.2\n", "%YAML 1.3\n", "%TAG ! tag:yaml.org,2002:\n", "!bool ", "!!bool yes ",
    "!!null x ", "yes", "off", "negate: yes\n", "negate: ~\n",
]


@st.composite
def text_mutants(draw: st.DrawFn) -> str:
    """A seed pack's text with a few edits: something inserted, a span deleted, a line repeated or dropped."""
    text = draw(st.sampled_from(_seeds()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "insert", "delete", "repeat_line", "drop_line"]))
        at = draw(st.integers(0, len(text)))
        if op == "insert":
            text = text[:at] + draw(st.sampled_from(_INSERTS) | _TEXT) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines[i:i + 1] = [lines[i], lines[i]] if op == "repeat_line" else []
            text = "\n".join(lines)
    return text


@st.composite
def byte_mutants(draw: st.DrawFn) -> bytes:
    """Raw bytes: random ones, or a seed in another encoding, flipped or cut short."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=400))
    text = draw(st.sampled_from(_seeds()))
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030", "utf-32"])))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _write(directory: str, content: str | bytes) -> Path:
    path = Path(directory) / "pack.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


def _check_load(path: Path) -> Pack | None:
    """The property: a pack, or a RuleError whose problems each name this file and a line; messages render in
    both languages and can be written as UTF-8."""
    try:
        pack = load_pack(path)
    except RuleError as exc:
        if exc.code == "pack_unreadable":
            assert exc.fields["file"] == str(path)
        else:
            assert exc.code == "pack_invalid" and exc.problems
            for p in exc.problems:
                assert p.source == str(path), p
                assert p.line >= 1 or p.code == "pack_too_large", p
        for lang in ("zh", "en"):
            exc.message(lang).encode("utf-8")  # type: ignore[arg-type]
        return None
    for rule in pack.rules:  # a true/false argument is true or false, never a word or nothing read as one
        sig = CHECK_TYPES[rule.check_type]
        for name, value in rule.args.items():
            if name in sig.args and sig.args[name].kind == "bool":
                assert isinstance(value, bool), (rule.id, name, value)
    try:  # resolved against the shipped rules: overrides, disables and duplicate ids are problems too
        RuleSet.build([*_shipped(), pack])
    except RuleError as exc:
        for p in exc.problems:
            assert p.source in (str(path), *(s.source for s in _shipped())), p
    return pack


@fuzz_settings(examples=100, deadline_ms=10000)
@given(content=data_mutants())
def test_fuzz_pack_loader_data(content: str) -> None:
    with tempfile.TemporaryDirectory() as d, guarded(seconds=20):
        _check_load(_write(d, content))


@fuzz_settings(examples=100, deadline_ms=10000)
@given(content=text_mutants())
def test_fuzz_pack_loader_text(content: str) -> None:
    with tempfile.TemporaryDirectory() as d, guarded(seconds=20):
        _check_load(_write(d, content))


@fuzz_settings(examples=60, deadline_ms=10000)
@given(content=byte_mutants())
def test_fuzz_pack_loader_bytes(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as d, guarded(seconds=20):
        _check_load(_write(d, content))


_ANY_PACK = st.one_of(data_mutants(), text_mutants(), byte_mutants())


@fuzz_settings(examples=40, deadline_ms=30000)
@given(content=_ANY_PACK)
def test_fuzz_rules_check_exits_0_or_2(content: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as d, guarded(seconds=30), pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)  # a crash log (exit 3) would land here, not in the checkout
        path = _write(d, content)
        code = main(["rules", "check", str(path), "--lang", "en"])
        log = Path(d) / "fundaudit-error.log"
        assert code in (0, 2), f"exit {code}: {log.read_text('utf-8')[-2000:] if log.exists() else ''}"
