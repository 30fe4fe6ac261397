"""Each parameter declared once (issue 14 item 3): a check type's signature holds the default, a shipped rule
writes only what differs, a profile only what differs from the rules, and every parameter a shipped rule
had before the change is still reported with the same value and still overridable by every route
(``--param``, ``params=``, a user pack's ``override``, a profile), with an effect on the rule's query."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import fundaudit
from fundaudit.cli import main
from fundaudit.columns import catalogue
from fundaudit.engine import RuleStatus, run_rules
from fundaudit.ledger import Ledger
from fundaudit.period import parse_period
from fundaudit.report.html import _param_value
from fundaudit.rules.located import parse_located
from fundaudit.rules.model import (
    LOGIC_KINDS,
    MESSAGE_FIELDS,
    Rule,
    RuleSet,
    _same_value,
    apply_params,
    params_from_args,
    parse_pack,
)
from fundaudit.rules.profiles import Profile, apply_profile, load_profile, profile_names
from fundaudit.rules.shipped import shipped_dir, shipped_packs
from fundaudit.rules.signatures import CHECK_TYPES
from tests.engine.test_messages import _with_every_column

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
PROFILES = ROOT / "fundaudit" / "profiles"

# Every (rule, parameter, value) of the shipped packs on main before this change (dd11804), as
# `RuleSet.build(shipped_packs())` resolved them, and a different valid value to override each with.
# holiday_calendar has one allowed value ("none"), so it is overridden with that value.
PAIRS: list[tuple[str, str, Any, Any]] = [
    ("DUES-RATE", "allowed_rates", [0.02], [0.02, 0.015]),
    ("DUES-RATE", "rate_tol", 1e-09, 0.001),
    ("DUES-CALC", "tol_yuan", 0.01, 100.0),
    ("DUES-PERIOD", "allowed_lengths_months", [1, 3, 12], [1]),
    ("DUES-LATE", "deadline_day", 15, 25),
    ("DUES-LATE", "holiday_calendar", "none", "none"),
    ("DUES-LATE", "grace_days", 0, 10),
    ("DUES-DUP", "key", ["taxpayer_id", "fund_type", "period_start", "period_end"], ["taxpayer_id", "period_start"]),
    ("DUES-DUP", "ignore_correction_pairs", True, False),
    ("DUES-GAP", "min_prior_payments", 2, 5),
    ("DUES-GAP", "cadence", "infer", "monthly"),
    ("DUES-BASE-MIN", "use_headcount", True, False),
    ("DUES-BASE-MIN", "region_code", None, "340102"),
    ("DUES-BASE-DROP", "drop_ratio", 0.5, 0.2),
    ("DUES-BASE-DROP", "lookback", 6, 3),
    ("DUES-BASE-DROP", "min_history", 3, 2),
    ("DUES-TAXPAYER-ID", "accept_legacy", True, False),
    ("DUES-TAXPAYER-ID", "check_embedded_org_code", "warn", "off"),
    ("DUES-REFUND", "match_window_months", 24, 1),
    ("DUES-SPLIT-SUM", "ratio_tol", 0.0001, 0.05),
    ("DUES-SPLIT-SUM", "tol_yuan_per_share", 0.01, 100.0),
    ("DUES-SPLIT-RATIO", "grassroots_share", 0.6, 0.5),
    ("DUES-FEE", "fee_ratio", 0.02, 0.03),
    ("DUES-FEE", "tol_yuan", 0.01, 100.0),
    ("DUES-REMIT-LATE", "max_days_to_settle", 30, 5),
    ("DUES-REMIT-LATE", "max_days_in_custody", 180, 30),
    ("DUES-SME-REFUND", "policy_years", [2020, 2021, 2022], [2016]),
    ("DUES-SME-REFUND", "refund_share", "upper_level", "all"),
    ("DUES-SME-REFUND", "refund_deadline_days", 365, 30),
    ("DISB-ID", "age_range", [16, 100], [18, 60]),
    ("DISB-ID", "allow_15_digit", False, True),
    # DISB-NOT-FILED is a YAML lookup (issue 14 item 5): "送温暖(困难职工)" in programs_requiring_file is now
    # its own parameter, hardship_programs; match_on and fallback_on are the lookup's `on:` and `fallback_on:`
    # (a key choice written in the rule, not a parameter: override the rule's check to change them)
    ("DISB-NOT-FILED", "programs_requiring_file", ["生活救助", "医疗救助", "助学救助"], ["医疗救助"]),
    ("DISB-NOT-FILED", "hardship_programs", ["送温暖"], []),
    ("DISB-NOT-FILED", "hardship_categories", ["深度困难", "相对困难", "意外致困"], ["深度困难"]),
    ("DISB-AFTER-EXIT", "grace_days", 0, 30),
    # DISB-AFTER-EXIT is a YAML lookup too: match_on and fallback_on are its `on:` and `fallback_on:` (as above)
    ("DISB-CASH", "bank_methods", ["银行转账", "打卡", "银行代发", "社保卡"], ["银行转账"]),
    ("DISB-CASH", "cash_words", ["现金", "现付", "现款"], ["现付"]),
    ("DISB-CASH", "in_kind_allowed", ["送温暖", "夏送清凉"], []),
    ("DISB-CASH", "pass_through_programs", [], ["送温暖"]),
    ("DISB-ACCOUNT-NAME", "allow_family_holder", False, True),
    ("DISB-ACCOUNT-SHARED", "min_recipients", 2, 3),
    ("DISB-ACCOUNT-SHARED", "same_household_downgrade", True, False),
    (
        "DISB-DUP",
        "windows",
        {"送温暖": "12-01..02-29", "金秋助学": "09-01..08-31", "default": "same_day"},
        {"default": "year"},
    ),
    ("DISB-CATEGORY", "category_map", {}, {"相对困难": ["相对困难", "深度困难"]}),
    ("DISB-CATEGORY", "hardship_categories", ["深度困难", "相对困难", "意外致困"], ["深度困难"]),
    # DISB-CATEGORY is a YAML lookup too: match_on and fallback_on are its `on:` and `fallback_on:` (as above)
    ("DISB-DISCLOSURE", "min_days", 5, 10),
    ("DISB-DISCLOSURE", "calendar", "natural", "working"),
    ("DISB-APPROVAL", "require_approver", True, False),
    ("DISB-SPLIT", "window_days", 30, 3),
    ("DISB-SPLIT", "threshold", "per_payment_cap", "fixed"),
    ("DISB-SPLIT", "threshold_default", 1000, 300),
    ("DISB-YEAR-END", "days", 31, 10),
    ("DISB-YEAR-END", "share", 0.4, 0.1),
    ("REG-ID", "age_range", [16, 100], [18, 60]),
    ("REG-ID", "allow_15_digit", False, True),
    ("REG-DUP-HOUSEHOLD", "household_keys", ["family_member_id", "normalized_address"], ["family_member_id"]),
    ("REG-DUP-HOUSEHOLD", "active_status", ["在档"], ["在档", "已脱困", "已撤档"]),
    ("REG-ELIGIBILITY", "multipliers", {"深度困难": 1.0, "相对困难": 2.0}, {"深度困难": 3.0, "相对困难": 5.0}),
    ("REG-ELIGIBILITY", "accident_category", "意外致困", "相对困难"),
    ("REG-ELIGIBILITY", "accident_loss_ratio", 0.8, 0.1),
    ("REG-REVIEW-OVERDUE", "max_months", 12, 1),
    ("REG-REVIEW-OVERDUE", "active_status", ["在档"], ["在档", "已脱困", "已撤档"]),
    ("REG-DISCLOSURE", "require", True, False),
    ("REG-STAFF-RELATIVE", "match_on", ["id_no", "bank_account", "phone", "address"], ["phone"]),
    ("REG-STAFF-RELATIVE", "roles", ["all"], ["主席"]),
    ("XL-STAFF-RELATIVE", "match_on", ["id_no", "bank_account", "phone", "address"], ["bank_account"]),
    ("XL-STAFF-RELATIVE", "roles", ["all"], ["主席"]),
    ("XL-MISSING-EMPLOYER", "min_headcount", 1, 100),
    ("XL-MISSING-EMPLOYER", "exclude_status", ["注销"], ["注销", "存续"]),
    ("XL-UNION-STATUS", "grace_months", 0, 12),
    ("XL-FUND-OVERSPEND", "min_spend_ratio", 0.5, 0.99),
    ("LEDGER-TOTAL", "tol_yuan", 0.01, 100000.0),
]
IDS = [f"{rid}.{key}" for rid, key, _, _ in PAIRS]


def _shipped() -> RuleSet:
    return RuleSet.build(shipped_packs())


def _pack_docs() -> dict[str, dict[str, Any]]:
    """The shipped packs as written (not resolved): file name -> YAML data."""
    out = {}
    for path in sorted(shipped_dir().glob("*.yaml")):
        doc, problems = parse_located(path.read_text("utf-8"), path.name)
        assert doc is not None and not problems, problems
        out[path.name] = doc.data
    return out


# --- (a) no shipped rule writes a signature default ---------------------------------------------------


def _written_defaults(raw: dict[str, Any]) -> list[str]:
    """What one rule (pack data) writes that its check type's signature already says: a check argument
    equal to its default, written directly or through a ``$name`` parameter, a ``params:`` entry that
    fills an argument with its default, and ``arg: $arg`` indirections (the parameter would fill it alone)."""
    check, params = raw["check"], raw.get("params") or {}
    sig = CHECK_TYPES[check["type"]]
    found = []
    for name, value in check.items():
        if name == "type":
            continue
        ref = value[1:] if isinstance(value, str) and value.startswith("$") else None
        if ref == name:
            found.append(f"check.{name}: ${name}")
        written = params[ref] if ref is not None else value
        if not sig.args[name].required and _same_value(written, sig.args[name].default):
            found.append(f"check.{name} = {written!r}" + (f" (params.{ref})" if ref else ""))
    for name, value in params.items():
        arg = sig.args.get(name)
        if arg is not None and name not in check and arg.kind not in LOGIC_KINDS and _same_value(value, arg.default):
            found.append(f"params.{name} = {value!r}")
    return found


def test_no_shipped_rule_writes_a_signature_default() -> None:
    written = {
        f"{name} {raw['id']}": found
        for name, doc in _pack_docs().items()
        for raw in doc["rules"]
        if (found := _written_defaults(raw))
    }
    assert written == {}


def test_the_pattern_is_recognised() -> None:
    """The check above fires on the old pattern (params entry + ``$name`` equal to the default), on a
    literal default and on a params entry equal to the default."""
    old = {"check": {"type": "split_payment", "window_days": "$window_days"}, "params": {"window_days": 30}}
    assert _written_defaults(old) == [
        "check.window_days: $window_days",
        "check.window_days = 30 (params.window_days)",
    ]
    assert _written_defaults({"check": {"type": "in_set", "column": "id_no", "negate": False}}) == [
        "check.negate = False"
    ]
    assert _written_defaults({"check": {"type": "split_payment"}, "params": {"window_days": 30}}) == [
        "params.window_days = 30"
    ]
    assert _written_defaults({"check": {"type": "split_payment"}, "params": {"window_days": 7}}) == []


def test_shipped_packs_declare_only_what_differs() -> None:
    """What the packs still write, exactly: values their conditions or messages refer to, a required
    argument under its user-facing name, and the three catalog values (domain.md §7) that differ from the
    check type's neutral default."""
    declared = {
        raw["id"]: sorted(raw.get("params") or {})
        for doc in _pack_docs().values()
        for raw in doc["rules"]
        if raw.get("params")
    }
    assert declared == {
        "DUES-RATE": ["allowed_rates", "rate_tol"],
        "DUES-CALC": ["tol_yuan"],
        "DUES-REMIT-LATE": ["custody_values", "max_days_in_custody", "max_days_to_settle"],
        "DUES-FEE": ["fee_ratio", "tol_yuan"],
        "DUES-PERIOD": ["allowed_lengths_months"],
        "DISB-NOT-FILED": ["hardship_categories", "hardship_programs", "programs_requiring_file"],
            "DISB-AFTER-EXIT": ["grace_days"],  # a lookup rule: its parameter is its own
            "DISB-CATEGORY": ["category_map", "hardship_categories"],
        "DISB-CASH": ["bank_methods", "cash_words", "in_kind_allowed", "in_kind_words", "pass_through_programs"],
        "DISB-ACCOUNT-NAME": ["allow_family_holder"],
        "DISB-DUP": ["windows"],
        "REG-DUP-HOUSEHOLD": ["household_keys"],
        "DUES-TAXPAYER-ID": ["accept_legacy", "check_embedded_org_code"],
        "DISB-DISCLOSURE": ["calendar", "min_days"],
        "DISB-APPROVAL": ["require_approver"],
        "REG-REVIEW-OVERDUE": ["active_status", "max_months"],
        "REG-DISCLOSURE": ["require"],  # a flag rule: its parameters are its own
        "DISB-ID": ["age_range", "allow_15_digit"],  # flag rules (issue 14 item 5): their own parameters
        "REG-ID": ["age_range", "allow_15_digit"],
        "DUES-SPLIT-SUM": ["ratio_tol", "tol_yuan_per_share"],  # a flag rule
        "XL-MISSING-EMPLOYER": ["exclude_status", "min_headcount"],  # a lookup rule: its parameters are its own
    }


