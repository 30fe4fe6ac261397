"""One harness for rule tests: build small ledgers as a spreadsheet holds them (text cells, canonical
or Chinese headers), load them with :func:`fundaudit.load`, take ONE rule from the shipped packs (or
from a user pack's YAML text), change its parameters through the public override path (the one
``--param`` and ``audit(params=...)`` use, so an invalid value raises the :class:`RuleError` a user
gets) and run it with :func:`fundaudit.engine.run_rules` for a period.

Vocabulary (one meaning per name):

- rows: ``dues_row`` / ``monthly`` (a clean dues declaration), ``payment`` (a disbursement),
  ``register_file`` (a hardship register entry), ``staff``/``employer``/``union`` rows are plain dicts;
  ``sheet`` turns rows into the DataFrame a spreadsheet gives (text cells, blank for missing).
- identifiers: ``uscc``, ``legacy15`` (taxpayer IDs), ``resident_id`` (GB 11643, stdnum's check).
- running: ``run`` (a shipped rule), ``run_yaml`` (a user pack's rule); both return an
  :class:`Outcome` with the findings frame and the rule's status, read back as ``rows``, ``groups``,
  ``refs``, ``by_row``, ``values``.

The DataFrame row number of the n-th record (0-based) is n + 2 (the header is row 1).
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from stdnum.cn import ric

import fundaudit
from fundaudit.engine import RuleStatus, run_rules
from fundaudit.ledger import Ledger
from fundaudit.period import parse_period
from fundaudit.rules.model import Pack, Rule, RuleSet, apply_params, parse_pack
from fundaudit.rules.shipped import shipped_packs

ROOT = Path(__file__).resolve().parents[2]
REGION = "341003"  # the samples' region (宣城), the profile's region_code in aid tests

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# canonical dues column -> a Chinese header real exports use (domain.md §6.1)
CHINESE = {
    "taxpayer_id": "社会信用代码",
    "taxpayer_name": "纳税人名称",
    "fund_type": "征收品目",
    "period_start": "税款所属期起",
    "period_end": "税款所属期止",
    "wage_base": "计税依据",
    "headcount": "职工人数",
    "rate": "税率",
    "amount_payable": "应纳税额",
    "relief_amount": "减免税额",
    "amount_paid": "实缴金额",
    "filing_date": "申报日期",
    "payment_date": "缴款日期",
    "treasury_date": "入库日期",
    "voucher_no": "电子税票号码",
    "correction_type": "更正类型",
    "settlement_flag": "结算标记",
    "settlement_date": "结算日期",
    "share_grassroots_ratio": "基层工会比例",
    "share_grassroots_amount": "基层工会金额",
    "share_prep_fund_ratio": "筹备金比例",
    "share_prep_fund_amount": "筹备金金额",
    "share_county_ratio": "县级工会比例",
    "share_county_amount": "县级工会金额",
    "share_city_ratio": "市级工会比例",
    "share_city_amount": "市级工会金额",
    "share_province_ratio": "省总工会比例",
    "share_province_amount": "省总工会金额",
    "share_acftu_ratio": "全总比例",
    "share_acftu_amount": "全总金额",
    "fee_ratio": "代收手续费比例",
    "fee_amount": "代收手续费金额",
    "sme_type": "小微类型",
    "refund_due": "应返拨金额",
    "refund_paid": "实返拨金额",
    "refund_date": "返拨日期",
}

UNION_RATIOS = {"grassroots": "0.60", "prep_fund": "0", "county": "0.15", "city": "0.08", "province": "0.10",
                "acftu": "0.05", "fee": "0.02"}
PREP_RATIOS = {**UNION_RATIOS, "grassroots": "0", "prep_fund": "0.60"}
CENT = Decimal("0.01")


# --- identifiers ----------------------------------------------------------------------------------


def org_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    c = 11 - sum(ORG_ALPHABET.index(ch) * w for ch, w in zip(body8, ORG_WEIGHTS, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check(body17: str) -> str:
    """GB 32100 check character of a 17-character body."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc(n: int, *, org_ok: bool = True, check_ok: bool = True) -> str:
    """A USCC (``91`` + 341003 + organisation code) numbered ``n``; optionally with a wrong embedded
    organisation-code check or a wrong final check character."""
    body8 = f"MA{n:06d}"
    oc = org_check(body8)
    if not org_ok:
        oc = "0" if oc != "0" else "1"
    body17 = "91341003" + body8 + oc
    check = uscc_check(body17)
    if not check_ok:
        check = USCC_ALPHABET[(USCC_ALPHABET.index(check) + 1) % 31]
    return body17 + check


