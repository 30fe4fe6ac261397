"""Rule-pack validation: every problem reported at once, each naming file, line, column and key path;
no tag, alias or code ever runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fundaudit import RuleError
from fundaudit.rules.model import RuleSet, apply_params, load_pack, parse_pack, parse_param_arg

GOOD = """\
pack: my-pack
version: "1.0"
rules:
  - id: MY-CASH
    ledger: disbursements
    severity: error
    title: {zh: 现金发放, en: Cash payment}
    params: {cash_words: [现金]}
    check: {type: in_set, column: payment_method, values: $cash_words, negate: true}
    message: {zh: "现金 {amount}", en: "cash {amount}"}
    amount: amount
"""


def problems_of(text: str, source: str = "p.yaml") -> list[str]:
    with pytest.raises(RuleError) as exc:
        parse_pack(text, source=source)
    assert exc.value.code == "pack_invalid"
    return [p.render("en") for p in exc.value.problems]


def test_good_pack_parses() -> None:
    pack = parse_pack(GOOD, source="p.yaml")
    [rule] = pack.rules
    assert (rule.id, rule.ledger, rule.check_type, rule.line) == ("MY-CASH", "disbursements", "in_set", 4)
    assert rule.args["values"] == ["现金"]
    assert rule.args["tolerance"] == 0  # default filled in


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("    amount: amount\n", "    amount: amount\n    treshold: 3\n"),
            "p.yaml:12:5 rules[0].treshold: unknown key treshold",
        ),
        (("severity: error", "severity: eror"), "p.yaml:6:5 rules[0].severity: invalid value eror"),
        (
            ("column: payment_method", "column: payment_methd"),
            "p.yaml:9:27 rules[0].check.column: disbursements has no column payment_methd (→ payment_method?)",
        ),
        (("negate: true", "negate: 3"), "p.yaml:9:72 rules[0].check.negate: wrong type: expected true or false, got 3"),
        (("type: in_set", "type: in_sett"), "p.yaml:9:13 rules[0].check.type: unknown check type in_sett (→ in_set?)"),
        (("values: $cash_words", "values: $cash"), "p.yaml:9:51 rules[0].check.values: refers to undefined parameter"),
        (("ledger: disbursements", "ledger: payments"), "p.yaml:5:5 rules[0].ledger: invalid value payments"),
        (("    title: {zh: 现金发放, en: Cash payment}\n", ""), None),
    ],
)
def test_each_problem_names_file_line_and_key(edit: tuple[str, str], expected: str | None) -> None:
    text = GOOD.replace(*edit)
    if expected is None:
        parse_pack(text, source="p.yaml")  # title is optional
        return
    found = problems_of(text)
    assert any(p.startswith(expected) for p in found), found


def test_all_problems_reported_together() -> None:
    text = GOOD.replace("severity: error", "severity: eror").replace("negate: true", "negate: 3")
    text += "  - id: bad id\n    ledger: dues\n    severity: error\n    check: {type: nope}\n"
    found = problems_of(text)
    assert len(found) >= 5
    assert any("rules[1].id" in p for p in found)
    assert any("rules[1]: missing required key message" in p for p in found)


def test_bad_yaml_syntax_is_located() -> None:
    [p] = problems_of("pack: x\nrules:\n  - id: A-B\n    ledger: [dues\n")
    assert p.startswith("p.yaml:5:1 YAML syntax error"), p


def test_alias_bomb_refused_before_expansion() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    bomb = "pack: bomb\n" + bomb
    found = problems_of(bomb)
    assert found[0] == "p.yaml:2:4 a: anchors and aliases (& and *) are not allowed", found


def test_python_tags_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"pack: x\nrules: !!python/object/apply:os.system ['touch {marker}']\n"
    found = problems_of(text)
    assert found == ["p.yaml:2:8 rules: tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"]
    assert not marker.exists()


def test_duplicate_keys_refused() -> None:
    found = problems_of(GOOD.replace("    severity: error\n", "    severity: error\n    severity: info\n"))
    assert any("rules[0].severity: duplicate key" in p for p in found)


def test_load_pack_from_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD.replace("severity: error", "severity: 1"), encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        load_pack(path)
    assert str(path) + ":6:5" in exc.value.message("en")
    assert "规则包有 1 处错误" in str(exc.value)


def test_override_disable_and_duplicates() -> None:
    base = parse_pack(GOOD, source="a.yaml")
    user = parse_pack(
        "pack: u\noverride: {MY-CASH: {severity: warning, params: {cash_words: [现金, 现付]}}}\ndisable: []\n",
        source="u.yaml",
    )
    rs = RuleSet.build([base, user])
    assert rs.rules["MY-CASH"].severity == "warning"
    assert rs.rules["MY-CASH"].args["values"] == ["现金", "现付"]
    off = parse_pack("pack: off\ndisable: [MY-CASH]\n", source="off.yaml")
    assert RuleSet.build([base, off]).active() == []
    with pytest.raises(RuleError) as exc:
        RuleSet.build([base, parse_pack(GOOD, source="b.yaml")])
    assert "defined twice" in exc.value.message("en")
    with pytest.raises(RuleError) as exc:
        RuleSet.build([base, parse_pack("pack: o\ndisable: [MY-CAHS]\n", source="o.yaml")])
    assert "unknown rule id MY-CAHS (→ MY-CASH?)" in exc.value.message("en")


def test_params_override_and_errors() -> None:
    rs = RuleSet.build([parse_pack(GOOD, source="a.yaml")])
    assert parse_param_arg("MY-CASH.cash_words=[现金, 现款]") == ("MY-CASH", "cash_words", ["现金", "现款"])
    assert parse_param_arg("DISB-SPLIT.window_days=15") == ("DISB-SPLIT", "window_days", 15)
    rs2 = apply_params(rs, {"MY-CASH": {"cash_words": ["现款"]}})
    assert rs2.rules["MY-CASH"].args["values"] == ["现款"]
    with pytest.raises(RuleError) as exc:
        apply_params(rs, {"MY-CASH": {"cash_word": ["x"], "cash_words": 3}, "NO-SUCH": {"a": 1}})
    msg = exc.value.message("en")
    assert "rule MY-CASH has no parameter cash_word (→ cash_words?)" in msg
    assert "parameter cash_words of rule MY-CASH: invalid value 3" in msg
    assert "parameter for unknown rule NO-SUCH" in msg
    with pytest.raises(RuleError):
        parse_param_arg("no-equals-sign")


def test_a_user_override_wins_over_the_profile_and_param_wins_over_both(tmp_path: Path) -> None:
    """Precedence: shipped default < profile < user pack override < --param (docs/profiles.md)."""
    import pandas as pd

    import fundaudit

    pack = tmp_path / "mine.yaml"
    pack.write_text('pack: mine\nversion: "1"\noverride:\n  DUES-FEE: {params: {fee_ratio: 0.015}}\n',
                    encoding="utf-8")
    frame = pd.DataFrame({"纳税人识别号": ["91341003563634349C"], "实缴金额": ["100"]})

    def fee_ratio(**kw: object) -> object:
        result = fundaudit.audit({"dues": frame}, profile="anhui-2016", **kw)  # type: ignore[arg-type]
        return result.run["params"]["DUES-FEE"]["fee_ratio"]

    assert fee_ratio() == 0.02  # the profile's value
    assert fee_ratio(rules=[pack]) == 0.015  # the user's pack over the profile
    assert fee_ratio(rules=[pack], params={"DUES-FEE": {"fee_ratio": 0.01}}) == 0.01