# --- (b) a profile sets only what differs ------------------------------------------------------------


@pytest.mark.parametrize("name", profile_names())
def test_profile_sets_no_value_the_rules_already_resolve_to(name: str) -> None:
    rules = _shipped().rules
    same = {
        f"{rid}.{key}": value
        for rid, values in load_profile(name).params.items()
        for key, value in values.items()
        if _same_value(rules[rid].params.get(key), value)
    }
    assert same == {}


def test_profile_check_fires_on_the_old_anhui_values() -> None:
    """The old anhui-2016 profile (DISB-DISCLOSURE.min_days 5, DUES-FEE.fee_ratio 0.02) is what the check catches."""
    rules = _shipped().rules
    old = {"DISB-DISCLOSURE": {"min_days": 5}, "DUES-FEE": {"fee_ratio": 0.02}}
    assert [f"{r}.{k}" for r, v in old.items() for k, x in v.items() if _same_value(rules[r].params[k], x)] == [
        "DISB-DISCLOSURE.min_days",
        "DUES-FEE.fee_ratio",
    ]
    assert load_profile("anhui-2016").params == {}


# --- (c) every parameter of main is reported, with its value, and overridable ------------------------


def test_every_parameter_of_main_resolves_to_the_same_value() -> None:
    rules = _shipped().rules
    got = {(rid, key): rules[rid].params.get(key, "<missing>") for rid, key, _, _ in PAIRS}
    want = {(rid, key): value for rid, key, value, _ in PAIRS}
    assert got == want
    assert all(type(got[k]) is type(want[k]) for k in want)
    assert len(PAIRS) == 72  # DISB-AFTER-EXIT's and DISB-CATEGORY's match_on/fallback_on are lookup keys now