def legacy15(n: int, *, ok: bool = True) -> str:
    """A 15-character legacy taxpayer ID: region 341003 + a 9-character organisation code."""
    body8 = f"{n:08d}"
    oc = org_check(body8)
    if not ok:
        oc = "0" if oc != "0" else "1"
    return "341003" + body8 + oc


def resident_id(region: str, birth: str, seq: str, *, check: str | None = None) -> str:
    """A resident ID with its GB 11643 check character from python-stdnum (the oracle), or ``check``."""
    body = f"{region}{birth}{seq}"
    assert len(body) == 17
    return body + (check if check is not None else ric.calc_check_digit(body + "0"))


# --- dues rows ------------------------------------------------------------------------------------


def month_end(y: int, m: int) -> date:
    """The last day of month ``m`` of year ``y``."""
    return date(y, m, calendar.monthrange(y, m)[1])


def half_up(x: Decimal) -> Decimal:
    """``x`` to the fen, half-up (as the tax bureau rounds)."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def split(basis: Decimal, ratios: Mapping[str, str]) -> dict[str, Decimal]:
    """Each share = basis × ratio half-up; the fee (last share) takes the remainder."""
    out: dict[str, Decimal] = {}
    for name, r in ratios.items():
        out[name] = half_up(basis * Decimal(r)) if name != "fee" else Decimal(0)
    out["fee"] = basis - sum(out.values(), Decimal(0))
    return out


_voucher = iter(range(10**6))


def dues_row(
    tid: str = "",
    month: int = 1,
    *,
    year: int = 2016,
    months: int = 1,
    base: str | Decimal = "100000.00",
    headcount: int | str = 20,
    fund: str = "工会经费",
    paid: str | Decimal | None = None,
    name: str = "",
    **overrides: Any,
) -> dict[str, Any]:
    """A clean dues row as text cells (canonical headers); ``overrides`` replace cells by canonical name.

    It passes every dues rule: a valid USCC, a monthly 2016 period, base × 2%, filed, paid and in the
    treasury on the 10th of the next month, the 60/0/15/8/10/5/2 split with the remainder on the fee,
    settled five days after the treasury date. Tests change one field at a time."""
    tid = tid or uscc(1)
    start = date(year, month, 1)
    end_m = month + months - 1
    end = month_end(year + (end_m - 1) // 12, (end_m - 1) % 12 + 1)
    nxt = end + timedelta(days=10)
    base_d = Decimal(str(base))
    payable = half_up(base_d * Decimal("0.02"))
    paid_d = Decimal(str(paid)) if paid is not None else payable
    ratios = UNION_RATIOS if fund == "工会经费" else PREP_RATIOS
    shares = split(paid_d, ratios)
    row: dict[str, Any] = {
        "taxpayer_id": tid,
        "taxpayer_name": name or f"单位{tid[-4:]}",
        "fund_type": fund,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "wage_base": f"{base_d:.2f}",
        "headcount": str(headcount),
        "rate": "0.02",
        "amount_payable": f"{payable:.2f}",
        "relief_amount": "0.00",
        "amount_paid": f"{paid_d:.2f}",
        "filing_date": nxt.isoformat(),
        "payment_date": nxt.isoformat(),
        "treasury_date": nxt.isoformat(),
        "voucher_no": f"3341031{next(_voucher):08d}",
        "correction_type": "",
        "settlement_flag": "N",
        "settlement_date": (nxt + timedelta(days=5)).isoformat(),
        "custody_flag": "",
        "sme_type": "",
        "refund_due": "0.00",
        "refund_paid": "0.00",
        "refund_date": "",
    }
    for share, r in ratios.items():
        stem = "fee" if share == "fee" else f"share_{share}"
        row[f"{stem}_ratio"] = r
        row[f"{stem}_amount"] = f"{shares[share]:.2f}"
    unknown = set(overrides) - set(row)
    assert not unknown, f"unknown dues columns {unknown}"
    row.update(overrides)
    return row


def monthly(tid: str, months: Iterable[int], *, year: int = 2016, **kw: Any) -> list[dict[str, Any]]:
    """One clean dues row per month."""
    return [dues_row(tid, m, year=year, **kw) for m in months]


Case = tuple[str, dict[str, Any], bool]  # (what the case is, dues_row overrides, whether it fires)


def table_rows(cases: Sequence[Case], month: int = 3) -> list[dict[str, Any]]:
    """One clean dues row per case (its own taxpayer), the case's overrides applied."""
    return [dues_row(uscc(100 + i), month, **over) for i, (_, over, _) in enumerate(cases)]


def expected_rows(cases: Sequence[Case]) -> list[int]:
    """The row numbers of the cases that fire."""
    return [i + 2 for i, (_, _, fires) in enumerate(cases) if fires]


