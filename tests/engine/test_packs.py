"""Rule-pack validation: every problem reported at once, each naming file, line, column and key path;
no tag, alias or code ever runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fundaudit import RuleError
from fundaudit.rules.model import RuleSet, apply_params, load_pack, parse_pack, parse_param_arg
from fundaudit.rules.shipped import shipped_packs

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
            "p.yaml:12:5 rules[0].treshold: unknown key treshold (allowed: amount, amount_basis, basis, check, "
            "description, id, ledger, message, params, severity, tags, title, where)",
        ),
        (
            ("severity: error", "severity: eror"),
            "p.yaml:6:5 rules[0].severity: invalid value eror (expected error, warning, info)",
        ),
        (
            ("column: payment_method", "column: payment_methd"),
            "p.yaml:9:27 rules[0].check.column: disbursements has no column payment_methd (→ payment_method?)",
        ),
        (("negate: true", "negate: 3"), "p.yaml:9:72 rules[0].check.negate: wrong type: expected true or false, got 3"),
        (("type: in_set", "type: in_sett"), "p.yaml:9:13 rules[0].check.type: unknown check type in_sett (→ in_set?)"),
        (
            ("values: $cash_words", "values: $cash"),
            "p.yaml:9:51 rules[0].check.values: refers to undefined parameter $cash",
        ),
        (
            ("ledger: disbursements", "ledger: payments"),
            "p.yaml:5:5 rules[0].ledger: invalid value payments (expected dues, disbursements, register, unions, "
            "employers, staff, ratios, caps, dibao, min_wage, budget)",
        ),
        (("    title: {zh: 现金发放, en: Cash payment}\n", ""), None),
    ],
)
def test_each_problem_names_file_line_and_key(edit: tuple[str, str], expected: str | None) -> None:
    text = GOOD.replace(*edit)
    if expected is None:
        parse_pack(text, source="p.yaml")  # title is optional
        return
    assert problems_of(text) == [expected]


def test_all_problems_reported_together() -> None:
    text = GOOD.replace("severity: error", "severity: eror").replace("negate: true", "negate: 3")
    text += "  - id: bad id\n    ledger: dues\n    severity: error\n    check: {type: nope}\n"
    assert problems_of(text) == [
        "p.yaml:6:5 rules[0].severity: invalid value eror (expected error, warning, info)",
        "p.yaml:9:72 rules[0].check.negate: wrong type: expected true or false, got 3",
        "p.yaml:12:5 rules[1]: missing required key message",
        "p.yaml:12:5 rules[1].id: invalid value bad id (expected an id like DISB-CASH)",
        "p.yaml:15:13 rules[1].check.type: unknown check type nope",
    ]


def test_bad_yaml_syntax_is_located() -> None:
    [p] = problems_of("pack: x\nrules:\n  - id: A-B\n    ledger: [dues\n")
    assert p == "p.yaml:5:1 YAML syntax error: expected ',' or ']', but got '<stream end>'"


def test_alias_bomb_refused_before_expansion() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    bomb = "pack: bomb\n" + bomb
    found = problems_of(bomb)
    assert found[0] == "p.yaml:2:4 a: anchors and aliases (& and *) are not allowed", found


def test_a_repeated_anchor_is_refused_without_a_warning() -> None:
    """Found by the fuzz: ruamel warned (ReusedAnchorWarning) before the anchor was refused; exit 3 where
    warnings are errors, a stray warning on stderr elsewhere."""
    found = problems_of("&a pack: x\n&a version: y\n")
    assert found == ["p.yaml:1:1 anchors and aliases (& and *) are not allowed",
                     "p.yaml:2:1 anchors and aliases (& and *) are not allowed"]


def test_python_tags_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"pack: x\nrules: !!python/object/apply:os.system ['touch {marker}']\n"
    found = problems_of(text)
    assert found == ["p.yaml:2:8 rules: tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"]
    assert not marker.exists()


def test_duplicate_keys_refused() -> None:
    found = problems_of(GOOD.replace("    severity: error\n", "    severity: error\n    severity: info\n"))
    assert found == ["p.yaml:7:5 rules[0].severity: duplicate key"]


def test_load_pack_from_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD.replace("severity: error", "severity: 1"), encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        load_pack(path)
    assert exc.value.message("en") == (
        f"the rule pack has 1 problem(s):\n{path}:6:5 rules[0].severity: invalid value 1 "
        "(expected error, warning, info)"
    )
    assert str(exc.value) == (
        f"规则包有 1 处错误：\n{path}:6:5 rules[0].severity: 取值 1 不合法（应为 error, warning, info）"
    )


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
    assert exc.value.message("en") == (
        "the rule pack has 1 problem(s):\nb.yaml:4:5 rules[0].id: rule id MY-CASH is defined twice (also in a.yaml); "
        "use override to change a shipped rule"
    )
    with pytest.raises(RuleError) as exc:
        RuleSet.build([base, parse_pack("pack: o\ndisable: [MY-CAHS]\n", source="o.yaml")])
    assert exc.value.message("en") == (
        "the rule pack has 1 problem(s):\no.yaml:2:11 disable[0]: unknown rule id MY-CAHS (→ MY-CASH?)"
    )


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


# --- issue 13 item 10: malformed packs are problems at file:line, never a crash -------------------------------

NOT_ALLOWED = ("holds a character that is not allowed: {} (control characters, lone surrogates and non-characters"
               " cannot be used)")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (  # message: {zh: "x", en: } -- the empty value reached the template parser (TypeError, exit 3)
            ('message: {zh: "现金 {amount}", en: "cash {amount}"}', 'message: {zh: "x", en: }'),
            ["p.yaml:10:24 rules[0].message.en: wrong type: expected text, got nothing"],
        ),
        (  # message: with no value at all was accepted, and failed when a finding was rendered
            ('message: {zh: "现金 {amount}", en: "cash {amount}"}', "message:"),
            ["p.yaml:10:5 rules[0].message: wrong type: expected {zh: text, en: text}, got nothing"],
        ),
        (  # a lone surrogate in a title was accepted, and failed when a report was written
            ("title: {zh: 现金发放, en: Cash payment}", 'title: {zh: 现金发放, en: "Cash \\ud800"}'),
            ["p.yaml:7:27 rules[0].title.en: " + NOT_ALLOWED.format("U+D800")],
        ),
        (  # a terminal escape sequence in a title
            ("title: {zh: 现金发放, en: Cash payment}", 'title: "\\e[2J"'),
            ["p.yaml:7:12 rules[0].title: " + NOT_ALLOWED.format("U+001B")],
        ),
        (  # in a key
            ("    amount: amount\n", '    amount: amount\n    "a\\ud800": 1\n'),
            ["p.yaml:12:5 rules[0]: " + NOT_ALLOWED.format("U+D800")],
        ),
        (  # a list where a ledger name is expected ([dues] in catalogue() was a TypeError)
            ("ledger: disbursements", "ledger: [disbursements]"),
            ["p.yaml:5:5 rules[0].ledger: wrong type: expected text, got list"],
        ),
        (
            ("    amount: amount\n", "    amount: amount\n    description: {a: 1}\n"),
            ["p.yaml:12:5 rules[0].description: wrong type: expected text, got mapping"],
        ),
        (
            ("pack: my-pack", "pack: [my-pack]"),
            ["p.yaml:1:1 pack: wrong type: expected text, got list"],
        ),
        (  # found by the fuzz: a list as the check type was looked up in a set (TypeError)
            ("type: in_set", "type: [in_set]"),
            ["p.yaml:9:5 rules[0].check: wrong type: expected {type: …, …}, got mapping"],
        ),
        (  # 400 digits: math.isfinite() raised OverflowError
            ("cash_words: [现金]", "cash_words: [现金], n: " + "9" * 400),
            ["p.yaml:8:35 rules[0].params.n: value 99999999999999999999999999999… is out of range"
             " (expected a whole number from -9223372036854775808 to 9223372036854775807)"],
        ),
    ],
)
def test_malformed_values_are_located_problems(edit: tuple[str, str], expected: list[str]) -> None:
    assert problems_of(GOOD.replace(*edit)) == expected


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("  " + "[" * 900 + "]" * 900 + "\n", "p.yaml:3:42"),
        ("  " + "{a: " * 900 + "}" * 900 + "\n", "p.yaml:3:156"),
        ("".join("  " * i + "-\n" for i in range(900)) + "  " * 900 + "x\n", "p.yaml:42:79"),
    ],
)
def test_deep_nesting_refused_before_recursion(body: str, where: str) -> None:
    """900 levels (RecursionError, exit 3, before): refused where the level past the limit starts."""
    assert problems_of("pack: deep\nrules:\n" + body) == [f"{where} nested more than 40 levels deep"]


def test_nesting_at_the_limit_is_read() -> None:
    from fundaudit.rules.located import MAX_DEPTH, parse_located

    depth = MAX_DEPTH - 2  # the document mapping and the scalar at the bottom are levels too
    located, problems = parse_located("a: " + "[" * depth + "1" + "]" * depth, "p.yaml")
    assert problems == [] and located is not None
    _, problems = parse_located("a: " + "[" * (depth + 1) + "1" + "]" * (depth + 1), "p.yaml")
    assert [p.code for p in problems] == ["pack_too_deep"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pack: p\nversion: x\x1by\n", "p.yaml:2:11 " + NOT_ALLOWED.format("U+001B")),
        ("pack: p\n\n  # \ud800\n", "p.yaml:3:5 " + NOT_ALLOWED.format("U+D800")),
        ("pack: p\ndescription: \ufffe\n", "p.yaml:2:14 " + NOT_ALLOWED.format("U+FFFE")),
    ],
)
def test_characters_yaml_refuses_are_located(text: str, expected: str) -> None:
    """The YAML reader's own refusal (no line of its own) is located by its position."""
    assert problems_of(text) == [expected]


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("DISB-SPLIT.window_days=" + "[" * 900, "--param DISB-SPLIT.window_days: nested more than 40 levels deep"),
        ('DISB-SPLIT.window_days="a\\ud800"', "--param DISB-SPLIT.window_days: " + NOT_ALLOWED.format("U+D800")),
        ("DISB-SPLIT.window_days=a\udcff", "--param DISB-SPLIT.window_days: " + NOT_ALLOWED.format("U+DCFF")),
        ('DISB-SPLIT.window_days=[1, {a: "\\e"}]',
         "--param DISB-SPLIT.window_days[1].a: " + NOT_ALLOWED.format("U+001B")),
        ("DISB-SPLIT.window_days=" + "9" * 5000, "--param DISB-SPLIT.window_days: value 99999999999999999999999999999…"
                                                 " is out of range (expected a whole number from -9223372036854775808"
                                                 " to 9223372036854775807)"),
        ("DISB\ud800.window_days=1", "--param " + NOT_ALLOWED.format("U+D800")),
    ],
)
def test_param_values_malformed_are_named_rule_key(arg: str, expected: str) -> None:
    with pytest.raises(RuleError) as exc:
        parse_param_arg(arg)
    assert [p.render("en") for p in exc.value.problems] == [expected]