def test_rules_list_reports_every_parameter_of_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list", "--lang", "en"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    missing = [f"{rid}.{key}" for rid, key, value, _ in PAIRS if f"{key}={_param_value(value)}" not in rows[rid]]
    assert missing == []
    # defaults are named as such: DUES-LATE sets nothing; DISB-CASH (a flag rule) declares all its values
    assert rows["DISB-CATEGORY"].rstrip().endswith('hardship_categories=["深度困难", "相对困难", "意外致困"]')
    assert "defaults: deadline_day=15, grace_days=0" in rows["DUES-LATE"]
    assert rows["DISB-AFTER-EXIT"].rstrip().endswith("grace_days=0")  # a lookup rule declares its parameter
    assert rows["DISB-CASH"].rstrip().endswith('in_kind_allowed=["送温暖", "夏送清凉"], pass_through_programs=[]')


def _by_param_arg(rid: str, key: str, new: Any) -> RuleSet:
    arg = f"{rid}.{key}={json.dumps(new, ensure_ascii=False)}"
    return apply_params(_shipped(), params_from_args([arg]), source="--param")


def _by_params(rid: str, key: str, new: Any) -> RuleSet:
    return apply_params(_shipped(), {rid: {key: new}})


def _by_override(rid: str, key: str, new: Any) -> RuleSet:
    text = "pack: mine\nversion: '1'\noverride: " + json.dumps({rid: {"params": {key: new}}}, ensure_ascii=False)
    return RuleSet.build([*shipped_packs(), parse_pack(text, source="mine.yaml")])