MIN_WAGE = [{"region_code": "341003", "effective_from": "2015-11-01", "monthly": "1150.00"}]
RATIOS = [
    {"effective_from": "2015-01-01", "effective_to": "2017-12-31", "fund_type": fund, "share_grassroots_ratio": gr,
     "share_prep_fund_ratio": prep, "share_county_ratio": "0.15", "share_city_ratio": "0.08",
     "share_province_ratio": "0.10", "share_acftu_ratio": "0.05", "fee_ratio": "0.02"}
    for fund, gr, prep in (("工会经费", "0.60", "0"), ("工会筹备金", "0", "0.60"))
]


# --- hardship aid rows ----------------------------------------------------------------------------

# seven people with valid resident IDs (regions of 黄山/宣城, born 1965-1981)
A = resident_id("341003", "19800101", "001")
B = resident_id("341003", "19810202", "002")
C = resident_id("341004", "19700303", "003")
D = resident_id("341021", "19750404", "004")
E = resident_id("341022", "19650505", "005")
F = resident_id("341023", "19660606", "006")
G = resident_id("341024", "19670707", "007")


def payment(who: str = A, **kw: Any) -> dict[str, Any]:
    """A clean payment: bank-paid 生活救助, disclosed and approved in time, by another person."""
    row = {
        "recipient_name": "张三",
        "recipient_id_no": who,
        "program": "生活救助",
        "aid_category": "深度困难",
        "amount": "1,000.00",
        "payment_method": "银行代发",
        "bank_account": "6222020000000001",
        "payment_date": "2016-05-10",
        "disclosure_start": "2016-05-01",
        "disclosure_end": "2016-05-05",
        "approver": "汪主席",
        "approval_date": "2016-05-08",
        "handler": "程经办",
        "grassroots_union": "甲工会",
    }
    row.update(kw)
    return row


def register_file(who: str, file_no: str, **kw: Any) -> dict[str, Any]:
    """A bare register file (identity, category, status), active since 2014: what payments match on."""
    row = {
        "file_no": file_no,
        "name": "某某",
        "id_no": who,
        "category": "深度困难",
        "filed_date": "2014-01-01",
        "status": "在档",
    }
    row.update(kw)
    return row


def hardship_file(who: str = A, **kw: Any) -> dict[str, Any]:
    """A complete clean register file: disclosed before filing, reviewed in 2016, figures within 深度困难."""
    row = {
        "file_no": "F1",
        "name": "某某",
        "id_no": who,
        "category": "深度困难",
        "household_size": "2",
        "household_income_annual": "12000",
        "hardship_spending": "2000",
        "filed_date": "2015-03-10",
        "reviewed_date": "2016-03-10",
        "status": "在档",
        "disclosure_date": "2015-03-01",
        "address": "黄山区甘棠镇1号",
        "phone": "13800000001",
        "bank_account": "6222020000000001",
    }
    row.update(kw)
    return row


# --- sheets ---------------------------------------------------------------------------------------


def sheet(rows: Sequence[Mapping[str, Any]], *, chinese: bool = False, drop: Iterable[str] = ()) -> pd.DataFrame:
    """Rows as a spreadsheet gives them: text cells (blank for missing or None), columns in
    first-seen order, optionally with Chinese dues headers and without some columns."""
    columns = [c for c in dict.fromkeys(k for r in rows for k in r) if c not in set(drop)]
    df = pd.DataFrame([{c: "" if r.get(c) is None else str(r[c]) for c in columns} for r in rows], columns=columns)
    return df.rename(columns=CHINESE) if chinese else df


def load(kind: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame | Ledger) -> Ledger:
    """``fundaudit.load`` of rows (or a ready DataFrame) as ledger ``kind``."""
    if isinstance(rows, Ledger):
        return rows
    return fundaudit.load(kind, rows if isinstance(rows, pd.DataFrame) else sheet(rows))


# --- rules ----------------------------------------------------------------------------------------


@functools.cache
def shipped() -> RuleSet:
    """Every shipped pack, merged as an audit merges them."""
    return RuleSet.build(shipped_packs())


def shipped_pack(name: str) -> Pack:
    """The shipped pack ``rules/<name>.yaml`` (``dues``, ``disbursements``, ``register``, ``cross``, ``ledger``)."""
    (found,) = [p for p in shipped().packs if Path(p.source).stem == name]
    return found


def rule(rule_id: str, params: Mapping[str, Any] | None = None, *, ruleset: RuleSet | None = None) -> Rule:
    """Rule ``rule_id`` of ``ruleset`` (default: the shipped packs) with ``params`` applied through
    :func:`apply_params`, exactly as ``--param RULE.KEY=VALUE`` does (invalid values raise RuleError)."""
    rs = ruleset or shipped()
    if params:
        rs = apply_params(rs, {rule_id: dict(params)})
    return rs.rules[rule_id]


