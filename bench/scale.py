"""Deterministic, vectorised generator of realistic ledgers at any size, for the audit benchmark.

A fictional district (黄山区, 341003), years 2015-2016: an employer roster with valid GB 32100 codes, one union
per employer (a tenth have none and pay 建会筹备金), monthly dues rows whose bases, rates, splits, fees and dates
agree with the shipped ``anhui-2016`` profile; a hardship register with valid GB 11643 IDs, households that pass
the eligibility test, yearly reviews and disclosures; four bank payments a year per registered worker within
the caps (five with ``workers=``: a third living-aid payment in November), disclosed and approved in order. A
small, fixed share of rows is planted wrong (wrong rate, late filing, cash payment, unfiled recipient, shared
account, over-cap amount) so that the findings path is exercised at scale; the rest is clean, so what the
benchmark times is the rules, not a flood of findings.

Every column is written as text, as exports are, under canonical headers, to parquet. Any size is generated in
bounded memory: the per-entity random draws are made once up front (a few int arrays per employer and per
worker), every other value is a function of its row's global index (planted anomalies included), and each
ledger is built and written one chunk of rows at a time, so the data are the same whatever the chunk size. A
ledger of more than ``DIRECTORY_ABOVE`` rows is written as a directory ``KIND/part-NNNNN.parquet`` (one part per
chunk); smaller ones stay one file ``KIND.parquet``, which ``fundaudit.load`` reads (it does not take a
directory; ``fundaudit audit DIR`` does, detecting each part's kind). A ``manifest.json`` beside the data
records the sizes, seed and generator version, and what is already there is not generated again.

    python -m bench.scale province [OUT_DIR]   # 50M dues + 5M disbursements + 1M register (bench/data/province)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
RIC_CHECK = np.array(list("10X98765432"))
USCC_ALPHA = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰春梅文斌海燕辉鹏飞云")
TOWNS = ["甘棠镇", "仙源镇", "汤口镇", "谭家桥镇", "太平湖镇", "焦村镇", "耿城镇", "三口镇", "乌石镇", "新明乡"]
PAYMENTS_PER_WORKER = 4
PLANT_EVERY = 997  # one row in about a thousand carries a planted anomaly
SHARED_OFFSET = PAYMENTS_PER_WORKER * 3  # a shared-account row takes the account of the payment this far before it

#: A worker's payments in 2016, in order: programme, amount in fen, day (a worker's own offset of 0-4 days is
#: added). The first four are every worker's; the fifth (a third living aid, within the 12 × 低保 yearly cap) only
#: when ``workers=`` asks for five payments a worker.
SCHEDULE: tuple[tuple[str, int, str], ...] = (
    ("送温暖", 100_000, "2016-01-20"), ("生活救助", 100_000, "2016-03-15"), ("医疗救助", 200_000, "2016-05-16"),
    ("生活救助", 100_000, "2016-09-12"), ("生活救助", 100_000, "2016-11-14"),
)

GENERATOR_VERSION = 2  # bump whenever what a (sizes, seed) produces changes: the manifest then regenerates
CHUNK_ROWS = 1 << 20  # rows built in memory at once (and rows per part file of a directory)
ROW_GROUP_ROWS = 1 << 18  # parquet row groups: DuckDB and Spark split a scan by them
DIRECTORY_ABOVE = 2_000_000  # a ledger with more rows is a directory of part files
PROVINCE = {"dues": 50_000_000, "disbursements": 5_000_000, "workers": 1_000_000}
DATA = Path(__file__).parent / "data"
KINDS = ("dues", "disbursements", "register", "employers", "unions", "budget", "staff")
TEXT = pa.large_string()  # every column's type (what pandas' ``str`` columns are written as)
_DUES_RATIOS = {"grassroots": 60, "prep_fund": 0, "county": 15, "city": 8, "province": 10, "acftu": 5, "fee": 2}


# --- text from integers, vectorised in Arrow ----------------------------------------------------------------

def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers, as an (n, width) int matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def _text(values: np.ndarray) -> pa.Array:
    """Decimal text of integers."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), TEXT)