def _by_profile(rid: str, key: str, new: Any) -> RuleSet:
    return apply_profile(_shipped(), Profile("test", {"zh": "t", "en": "t"}, None, {rid: {key: new}}))


ROUTES: dict[str, Callable[[str, str, Any], RuleSet]] = {
    "--param": _by_param_arg,
    "params=": _by_params,
    "override": _by_override,
    "profile": _by_profile,
}


@pytest.mark.parametrize(("rid", "key", "value", "new"), PAIRS, ids=IDS)
def test_every_parameter_of_main_is_overridable_by_every_route(rid: str, key: str, value: Any, new: Any) -> None:
    """The four routes give the same rule: the new value in its parameters and in the arguments its query is
    built from (changed ones, unless the only allowed value is the old one)."""
    default = _shipped().rules[rid]
    got = {route: build(rid, key, new).rules[rid] for route, build in ROUTES.items()}
    assert {route: rule.params[key] for route, rule in got.items()} == dict.fromkeys(ROUTES, new)
    # what the query is built from: the check's arguments and the rule's `where` (which may name `$params`)
    built = {route: (rule.args, rule.row_filter) for route, rule in got.items()}
    assert list(built.values()) == [built["params="]] * len(ROUTES)
    assert (built["params="] != (default.args, default.row_filter)) is (value != new)