@dataclass(frozen=True)
class Outcome:
    """One rule's run: its findings frame and its status."""

    findings: pd.DataFrame
    status: RuleStatus

    def _own(self, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A finding's refs into the rule's own ledger (every ref for a rule over all ledgers): the rows the
        suspicion is about, without the rows of other inputs it cites (:attr:`cited`)."""
        ledger = self.status.ledger
        return [r for r in refs if ledger == "*" or r["kind"] == ledger]

    @property
    def rows(self) -> list[int]:
        """The first ref row of each finding, sorted."""
        return sorted(int(self._own(refs)[0]["row"]) for refs in self.findings["refs"])

    @property
    def groups(self) -> list[tuple[int, ...]]:
        """Each finding's ref rows in the rule's ledger, sorted."""
        return sorted(tuple(sorted(int(r["row"]) for r in self._own(refs))) for refs in self.findings["refs"])

    @property
    def refs(self) -> list[tuple[str, tuple[tuple[str, int], ...]]]:
        """(severity, sorted refs into the rule's ledger as (kind, row)) per finding, sorted."""
        return sorted(
            (f["severity"], tuple(sorted((r["kind"], int(r["row"])) for r in self._own(f["refs"]))))
            for f in self.findings.to_dict("records")
        )

    @property
    def cited(self) -> dict[int, list[tuple[str, str, int]]]:
        """The rows of other inputs each finding cites, as (role, kind, row), keyed by its first own row."""
        out: dict[int, list[tuple[str, str, int]]] = {}
        for refs in self.findings["refs"]:
            own = self._own(refs)
            out[int(own[0]["row"])] = [(r["role"], r["kind"], int(r["row"])) for r in refs if r not in own]
        return out

    @property
    def ref_rows(self) -> list[list[int]]:
        """The row numbers of each finding, in the order of :attr:`refs`."""
        return rows_of(self.refs)

    @property
    def by_row(self) -> dict[int, dict[str, Any]]:
        """Findings keyed by their first ref row in the rule's ledger."""
        return {int(self._own(f["refs"])[0]["row"]): f for f in self.findings.to_dict("records")}

    @property
    def values(self) -> list[dict[str, Any]]:
        """The finding values (masked as in reports), in finding order."""
        return list(self.findings["values"])

    @property
    def messages(self) -> list[str]:
        """The findings' messages, in finding order."""
        return list(self.findings["message"])


def rows_of(refs: Sequence[tuple[str, tuple[tuple[str, int], ...]]]) -> list[list[int]]:
    """Just the row numbers of each finding of an :attr:`Outcome.refs` list (single-table tests)."""
    return [[row for _kind, row in found] for _sev, found in refs]


Ledgers = Mapping[str, Sequence[Mapping[str, Any]] | pd.DataFrame | Ledger]


def execute(
    chosen: Rule,
    ledgers: Ledgers,
    *,
    period: str | None = "2016",
    region: str | None = REGION,
    expect_status: str = "ran",
    masked: bool = True,
) -> Outcome:
    """Run one resolved rule on ``ledgers`` (rows, DataFrames or Ledgers by kind) for ``period``;
    asserts its status is ``expect_status``."""
    loaded = {kind: load(kind, rows) for kind, rows in ledgers.items()}
    res = run_rules(loaded, [chosen], period=parse_period(period) if period else None, region_code=region,
                    masked=masked)
    (status,) = res.statuses
    assert status.status == expect_status, (status.status, status.reason_en, status.sql)
    return Outcome(res.findings, status)


def run(rule_id: str, ledgers: Ledgers, *, params: Mapping[str, Any] | None = None, **kw: Any) -> Outcome:
    """Run shipped rule ``rule_id`` (``params`` applied as ``--param`` would) on ``ledgers``; ``kw``
    as :func:`execute` (period, region, expect_status, masked)."""
    return execute(rule(rule_id, params), ledgers, **kw)


def user_pack(text: str, *, source: str = "t.yaml") -> RuleSet:
    """A user pack's YAML text, validated and merged over the shipped packs as an audit does."""
    return RuleSet.build([*shipped_packs(), parse_pack(text, source=source)])


def run_yaml(text: str, ledgers: Ledgers, *, rule_id: str | None = None,
             params: Mapping[str, Any] | None = None, **kw: Any) -> Outcome:
    """Run a rule of a user pack (the pack's only new rule unless ``rule_id`` is given)."""
    rs = user_pack(text)
    rid = rule_id or rs.packs[-1].rules[0].id
    return execute(rule(rid, params, ruleset=rs), ledgers, **kw)
