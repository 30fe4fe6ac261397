"""Deterministic, vectorised generator of realistic ledgers at any size, for the audit benchmark.

A fictional district (黄山区, 341003), years 2015-2016: an employer roster with valid GB 32100 codes, one union
per employer (a tenth have none and pay 建会筹备金), monthly dues rows whose bases, rates, splits, fees and dates
agree with the shipped ``anhui-2016`` profile; a hardship register with valid GB 11643 IDs, households that pass
the eligibility test, yearly reviews and disclosures; four bank payments a year per registered worker within
the caps, disclosed and approved in order. A small, fixed share of rows is planted wrong (wrong rate, late
filing, cash payment, unfiled recipient, shared account, over-cap amount) so that the findings path is
exercised at scale; the rest is clean, so what the benchmark times is the rules, not a flood of findings.

Every column is written as text, as exports are, under canonical headers, to parquet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers, as an (n, width) int matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def _join(*parts: pd.Series | str) -> pd.Series:
    out = None
    for p in parts:
        out = p if out is None else out + p
    assert isinstance(out, pd.Series)
    return out


def _zfill(values: np.ndarray, width: int) -> pd.Series:
    return pd.Series(values.astype(np.int64)).astype(str).str.zfill(width)


def resident_ids(n: int, birth: pd.DatetimeIndex) -> pd.Series:
    """Valid GB 11643 IDs for district 341003 with the given birth dates, distinct by sequence number."""
    ymd = (birth.year.to_numpy() * 10000 + birth.month.to_numpy() * 100 + birth.day.to_numpy()).astype(np.int64)
    seq = np.arange(n, dtype=np.int64) % 1000
    body = np.concatenate([_digits(np.full(n, 341003), 6), _digits(ymd, 8), _digits(seq, 3)], axis=1)
    check = RIC_CHECK[(body @ RIC_WEIGHTS) % 11]
    return _join(pd.Series(["341003"] * n), _zfill(ymd, 8), _zfill(seq, 3), pd.Series(check))


def taxpayer_ids(n: int) -> pd.Series:
    """Valid GB 32100 codes: '91' + '341003' + an 8-digit organisation code with its GB 11714 check + check."""
    org8 = 10_000_000 + np.arange(n, dtype=np.int64) * 37  # distinct 8-digit bodies
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
    return _join(pd.Series(["91341003"] * n), _zfill(org8, 8), pd.Series(org_char), pd.Series(check))


def names(rng: np.random.Generator, n: int) -> pd.Series:
    s = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    return pd.Series(np.char.add(np.char.add(s, g1), g2))


def _dates(days: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(days, unit="D").strftime("%Y-%m-%d"))


def _yuan(fen: np.ndarray) -> pd.Series:
    """Money text with two decimals from integer fen (non-negative)."""
    return pd.Series((fen // 100).astype(str)) + "." + _zfill(fen % 100, 2)


def _day(s: str) -> int:
    return int((np.datetime64(s) - np.datetime64("1970-01-01")).astype(np.int64))


def build(out: Path, *, dues: int, disbursements: int, seed: int = 2016) -> dict[str, Path]:
    """Write every input of one scale run as parquet under ``out``; return kind → path.

    ``dues`` rows are 24 monthly rows per employer (2015-2016); the register has one worker for every
    ``PAYMENTS_PER_WORKER`` disbursements.
    """
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    # --- employers and unions ------------------------------------------------------------------------------
    n_emp = max(dues // 24, 10)
    tid = taxpayer_ids(n_emp)
    emp_name = _join(pd.Series(np.array(TOWNS)[np.arange(n_emp) % len(TOWNS)]), "第", _zfill(np.arange(n_emp), 6),
                     "号企业有限公司")
    headcount = rng.integers(5, 300, n_emp)
    has_union = (np.arange(n_emp) % 10) != 0
    emp = pd.DataFrame({"taxpayer_id": tid, "name": emp_name, "headcount": headcount.astype(str),
                        "status": "存续", "period": "2016"})
    union_code = _join("3410030", _zfill(np.arange(n_emp), 6))
    union_account = _join("2000", _zfill(np.arange(n_emp) * 7919 % 10**12, 12))
    unions = pd.DataFrame({
        "union_code": union_code, "union_name": emp_name + "工会", "employer_taxpayer_id": tid,
        "founded_date": _dates(_day("2005-01-01") + (np.arange(n_emp) % 3000)),
        "dissolved_date": "", "bank_account": union_account, "account_name": emp_name + "工会",
    })[has_union].reset_index(drop=True)

    # --- dues: 24 monthly rows per employer ---------------------------------------------------------------
    months = pd.period_range("2015-01", "2016-12", freq="M")
    e = np.repeat(np.arange(n_emp), len(months))
    m = np.tile(np.arange(len(months)), n_emp)
    pstart = months.start_time.to_numpy()[m].astype("datetime64[D]").astype(np.int64)
    pend = months.end_time.to_numpy()[m].astype("datetime64[D]").astype(np.int64)
    n = len(e)
    wage_units = rng.integers(60, 160, n_emp)  # 3,000-8,000 yuan a month in steps of 50 yuan
    base_fen = headcount[e] * wage_units[e] * 50 * 100  # whole multiples of 50 yuan: every 2% split is exact
    rate = np.full(n, "0.02", dtype=object)
    planted = (np.arange(n) % PLANT_EVERY) == 5
    rate[planted] = "0.015"  # DUES-RATE / DUES-CALC
    paid = base_fen // 50
    union_fund = has_union[e]
    ratios = {"grassroots": 60, "prep_fund": 0, "county": 15, "city": 8, "province": 10, "acftu": 5, "fee": 2}
    filed = pend + 5 + (np.arange(n) % 6)
    filed[(np.arange(n) % PLANT_EVERY) == 11] += 30  # DUES-LATE
    treasury = filed + 1
    frame = {
        "taxpayer_id": tid.to_numpy()[e], "taxpayer_name": emp_name.to_numpy()[e],
        "levy_item": "工会经费",
        "fund_type": np.where(union_fund, "工会经费", "工会筹备金"),
        "period_start": _dates(pstart), "period_end": _dates(pend),
        "wage_base": _yuan(base_fen), "headcount": headcount[e].astype(str), "rate": rate,
        "amount_payable": _yuan(paid), "relief_amount": "0.00", "amount_paid": _yuan(paid),
        "filing_date": _dates(filed), "payment_date": _dates(filed), "treasury_date": _dates(treasury),
        "voucher_no": _join("3341", _zfill(np.arange(n), 14)),
        "union_code": np.where(union_fund, union_code.to_numpy()[e], ""),
        "grassroots_account": np.where(union_fund, union_account.to_numpy()[e], ""),
        "settlement_date": _dates(treasury + 10),
    }
    for share, pct in ratios.items():
        if share == "grassroots":
            r = np.where(union_fund, 60, 0)
        elif share == "prep_fund":
            r = np.where(union_fund, 0, 60)
        else:
            r = np.full(n, pct)
        prefix = "fee" if share == "fee" else f"share_{share}"
        frame[f"{prefix}_ratio"] = pd.Series(r / 100).map("{:.2f}".format)
        frame[f"{prefix}_amount"] = _yuan(paid * r // 100)
    dues_df = pd.DataFrame({k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in frame.items()})

    # --- register: one worker per four payments -----------------------------------------------------------
    n_reg = max(disbursements // PAYMENTS_PER_WORKER, 10)
    # distinct IDs: worker i is born on day i // 1000 of a 35-year span and has sequence number i % 1000
    birth_day = _day("1960-01-01") + (np.arange(n_reg) // 1000) % (35 * 365)
    ids = resident_ids(n_reg, pd.DatetimeIndex(pd.to_datetime(birth_day, unit="D")))
    person = names(rng, n_reg)
    deep = (np.arange(n_reg) % 3) == 0
    category = np.where(deep, "深度困难", "相对困难")
    filed_day = _day("2014-01-01") + rng.integers(0, 700, n_reg)
    accounts = _join("6222", _zfill(np.arange(n_reg) * 104729 % 10**15, 15))
    register = pd.DataFrame({
        "file_no": _join("HSQ", _zfill(np.arange(n_reg), 8)), "name": person, "id_no": ids,
        "gender": np.where(np.arange(n_reg) % 2 == 0, "男", "女"),
        "employer": emp_name.to_numpy()[np.arange(n_reg) % n_emp],
        "grassroots_union": (emp_name + "工会").to_numpy()[np.arange(n_reg) % n_emp],
        "category": category, "cause_main": "因病", "household_size": "3",
        "household_income_annual": np.where(deep, "14400.00", "28800.00"), "hardship_spending": "0.00",
        "filed_date": _dates(filed_day), "reviewed_date": _dates(_day("2016-06-01") + (np.arange(n_reg) % 180)),
        "exit_date": "", "exit_reason": "", "status": "在档", "disclosure_date": _dates(filed_day - 7),
        "bank_account": accounts, "bank_name": "徽商银行黄山区支行",
        "phone": _join("139", _zfill(np.arange(n_reg), 8)),
        "address": _join(pd.Series(np.array(TOWNS)[np.arange(n_reg) % len(TOWNS)]), "幸福路",
                         pd.Series(np.arange(n_reg).astype(str)), "号"),
        "is_member": "是",
    })

    # --- disbursements: 送温暖 in January, living aid in March and September, medical aid in May ------------
    w = np.repeat(np.arange(n_reg), PAYMENTS_PER_WORKER)[:disbursements]
    k = np.tile(np.arange(PAYMENTS_PER_WORKER), n_reg)[:disbursements]
    nd = len(w)
    program = np.array(["送温暖", "生活救助", "医疗救助", "生活救助"])[k]
    amount = np.array([100_000, 100_000, 200_000, 100_000])[k].astype(np.int64)
    pay_day = np.array([_day("2016-01-20"), _day("2016-03-15"), _day("2016-05-16"), _day("2016-09-12")])[k]
    pay_day = pay_day + (w % 5)
    method = np.full(nd, "打卡", dtype=object)
    plant = (np.arange(nd) % PLANT_EVERY)
    method[plant == 3] = "现金"  # DISB-CASH
    amount[plant == 7] = 300_000  # DISB-OVER-CAP for 送温暖 (cap 2,000 or 1,500)
    id_col = ids.to_numpy()[w].copy()
    account = accounts.to_numpy()[w].copy()
    unfiled = plant == 13
    n_unfiled = int(unfiled.sum())  # DISB-NOT-FILED: people born after every registered worker, own accounts
    born = _day("1996-01-01") + np.arange(n_unfiled) // 1000
    id_col[unfiled] = resident_ids(n_unfiled, pd.DatetimeIndex(pd.to_datetime(born, unit="D"))).to_numpy()
    account[unfiled] = _join("6217", _zfill(np.arange(n_unfiled), 15)).to_numpy()
    shared = np.flatnonzero(plant == 17)
    account[shared] = account[np.maximum(shared - PAYMENTS_PER_WORKER * 3, 0)]  # DISB-ACCOUNT-SHARED
    disb = pd.DataFrame({
        "payment_id": _join("P", _zfill(np.arange(nd), 9)), "recipient_name": person.to_numpy()[w],
        "recipient_id_no": id_col, "file_no": register["file_no"].to_numpy()[w],
        "employer": register["employer"].to_numpy()[w], "grassroots_union": register["grassroots_union"].to_numpy()[w],
        "program": program, "aid_category": category[w], "amount": _yuan(amount), "payment_method": method,
        "bank_account": account, "bank_name": "徽商银行黄山区支行", "account_holder": person.to_numpy()[w],
        "payment_date": _dates(pay_day), "disclosure_start": _dates(pay_day - 14),
        "disclosure_end": _dates(pay_day - 7), "approver": "审批人甲", "approval_date": _dates(pay_day - 3),
        "handler": "经办人乙", "fund_source": "工会经费",
    })
    spent = pd.Series(amount).groupby(program).sum()  # allocations a quarter above what was paid
    budget = pd.DataFrame({"program": spent.index, "year": "2016",
                           "allocated": _yuan((spent.to_numpy() * 5 // 4 // 100) * 100).to_numpy()})
    staff = pd.DataFrame({
        "name": ["汪建华", "方丽萍"], "id_no": ["341002198202168978", "341003197602147481"], "role": ["主席", "财务"],
        "bank_account": ["6222021421771422539", "6226518349049367"], "phone": ["18227957754", "18002165855"],
        "address": ["黄山区太平湖镇平湖东路182号", "黄山区耿城镇和平村8组7号"], "relation_of": "", "relation": "",
    })
    for kind, df in (("dues", dues_df), ("disbursements", disb), ("register", register), ("employers", emp),
                     ("unions", unions), ("budget", budget), ("staff", staff)):
        path = out / f"{kind}.parquet"
        df.astype("str").to_parquet(path, index=False)
        paths[kind] = path
    return paths