def _zfill(values: np.ndarray, width: int) -> pa.Array:
    """Decimal text of non-negative integers, zero-padded to ``width`` (longer numbers are kept whole)."""
    return pc.utf8_lpad(_text(values), width=width, padding="0")


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of text arrays and constants."""
    return pc.binary_join_element_wise(*(pa.scalar(p, TEXT) if isinstance(p, str) else p for p in parts),
                                       pa.scalar("", TEXT))


def _pick(choices: list[str] | np.ndarray, index: np.ndarray) -> pa.Array:
    """``choices[index]`` as text."""
    return pa.array(list(choices), TEXT).take(pa.array(np.asarray(index, dtype=np.int64)))


def _const(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, TEXT), n)


def _day(s: str) -> int:
    return int((np.datetime64(s) - np.datetime64("1970-01-01")).astype(np.int64))


def _dates(days: np.ndarray) -> pa.Array:
    """ISO dates (YYYY-MM-DD) of day numbers since 1970-01-01: each distinct day formatted once."""
    days = np.asarray(days, dtype=np.int64)
    if not len(days):
        return pa.array([], TEXT)
    lo, hi = int(days.min()), int(days.max())
    table = pa.array(np.datetime_as_string(np.arange(lo, hi + 1).astype("datetime64[D]")), TEXT)
    return table.take(pa.array(days - lo))


def _yuan(fen: np.ndarray) -> pa.Array:
    """Money text with two decimals from integer fen (non-negative)."""
    return _join(_text(fen // 100), ".", _zfill(fen % 100, 2))


# --- identifiers ----------------------------------------------------------------------------------------------

def resident_ids(birth_days: np.ndarray, seq: np.ndarray) -> pa.Array:
    """Valid GB 11643 IDs for district 341003: birth dates (days since 1970-01-01) and sequence numbers 0-999."""
    d = np.asarray(birth_days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    ymd = ((month.astype("datetime64[Y]").astype(np.int64) + 1970) * 10000
           + (month.astype(np.int64) % 12 + 1) * 100 + (d - month).astype(np.int64) + 1)
    n = len(ymd)
    body = np.concatenate([_digits(np.full(n, 341003), 6), _digits(ymd, 8), _digits(seq, 3)], axis=1)
    check = RIC_CHECK[(body @ RIC_WEIGHTS) % 11]
    return _join("341003", _zfill(ymd, 8), _zfill(seq, 3), pa.array(check, TEXT))


def taxpayer_ids(idx: np.ndarray) -> pa.Array:
    """Valid GB 32100 codes of employers ``idx``: '91' + '341003' + an 8-digit organisation code with its
    GB 11714 check + check; distinct while ``idx`` < 2,432,432 (the 8-digit bodies run out)."""
    n = len(idx)
    org8 = 10_000_000 + np.asarray(idx, dtype=np.int64) * 37  # distinct 8-digit bodies
    d8 = _digits(org8, 8)
    c = 11 - (d8 @ ORG_WEIGHTS) % 11
    org_check = np.where(c == 11, 0, c)  # 10 is written 'X'
    org_char = np.where(org_check == 10, "X", org_check.astype(str))
    # the 17-character body as indexes into the GB 32100 alphabet
    idx_x = int(np.flatnonzero(USCC_ALPHA == "X")[0])
    body = np.concatenate(
        [
            np.tile(np.array([9, 1, 3, 4, 1, 0, 0, 3]), (n, 1)),
            d8,
            np.where(org_check == 10, idx_x, org_check)[:, None],
        ],
        axis=1,
    )
    check = USCC_ALPHA[(31 - (body @ USCC_WEIGHTS) % 31) % 31]
    return _join("91341003", _zfill(org8, 8), pa.array(org_char, TEXT), pa.array(check, TEXT))


# --- the plan: sizes and every random draw, made once ----------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """Sizes of one generated set and its per-entity random draws; everything else follows from row indexes."""

    dues: int
    disbursements: int
    workers: int | None
    seed: int
    n_emp: int
    n_reg: int
    per_worker: int
    n_disb: int
    headcount: np.ndarray = field(repr=False)
    wage_units: np.ndarray = field(repr=False)
    surname: np.ndarray = field(repr=False)
    given1: np.ndarray = field(repr=False)
    given2: np.ndarray = field(repr=False)
    filed_offset: np.ndarray = field(repr=False)

    @property
    def rows(self) -> dict[str, int]:
        """Rows of each ledger."""
        n_unions = self.n_emp - (self.n_emp + 9) // 10
        return {"dues": self.n_emp * 24, "disbursements": self.n_disb, "register": self.n_reg,
                "employers": self.n_emp, "unions": n_unions, "budget": len(_budget_programs(self)), "staff": 2}


def make_plan(*, dues: int, disbursements: int, workers: int | None = None, seed: int = 2016) -> Plan:
    """Sizes and random draws. ``dues`` rows are 24 monthly rows per employer (2015-2016); the register has
    ``workers`` files (default: one for every ``PAYMENTS_PER_WORKER`` disbursements), each paid
    ceil(disbursements / workers) times (at most five)."""
    rng = np.random.default_rng(seed)
    n_emp = max(dues // 24, 10)
    headcount = rng.integers(5, 300, n_emp)
    wage_units = rng.integers(60, 160, n_emp)  # 3,000-8,000 yuan a month in steps of 50 yuan
    if workers is None:
        n_reg, per_worker = max(disbursements // PAYMENTS_PER_WORKER, 10), PAYMENTS_PER_WORKER
    else:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        n_reg, per_worker = workers, max(-(-disbursements // workers), 1)
        if per_worker > len(SCHEDULE):
            raise ValueError(f"{disbursements} payments over {workers} workers is more than {len(SCHEDULE)} each")
    surname = rng.integers(0, len(SURNAMES), n_reg)
    given1 = rng.integers(0, len(GIVEN), n_reg)
    given2 = rng.integers(0, len(GIVEN), n_reg)
    filed_offset = rng.integers(0, 700, n_reg)
    return Plan(dues, disbursements, workers, seed, n_emp, n_reg, per_worker, min(disbursements, n_reg * per_worker),
                headcount, wage_units, surname, given1, given2, filed_offset)


# --- one chunk of each ledger, from global row indexes ----------------------------------------------------------

def _employer_names(idx: np.ndarray) -> pa.Array:
    return _join(_pick(TOWNS, idx % len(TOWNS)), "第", _zfill(idx, 6), "号企业有限公司")


def _union_codes(idx: np.ndarray) -> pa.Array:
    return _join("3410030", _zfill(idx, 6))


def _union_accounts(idx: np.ndarray) -> pa.Array:
    return _join("2000", _zfill(idx * 7919 % 10**12, 12))


def _worker_accounts(idx: np.ndarray) -> pa.Array:
    return _join("6222", _zfill(idx * 104729 % 10**15, 15))


def employers_chunk(plan: Plan, start: int, stop: int) -> pa.Table:
    """Employers ``start:stop``."""
    idx = np.arange(start, stop, dtype=np.int64)
    return pa.table({"taxpayer_id": taxpayer_ids(idx), "name": _employer_names(idx),
                     "headcount": _text(plan.headcount[idx]), "status": _const("存续", len(idx)),
                     "period": _const("2016", len(idx))})


def unions_chunk(plan: Plan, start: int, stop: int) -> pa.Table:
    """The unions of employers ``start:stop`` (every employer but each tenth has one)."""
    idx = np.arange(start, stop, dtype=np.int64)
    idx = idx[idx % 10 != 0]
    name = _join(_employer_names(idx), "工会")
    return pa.table({
        "union_code": _union_codes(idx), "union_name": name, "employer_taxpayer_id": taxpayer_ids(idx),
        "founded_date": _dates(_day("2005-01-01") + (idx % 3000)), "dissolved_date": _const("", len(idx)),
        "bank_account": _union_accounts(idx), "account_name": name,
    })


def dues_chunk(plan: Plan, start: int, stop: int) -> pa.Table:
    """Dues rows ``start:stop``: row r is month r % 24 (from 2015-01) of employer r // 24."""
    r = np.arange(start, stop, dtype=np.int64)
    e_lo = start // 24
    emp = np.arange(e_lo, (stop - 1) // 24 + 1, dtype=np.int64)
    # what is the employer's: built once per employer, then repeated over its months
    union_fund = emp % 10 != 0
    base_fen = plan.headcount[emp] * plan.wage_units[emp] * 50 * 100  # multiples of 50 yuan: 2% splits are exact
    paid = base_fen // 50
    paid_text = _yuan(paid)
    per_emp: dict[str, pa.Array] = {
        "taxpayer_id": taxpayer_ids(emp), "taxpayer_name": _employer_names(emp),
        "fund_type": _pick(["工会筹备金", "工会经费"], union_fund),
        "wage_base": _yuan(base_fen), "headcount": _text(plan.headcount[emp]),
        "amount_payable": paid_text, "amount_paid": paid_text,
        "union_code": pc.if_else(pa.array(union_fund), _union_codes(emp), ""),
        "grassroots_account": pc.if_else(pa.array(union_fund), _union_accounts(emp), ""),
    }
    shares: list[str] = []
    for share, pct in _DUES_RATIOS.items():
        if share == "grassroots":
            ratio = np.where(union_fund, 60, 0)
        elif share == "prep_fund":
            ratio = np.where(union_fund, 0, 60)
        else:
            ratio = np.full(len(emp), pct)
        prefix = "fee" if share == "fee" else f"share_{share}"
        per_emp[f"{prefix}_ratio"] = _pick([f"{p / 100:.2f}" for p in range(101)], ratio)
        per_emp[f"{prefix}_amount"] = _yuan(paid * ratio // 100)
        shares += [f"{prefix}_ratio", f"{prefix}_amount"]
    rep = pa.table(per_emp).take(pa.array(r // 24 - e_lo))

    month = (np.datetime64("2015-01", "M") + np.arange(25)).astype("datetime64[D]").astype(np.int64)
    m = r % 24
    pstart, pend = month[m], month[m + 1] - 1
    filed = pend + 5 + r % 6
    filed[r % PLANT_EVERY == 11] += 30  # DUES-LATE
    treasury = filed + 1
    n = len(r)
    cols: dict[str, pa.Array] = {
        "taxpayer_id": rep["taxpayer_id"], "taxpayer_name": rep["taxpayer_name"],
        "levy_item": _const("工会经费", n), "fund_type": rep["fund_type"],
        "period_start": _dates(pstart), "period_end": _dates(pend),
        "wage_base": rep["wage_base"], "headcount": rep["headcount"],
        "rate": _pick(["0.02", "0.015"], r % PLANT_EVERY == 5),  # DUES-RATE / DUES-CALC
        "amount_payable": rep["amount_payable"], "relief_amount": _const("0.00", n), "amount_paid": rep["amount_paid"],
        "filing_date": _dates(filed), "payment_date": _dates(filed), "treasury_date": _dates(treasury),
        "voucher_no": _join("3341", _zfill(r, 14)),
        "union_code": rep["union_code"], "grassroots_account": rep["grassroots_account"],
        "settlement_date": _dates(treasury + 10),
    }
    cols.update({name: rep[name] for name in shares})
    return pa.table(cols)


def register_chunk(plan: Plan, start: int, stop: int) -> pa.Table:
    """Register files ``start:stop``."""
    i = np.arange(start, stop, dtype=np.int64)
    n = len(i)
    # distinct IDs: worker i is born on day i // 1000 of a 35-year span and has sequence number i % 1000
    ids = resident_ids(_day("1960-01-01") + (i // 1000) % (35 * 365), i % 1000)
    person = _join(_pick(SURNAMES, plan.surname[i]), _pick(GIVEN, plan.given1[i]), _pick(GIVEN, plan.given2[i]))
    deep = i % 3 == 0
    filed_day = _day("2014-01-01") + plan.filed_offset[i]
    employer = _employer_names(i % plan.n_emp)
    return pa.table({
        "file_no": _join("HSQ", _zfill(i, 8)), "name": person, "id_no": ids,
        "gender": _pick(["男", "女"], i % 2), "employer": employer, "grassroots_union": _join(employer, "工会"),
        "category": _pick(["相对困难", "深度困难"], deep), "cause_main": _const("因病", n),
        "household_size": _const("3", n), "household_income_annual": _pick(["28800.00", "14400.00"], deep),
        "hardship_spending": _const("0.00", n),
        "filed_date": _dates(filed_day), "reviewed_date": _dates(_day("2016-06-01") + (i % 180)),
        "exit_date": _const("", n), "exit_reason": _const("", n), "status": _const("在档", n),
        "disclosure_date": _dates(filed_day - 7), "bank_account": _worker_accounts(i),
        "bank_name": _const("徽商银行黄山区支行", n), "phone": _join("139", _zfill(i, 8)),
        "address": _join(_pick(TOWNS, i % len(TOWNS)), "幸福路", _text(i), "号"),
        "is_member": _const("是", n),
    })


def _payments(plan: Plan, i: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Worker, place in the worker's schedule, and amount (fen, planted over-cap amounts included) of
    payments ``i``."""
    w, k = i // plan.per_worker, i % plan.per_worker
    amount = np.array([s[1] for s in SCHEDULE], dtype=np.int64)[k]
    amount[i % PLANT_EVERY == 7] = 300_000  # DISB-OVER-CAP for 送温暖 (cap 2,000 or 1,500)
    return w, k, amount


def disbursements_chunk(plan: Plan, start: int, stop: int) -> pa.Table:
    """Payments ``start:stop``: payment i is the (i % per_worker)-th of worker i // per_worker."""
    i = np.arange(start, stop, dtype=np.int64)
    n = len(i)
    w, k, amount = _payments(plan, i)
    w_lo = int(w[0]) if n else 0
    worker = register_chunk(plan, w_lo, int(w[-1]) + 1 if n else 0).take(pa.array(w - w_lo))
    pay_day = np.array([_day(s[2]) for s in SCHEDULE])[k] + (w % 5)
    plant = i % PLANT_EVERY
    unfiled = plant == 13  # DISB-NOT-FILED: people born after every registered worker, own accounts
    j = i[unfiled] // PLANT_EVERY  # how many unfiled payments come before
    id_col = pc.replace_with_mask(worker["id_no"], pa.array(unfiled),
                                  resident_ids(_day("1996-01-01") + j // 1000, j % 1000))
    account = pc.replace_with_mask(worker["bank_account"], pa.array(unfiled), _join("6217", _zfill(j, 15)))
    shared = plant == 17  # DISB-ACCOUNT-SHARED: the account of an earlier payment (another worker's, not planted)
    account = pc.replace_with_mask(account, pa.array(shared),
                                   _worker_accounts(np.maximum(i[shared] - SHARED_OFFSET, 0) // plan.per_worker))
    return pa.table({
        "payment_id": _join("P", _zfill(i, 9)), "recipient_name": worker["name"], "recipient_id_no": id_col,
        "file_no": worker["file_no"], "employer": worker["employer"], "grassroots_union": worker["grassroots_union"],
        "program": _pick([s[0] for s in SCHEDULE], k), "aid_category": worker["category"], "amount": _yuan(amount),
        "payment_method": _pick(["打卡", "现金"], plant == 3),  # DISB-CASH
        "bank_account": account, "bank_name": _const("徽商银行黄山区支行", n), "account_holder": worker["name"],
        "payment_date": _dates(pay_day), "disclosure_start": _dates(pay_day - 14),
        "disclosure_end": _dates(pay_day - 7), "approver": _const("审批人甲", n), "approval_date": _dates(pay_day - 3),
        "handler": _const("经办人乙", n), "fund_source": _const("工会经费", n),
    })


def _budget_programs(plan: Plan) -> list[str]:
    return sorted({s[0] for s in SCHEDULE[: plan.per_worker]})


def budget_table(plan: Plan) -> pa.Table:
    """Allocations per programme a quarter above what was paid (sums over every payment's amount, no text)."""
    programs = _budget_programs(plan)
    spent = np.zeros(len(programs), dtype=np.int64)
    code = np.array([programs.index(s[0]) for s in SCHEDULE[: plan.per_worker]])
    for start in range(0, plan.n_disb, CHUNK_ROWS):
        i = np.arange(start, min(start + CHUNK_ROWS, plan.n_disb), dtype=np.int64)
        _, k, amount = _payments(plan, i)
        spent += np.array([amount[code[k] == c].sum() for c in range(len(programs))], dtype=np.int64)
    return pa.table({"program": pa.array(programs, TEXT), "year": _const("2016", len(programs)),
                     "allocated": _yuan(spent * 5 // 4 // 100 * 100)})


def staff_table() -> pa.Table:
    """The two staff of the federation (fixed)."""
    return pa.table({
        "name": ["汪建华", "方丽萍"], "id_no": ["341002198202168978", "341003197602147481"], "role": ["主席", "财务"],
        "bank_account": ["6222021421771422539", "6226518349049367"], "phone": ["18227957754", "18002165855"],
        "address": ["黄山区太平湖镇平湖东路182号", "黄山区耿城镇和平村8组7号"], "relation_of": ["", ""],
        "relation": ["", ""],
    })


_CHUNKED: dict[str, Callable[[Plan, int, int], pa.Table]] = {
    "dues": dues_chunk, "disbursements": disbursements_chunk, "register": register_chunk,
    "employers": employers_chunk, "unions": unions_chunk,
}


def chunks(plan: Plan, kind: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.Table]:
    """The ledger ``kind`` as tables of at most ``chunk_rows`` rows (unions: of ``chunk_rows`` employers),
    every column ``TEXT``."""
    if kind == "budget":
        tables: Iterator[pa.Table] = iter([budget_table(plan)])
    elif kind == "staff":
        tables = iter([staff_table()])
    else:
        total = plan.n_emp if kind == "unions" else plan.rows[kind]
        make = _CHUNKED[kind]
        tables = (make(plan, a, min(a + chunk_rows, total)) for a in range(0, total, chunk_rows))
    for t in tables:
        yield t.cast(pa.schema([(name, TEXT) for name in t.column_names]))  # staff's lists; a no-op elsewhere


# --- writing -----------------------------------------------------------------------------------------------------

def _write(kind: str, tables: Iterator[pa.Table], out: Path, directory: bool) -> Path:
    """Write ``tables`` as ``out/KIND.parquet`` or ``out/KIND/part-NNNNN.parquet`` (one part per table), into a
    temporary name first, so an interrupted run leaves no half ledger under the final name."""
    final = out / kind if directory else out / f"{kind}.parquet"
    tmp = out / f".{final.name}.tmp"
    for p in (tmp, final, out / kind, out / f"{kind}.parquet"):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    if directory:
        tmp.mkdir()
        for n, t in enumerate(tables):
            pq.write_table(t, tmp / f"part-{n:05d}.parquet", row_group_size=ROW_GROUP_ROWS)
    else:
        writer: pq.ParquetWriter | None = None
        for t in tables:
            writer = writer or pq.ParquetWriter(tmp, t.schema)
            writer.write_table(t, row_group_size=ROW_GROUP_ROWS)
        assert writer is not None
        writer.close()
    os.replace(tmp, final)
    return final


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def build(out: Path, *, dues: int, disbursements: int, workers: int | None = None, seed: int = 2016,
          chunk_rows: int = CHUNK_ROWS, directory_above: int = DIRECTORY_ABOVE,
          progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Write every input of one scale run as parquet under ``out``; return kind → path (a file, or a directory of
    part files for a ledger of more than ``directory_above`` rows). A ledger that ``out/manifest.json`` records as
    written with the same sizes, seed, layout and generator version is not written again.

    ``dues`` rows are 24 monthly rows per employer (2015-2016); the register has ``workers`` files (default: one
    for every ``PAYMENTS_PER_WORKER`` disbursements). ``chunk_rows`` bounds the rows held in memory and does
    not change the data.
    """
    plan = make_plan(dues=dues, disbursements=disbursements, workers=workers, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    params = {"generator": GENERATOR_VERSION, "dues": dues, "disbursements": disbursements, "workers": workers,
              "seed": seed, "directory_above": directory_above}
    manifest_path = out / "manifest.json"
    manifest: dict = {}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("params") != params:
        manifest = {"params": params, "kinds": {}}
    rows = plan.rows
    paths: dict[str, Path] = {}
    for kind in KINDS:
        done = manifest["kinds"].get(kind)
        if done and (out / done["path"]).exists():
            paths[kind] = out / done["path"]
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        path = _write(kind, chunks(plan, kind, chunk_rows), out, rows[kind] > directory_above)
        manifest["kinds"][kind] = {"path": path.name, "rows": rows[kind], "bytes": _size(path),
                                   "seconds": round(time.perf_counter() - t0, 2),
                                   "cpu_seconds": round(time.process_time() - c0, 2)}
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, manifest_path)
        paths[kind] = path
        if progress:
            k = manifest["kinds"][kind]
            progress(f"{kind}: {k['rows']:,} rows, {k['bytes'] / 2**20:,.0f} MiB, {k['seconds']:.1f} s")
    return paths


def main(argv: list[str] | None = None) -> dict[str, Path]:
    """``python -m bench.scale province [OUT_DIR]``: the province set (sizes overridable), under bench/data."""
    ap = argparse.ArgumentParser(prog="python -m bench.scale")
    ap.add_argument("set", choices=["province"])
    ap.add_argument("out", nargs="?", type=Path, default=DATA / "province")
    ap.add_argument("--dues", type=int, default=PROVINCE["dues"])
    ap.add_argument("--disbursements", type=int, default=PROVINCE["disbursements"])
    ap.add_argument("--workers", type=int, default=PROVINCE["workers"])
    ap.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    paths = build(args.out, dues=args.dues, disbursements=args.disbursements, workers=args.workers,
                  chunk_rows=args.chunk_rows, progress=print)
    print(f"{args.out}: {json.dumps(sizes(args.out))} in {time.perf_counter() - t0:.1f} s")
    return paths


def sizes(out: Path) -> dict[str, dict[str, int]]:
    """Rows and bytes of each ledger, as the manifest records them."""
    kinds = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["kinds"]
    return {k: {"rows": v["rows"], "bytes": v["bytes"]} for k, v in kinds.items()}


if __name__ == "__main__":
    main()
