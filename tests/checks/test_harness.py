"""The rule-test harness itself: a shipped rule is taken from the shipped packs as an audit merges
them, parameter overrides go through the public ``--param``/``params=`` path (so an invalid value is
the RuleError a user gets), and a user's rule is validated as a pack is."""

from __future__ import annotations

import pytest

import fundaudit
from fundaudit.errors import RuleError
from fundaudit.rules.model import params_from_args
from tests.checks.harness import A, payment, rule, run, run_yaml, shipped


def _problems(exc: RuleError) -> list[tuple[str, int, int, str, str]]:
    return [(p.source, p.line, p.column, p.path, p.code) for p in exc.problems]


def test_a_shipped_rule_comes_from_its_pack() -> None:
    chosen = rule("DISB-SPLIT")
    assert (chosen.source, chosen.check_type, chosen.severity) == ("rules/disbursements.yaml", "split_payment",
                                                                   "warning")
    assert chosen is shipped().rules["DISB-SPLIT"]


def test_an_override_is_applied_and_validated_as_the_cli_does() -> None:
    assert rule("DISB-SPLIT", {"window_days": 15}).params["window_days"] == 15
    given = params_from_args(["DISB-SPLIT.window_days=-1"])
    with pytest.raises(RuleError) as cli:
        fundaudit.audit(params=given)
    with pytest.raises(RuleError) as ours:
        run("DISB-SPLIT", {"disbursements": [payment(A)]}, params=given["DISB-SPLIT"])
    assert str(ours.value) == str(cli.value)
    assert str(ours.value) == "规则包有 1 处错误：\n--param DISB-SPLIT.window_days: 取值 -1 超出范围（应为 ≥ 0）"
    assert _problems(ours.value) == _problems(cli.value) == [
        ("--param", 0, 0, "DISB-SPLIT.window_days", "pack_out_of_range")
    ]


def test_an_unknown_parameter_is_refused_with_a_hint() -> None:
    with pytest.raises(RuleError) as info:
        rule("DISB-SPLIT", {"window_dayz": 3})
    assert str(info.value) == (
        "规则包有 1 处错误：\n--param DISB-SPLIT.window_dayz: 规则 DISB-SPLIT 没有参数 window_dayz (→ window_days?)"
    )


USER_RULE = (
    "pack: t\nrules:\n  - {id: T-CASH, ledger: disbursements, severity: error, message: x,"
    " check: {type: in_set, column: payment_method, values: [$allowed], negate: true},"
    " params: {allowed: 现金}}\n"
)


def test_a_user_rule_runs_from_yaml_with_overrides() -> None:
    rows = [payment(A), payment(A, payment_method="现金"), payment(A, payment_method="支票")]
    assert run_yaml(USER_RULE, {"disbursements": rows}).rows == [3]
    assert run_yaml(USER_RULE, {"disbursements": rows}, params={"allowed": "支票"}).rows == [4]


def test_a_user_rule_is_validated_as_a_pack() -> None:
    with pytest.raises(RuleError) as info:
        run_yaml(USER_RULE.replace("in_set", "in_sett"), {})
    assert _problems(info.value) == [("t.yaml", 3, 78, "rules[0].check.type", "pack_unknown_check")]
    assert str(info.value) == "规则包有 1 处错误：\nt.yaml:3:78 rules[0].check.type: 未知的检查类型 in_sett (→ in_set?)"