# --- true/false: YAML 1.2 words only (reliability 2.C.3) -------------------------------------------------
# (word as written, how the problem shows the value read): under YAML 1.2 yes/no/on/off are text, and an
# explicit null would silently stand for false; each is refused where true or false is expected.
NOT_TRUE_OR_FALSE = [("yes", '"yes"'), ("no", '"no"'), ("on", '"on"'), ("off", '"off"'), ("Y", '"Y"'),
                     ("n", '"n"'), ("1", "1"), ("0", "0"), ("~", "None"), ("null", "None"), ("'true'", '"true"')]


@pytest.mark.parametrize(("word", "got"), NOT_TRUE_OR_FALSE)
def test_a_yes_no_word_for_negate_is_refused_at_its_line(word: str, got: str) -> None:
    assert problems_of(GOOD.replace("negate: true", f"negate: {word}")) == [
        f"p.yaml:9:72 rules[0].check.negate: wrong type: expected true or false, got {got}"
    ]


@pytest.mark.parametrize(("word", "got"), NOT_TRUE_OR_FALSE)
def test_every_true_or_false_argument_refuses_yes_no_words(word: str, got: str) -> None:
    """Every bool argument of every check type (negate, inclusive, strict, require_approver, require…)."""
    from fundaudit.rules.located import Unlocated, parse_located
    from fundaudit.rules.model import check_arg
    from fundaudit.rules.signatures import CHECK_TYPES

    located, _ = parse_located(f"v: {word}", "t")
    assert located is not None
    value = located.data["v"]
    bools = [(t, name, arg) for t, sig in CHECK_TYPES.items() for name, arg in sig.args.items() if arg.kind == "bool"]
    assert len(bools) == 8  # require, require_approver, allow_family_holder, accept_legacy: flag parameters now
    for check_type, name, arg in bools:
        [problem] = check_arg(Unlocated("t"), f"{check_type}.{name}", arg, value, "disbursements")
        assert problem.render("en") == f"t {check_type}.{name}: wrong type: expected true or false, got {got}"