# --- the effect of each override on the rule's query, on the samples ---------------------------------


@pytest.fixture(scope="module")
def loaded() -> dict[str, Ledger]:
    """The samples with every catalogue column (those they lack empty), so every branch of a query is built."""
    ledgers = fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016").ledgers
    return {kind: _with_every_column(ledger) for kind, ledger in ledgers.items()}


def _run(loaded: dict[str, Ledger], rules: list[Rule]) -> list[RuleStatus]:
    profile = load_profile("anhui-2016")
    return run_rules(loaded, rules, period=parse_period("2016"), region_code=profile.region_code).statuses


def test_every_override_changes_the_query_or_its_findings(loaded: dict[str, Ledger]) -> None:
    """Each parameter of main, overridden alone (``params=``), changes the SQL its rule runs on the samples, or
    (where the value is applied to the query's result) the rule's findings; grassroots_share is read only when
    no ratio schedule is given, so the rules run again without one."""
    base = [_shipped().rules[rid] for rid in dict.fromkeys(r for r, *_ in PAIRS)]
    changed = [_by_params(rid, key, new).rules[rid] for rid, key, _, new in PAIRS]
    effect: dict[str, bool] = dict.fromkeys(IDS, False)
    for ledgers in (loaded, {k: v for k, v in loaded.items() if k != "ratios"}):
        before = {s.id: s for s in _run(ledgers, base)}
        after = _run(ledgers, changed)
        assert {i: (s.status, s.reason_en) for i, s in zip(IDS, after, strict=True) if s.status != "ran"} == {}
        for i, (rid, *_), s in zip(IDS, PAIRS, after, strict=True):
            effect[i] |= (s.sql, s.findings) != (before[rid].sql, before[rid].findings)
    assert [i for i, (_, _, value, new) in zip(IDS, PAIRS, strict=True) if not effect[i] and value != new] == []


def test_a_default_parameter_overridden_by_cli_changes_the_findings(tmp_path: Path) -> None:
    """End to end: DISB-DISCLOSURE.min_days is 5 (a parameter of its flag rule); --param raises it
    and the samples' 公示 of 5 to 9 days become findings."""

    def count(*extra: str) -> int:
        out = tmp_path / f"o{len(extra)}"
        args = ["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(out)]
        assert main([*args, "--format", "json", "--fail-on", "never", "--quiet", *extra]) == 0
        doc = json.loads((out / "findings.json").read_text("utf-8"))
        [status] = [r for r in doc["rules"] if r["id"] == "DISB-DISCLOSURE"]
        assert status["params"]["min_days"] == (10 if extra else 5)
        return int(status["findings"])

    assert (count(), count("--param", "DISB-DISCLOSURE.min_days=10")) == (DISCLOSURE_DEFAULT, DISCLOSURE_TEN)


DISCLOSURE_DEFAULT = 3  # the answer key: DISB-DISCLOSURE
DISCLOSURE_TEN = 241  # every disclosed payment whose 公示 lasted under 10 days


# --- item 4: what a query returns is what its check type declares ------------------------------------

# Values a query returns that its check type does not declare as message fields (so a message cannot name
# them although every finding carries them). tests/engine/test_messages.py checks the other direction
# (every declared field is in the findings, with every column present; absent optional ones read as
# "(not provided)").
UNDECLARED: dict[str, list[str]] = {}  # dues_split_ratio's expected_*_ratio values are declared now


def test_queries_return_no_value_their_check_type_does_not_declare(loaded: dict[str, Ledger]) -> None:
    rules = apply_profile(_shipped(), load_profile("anhui-2016")).active()
    result = run_rules(loaded, rules, period=parse_period("2016"), region_code="341003")
    by_id = {r.id: r for r in rules}
    extra: dict[str, set[str]] = {}
    for f in result.findings.to_dict("records"):
        rule = by_id[f["rule"]]
        columns = catalogue()[rule.ledger].columns if rule.ledger in catalogue() else {}  # LEDGER-TOTAL: "*"
        # a flag's computed values and a lookup's reported names are declared by the rule itself
        reported = rule.check.get("report")
        computed = {*(rule.check.get("values") or {}), *(reported if isinstance(reported, dict) else {})}
        known = {*CHECK_TYPES[rule.check_type].fields, *MESSAGE_FIELDS, *columns, *computed}
        extra.setdefault(rule.check_type, set()).update(set(f["values"]) - known)
    assert {ctype: sorted(names) for ctype, names in extra.items() if names} == UNDECLARED
