"""Helpers for rule tests: build small dues ledgers as a spreadsheet would hold them (text cells,
canonical or Chinese headers), load them with ``fundaudit.load``, run ONE shipped rule and read back
what fired.

A clean row (``dues_row``) passes every dues rule: a valid USCC, a monthly 2016 period, base × 2%,
filed, paid and in the treasury on the 10th of the next month, the 60/0/15/8/10/5/2 split with the
remainder on the fee, settled five days after the treasury date. Tests change one field at a time.
The DataFrame row number of the n-th row (0-based) is n + 2 (header = row 1).
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd

import fundaudit
from fundaudit.engine import EngineResult, run_rules
from fundaudit.ledger import Ledger
from fundaudit.period import parse_period
from fundaudit.rules.model import Pack, Rule, load_pack

ROOT = Path(__file__).resolve().parents[2]
DUES_PACK = ROOT / "rules" / "dues.yaml"
LEDGER_PACK = ROOT / "rules" / "ledger.yaml"

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# canonical name -> a Chinese header real exports use (domain.md §6.1)
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


# --- rows -----------------------------------------------------------------------------------------


def month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def q(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def split(basis: Decimal, ratios: Mapping[str, str]) -> dict[str, Decimal]:
    """Each share = basis × ratio half-up; the fee (last share) takes the remainder."""
    out: dict[str, Decimal] = {}
    for name, r in ratios.items():
        out[name] = q(basis * Decimal(r)) if name != "fee" else Decimal(0)
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
    """A clean dues row as text cells (canonical headers); ``overrides`` replace cells by canonical name."""
    tid = tid or uscc(1)
    start = date(year, month, 1)
    end_m = month + months - 1
    end = month_end(year + (end_m - 1) // 12, (end_m - 1) % 12 + 1)
    nxt = end + timedelta(days=10)
    base_d = Decimal(str(base))
    payable = q(base_d * Decimal("0.02"))
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
    """One clean row per month."""
    return [dues_row(tid, m, year=year, **kw) for m in months]


def frame(rows: Sequence[Mapping[str, Any]], *, chinese: bool = False, drop: Iterable[str] = ()) -> pd.DataFrame:
    """A DataFrame of the rows, optionally with Chinese headers and without some columns."""
    df = pd.DataFrame(list(rows)).astype(object)
    df = df.drop(columns=[c for c in drop if c in df.columns])
    if chinese:
        df = df.rename(columns=CHINESE)
    return df


def load(kind: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame, **kw: Any) -> Ledger:
    """``fundaudit.load`` of rows (or a ready DataFrame)."""
    df = rows if isinstance(rows, pd.DataFrame) else frame(rows, **kw)
    return fundaudit.load(kind, df)


# --- rules ----------------------------------------------------------------------------------------


@functools.cache
def pack(path: Path = DUES_PACK) -> Pack:
    return load_pack(path)


def rule(rule_id: str, **params: Any) -> Rule:
    """A shipped rule (dues or ledger pack), with parameters replaced."""
    for p in (pack(DUES_PACK), pack(LEDGER_PACK)):
        for r in p.rules:
            if r.id == rule_id:
                unknown = set(params) - set(r.params)
                assert not unknown, f"{rule_id} has no parameters {unknown}"
                return dataclasses.replace(r, params={**r.params, **params})
    raise KeyError(rule_id)


def run(
    rule_id: str,
    ledgers: Mapping[str, Ledger | Sequence[Mapping[str, Any]]],
    *,
    period: str | None = "2016",
    run_region: str | None = None,
    expect_status: str = "ran",
    **params: Any,
) -> EngineResult:
    """Run one rule (``params`` replace its parameters; ``run_region`` is the run's region, as a
    profile gives it); ``ledgers`` values may be row lists or DataFrames (loaded as their kind)."""
    loaded = {k: v if isinstance(v, Ledger) else load(k, v) for k, v in ledgers.items()}
    res = run_rules(
        loaded, [rule(rule_id, **params)], period=parse_period(period) if period else None, region_code=run_region
    )
    (status,) = res.statuses
    assert status.status == expect_status, (status.status, status.reason_en, status.sql)
    return res


def fired(res: EngineResult) -> list[int]:
    """Row numbers of row findings (first ref of each), sorted."""
    return sorted(f[0]["row"] for f in res.findings["refs"])


def groups(res: EngineResult) -> list[tuple[int, ...]]:
    """Each finding's ref rows, sorted."""
    return sorted(tuple(sorted(r["row"] for r in f)) for f in res.findings["refs"])


def by_row(res: EngineResult) -> dict[int, dict[str, Any]]:
    """Findings keyed by their first ref row."""
    return {f["refs"][0]["row"]: f for f in res.findings.to_dict("records")}