@pytest.mark.parametrize(("word", "got"), NOT_TRUE_OR_FALSE)
def test_a_yes_no_word_for_a_true_or_false_parameter_is_refused(word: str, got: str) -> None:
    """Through a pack parameter, an override of a shipped rule's parameter, and --param."""
    user = GOOD.replace("params: {cash_words: [现金]}", f"params: {{cash_words: [现金], neg: {word}}}")
    assert problems_of(user.replace("negate: true", "negate: $neg")) == [
        f"p.yaml:8:32 rules[0].params.neg: wrong type: expected true or false, got {got}"
    ]
    shipped = RuleSet.build(shipped_packs())
    override = f"pack: o\noverride:\n  DISB-APPROVAL: {{params: {{require_approver: {word}}}}}\n"
    with pytest.raises(RuleError) as info:
        RuleSet.build([*shipped_packs(), parse_pack(override, source="o.yaml")])
    assert [p.render("en") for p in info.value.problems] == [
        f"o.yaml:3:28 override.DISB-APPROVAL.params.require_approver: wrong type: expected true or false, got {got}"
    ]
    with pytest.raises(RuleError) as info:
        apply_params(shipped, {"DISB-APPROVAL": {"require_approver": parse_param_arg(f"R.k={word}")[2]}})
    assert [p.render("en") for p in info.value.problems] == [
        f"--param DISB-APPROVAL.require_approver: wrong type: expected true or false, got {got}"
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("negate: !!bool yes", "p.yaml:9:80 rules[0].check.negate: invalid value yes (expected true or false)"),
        ("negate: !!bool off", "p.yaml:9:80 rules[0].check.negate: invalid value off (expected true or false)"),
        ("negate: !!null no", "p.yaml:9:80 rules[0].check.negate: invalid value no (expected null or ~)"),
    ],
)
def test_an_explicit_bool_tag_on_another_word_is_refused(edit: str, expected: str) -> None:
    """``!!bool yes`` was read as false (every bool word but 'true'); a tag never makes a word a boolean."""
    assert problems_of(GOOD.replace("negate: true", edit)) == [expected]


@pytest.mark.parametrize("word", ["true", "True", "TRUE", "!!bool true", "false", "False", "FALSE"])
def test_yaml_1_2_true_and_false_are_read(word: str) -> None:
    rule = parse_pack(GOOD.replace("negate: true", f"negate: {word}"), source="p.yaml").rules[0]
    assert rule.args["negate"] is word.lower().endswith("true")


def test_is_null_refuses_a_yes_no_word_at_its_line() -> None:
    where = "where: {column: recipient_name, is_null: off}\n    check: {type: in_set"
    text = GOOD.replace("check: {type: in_set", where)
    assert problems_of(text) == ["p.yaml:9:37 rules[0].where.is_null: wrong type: expected true or false, got str"]
