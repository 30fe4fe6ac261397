"""Fuzzing ``--param RULE.KEY=VALUE``: any argument strings (rule ids and keys real or not, values of any YAML
shape, nested deep, with lone surrogates as argv gives them for bytes that are not UTF-8) are either applied or
refused with a :class:`RuleError` naming ``--param``; an audit given them exits 0, 1 or 2, never 3."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fundaudit.cli import main
from fundaudit.errors import RuleError
from fundaudit.rules.model import RuleSet, apply_params, params_from_args
from fundaudit.rules.profiles import apply_profile, load_profile
from fundaudit.rules.shipped import shipped_packs
from tests.fuzz import fuzz_settings, guarded
from tests.fuzz.test_fuzz_packs import _TEXT, _VALUE, _emit


@functools.cache
def _ruleset() -> RuleSet:
    return apply_profile(RuleSet.build(shipped_packs()), load_profile("anhui-2016"))


@functools.cache
def _keys() -> tuple[tuple[str, str], ...]:
    return tuple((rid, key) for rid, rule in _ruleset().rules.items() for key in rule.params)


_RAW_VALUE = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)


@st.composite
def param_args(draw: st.DrawFn) -> str:
    """``RULE.KEY=VALUE``: mostly a real rule and key with a value of any shape; sometimes anything at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(_RAW_VALUE)
    rid, key = draw(st.sampled_from(_keys()))
    if draw(st.integers(0, 5)) == 0:
        rid = draw(st.sampled_from([rid.lower(), rid + "X", "", "A.B", "\udcff"]) | _TEXT)
    if draw(st.integers(0, 5)) == 0:
        key = draw(st.sampled_from([key.upper(), "", ".", "="]) | _TEXT)
    value = draw(st.one_of(_VALUE.map(_emit), _RAW_VALUE, st.sampled_from(
        ["", " ", "~", "[", "{a: ", "&a 1", "*a", "!!python/object/apply:os.system [true]", "1e400", "-.inf",
         "[" * 60 + "]" * 60, '"\\ud800"', "a\udcff", "0x" + "f" * 40, "9" * 5000, "2016-02-30", "12-01..01-31"])))
    return f"{rid}.{key}={value}"


@fuzz_settings(examples=200, deadline_ms=10000)
@given(args=st.lists(param_args(), min_size=1, max_size=3))
def test_fuzz_params_apply_or_refuse(args: list[str]) -> None:
    with guarded(seconds=20):
        try:
            ruleset = apply_params(_ruleset(), params_from_args(args))
        except RuleError as exc:
            for p in exc.problems:
                assert p.source == "--param", p
            for lang in ("zh", "en"):
                exc.message(lang)  # type: ignore[arg-type]
            return
    for rule in ruleset.rules.values():
        rule.args  # noqa: B018 -- substituting the new values must work for every rule


@fuzz_settings(examples=12, deadline_ms=60000)
@given(arg=param_args())
def test_fuzz_param_audit_exits_0_1_or_2(arg: str) -> None:
    """Through the command line, with a tiny ledger and only the rule the parameter is for switched on."""
    rid = arg.partition("=")[0].rpartition(".")[0]
    others = [r for r in _ruleset().rules if r != rid]
    with tempfile.TemporaryDirectory() as d, guarded(seconds=60), pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        src = Path(d) / "aid.csv"
        src.write_text("姓名,身份证号码,金额,发放日期,发放方式\n张三,34100319800101001X,100,2016-03-01,现金\n"
                       "李四,,50,2016-03-02,打卡\n", encoding="utf-8")
        pack = Path(d) / "only.yaml"
        pack.write_text(f"pack: only\ndisable: [{', '.join(others)}]\n", encoding="utf-8")
        code = main(["audit", str(src), "--rules", str(pack), "--profile", "anhui-2016", "--period", "2016",
                     "--param", arg, "--out", str(Path(d) / "out"), "--format", "json", "--quiet", "--lang", "en"])
        assert code in (0, 1, 2), f"exit {code} for --param {arg!r}"
        if code != 2:  # accepted: the rule ran with it (a value the loader lets through must not fail the rule)
            run = json.loads((Path(d) / "out" / "findings.json").read_text("utf-8"))
            assert [r["id"] for r in run["rules"] if r["status"] == "error"] == [], arg
