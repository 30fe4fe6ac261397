"""Generate fundaudit's sample inputs and their answer key.

Usage: ``python samples/generate.py [OUTDIR]`` (default OUTDIR: the directory of this script).

Writes the 2016 ledgers of a fictional district federation (黄山市黄山区总工会): a dues ledger
(``dues_2016.xls``), a disbursement ledger (``disbursements_2016.xlsx``), a hardship register
(``register_2016.csv``, GB18030) and the reference tables, with anomalies planted for every rule of
domain.md §7 plus LEDGER-TOTAL. It writes the answer key ``expected.json`` and refreshes the generated
tables of README.md. Finally it reads every written file back and checks the answer key against a
small, independent re-implementation of the rules as README.md interprets them (``self_check``).

Deterministic: one ``random.Random(2016)``; running twice gives byte-identical files.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import json
import math
import random
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 2016
PROFILE = "anhui-2016"
P_START = dt.date(2016, 1, 1)
P_END = dt.date(2016, 12, 31)
REGION = "341003"
FEDERATION = "黄山市黄山区总工会"
MIN_WAGE = Decimal(1150)
DIBAO = Decimal(480)
CENT = Decimal("0.01")
ZERO = Decimal(0)

DUES_FILE, DUES_SHEET = "dues_2016.xls", "代收明细"
DISB_FILE, SHEET_SWN, SHEET_JQ = "disbursements_2016.xlsx", "送温暖", "金秋助学"
REG_FILE = "register_2016.csv"
FUND_UNION, FUND_PREP = "工会经费", "工会筹备金"
FUND_CODE = {FUND_UNION: "399001010", FUND_PREP: "399001020"}
PREP_UNION_CODE = "34100300000"  # the district federation holds the 筹备金 account
HARDSHIP = ("深度困难", "相对困难", "意外致困")
CASH_WORDS = ("现金", "现付", "现款")
BANK_METHODS = ("银行转账", "打卡", "银行代发", "社保卡")
STAFF_APPROVERS = ("汪建华", "方丽萍")

DUES_TITLE = "2016年度税务代收工会经费（建会筹备金）明细"
SWN_TITLE = "2016年送温暖及困难职工帮扶资金发放明细表"
JQ_TITLE = "2016年金秋助学资金发放明细表"
FOOTER = "制表人：程晓燕　　审核人：叶晓红　　负责人：汪建华"

# ---------------------------------------------------------------------------------------------
# Parameters (domain.md §7 defaults; "set locally" values chosen here) and default severities
# ---------------------------------------------------------------------------------------------
PARAMS: dict[str, dict[str, Any]] = {
    "DUES-RATE": {"allowed_rates": [0.02], "rate_tol": 1e-9},
    "DUES-CALC": {"tol_yuan": 0.01, "rounding": "half_up_fen"},
    "DUES-PERIOD": {"allowed_lengths_months": [1, 3, 12]},
    "DUES-LATE": {"deadline": "day 15 of month after period_end", "holiday_calendar": "none",
                  "grace_days": 0},
    "DUES-DUP": {"key": ["taxpayer_id", "fund_type", "period_start", "period_end"],
                 "ignore_correction_pairs": True},
    "DUES-GAP": {"min_prior_payments": 2, "cadence": "infer"},
    "DUES-BASE-MIN": {"min_wage_table": "min_wage.csv", "use_headcount": True},
    "DUES-BASE-DROP": {"drop_ratio": 0.5, "lookback": 6, "min_history": 3},
    "DUES-TAXPAYER-ID": {"accept_legacy": True, "check_embedded_org_code": "warn"},
    "DUES-REFUND": {"match_window_months": 24},
    "DUES-SPLIT-SUM": {"ratio_tol": 0.0001, "tol_yuan_per_share": 0.01},
    "DUES-SPLIT-RATIO": {"ratio_schedule": "ratios.csv", "grassroots_share": 0.6},
    "DUES-FEE": {"fee_ratio": 0.02, "tol_yuan": 0.01},
    "DUES-REMIT-LATE": {"max_days_to_settle": 30, "max_days_in_custody": 180},
    "DUES-SME-REFUND": {"policy_years": [2020, 2021, 2022], "refund_share": "upper_level",
                        "refund_deadline_days": 365},
    "DISB-ID": {"age_range": [16, 100], "allow_15_digit": False},
    "DISB-NOT-FILED": {"programs_requiring_file": ["生活救助", "医疗救助", "助学救助", "送温暖(困难职工)"],
                       "match_on": "id_no"},
    "DISB-AFTER-EXIT": {"grace_days": 0},
    "DISB-CASH": {"bank_methods": list(BANK_METHODS), "cash_words": list(CASH_WORDS),
                  "in_kind_allowed": ["送温暖", "夏送清凉"], "pass_through_programs": []},
    "DISB-ACCOUNT-NAME": {"allow_family_holder": False},
    "DISB-ACCOUNT-SHARED": {"min_recipients": 2, "same_household_downgrade": True},
    "DISB-DUP": {"windows": {"送温暖": "12-01..end of February", "金秋助学": "09-01..08-31",
                             "default": "same_day"}},
    "DISB-OVER-CAP": {"cap_table": "caps.csv"},
    "DISB-CATEGORY": {"category_map": {}},
    "DISB-DISCLOSURE": {"min_days": 5, "calendar": "natural"},
    "DISB-APPROVAL": {"require_approver": True},
    "DISB-SPLIT": {"window_days": 30, "threshold": "per_payment_cap", "threshold_default": 1000},
    "DISB-YEAR-END": {"days": 31, "share": 0.4},
    "REG-ID": {"age_range": [16, 100]},
    "REG-DUP-HOUSEHOLD": {"household_keys": ["family_member_id", "normalized_address"]},
    "REG-ELIGIBILITY": {"multipliers": {"深度困难": 1.0, "相对困难": 2.0}, "accident_loss_ratio": 0.8,
                        "dibao_table": "dibao.csv"},
    "REG-REVIEW-OVERDUE": {"max_months": 12},
    "REG-EXIT-STATE": {},
    "REG-DISCLOSURE": {"require": True},
    "REG-STAFF-RELATIVE": {"match_on": ["id_no", "bank_account", "phone", "address"], "roles": "all"},
    "XL-STAFF-RELATIVE": {"match_on": ["id_no", "bank_account", "phone", "address"], "roles": "all"},
    "XL-MISSING-EMPLOYER": {"min_headcount": 1, "exclude_status": ["注销"]},
    "XL-UNION-STATUS": {"union_registry": "unions.csv", "grace_months": 0},
    "XL-UNION-ACCOUNT": {"union_registry": "unions.csv"},
    "XL-FUND-OVERSPEND": {"allocation_table": "budget.csv", "min_spend_ratio": 0.5},
    "LEDGER-TOTAL": {"tol_yuan": 0.01},
}
RULES = tuple(PARAMS)

# ---------------------------------------------------------------------------------------------
# Check characters (domain.md §5.7)
# ---------------------------------------------------------------------------------------------
RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def ric_check(body17: str) -> str:
    """GB 11643 check character of the first 17 digits of a resident ID."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, RIC_WEIGHTS, strict=True)) % 11]


def uscc_check(body17: str) -> str:
    """GB 32100 check character of the first 17 characters of a USCC."""
    total = sum(USCC_ALPHA.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHA[(31 - total % 31) % 31]


def org_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code."""
    c = 11 - sum(int(ch, 36) * w for ch, w in zip(body8, ORG_WEIGHTS, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    return luhn_digit(number[:-1]) == number[-1]


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def q(x: Decimal | int | str) -> Decimal:
    return Decimal(x).quantize(CENT, rounding=ROUND_HALF_UP)


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def month_end(y: int, m: int) -> dt.date:
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def deadline(period_end: dt.date) -> dt.date:
    y, m = (period_end.year + 1, 1) if period_end.month == 12 else (period_end.year, period_end.month + 1)
    return dt.date(y, m, 15)


def months_len(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def add_months(day: dt.date, n: int) -> dt.date:
    y, m = divmod(day.month - 1 + n, 12)
    y += day.year
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def weekdays(a: str, b: str) -> list[dt.date]:
    first, last = d(a), d(b)
    return [first + dt.timedelta(i) for i in range((last - first).days + 1)
            if (first + dt.timedelta(i)).weekday() < 5]


def money_text(x: Decimal) -> str:
    return f"{x:,.2f}"


def norm_text(s: str) -> str:
    """NFKC, no whitespace at all, middle dots unified: the key for names and addresses."""
    s = unicodedata.normalize("NFKC", s or "")
    for dot in ("・", "•", "．"):
        s = s.replace(dot, "·")
    return "".join(s.split())


def digits_only(s: str) -> str:
    return "".join(ch for ch in (s or "") if not ch.isspace() and ch != "-")


@dataclass(frozen=True)
class ErrorCell:
    """An Excel error value written into a cell (BIFF error code, 15 = #VALUE!)."""

    code: int = 15
    text: str = "#VALUE!"


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------
@dataclass(eq=False)
class Loc:
    kind: str
    file: str
    sheet: str | None
    row: int = 0
    who: str = ""  # what the self-check expects to find on that row (a name, 合计, a programme)

    def ref(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.file, "sheet": self.sheet, "row": self.row}

    def key(self) -> tuple[str, str, int]:
        return (self.file, self.sheet or "", self.row)


@dataclass
class Planted:
    rule: str
    severity: str
    locs: list[Loc]
    note: str


@dataclass
class Boundary:
    rule: str
    locs: list[Loc]
    note: str


@dataclass
class Rejection:
    loc: Loc
    column: str
    reason: str
    action: str


@dataclass(eq=False)
class Person:
    name: str
    id_no: str
    gender: str
    birth: dt.date
    phone: str
    address: str
    bank: str
    card: str


@dataclass(eq=False)
class Union:
    code: str
    name: str
    uscc: str
    employer_tid: str
    founded: dt.date
    account: str
    loc: Loc | None = None


@dataclass(eq=False)
class Employer:
    key: str
    name: str
    tid: str
    kind: str  # "U" (has or gets a union) or "P" (no union: pays 筹备金)
    cadence: int
    headcount: int
    wage: Decimal
    sme: str
    history: bool
    office: str
    union: Union | None = None
    status: str = "存续"
    on_roster: bool = True
    loc: Loc | None = None


SHARES = ("gr", "prep", "county", "city", "prov", "acftu", "fee")
SHARE_HEADERS = {
    "gr": ("基层工会比例", "基层工会金额"), "prep": ("筹备金比例", "筹备金金额"),
    "county": ("县级工会比例", "县级工会金额"), "city": ("市级工会比例", "市级工会金额"),
    "prov": ("省总工会比例", "省总工会金额"), "acftu": ("全总比例", "全总金额"),
    "fee": ("代收手续费比例", "代收手续费金额"),
}
UPPER_LEVEL = ("county", "city", "prov", "acftu")


def _ratios(gr: str, prep: str, county: str = "0.15", city: str = "0.08", prov: str = "0.10",
            acftu: str = "0.05", fee: str = "0.02") -> dict[str, Decimal]:
    vals = (gr, prep, county, city, prov, acftu, fee)
    return {k: Decimal(v) for k, v in zip(SHARES, vals, strict=True)}


SCHEDULE = {FUND_UNION: _ratios("0.60", "0"), FUND_PREP: _ratios("0", "0.60")}


def allocate(basis: Decimal, ratios: dict[str, Decimal]) -> dict[str, Decimal]:
    """Each share = basis × ratio rounded half-up to the fen; the last non-zero share (the fee)
    takes the remainder, so shares + fee always add up to the basis (domain.md §1.6)."""
    last = [k for k in SHARES if ratios[k] != 0][-1]
    out = {k: q(basis * ratios[k]) for k in SHARES}
    out[last] = basis - sum((out[k] for k in SHARES if k != last), ZERO)
    return out


def split_exact(basis: Decimal, ratios: dict[str, Decimal]) -> bool:
    """True when the remainder share equals its own rounded value (no rule can see a 1-fen drift)."""
    return all(q(basis * ratios[k]) == v for k, v in allocate(basis, ratios).items())


@dataclass(eq=False)
class DuesRow:
    emp: Employer
    fund: str
    pstart: dt.date
    pend: dt.date
    base: Decimal
    headcount: int | None
    rate: Decimal
    filed: dt.date
    paydate: dt.date
    treasury: dt.date
    voucher: str
    settled: dt.date | None
    ratios: dict[str, Decimal]
    payable: Decimal = ZERO
    relief: Decimal = ZERO
    paid: Decimal = ZERO
    amounts: dict[str, Decimal] = field(default_factory=dict)
    corr: str = ""
    flag: str = "N"
    union_code: str = ""
    gr_account: str = ""
    gr_name: str = ""
    refund_due: Decimal = ZERO
    refund_paid: Decimal = ZERO
    refund_date: dt.date | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # header -> cell written instead of the value
    loc: Loc = field(default_factory=lambda: Loc("dues", DUES_FILE, DUES_SHEET))
    loaded: bool = True

    def refresh(self) -> None:
        """Recompute payable, paid, shares and the union fields from base, rate, ratios and fund."""
        self.payable = q(self.base * self.rate)
        self.paid = self.payable - self.relief
        self.amounts = allocate(self.paid - self.relief, self.ratios)
        union = self.emp.union
        if self.fund == FUND_UNION and union is not None:
            self.union_code, self.gr_account, self.gr_name = union.code, union.account, union.name
        else:
            self.union_code, self.gr_account, self.gr_name = PREP_UNION_CODE, "", ""

    def cells(self) -> dict[str, Any]:
        c: dict[str, Any] = {
            "社会信用代码": self.emp.tid, "纳税人名称": self.emp.name, "征收品目": self.fund,
            "征收品目代码": FUND_CODE[self.fund], "税款所属期起": self.pstart, "税款所属期止": self.pend,
            "计税依据": self.base, "职工人数": self.headcount, "税率": self.rate,
            "应纳税额": self.payable, "减免税额": self.relief, "实缴金额": self.paid,
            "申报日期": self.filed, "缴款日期": self.paydate, "入库日期": self.treasury,
            "电子税票号码": self.voucher, "更正类型": self.corr, "征收税务机关": self.emp.office,
            "工会机构代码": self.union_code, "基层工会账号": self.gr_account, "基层工会户名": self.gr_name,
            "结算标记": self.flag, "结算日期": self.settled, "小微类型": self.emp.sme,
            "应返拨金额": self.refund_due, "实返拨金额": self.refund_paid, "返拨日期": self.refund_date,
        }
        for k in SHARES:
            rh, ah = SHARE_HEADERS[k]
            c[rh] = self.ratios[k]
            c[ah] = self.amounts[k]
        c.update(self.raw)
        return c


DUES_HEADERS = (
    "社会信用代码", "纳税人名称", "征收品目", "征收品目代码", "税款所属期起", "税款所属期止", "计税依据",
    "职工人数", "税率", "应纳税额", "减免税额", "实缴金额", "申报日期", "缴款日期", "入库日期",
    "电子税票号码", "更正类型", "征收税务机关", "工会机构代码", "基层工会账号", "基层工会户名", "结算标记",
    "结算日期", "基层工会比例", "基层工会金额", "筹备金比例", "筹备金金额", "县级工会比例", "县级工会金额",
    "市级工会比例", "市级工会金额", "省总工会比例", "省总工会金额", "全总比例", "全总金额", "代收手续费比例",
    "代收手续费金额", "小微类型", "应返拨金额", "实返拨金额", "返拨日期",
)
DISB_HEADERS = (
    "序号", "姓名", "身份证号码", "档案编号", "工作单位", "基层工会", "帮扶项目", "困难类别", "金额", "发放方式",
    "开户银行", "银行账号", "账户名", "发放日期", "公示开始日期", "公示结束日期", "审批人", "审批日期",
    "经办人", "资金来源", "备注",
)
DISB_GROUP = ("公示情况", "公示开始日期", "公示结束日期")
REG_HEADERS = (
    "档案编号", "职工姓名", "身份证号", "性别", "工作单位", "基层工会", "困难类别", "主要致困原因", "家庭人口",
    "家庭年度总收入", "因困支出", "建档日期", "复核日期", "脱困日期", "脱困原因", "档案状态", "公示日期",
    "银行卡号", "开户银行", "手机号码", "家庭住址", "是否会员",
)


@dataclass(eq=False)
class Household:
    person: Person
    employer: Employer
    category: str
    cause: str
    size: int
    income: Decimal
    spending: Decimal
    filed: dt.date
    reviewed: dt.date | None
    disclosed: dt.date | None
    status: str = "在档"
    exit_date: dt.date | None = None
    exit_reason: str = ""
    special: bool = True
    file_no: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    loc: Loc = field(default_factory=lambda: Loc("register", REG_FILE, None))
    loaded: bool = True

    @property
    def union_name(self) -> str:
        assert self.employer.union is not None
        return self.employer.union.name

    def active_on(self, day: dt.date) -> bool:
        return self.filed <= day and (self.exit_date is None or day <= self.exit_date)

    def cells(self) -> dict[str, Any]:
        c: dict[str, Any] = {
            "档案编号": self.file_no, "职工姓名": self.person.name, "身份证号": self.person.id_no,
            "性别": self.person.gender, "工作单位": self.employer.name, "基层工会": self.union_name,
            "困难类别": self.category, "主要致困原因": self.cause, "家庭人口": self.size,
            "家庭年度总收入": self.income, "因困支出": self.spending, "建档日期": self.filed,
            "复核日期": self.reviewed, "脱困日期": self.exit_date, "脱困原因": self.exit_reason,
            "档案状态": self.status, "公示日期": self.disclosed, "银行卡号": self.person.card,
            "开户银行": self.person.bank, "手机号码": self.person.phone, "家庭住址": self.person.address,
            "是否会员": "是",
        }
        c.update(self.raw)
        return c


@dataclass(eq=False)
class Worker:
    """A recipient who needs no hardship file (劳模, 一线职工)."""

    person: Person
    employer: Employer
    category: str


@dataclass
class Batch:
    name: str
    program: str
    sheet: str
    disc: tuple[dt.date, dt.date]
    approver: str
    approved: dt.date
    handler: str
    days: list[dt.date]


@dataclass(eq=False)
class Pay:
    sheet: str
    name: str
    id_no: str
    file_no: str
    employer: str
    union: str
    program: str
    category: str
    amount: Decimal
    method: str
    bank: str
    account: str
    holder: str
    date: dt.date
    disc_start: dt.date | None
    disc_end: dt.date | None
    approver: str
    approved: dt.date | None
    handler: str
    source: str
    remark: str
    raw: dict[str, Any] = field(default_factory=dict)
    loc: Loc = field(default_factory=lambda: Loc("disbursements", DISB_FILE, SHEET_SWN))
    loaded: bool = True
    seq: int = 0

    def cells(self) -> dict[str, Any]:
        c: dict[str, Any] = {
            "序号": self.seq, "姓名": self.name, "身份证号码": self.id_no, "档案编号": self.file_no,
            "工作单位": self.employer, "基层工会": self.union, "帮扶项目": self.program,
            "困难类别": self.category, "金额": self.amount, "发放方式": self.method, "开户银行": self.bank,
            "银行账号": self.account, "账户名": self.holder, "发放日期": self.date,
            "公示开始日期": self.disc_start, "公示结束日期": self.disc_end, "审批人": self.approver,
            "审批日期": self.approved, "经办人": self.handler, "资金来源": self.source, "备注": self.remark,
        }
        c.update(self.raw)
        return c


# ---------------------------------------------------------------------------------------------
# Fake-data generator
# ---------------------------------------------------------------------------------------------
SURNAMES = "汪程方胡吴叶江洪许黄王张李曹姚潘鲍孙郑章汤余朱凌查舒陈刘杨周徐何高林罗谢宋唐冯邓曾彭苏蒋"
MALE_GIVEN = "伟强军勇建国平杰涛斌华明辉刚志海波峰东林文俊亮鹏飞磊超兵春生荣庆祥福成宏根水松"
FEMALE_GIVEN = "芳丽娟敏静燕秀英霞玲红梅兰萍琴艳娜莉慧洁雪琳云凤珍月翠玉桂花香"
REGIONS = ("341003",) * 8 + ("341002", "341004", "341021", "341022", "341023", "341024")
BANKS = (
    ("中国农业银行黄山区支行", "622848", 19), ("中国建设银行黄山区支行", "621700", 19),
    ("中国工商银行黄山区支行", "622202", 19), ("中国邮政储蓄银行黄山区支行", "621098", 19),
    ("黄山农村商业银行甘棠支行", "623059", 19), ("徽商银行黄山区支行", "622651", 16),
)
PHONE_PREFIXES = ("139", "138", "137", "135", "136", "150", "151", "152", "158", "159", "180", "182",
                  "183", "187", "188", "189", "133", "153", "177", "181")
TOWN_STREETS = {
    "甘棠镇": ("仙源路", "太平路", "黄山大道", "翠微路", "甘棠北路", "芙蓉路", "桃源路", "平湖路"),
    "仙源镇": ("仙源街", "老街", "新街", "兴源路"),
    "汤口镇": ("寨西路", "汤泉路", "紫云路"),
    "太平湖镇": ("湖滨路", "平湖东路"),
}
VILLAGES = ("桃源村", "联合村", "新民村", "红星村", "和平村", "永乐村", "石门村", "东山村", "西溪村",
            "上庄村", "下洋村", "竹林村")
VILLAGE_TOWNS = ("焦村镇", "耿城镇", "三口镇", "乌石镇", "新明乡", "龙门乡", "永丰乡", "新华乡", "新丰乡",
                 "谭家桥镇")
STAFF_SPECS = (  # name, role, gender, relation_of, relation
    ("汪建华", "主席", "男", "", ""), ("方丽萍", "副主席", "女", "", ""), ("胡志强", "经审", "男", "", ""),
    ("程敏", "经审", "女", "", ""), ("叶晓红", "财务", "女", "", ""), ("程晓燕", "经办", "女", "", ""),
    ("吴斌", "经办", "男", "", ""), ("汪建英", "亲属", "女", "汪建华", "姐妹"),
    ("江涛", "亲属", "男", "叶晓红", "配偶"),
)


class Ctx:
    """Random source, uniqueness registry and the answer key being built."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.taken: set[str] = set()
        self.planted: list[Planted] = []
        self.boundaries: list[Boundary] = []
        self.rejections: list[Rejection] = []
        self.voucher_seq = 0
        self.file_seq: Counter[int] = Counter()
        for spec in STAFF_SPECS:
            self.taken.add("name:" + spec[0])

    # -- answer key -------------------------------------------------------------------------
    def plant(self, rule: str, severity: str, locs: Sequence[Loc], note: str) -> None:
        self.planted.append(Planted(rule, severity, list(locs), note))

    def boundary(self, rule: str, locs: Sequence[Loc], note: str) -> None:
        self.boundaries.append(Boundary(rule, list(locs), note))

    def reject(self, loc: Loc, column: str, reason: str, action: str) -> None:
        self.rejections.append(Rejection(loc, column, reason, action))

    # -- uniqueness ---------------------------------------------------------------------------
    def unique(self, kind: str, make: Callable[[], str]) -> str:
        for _ in range(10_000):
            value = make()
            if f"{kind}:{value}" not in self.taken:
                self.taken.add(f"{kind}:{value}")
                return value
        raise RuntimeError(f"cannot make a unique {kind}")

    # -- fake values --------------------------------------------------------------------------
    def name(self, gender: str) -> str:
        pool = MALE_GIVEN if gender == "男" else FEMALE_GIVEN
        rng = self.rng

        def make() -> str:
            given = "".join(rng.choice(pool) for _ in range(rng.choice((1, 2, 2))))
            return rng.choice(SURNAMES) + given

        return self.unique("name", make)

    def birth(self, first_year: int, last_year: int) -> dt.date:
        a, b = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
        return a + dt.timedelta(self.rng.randint(0, (b - a).days))

    def id_no(self, birth: dt.date, gender: str, *, region: str | None = None, check: str = "") -> str:
        """A valid resident ID; ``check='X'`` forces an ID whose check character is X."""
        rng = self.rng
        reg = region or rng.choice(REGIONS)

        def make() -> str:
            k = rng.randint(1, 499)
            seq = 2 * k - 1 if gender == "男" else 2 * k
            body = f"{reg}{birth:%Y%m%d}{seq:03d}"
            value = body + ric_check(body)
            return value if not check or value.endswith(check) else "retry"

        for _ in range(2000):
            value = make()
            if value != "retry" and "id:" + value not in self.taken:
                self.taken.add("id:" + value)
                return value
        raise RuntimeError("no ID")

    def phone(self) -> str:
        rng = self.rng
        return self.unique("phone", lambda: rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}")

    def address(self) -> str:
        rng = self.rng

        def make() -> str:
            if rng.random() < 0.55:
                town = rng.choice(tuple(TOWN_STREETS))
                return f"黄山区{town}{rng.choice(TOWN_STREETS[town])}{rng.randint(1, 220)}号"
            return (f"黄山区{rng.choice(VILLAGE_TOWNS)}{rng.choice(VILLAGES)}"
                    f"{rng.randint(1, 12)}组{rng.randint(1, 60)}号")

        return self.unique("addr", make)

    def card(self) -> tuple[str, str]:
        rng = self.rng
        bank, prefix, length = rng.choice(BANKS)

        def make() -> str:
            body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - 1 - len(prefix)))
            return body + luhn_digit(body)

        return bank, self.unique("card", make)

    def union_account(self) -> str:
        rng = self.rng
        return self.unique("card", lambda: "20000" + "".join(str(rng.randint(0, 9)) for _ in range(15)))

    def org_code(self, new: bool) -> str:
        rng = self.rng
        if new:
            body = "MA2" + "".join(rng.choice(USCC_ALPHA) for _ in range(5))
        else:
            body = rng.choice("567") + "".join(str(rng.randint(0, 9)) for _ in range(7))
        return body + org_check(body)

    def uscc(self, prefix: str = "91", *, new: bool | None = None) -> str:
        is_new = self.rng.random() < 0.4 if new is None else new

        def make() -> str:
            body = prefix + REGION + self.org_code(is_new)
            return body + uscc_check(body)

        return self.unique("tid", make)

    def person(self, gender: str | None = None, *, years: tuple[int, int] = (1958, 1992),
               name: str | None = None, birth: dt.date | None = None, id_check: str = "") -> Person:
        g = gender or self.rng.choice(("男", "女"))
        b = birth or self.birth(*years)
        n = name or self.name(g)
        idn = self.id_no(b, g, check=id_check)
        bank, card = self.card()
        return Person(n, idn, g, b, self.phone(), self.address(), bank, card)

    def voucher(self, day: dt.date) -> str:
        self.voucher_seq += self.rng.randint(1, 40)
        return f"3341031{day:%y%m}{self.voucher_seq:07d}"


# ---------------------------------------------------------------------------------------------
# Reference data: staff, unions, employers
# ---------------------------------------------------------------------------------------------
TAX_OFFICES = ("黄山市黄山区地方税务局甘棠分局", "黄山市黄山区地方税务局汤口分局",
               "黄山市黄山区地方税务局太平湖分局")

# key, name, U/P, cadence (months), headcount, monthly wage, 小微类型, has late-2015 history
EMPLOYER_SPECS: tuple[tuple[str, str, str, int, int, int, str, bool], ...] = (
    ("U1", "黄山云栖旅游开发有限公司", "U", 1, 120, 3600, "", True),
    ("U2", "黄山区翠溪茶业有限公司", "U", 1, 45, 2800, "小型企业", False),
    ("U3", "黄山区太平湖鲜渔有限公司", "U", 1, 30, 2600, "小型企业", False),
    ("U4", "黄山汤泉酒店管理有限公司", "U", 1, 85, 3000, "", True),
    ("U5", "黄山区仙源竹木制品有限公司", "U", 1, 60, 2700, "小型企业", False),
    ("U6", "黄山区甘棠建筑工程有限公司", "U", 1, 150, 3900, "", False),
    ("U7", "黄山区焦村电子科技有限公司", "U", 1, 200, 3500, "", False),
    ("U8", "黄山区龙门山庄酒店有限公司", "U", 1, 70, 2900, "", False),
    ("U9", "黄山区青弋江水电开发有限公司", "U", 1, 40, 4800, "", False),
    ("U10", "黄山区天都物业管理有限公司", "U", 1, 55, 2500, "", False),
    ("U11", "黄山区莲花药业有限公司", "U", 1, 130, 4200, "", False),
    ("U12", "黄山区新华机械制造有限公司", "U", 1, 90, 3800, "", False),
    ("U13", "黄山区汤口客运有限公司", "U", 1, 75, 3700, "", False),
    ("U14", "黄山区永丰纺织有限公司", "U", 1, 110, 2600, "", False),
    ("U16", "黄山区鸿雁印染有限公司", "U", 1, 95, 3100, "", True),
    ("U17", "黄山区宏远化工有限公司", "U", 1, 65, 4100, "", False),
    ("UQ1", "黄山区黟山印刷有限公司", "U", 3, 25, 3000, "小型企业", False),
    ("UQ2", "黄山区九龙食品有限公司", "U", 3, 35, 2800, "小型企业", False),
    ("UQ3", "黄山区松风家具有限公司", "U", 3, 28, 3100, "小型企业", False),
    ("N", "黄山区泉声酒业有限公司", "U", 1, 48, 3300, "小型企业", False),
    ("PU", "黄山区恒通电力安装有限公司", "U", 1, 38, 3600, "小型企业", False),
    ("Q", "黄山区福瑞医药连锁有限公司", "U", 1, 60, 3400, "", False),
    ("R", "黄山区盛世装饰工程有限公司", "U", 1, 42, 3500, "小型企业", False),
    ("P1", "黄山区耿城石材有限公司", "P", 1, 18, 3200, "微型企业", False),
    ("P2", "黄山区三口物流有限公司", "P", 1, 22, 3300, "小型企业", False),
    ("P3", "黄山区北海商贸有限公司", "P", 1, 12, 1250, "微型企业", False),
    ("P4", "黄山区浦溪汽车修理有限公司", "P", 1, 9, 1260, "微型企业", False),
    ("P5", "黄山区兴达运输有限公司", "P", 1, 20, 3100, "小型企业", False),
    ("P6", "黄山区清岚民宿管理有限公司", "P", 1, 12, 3000, "微型企业", False),
    ("PQ1", "黄山区和顺超市有限公司", "P", 3, 14, 2400, "微型企业", False),
    ("PQ2", "黄山区绿源竹业有限公司", "P", 3, 16, 2500, "小型企业", False),
    ("PQ3", "黄山区瑞丰米业有限公司", "P", 3, 11, 1300, "微型企业", False),
    ("PQ4", "黄山区明溪建材有限公司", "P", 3, 13, 2700, "微型企业", False),
    ("PQ5", "黄山区丰禾农机服务有限公司", "P", 3, 10, 2900, "微型企业", False),
    ("PN1", "黄山区怡然山居民宿有限公司", "P", 3, 8, 2600, "微型企业", False),
    ("PN2", "黄山区晨光电子有限公司", "P", 1, 15, 2800, "微型企业", False),
    ("L", "黄山区溪畔农家乐有限公司", "P", 1, 6, 2200, "微型企业", False),
    ("X", "黄山区远景广告有限公司", "P", 1, 7, 3000, "微型企业", False),
    # roster only (no dues rows)
    ("S", "黄山区锦程劳务派遣有限公司", "P", 1, 15, 2600, "小型企业", False),
    ("T", "黄山区老街茶楼有限公司", "P", 1, 8, 2200, "微型企业", False),
    ("UZ", "黄山区望岳投资管理有限公司", "P", 1, 0, 0, "微型企业", False),
)
UNION_FOUNDED = {"N": d("2016-10-01"), "PU": d("2016-07-01")}


@dataclass
class World:
    staff: list[tuple[Person, str, str, str]] = field(default_factory=list)  # person, role, of, relation
    staff_locs: list[Loc] = field(default_factory=list)
    employers: dict[str, Employer] = field(default_factory=dict)
    unions: list[Union] = field(default_factory=list)
    dues: list[DuesRow] = field(default_factory=list)
    dues_total: Loc = field(default_factory=lambda: Loc("dues", DUES_FILE, DUES_SHEET, who="合计"))
    households: list[Household] = field(default_factory=list)
    register_rows: list[Household | dict[str, Any]] = field(default_factory=list)
    pays: list[Pay] = field(default_factory=list)
    swn_total: Loc = field(default_factory=lambda: Loc("disbursements", DISB_FILE, SHEET_SWN, who="合计"))
    jq_total: Loc = field(default_factory=lambda: Loc("disbursements", DISB_FILE, SHEET_JQ, who="合计"))
    swn_declared_extra: Decimal = Decimal("1200.00")
    budget: list[tuple[str, Decimal, Loc]] = field(default_factory=list)
    swn_layout: list[Any] = field(default_factory=list)
    jq_layout: list[Any] = field(default_factory=list)
    dues_rows_read: int = 0


def build_staff(ctx: Ctx, w: World) -> None:
    people: dict[str, Person] = {}
    for name, role, gender, of, relation in STAFF_SPECS:
        p = ctx.person(gender, name=name, years=(1962, 1985))
        people[name] = p
        w.staff.append((p, role, of, relation))
    for i, (p, *_rest) in enumerate(w.staff):
        w.staff_locs.append(Loc("staff", "staff.csv", None, row=i + 2, who=p.name))


def build_employers(ctx: Ctx, w: World) -> None:
    union_seq = 0
    for key, name, kind, cadence, headcount, wage, sme, history in EMPLOYER_SPECS:
        if key == "PQ4":  # a legacy 15-character taxpayer ID (6-digit region + organisation code)
            tid = ctx.unique("tid", lambda: REGION + ctx.org_code(False))
        elif key == "PN1":  # planted: the 18th (check) character is wrong
            good = ctx.uscc(new=True)
            tid = good[:17] + USCC_ALPHA[(USCC_ALPHA.index(good[17]) + 7) % 31]
        elif key == "PN2":  # planted: embedded organisation-code check wrong, 18th character right
            org = ctx.org_code(True)
            bad_org = org[:8] + ("1" if org[8] != "1" else "2")
            body = "91" + REGION + bad_org
            tid = body + uscc_check(body)
        else:
            tid = ctx.uscc()
        emp = Employer(key, name, tid, kind, cadence, headcount, Decimal(wage), sme, history,
                       ctx.rng.choice(TAX_OFFICES))
        if key in ("L", "T"):
            emp.status = "注销"
        if key == "X":
            emp.on_roster = False
        if kind == "U":
            union_seq += 1
            founded = UNION_FOUNDED.get(key) or ctx.birth(2003, 2014)
            emp.union = Union(f"3410030{union_seq:04d}", name + "工会", ctx.uscc("81", new=True), tid,
                              founded, ctx.union_account())
            w.unions.append(emp.union)
        w.employers[key] = emp
    for i, u in enumerate(w.unions):
        u.loc = Loc("unions", "unions.csv", None, row=i + 2, who=u.name)
    roster = [e for e in w.employers.values() if e.on_roster]
    for i, e in enumerate(roster):
        e.loc = Loc("employers", "employers.csv", None, row=i + 2, who=e.name)


# ---------------------------------------------------------------------------------------------
# Dues ledger
# ---------------------------------------------------------------------------------------------
def clean_base(target: Decimal, rate: Decimal, ratios: dict[str, Decimal]) -> Decimal:
    """The nearest base at or above ``target`` whose split has no rounding drift."""
    base = q(target)
    for _ in range(2000):
        if split_exact(q(base * rate), ratios):
            return base
        base += Decimal("0.37")
    raise RuntimeError("no clean base")


def std_dates(ctx: Ctx, pend: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    filed = pend + dt.timedelta(ctx.rng.randint(3, 10))
    paydate = filed + dt.timedelta(ctx.rng.choice((0, 0, 0, 1, 2)))
    treasury = paydate + dt.timedelta(ctx.rng.choice((0, 1, 1, 2)))
    assert treasury <= deadline(pend)
    return filed, paydate, treasury


def new_dues(ctx: Ctx, emp: Employer, pstart: dt.date, pend: dt.date, *, fund: str | None = None,
             base: Decimal | None = None) -> DuesRow:
    union = emp.union
    if fund is None:
        fund = FUND_UNION if union is not None and union.founded <= pstart else FUND_PREP
    ratios = dict(SCHEDULE[fund])
    rate = Decimal("0.02")
    if base is None:
        target = emp.headcount * emp.wage * months_len(pstart, pend) * Decimal(ctx.rng.randint(960, 1060)) / 1000
        base = clean_base(target, rate, ratios)
    filed, paydate, treasury = std_dates(ctx, pend)
    row = DuesRow(emp, fund, pstart, pend, base, emp.headcount, rate, filed, paydate, treasury,
                  ctx.voucher(treasury), treasury + dt.timedelta(ctx.rng.randint(3, 20)), ratios)
    row.refresh()
    row.loc.who = emp.name
    return row


def periods(cadence: int, year: int) -> list[tuple[dt.date, dt.date]]:
    return [(dt.date(year, m, 1), month_end(year, m + cadence - 1)) for m in range(1, 13, cadence)]


def build_dues(ctx: Ctx, w: World) -> None:
    e = w.employers
    rows: list[DuesRow] = []
    skip = {("P2", 6), ("P5", 2)}  # P2: planted gap in June; P5: a gap after one payment (boundary)
    for emp in e.values():
        if emp.key in ("S", "T", "UZ", "L", "X"):
            continue
        plist = periods(emp.cadence, 2016)
        if emp.history:
            plist = [(dt.date(2015, m, 1), month_end(2015, m)) for m in (10, 11, 12)] + plist
        if emp.key == "P6":
            plist = [p for p in plist if p[0].month >= 4]
        if emp.key == "PN1":
            plist = plist[-1:]
        if emp.key == "PN2":
            plist = plist[-1:]
        for s, t in plist:
            if s.year == 2016 and (emp.key, s.month) in skip:
                continue
            rows.append(new_dues(ctx, emp, s, t))

    def find(key: str, month: int) -> DuesRow:
        hits = [r for r in rows if r.emp.key == key and r.pstart == dt.date(2016, month, 1)]
        assert len(hits) == 1, (key, month)
        return hits[0]

    def rebase(row: DuesRow, base: Decimal | None = None) -> None:
        row.base = base if base is not None else clean_base(row.base, row.rate, row.ratios)
        assert split_exact(q(row.base * row.rate), row.ratios), row.base
        row.refresh()

    # -- text formatting realism --------------------------------------------------------------
    find("U1", 3).raw["税率"] = "2%"
    for r in rows:
        if r.emp.key == "U16":
            r.raw["税率"] = "0.02"
    r = find("U7", 2)
    r.raw.update({"实缴金额": money_text(r.paid), "计税依据": money_text(r.base)})
    r = find("U12", 9)
    r.raw["计税依据"] = money_text(r.base)
    r = find("U6", 2)
    r.raw["申报日期"] = cn_date(r.filed)
    r = find("U7", 6)
    r.raw["入库日期"] = f"{r.treasury:%Y%m%d}"
    r = find("U9", 8)
    r.raw["缴款日期"] = f"{r.paydate:%Y/%m/%d}"

    # -- XL-UNION-STATUS ----------------------------------------------------------------------
    r = find("PU", 6)
    r.fund, r.ratios = FUND_UNION, dict(SCHEDULE[FUND_UNION])
    rebase(r)
    ctx.plant("XL-UNION-STATUS", "error", [r.loc],
              "工会经费 for June 2016, but the employer's union was only founded on 2016-07-01")
    r = find("Q", 3)
    r.fund, r.ratios = FUND_PREP, dict(SCHEDULE[FUND_PREP])
    rebase(r)
    ctx.plant("XL-UNION-STATUS", "warning", [r.loc],
              "筹备金 charged for March 2016 although the employer's union exists since "
              f"{e['Q'].union.founded if e['Q'].union else ''}")
    ctx.boundary("XL-UNION-STATUS", [find("N", 9).loc, find("N", 10).loc],
                 "union founded 2016-10-01: 筹备金 up to September and 工会经费 from October (founded on "
                 "period_start counts as existing)")

    # -- DUES-RATE / DUES-CALC ----------------------------------------------------------------
    r = find("U12", 4)
    r.rate = Decimal("0.008")
    rebase(r)
    ctx.plant("DUES-RATE", "error", [r.loc], "rate 0.008 (mode B) on a full-collection (mode A) row")
    ctx.boundary("DUES-RATE", [find("U1", 3).loc], "rate written as text '2%' = 0.02")
    ctx.boundary("DUES-RATE", [find("U16", 5).loc], "rate written as text '0.02' (all U16 rows)")
    r = find("U2", 3)
    payable = q(r.base * r.rate) + Decimal(100)
    while not split_exact(payable, r.ratios):
        payable += CENT
    r.payable, r.paid = payable, payable
    r.amounts = allocate(r.paid, r.ratios)
    ctx.plant("DUES-CALC", "error", [r.loc],
              f"应纳税额 {r.payable} but 计税依据 {r.base} × 0.02 = {q(r.base * r.rate)}")

    # -- DUES-PERIOD --------------------------------------------------------------------------
    r, june = find("U3", 5), find("U3", 6)
    rows.remove(june)
    r.pend = d("2016-06-30")
    r.filed, r.paydate, r.treasury = std_dates(ctx, r.pend)
    r.settled = r.treasury + dt.timedelta(9)
    r.voucher = ctx.voucher(r.treasury)
    rebase(r, clean_base(r.base + june.base, r.rate, r.ratios))
    ctx.plant("DUES-PERIOD", "error", [r.loc], "period 2016-05-01..2016-06-30 is two months long")
    ctx.boundary("DUES-PERIOD", [find("UQ1", 4).loc], "a calendar quarter (3 months) is allowed")

    # -- DUES-LATE ----------------------------------------------------------------------------
    r = find("U8", 7)
    r.filed, r.paydate, r.treasury = d("2016-08-20"), d("2016-08-22"), d("2016-08-23")
    r.settled = d("2016-09-02")
    r.voucher = ctx.voucher(r.treasury)
    ctx.plant("DUES-LATE", "warning", [r.loc], "July 2016 filed 08-20, paid 08-22, treasury 08-23; deadline 08-15")
    r = find("U9", 6)
    r.filed = r.paydate = r.treasury = d("2016-07-15")
    r.settled = d("2016-07-25")
    ctx.boundary("DUES-LATE", [r.loc], "filed, paid and in the treasury on the deadline day 2016-07-15")
    ctx.boundary("DUES-LATE", [find("UQ2", 10).loc], "quarter Q4 2016 paid in January 2017 (deadline 2017-01-15)")

    # -- DUES-DUP -----------------------------------------------------------------------------
    r = find("U5", 9)
    dup = new_dues(ctx, r.emp, r.pstart, r.pend, base=r.base)
    rows.insert(rows.index(r) + 1, dup)
    ctx.plant("DUES-DUP", "error", [r.loc, dup.loc], "September 2016 paid twice (two vouchers)")
    a, b = find("U10", 10), find("U10", 11)
    b.voucher = a.voucher
    ctx.plant("DUES-DUP", "error", [a.loc, b.loc], "one 电子税票号码 on the October and November rows")

    # -- correction pair (boundary for DUES-DUP and DUES-REFUND) ------------------------------
    orig = find("U11", 5)
    orig.filed, orig.paydate, orig.treasury = d("2016-06-03"), d("2016-06-03"), d("2016-06-06")
    orig.settled = d("2016-06-16")
    rev = new_dues(ctx, orig.emp, orig.pstart, orig.pend, base=orig.base)
    rev.base, rev.payable, rev.paid = -orig.base, -orig.payable, -orig.paid
    rev.amounts = {k: -v for k, v in orig.amounts.items()}
    rev.corr = "更正申报"
    repl = new_dues(ctx, orig.emp, orig.pstart, orig.pend,
                    base=clean_base(orig.base * Decimal("1.05"), orig.rate, orig.ratios))
    repl.corr = "更正申报"
    for x in (rev, repl):
        x.filed, x.paydate, x.treasury, x.settled = d("2016-06-10"), d("2016-06-10"), d("2016-06-12"), d("2016-06-20")
    rows[rows.index(orig) + 1:rows.index(orig) + 1] = [rev, repl]
    ctx.boundary("DUES-DUP", [orig.loc, rev.loc, repl.loc],
                 "an amended return: original, its full reversal and the replacement (net one payment)")
    ctx.boundary("DUES-REFUND", [rev.loc], "the reversal matches the earlier original payment")

    # -- DUES-GAP -----------------------------------------------------------------------------
    ctx.plant("DUES-GAP", "warning", [find("P2", 5).loc, find("P2", 7).loc],
              "monthly payer with no row for June 2016 (refs: the payments either side)")
    ctx.boundary("DUES-GAP", [find("P5", 1).loc, find("P5", 3).loc],
                 "February missing but only one earlier payment (min_prior_payments 2)")
    ctx.boundary("DUES-GAP", [find("P6", 4).loc], "new employer: first payment April 2016, nothing expected before")
    ctx.boundary("DUES-GAP", [find("U3", 5).loc], "the two-month row covers May and June")

    # -- DUES-BASE-MIN ------------------------------------------------------------------------
    r = find("P3", 3)
    rebase(r, Decimal("13200.00"))
    ctx.plant("DUES-BASE-MIN", "warning", [r.loc], "base 13,200.00 < 12 staff × 1,150")
    r = find("PQ3", 4)
    rebase(r, Decimal("36000.00"))
    ctx.plant("DUES-BASE-MIN", "warning", [r.loc],
              "quarterly base 36,000.00 < 11 staff × 1,150 × 3 months = 37,950 (but > one month's 12,650)")
    r = find("P4", 8)
    rebase(r, Decimal("10350.00"))
    ctx.boundary("DUES-BASE-MIN", [r.loc], "base exactly 9 staff × 1,150 = 10,350.00")
    r = find("P1", 11)
    r.raw["职工人数"] = "20-25"
    ctx.boundary("DUES-BASE-MIN", [r.loc], "职工人数 '20-25' blanked: compared with one minimum wage per month")

    # -- DUES-BASE-DROP -----------------------------------------------------------------------
    hist = [find("U13", m).base for m in range(3, 9)]
    median = (sorted(hist)[2] + sorted(hist)[3]) / 2
    r = find("U13", 9)
    rebase(r, Decimal(int(median * Decimal("0.42") / 50) * 50))
    ctx.plant("DUES-BASE-DROP", "warning", [r.loc],
              f"base {r.base:,.2f} < half the median {q(median):,.2f} of the six earlier months")
    for m, v in zip(range(4, 10), (578000, 582000, 584000, 588000, 590000, 596000), strict=True):
        rebase(find("U6", m), Decimal(v))
    r = find("U6", 10)
    rebase(r, Decimal("293000"))
    ctx.boundary("DUES-BASE-DROP", [r.loc], "base 293,000 = exactly half the median 586,000 of Apr–Sep")
    for m, v in ((4, "36000"), (5, "36000"), (6, "14000")):
        rebase(find("P6", m), Decimal(v))
    ctx.boundary("DUES-BASE-DROP", [find("P6", 6).loc], "drop to 14,000 with only two earlier rows (min_history 3)")

    # -- DUES-SPLIT-SUM / -RATIO / -FEE -------------------------------------------------------
    r = find("U2", 7)
    r.ratios = _ratios("0.60", "0", acftu="0.04", fee="0.03")
    rebase(r)
    ctx.plant("DUES-FEE", "warning", [r.loc], "fee 3% of the basis (expected 2%), taken out of the ACFTU share")
    ctx.plant("DUES-SPLIT-RATIO", "error", [r.loc], "same row: 全总比例 0.04 and fee 0.03 differ from the schedule")
    r = find("U4", 8)
    r.amounts["county"] += Decimal(10)
    ctx.plant("DUES-SPLIT-SUM", "error", [r.loc], "县级工会金额 10.00 too high: shares + fee exceed the basis")
    r = find("U7", 11)
    r.ratios = _ratios("0.55", "0", county="0.20")
    rebase(r)
    ctx.plant("DUES-SPLIT-RATIO", "error", [r.loc], "grassroots 0.55 / county 0.20 instead of 0.60 / 0.15")

    # -- DUES-REMIT-LATE ----------------------------------------------------------------------
    r = find("U1", 6)
    r.settled = r.treasury + dt.timedelta(45)
    ctx.plant("DUES-REMIT-LATE", "warning", [r.loc], "settled 45 days after the treasury date")
    r = find("U1", 10)
    r.settled = r.treasury + dt.timedelta(30)
    ctx.boundary("DUES-REMIT-LATE", [r.loc], "settled exactly 30 days after the treasury date")
    r = find("U14", 4)
    r.flag, r.settled, r.gr_account, r.gr_name = "E", None, "", ""
    ctx.plant("DUES-REMIT-LATE", "warning", [r.loc], "结算标记 E: stuck, no grassroots account on the row")

    # -- DUES-SME-REFUND ----------------------------------------------------------------------
    r = find("UQ1", 7)
    r.refund_due = r.refund_paid = sum((r.amounts[k] for k in UPPER_LEVEL), ZERO)
    r.refund_date = d("2016-11-20")
    ctx.plant("DUES-SME-REFUND", "warning", [r.loc],
              "小微 refund of the upper-level share paid for 2016, which is not a policy year")
    ctx.boundary("DUES-SME-REFUND", [find("UQ1", 4).loc], "小型企业 in 2016 with no refund due or paid")

    # -- XL-UNION-ACCOUNT ---------------------------------------------------------------------
    r = find("R", 5)
    stranger = ctx.person("男")
    r.gr_account, r.gr_name = stranger.card, stranger.name
    ctx.plant("XL-UNION-ACCOUNT", "error", [r.loc], "grassroots share sent to a personal card, not the union's account")
    r = find("R", 9)
    acct = r.gr_account
    r.raw["基层工会账号"] = " ".join(acct[i:i + 4] for i in range(0, len(acct), 4))
    ctx.boundary("XL-UNION-ACCOUNT", [r.loc], "the registry account written in groups of four digits")

    # -- DUES-TAXPAYER-ID ---------------------------------------------------------------------
    ctx.plant("DUES-TAXPAYER-ID", "error", [find("PN1", 10).loc], "USCC check character wrong")
    ctx.plant("DUES-TAXPAYER-ID", "warning", [find("PN2", 12).loc],
              "USCC check character right but the embedded organisation code's check is wrong")
    ctx.boundary("DUES-TAXPAYER-ID", [find("PQ4", 1).loc], "legacy 15-character taxpayer ID (valid organisation code)")

    # -- DUES-REFUND (planted) and the unreadable row -----------------------------------------
    emp = e["L"]
    r = new_dues(ctx, emp, d("2016-02-01"), d("2016-02-29"), fund=FUND_PREP, base=Decimal("78000.00"))
    r.base, r.payable, r.paid = -r.base, -r.payable, -r.paid
    r.amounts = {k: -v for k, v in r.amounts.items()}
    r.filed, r.paydate, r.treasury, r.settled = d("2016-03-08"), d("2016-03-08"), d("2016-03-09"), d("2016-03-21")
    rows.append(r)
    ctx.plant("DUES-REFUND", "warning", [r.loc], "refund of 1,560.00 筹备金 with no payment for February 2016 on file")
    r = new_dues(ctx, e["X"], d("2016-08-01"), d("2016-08-31"))
    r.raw["实缴金额"] = ErrorCell()
    r.loaded = False
    rows.append(r)
    ctx.reject(r.loc, "实缴金额", "excel_error_cell", "row_rejected")
    ctx.reject(find("P1", 11).loc, "职工人数", "int_unparseable", "field_blanked")

    order = {k: i for i, k in enumerate(e)}
    rows.sort(key=lambda x: (x.pstart, order[x.emp.key]))  # stable: corrections stay after originals
    for i, row in enumerate(rows):
        row.loc.row = 4 + i  # title row 1, 单位 row 2, header row 3
    w.dues = rows
    w.dues_total.row = 4 + len(rows)
    w.dues_rows_read = len(rows) + 2  # + 合计 + footer


# ---------------------------------------------------------------------------------------------
# Register and disbursements
# ---------------------------------------------------------------------------------------------
POOL_KEYS = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9", "U10", "U11", "U12", "U13", "U14",
             "U16", "U17", "UQ1", "Q", "R")
CAUSES = {
    "深度困难": ("因病", "因病", "因残", "子女就学", "单亲"),
    "相对困难": ("因病", "子女就学", "低收入", "因残", "因病"),
    "意外致困": ("意外事故", "突发重病", "自然灾害"),
}
# programme, category ("" = every category), per-payment cap, per-year cap, basis
CAPS: tuple[tuple[str, str, int, int, str], ...] = (
    ("送温暖", "深度困难", 2000, 3000, "fixed"), ("送温暖", "相对困难", 1500, 2500, "fixed"),
    ("送温暖", "意外致困", 2000, 3000, "fixed"), ("送温暖", "劳模", 1000, 1000, "fixed"),
    ("送温暖", "一线职工", 500, 500, "fixed"), ("生活救助", "", 6, 12, "dibao_multiple"),
    ("医疗救助", "", 5000, 8000, "fixed"), ("金秋助学", "深度困难", 5000, 5000, "fixed"),
    ("金秋助学", "相对困难", 4000, 4000, "fixed"), ("金秋助学", "意外致困", 5000, 5000, "fixed"),
)
SOURCE = {"送温暖": "中央财政", "生活救助": "省级财政", "医疗救助": "省级财政", "金秋助学": "社会捐助"}


def cap_for(program: str, category: str) -> tuple[Decimal, Decimal] | None:
    for prog, cat, per, year, basis in CAPS:
        if prog == program and cat in (category, ""):
            mult = DIBAO if basis == "dibao_multiple" else Decimal(1)
            return Decimal(per) * mult, Decimal(year) * mult
    return None


def batch(name: str, program: str, disc: str, approver: str, handler: str, days: str,
          sheet: str = SHEET_SWN) -> Batch:
    a, b = disc.split("..")
    approved, _, span = days.partition("|")
    first, last = span.split("..")
    return Batch(name, program, sheet, (d(a), d(b)), approver, d(approved), handler, weekdays(first, last))


BATCHES = {
    "B1": batch("元旦春节送温暖第一批", "送温暖", "2016-01-04..2016-01-10", "汪建华", "程晓燕",
                "2016-01-12|2016-01-13..2016-01-29"),
    "B2": batch("春节送温暖第二批", "送温暖", "2016-01-25..2016-01-31", "方丽萍", "吴斌",
                "2016-02-01|2016-02-02..2016-02-05"),
    "L1": batch("一季度生活救助", "生活救助", "2016-03-01..2016-03-07", "汪建华", "吴斌",
                "2016-03-08|2016-03-09..2016-03-25"),
    "L2": batch("二季度生活救助", "生活救助", "2016-05-09..2016-05-15", "汪建华", "吴斌",
                "2016-05-16|2016-05-16..2016-06-10"),
    "L3": batch("三季度生活救助", "生活救助", "2016-08-29..2016-09-04", "方丽萍", "吴斌",
                "2016-09-05|2016-09-06..2016-09-30"),
    "L4": batch("四季度生活救助", "生活救助", "2016-10-31..2016-11-06", "汪建华", "吴斌",
                "2016-11-07|2016-11-08..2016-11-25"),
    "M1": batch("医疗救助第一批", "医疗救助", "2016-02-20..2016-02-26", "汪建华", "程晓燕",
                "2016-02-29|2016-03-01..2016-03-11"),
    "M2": batch("医疗救助第二批", "医疗救助", "2016-04-05..2016-04-11", "汪建华", "程晓燕",
                "2016-04-12|2016-04-13..2016-04-29"),
    "M3": batch("医疗救助第三批", "医疗救助", "2016-06-01..2016-06-07", "方丽萍", "程晓燕",
                "2016-06-08|2016-06-13..2016-06-30"),
    "M4": batch("医疗救助第四批", "医疗救助", "2016-06-27..2016-07-03", "汪建华", "程晓燕",
                "2016-07-04|2016-07-05..2016-07-29"),
    "M5": batch("医疗救助第五批", "医疗救助", "2016-09-19..2016-09-25", "汪建华", "程晓燕",
                "2016-09-26|2016-09-27..2016-10-21"),
    "M6": batch("医疗救助第六批", "医疗救助", "2016-11-14..2016-11-20", "方丽萍", "程晓燕",
                "2016-11-21|2016-11-22..2016-11-30"),
    "J": batch("金秋助学", "金秋助学", "2016-07-25..2016-08-02", "汪建华", "程晓燕",
               "2016-08-03|2016-08-05..2016-08-26", SHEET_JQ),
    "B5": batch("2017年元旦春节送温暖", "送温暖", "2016-12-01..2016-12-07", "汪建华", "程晓燕",
                "2016-12-08|2016-12-09..2016-12-28"),
}


class Disb:
    """Builds households, workers and payments while keeping the baseline clean."""

    def __init__(self, ctx: Ctx, w: World) -> None:
        self.ctx, self.w = ctx, w
        self.paid_on: defaultdict[str, list[dt.date]] = defaultdict(list)
        self.year_sum: defaultdict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        self.union_total: defaultdict[str, Decimal] = defaultdict(Decimal)
        self.union_dec: defaultdict[str, Decimal] = defaultdict(Decimal)
        weights = [w.employers[k].headcount for k in POOL_KEYS]
        self.pool_weights = weights

    # -- people -------------------------------------------------------------------------------
    def pool_employer(self) -> Employer:
        key = self.ctx.rng.choices(POOL_KEYS, weights=self.pool_weights)[0]
        return self.w.employers[key]

    def finance(self, category: str, size: int) -> tuple[Decimal, Decimal]:
        rng = self.ctx.rng
        if category == "意外致困":
            income = rng.randint(200, 600) * 100
            return Decimal(income), Decimal(income * rng.randint(85, 160) // 100)
        per_head = rng.randint(180, 470) if category == "深度困难" else rng.randint(500, 940)
        spending = rng.randint(20, 300) * 100
        return Decimal(spending + per_head * 12 * size), Decimal(spending)

    def household(self, *, emp: Employer | None = None, category: str | None = None,
                  filed: dt.date | None = None, reviewed: dt.date | str | None = "auto",
                  disclosed: dt.date | str | None = "auto", status: str = "在档",
                  exit_date: dt.date | None = None, exit_reason: str = "", size: int | None = None,
                  money: tuple[int, int] | None = None, person: Person | None = None,
                  special: bool = True, cause: str | None = None) -> Household:
        rng = self.ctx.rng
        emp = emp or self.pool_employer()
        category = category or rng.choices(HARDSHIP, weights=(35, 50, 15))[0]
        size = size or rng.choices((1, 2, 3, 4, 5), weights=(8, 25, 35, 22, 10))[0]
        income, spending = (Decimal(money[0]), Decimal(money[1])) if money else self.finance(category, size)
        if filed is None:  # special households are paid in January, so they were filed before 2016
            last = d("2015-10-31") if special else d("2016-09-30")
            filed = d("2014-03-01") + dt.timedelta(rng.randint(0, (last - d("2014-03-01")).days))
        if reviewed == "auto":
            if filed < P_START:
                lo = max(filed + dt.timedelta(150), d("2016-01-15"))
                reviewed = lo + dt.timedelta(rng.randint(0, (d("2016-11-30") - lo).days))
            else:
                reviewed = None
        if disclosed == "auto":
            disclosed = filed - dt.timedelta(rng.randint(7, 20))
        assert not isinstance(reviewed, str) and not isinstance(disclosed, str)
        p = person or self.ctx.person()
        self.ctx.file_seq[filed.year] += 1
        h = Household(p, emp, category, cause or rng.choice(CAUSES[category]), size, income, spending, filed,
                      reviewed, disclosed, status, exit_date, exit_reason, special,
                      f"HSQ{filed.year}{self.ctx.file_seq[filed.year]:03d}")
        h.loc.who = p.name
        self.w.households.append(h)
        return h

    def worker(self, category: str, *, person: Person | None = None) -> Worker:
        years = (1938, 1962) if category == "劳模" else (1966, 1995)
        return Worker(person or self.ctx.person(years=years), self.pool_employer(), category)

    # -- payments -----------------------------------------------------------------------------
    def pay(self, who: Household | Worker, b: Batch, day: dt.date, amount: int | Decimal, *,
            category: str | None = None, method: str = "银行代发", sheet: str | None = None,
            **over: Any) -> Pay:
        p = who.person
        cat = category or who.category
        in_kind = method == "实物"
        if isinstance(who, Household):
            file_no, union, remark = who.file_no, who.union_name, who.cause
            source = SOURCE[b.program]
        else:
            file_no, remark, source = "", f"{who.category}慰问", "工会经费"
            assert who.employer.union is not None
            union = who.employer.union.name
        if in_kind:
            remark = "慰问品：大米、食用油（折价）"
        pay = Pay(sheet or b.sheet, p.name, p.id_no, file_no, who.employer.name, union, b.program, cat,
                  Decimal(amount), method, "" if in_kind else p.bank, "" if in_kind else p.card,
                  "" if in_kind else p.name, day, b.disc[0], b.disc[1], b.approver, b.approved, b.handler,
                  source, remark)
        for k, v in over.items():
            setattr(pay, k, v)
        pay.loc = Loc("disbursements", DISB_FILE, pay.sheet, who=pay.name)
        self.w.pays.append(pay)
        if pay.loaded:
            self.paid_on[p.id_no].append(day)
            self.year_sum[(p.id_no, b.program, cat)] += pay.amount
            self.union_total[union] += pay.amount
            if day.month == 12:
                self.union_dec[union] += pay.amount
        return pay

    def free_day(self, h: Household | Worker, days: Sequence[dt.date], gap: int = 40) -> dt.date | None:
        taken = self.paid_on[h.person.id_no]
        ok = [x for x in days if all(abs((x - y).days) >= gap for y in taken)
              and (not isinstance(h, Household) or h.active_on(x))]
        return self.ctx.rng.choice(ok) if ok else None

    def fill(self, b: Batch, candidates: Sequence[Household], n: int,
             amount: Callable[[Household], int], year_end_cap: float | None = None) -> None:
        pool = list(candidates)
        self.ctx.rng.shuffle(pool)
        done = 0
        for h in pool:
            if done >= n:
                break
            day = self.free_day(h, b.days)
            if day is None:
                continue
            amt = Decimal(amount(h))
            caps = cap_for(b.program, h.category)
            assert caps is not None
            if amt > caps[0] or self.year_sum[(h.person.id_no, b.program, h.category)] + amt > caps[1]:
                continue
            if year_end_cap is not None:
                u = h.union_name
                if (self.union_dec[u] + amt) / (self.union_total[u] + amt) >= Decimal(str(year_end_cap)):
                    continue
            self.pay(h, b, day, amt)
            done += 1


def build_register_and_disbursements(ctx: Ctx, w: World) -> None:
    dz = Disb(ctx, w)
    rng = ctx.rng
    e = w.employers
    B = BATCHES  # noqa: N806 - short alias for the batch table
    hh = dz.household

    # ---- register-only plants and boundaries (these households receive no payment) ---------
    r = hh(category="深度困难", filed=d("2015-08-12"))
    bad = r.person.id_no[:17] + ("0" if r.person.id_no[17] != "0" else "1")
    r.person.id_no = bad
    ctx.plant("REG-ID", "error", [r.loc], "身份证号 check character wrong")
    twin = ctx.person("女")
    a = hh(person=twin, filed=d("2015-04-20"), category="相对困难")
    b = hh(person=twin, filed=d("2016-05-09"), category="相对困难")
    ctx.plant("REG-DUP-HOUSEHOLD", "error", [a.loc, b.loc], "one ID in two active files (filed by two unions)")
    husband, wife = ctx.person("男"), ctx.person("女")
    wife.address = husband.address
    a = hh(person=husband, category="深度困难")
    b = hh(person=wife, category="相对困难")
    ctx.plant("REG-DUP-HOUSEHOLD", "error", [a.loc, b.loc], "husband and wife: two active files, one address")
    p1, p2 = ctx.person(), ctx.person()
    p2.address = p1.address
    a = hh(person=p1, filed=d("2015-06-01"))
    b = hh(person=p2, filed=d("2014-11-03"), status="已脱困", exit_date=d("2016-05-31"), exit_reason="脱困")
    ctx.boundary("REG-DUP-HOUSEHOLD", [a.loc, b.loc], "same address, but one of the two files is closed")
    r = hh(category="深度困难", size=2, money=(19400, 5000))
    ctx.plant("REG-ELIGIBILITY", "warning", [r.loc], "深度困难: (19,400 − 5,000) ÷ 12 ÷ 2 = 600 > 480")
    r = hh(category="意外致困", money=(50000, 25000))
    ctx.plant("REG-ELIGIBILITY", "warning", [r.loc], "意外致困: spending 25,000 is 50% of income 50,000 (< 80%)")
    r = hh(category="深度困难", size=3, money=(29280, 12000))
    ctx.boundary("REG-ELIGIBILITY", [r.loc], "深度困难 at exactly 480.00 per head per month")
    r = hh(category="相对困难", size=2, money=(31040, 8000))
    ctx.boundary("REG-ELIGIBILITY", [r.loc], "相对困难 at exactly 960.00 (2 × 低保)")
    r = hh(category="意外致困", money=(40000, 32000))
    ctx.boundary("REG-ELIGIBILITY", [r.loc], "意外致困 with spending exactly 80% of income")
    r = hh(filed=d("2014-06-18"), reviewed=d("2015-11-20"))
    ctx.plant("REG-REVIEW-OVERDUE", "warning", [r.loc], "active file last reviewed 2015-11-20 (> 12 months)")
    r = hh(filed=d("2014-09-10"), reviewed=d("2015-12-31"))
    ctx.boundary("REG-REVIEW-OVERDUE", [r.loc], "last reviewed 2015-12-31: exactly 12 months before 2016-12-31")
    r = hh(filed=d("2015-03-02"), exit_date=d("2016-08-31"), exit_reason="脱困")
    ctx.plant("REG-EXIT-STATE", "error", [r.loc], "status 在档 but a 脱困日期 2016-08-31 is recorded")
    r = hh(filed=d("2015-05-20"), reviewed=None, status="已撤档", exit_date=d("2015-03-01"), exit_reason="调离")
    ctx.plant("REG-EXIT-STATE", "error", [r.loc], "closed file whose exit date 2015-03-01 is before filing")
    r = hh(filed=d("2015-10-08"), exit_reason="死亡")
    ctx.plant("REG-EXIT-STATE", "error", [r.loc], "death recorded (脱困原因 死亡) but the file is still 在档")
    r = hh(filed=d("2016-02-16"), disclosed=None)
    ctx.plant("REG-DISCLOSURE", "warning", [r.loc], "no 公示日期")
    r = hh(filed=d("2016-04-11"), disclosed=d("2016-04-14"))
    ctx.plant("REG-DISCLOSURE", "warning", [r.loc], "公示日期 three days after 建档日期")
    r = hh(filed=d("2016-06-06"), disclosed=d("2016-06-06"))
    ctx.boundary("REG-DISCLOSURE", [r.loc], "公示日期 on the 建档日期 itself")
    staff = {p.name: p for p, *_ in w.staff}
    r = hh(category="相对困难")
    r.person.phone = staff["吴斌"].phone
    ctx.plant("REG-STAFF-RELATIVE", "warning", [r.loc], "register phone number is the handler 吴斌's phone")
    r = hh(filed=d("2016-03-28"))
    r.raw["身份证号"] = "3.41003E+17"
    ctx.plant("REG-ID", "error", [r.loc], "ID stored by Excel as a number (3.41003E+17): its last digits are lost")
    r = hh(filed=d("2016-01-05"))
    r.raw["复核日期"] = "2016-11-31"
    ctx.reject(r.loc, "复核日期", "date_impossible", "field_blanked")

    # ---- payments with planted anomalies / boundaries ---------------------------------------
    def loc_of(*pays: Pay) -> list[Loc]:
        return [p.loc for p in pays]

    sister = staff["汪建英"]
    r = hh(person=sister, category="深度困难", filed=d("2015-07-14"))
    x = dz.pay(r, B["B1"], d("2016-01-14"), 1500)
    ctx.plant("REG-STAFF-RELATIVE", "warning", [r.loc], "register file of the chairman's sister 汪建英 (staff.csv)")
    ctx.plant("XL-STAFF-RELATIVE", "warning", [x.loc], "送温暖 paid to the chairman's sister 汪建英")
    r = hh(category="相对困难", person=ctx.person("男", name="刘䶮"), filed=d("2015-09-21"))
    dz.pay(r, B["J"], d("2016-08-08"), 3000)
    r = hh(category="深度困难", emp=e["U7"], filed=d("2015-03-10"), reviewed=d("2016-03-01"),
           status="已脱困", exit_date=d("2016-06-30"), exit_reason="脱困")
    dz.pay(r, B["B1"], d("2016-01-18"), 1000)
    x = dz.pay(r, B["B5"], d("2016-12-20"), 1000)
    ctx.plant("DISB-AFTER-EXIT", "error", [x.loc], "送温暖 on 2016-12-20 after 脱困 on 2016-06-30")
    r = hh(category="深度困难", filed=d("2014-12-01"), reviewed=d("2015-12-20"), status="已撤档",
           exit_date=d("2016-03-15"), exit_reason="死亡")
    dz.pay(r, B["B1"], d("2016-01-19"), 800)
    x = dz.pay(r, B["L1"], d("2016-04-12"), 1200)
    ctx.plant("DISB-AFTER-EXIT", "error", [x.loc], "生活救助 on 2016-04-12 after death on 2016-03-15")
    r = hh(category="深度困难", filed=d("2015-05-05"), reviewed=d("2016-04-20"), status="已脱困",
           exit_date=d("2016-09-30"), exit_reason="脱困")
    dz.pay(r, B["B1"], d("2016-01-20"), 800)
    x = dz.pay(r, B["L3"], d("2016-09-30"), 1500)
    ctx.boundary("DISB-AFTER-EXIT", [x.loc], "paid on the exit date itself (2016-09-30)")
    r = hh(category="深度困难", filed=d("2016-03-20"))
    x = dz.pay(r, B["M1"], d("2016-03-01"), 2000)
    ctx.plant("DISB-NOT-FILED", "error", [x.loc], "医疗救助 paid 2016-03-01, file only opened 2016-03-20")
    r = hh(category="深度困难", filed=d("2016-05-16"))
    x = dz.pay(r, B["L2"], d("2016-05-16"), 1200)
    ctx.boundary("DISB-NOT-FILED", [x.loc], "paid on the filing date itself (2016-05-16)")
    ctx.boundary("DISB-APPROVAL", [x.loc], "approved 2016-05-16, the payment day")
    outsider = dz.worker("一线职工")
    outsider.category = "深度困难"
    x = dz.pay(outsider, B["L1"], d("2016-03-17"), 1500, remark="", source=SOURCE["生活救助"])
    ctx.plant("DISB-NOT-FILED", "error", [x.loc], "生活救助 to a person with no hardship file")
    r = hh(category="相对困难", filed=d("2015-11-02"), reviewed=d("2016-06-15"))
    x = dz.pay(r, B["B1"], d("2016-01-21"), 1500, category="深度困难")
    ctx.plant("DISB-CATEGORY", "warning", [x.loc], "paid as 深度困难, the file says 相对困难")
    r = hh(category="深度困难", person=ctx.person("男", id_check="X"))
    x = dz.pay(r, B["B1"], d("2016-01-22"), 1000)
    x.raw["身份证号码"] = r.person.id_no[:17] + "x"
    ctx.boundary("DISB-ID", [x.loc], "check character written as lower-case x")
    ctx.boundary("DISB-NOT-FILED", [x.loc], "lower-case x still matches the register's X")
    a_h = hh(category="深度困难")
    b_h = hh(category="深度困难")
    xa = dz.pay(a_h, B["B1"], d("2016-01-25"), 1000)
    xb = dz.pay(b_h, B["L2"], d("2016-05-20"), 1500, account=a_h.person.card, bank=a_h.person.bank, holder="")
    ctx.plant("DISB-ACCOUNT-SHARED", "error", loc_of(xa, xb), "two recipients paid into one bank card")
    r = hh(category="相对困难")
    other = ctx.name("男")
    x = dz.pay(r, B["B1"], d("2016-01-26"), 800, holder=other)
    ctx.plant("DISB-ACCOUNT-NAME", "warning", [x.loc], f"account holder {other} is not the recipient")
    two = ctx.unique("name", lambda: rng.choice(SURNAMES) + rng.choice(FEMALE_GIVEN))
    r = hh(category="相对困难", person=ctx.person("女", name=two))
    x = dz.pay(r, B["B1"], d("2016-01-27"), 600, holder=two[0] + "\u3000" + two[1:])
    ctx.boundary("DISB-ACCOUNT-NAME", [x.loc], "holder written with a full-width space inside the name")
    r = hh(category="深度困难")
    xa = dz.pay(r, B["B1"], d("2016-01-15"), 500)
    xb = dz.pay(r, B["B2"], d("2016-02-03"), 500)
    ctx.plant("DISB-DUP", "error", loc_of(xa, xb), "送温暖 twice in one two-festival season")
    r = hh(category="深度困难")
    xa = dz.pay(r, B["L2"], d("2016-06-08"), 500)
    xb = dz.pay(r, B["L2"], d("2016-06-08"), 500)
    ctx.plant("DISB-DUP", "error", loc_of(xa, xb), "the same 生活救助 payment entered twice (date, amount, card)")
    r = hh(category="深度困难")
    xa = dz.pay(r, B["M3"], d("2016-06-14"), 3000)
    xb = dz.pay(r, B["M3"], d("2016-06-28"), 3000)
    ctx.plant("DISB-SPLIT", "warning", loc_of(xa, xb), "医疗救助 3,000 + 3,000 in 14 days; cap 5,000 per payment")
    r = hh(category="相对困难")
    xa = dz.pay(r, B["M4"], d("2016-07-06"), 2500)
    xb = dz.pay(r, B["M4"], d("2016-07-26"), 2500)
    ctx.boundary("DISB-SPLIT", loc_of(xa, xb), "2,500 + 2,500 in 20 days: exactly the 5,000 threshold")
    r = hh(category="相对困难")
    x = dz.pay(r, B["B1"], d("2016-01-28"), 1800)
    ctx.plant("DISB-OVER-CAP", "error", [x.loc], "送温暖 相对困难 1,800 > per-payment cap 1,500")
    r = hh(category="相对困难", emp=e["U11"])
    xa = dz.pay(r, B["B1"], d("2016-01-13"), 1500)
    xb = dz.pay(r, B["B5"], d("2016-12-12"), 1200)
    ctx.plant("DISB-OVER-CAP", "error", loc_of(xa, xb), "送温暖 相对困难 1,500 + 1,200 = 2,700 > yearly cap 2,500")
    r = hh(category="深度困难")
    x = dz.pay(r, B["B1"], d("2016-01-29"), 2000)
    ctx.boundary("DISB-OVER-CAP", [x.loc], "送温暖 深度困难 exactly the per-payment cap 2,000")
    r = hh(category="深度困难")
    xa = dz.pay(r, B["L1"], d("2016-03-15"), 2880)
    xb = dz.pay(r, B["L3"], d("2016-09-14"), 2880)
    ctx.boundary("DISB-OVER-CAP", loc_of(xa, xb), "生活救助 2,880 twice: exactly 6 × and 12 × 低保 480")
    r = hh(category="深度困难")
    x = dz.pay(r, B["J"], d("2016-08-10"), 5000)
    ctx.boundary("DISB-OVER-CAP", [x.loc], "金秋助学 深度困难 exactly the cap 5,000")
    r = hh(category="深度困难")
    x = dz.pay(r, B["L2"], d("2016-06-02"), 1000, method="现金", account="", bank="", holder="")
    ctx.plant("DISB-CASH", "error", [x.loc], "生活救助 paid in cash")
    r = hh(category="相对困难")
    x = dz.pay(r, B["M3"], d("2016-06-20"), 1500, account="")
    ctx.plant("DISB-CASH", "error", [x.loc], "发放方式 银行代发 but no bank account")
    r = hh(category="深度困难")
    x = dz.pay(r, B["L3"], d("2016-09-20"), 1200)
    x.raw["银行账号"] = f"{float(r.person.card):.14E}"
    ctx.reject(x.loc, "银行账号", "account_scientific", "field_blanked")
    ctx.plant("DISB-CASH", "error", [x.loc],
              "bank account destroyed by Excel (scientific notation, blanked at load): no account left")
    inkind = dz.worker("一线职工")
    x = dz.pay(inkind, B["B1"], d("2016-01-18"), 300, method="实物")
    ctx.boundary("DISB-CASH", [x.loc], "送温暖 in kind (实物) with no account is allowed")
    r = hh(category="相对困难")
    x = dz.pay(r, B["B1"], d("2016-01-14"), 800, disc_start=None, disc_end=None)
    ctx.plant("DISB-DISCLOSURE", "error", [x.loc], "no 公示 recorded")
    r = hh(category="深度困难")
    x = dz.pay(r, B["M2"], d("2016-04-14"), 2000, disc_start=d("2016-04-08"), disc_end=d("2016-04-10"))
    ctx.plant("DISB-DISCLOSURE", "warning", [x.loc], "公示 lasted 3 days (04-08..04-10)")
    r = hh(category="深度困难")
    x = dz.pay(r, B["L1"], d("2016-03-10"), 1000, disc_start=d("2016-03-05"), disc_end=d("2016-03-12"))
    ctx.plant("DISB-DISCLOSURE", "warning", [x.loc], "公示 ended 2016-03-12, after the payment on 03-10")
    r = hh(category="相对困难")
    x = dz.pay(r, B["M2"], d("2016-04-11"), 1800, disc_start=d("2016-04-06"), disc_end=d("2016-04-10"),
               approved=d("2016-04-11"))
    ctx.boundary("DISB-DISCLOSURE", [x.loc], "公示 04-06..04-10 = exactly 5 days, ended the day before payment")
    ctx.boundary("DISB-APPROVAL", [x.loc], "approved on the payment day")
    r = hh(category="相对困难")
    x = dz.pay(r, B["B2"], d("2016-02-04"), 600, approver="", approved=None)
    ctx.plant("DISB-APPROVAL", "error", [x.loc], "no approver")
    r = hh(category="意外致困")
    x = dz.pay(r, B["M5"], d("2016-10-10"), 2500, approved=d("2016-10-12"))
    ctx.plant("DISB-APPROVAL", "warning", [x.loc], "approved 2016-10-12, two days after payment")
    r = hh(category="深度困难")
    x = dz.pay(r, B["L4"], d("2016-11-10"), 1000, approver="吴斌")
    ctx.plant("DISB-APPROVAL", "warning", [x.loc], "approver 吴斌 is also the handler")

    # DISB-ID: recipients who need no file
    d1 = dz.worker("一线职工")
    d1.person.id_no = d1.person.id_no[:17] + ("3" if d1.person.id_no[17] != "3" else "4")
    x = dz.pay(d1, B["B1"], d("2016-01-21"), 500)
    ctx.plant("DISB-ID", "error", [x.loc], "ID check character wrong")
    d2 = dz.worker("一线职工")
    body = "341003" + "19820230" + "135"
    d2.person.id_no = body + ric_check(body)
    x = dz.pay(d2, B["B1"], d("2016-01-22"), 300, method="实物")
    ctx.plant("DISB-ID", "error", [x.loc], "ID with a valid check character but birth date 1982-02-30")
    d3 = dz.worker("一线职工", person=ctx.person("男", birth=d("2004-03-15")))
    x = dz.pay(d3, B["B1"], d("2016-01-25"), 500)
    ctx.plant("DISB-ID", "error", [x.loc], "recipient aged 11 at payment")
    d4 = dz.worker("劳模", person=ctx.person("男", birth=d("1916-01-20")))
    x = dz.pay(d4, B["B1"], d("2016-01-20"), 1000)
    ctx.boundary("DISB-ID", [x.loc], "劳模 paid on his 100th birthday (age range 16..100 inclusive)")
    namesake = dz.worker("劳模", person=ctx.person("男", name="胡志强", years=(1945, 1955)))
    x = dz.pay(namesake, B["B1"], d("2016-01-20"), 1000)
    ctx.boundary("XL-STAFF-RELATIVE", [x.loc], "recipient shares the 经审 member's name only (no ID/card match)")

    # unusable rows
    rj = dz.worker("一线职工")
    x = dz.pay(rj, B["B1"], d("2016-01-26"), 0, loaded=False)
    x.raw["金额"] = "待定"
    ctx.reject(x.loc, "金额", "amount_unparseable", "row_rejected")
    nobody = dz.worker("一线职工")
    x = dz.pay(nobody, B["B1"], d("2016-01-27"), 300, method="实物", loaded=False, name="", id_no="")
    x.loc.who = ""
    ctx.reject(x.loc, "姓名", "no_identity", "row_rejected")

    # DISB-YEAR-END: one union spending 71% in December, one at exactly 40%
    y1, y2, y3 = (hh(category=c, emp=e["UQ2"], filed=d("2015-06-15")) for c in ("深度困难", "相对困难", "深度困难"))
    dz.pay(y1, B["B1"], d("2016-01-14"), 800)
    dz.pay(y2, B["B1"], d("2016-01-15"), 600)
    ye = [dz.pay(y1, B["B5"], d("2016-12-13"), 1000), dz.pay(y2, B["B5"], d("2016-12-14"), 900),
          dz.pay(y3, B["B5"], d("2016-12-15"), 1500)]
    ctx.plant("DISB-YEAR-END", "info", loc_of(*ye), "union paid 3,400 of its 4,800 (70.8%) in December")
    z1, z2 = (hh(category=c, emp=e["UQ3"], filed=d("2015-06-15")) for c in ("深度困难", "相对困难"))
    dz.pay(z1, B["B1"], d("2016-01-18"), 1000)
    dz.pay(z2, B["B1"], d("2016-01-19"), 800)
    dz.pay(z1, B["L1"], d("2016-03-21"), 1200)
    zz = [dz.pay(z1, B["B5"], d("2016-12-16"), 1000), dz.pay(z2, B["B5"], d("2016-12-19"), 1000)]
    ctx.boundary("DISB-YEAR-END", loc_of(*zz), "union paid 2,000 of its 5,000 in December: exactly 40%")

    # ---- the clean baseline -----------------------------------------------------------------
    base = [hh(special=False) for _ in range(62)]
    for h in base:
        if h.filed < d("2016-04-01") and rng.random() < 0.12:
            lo = max(h.filed + dt.timedelta(120), d("2016-03-01"))
            h.exit_date = lo + dt.timedelta(rng.randint(0, (d("2016-11-30") - lo).days))
            h.status, h.exit_reason = rng.choice((("已脱困", "脱困"), ("已脱困", "脱困"), ("已撤档", "调离")))
            if h.reviewed and h.reviewed > h.exit_date:
                h.reviewed = None
    for h in base[::9]:
        h.raw["建档日期"] = f"{h.filed.year}/{h.filed.month}/{h.filed.day}"
    for h in base[4::13]:
        if h.disclosed:
            h.raw["公示日期"] = cn_date(h.disclosed)

    def swn_amount(h: Household) -> int:
        return rng.choice({"深度困难": (800, 1000, 1200, 1500), "相对困难": (500, 600, 800, 1000),
                           "意外致困": (1000, 1500)}[h.category])

    for _ in range(8):
        dz.pay(dz.worker("劳模"), B["B1"], rng.choice(B["B1"].days), rng.choice((800, 1000)))
    for i in range(22):
        wk = dz.worker("一线职工")
        dz.pay(wk, B["B1"], rng.choice(B["B1"].days), 300 if i % 4 == 0 else rng.choice((300, 500)),
               method="实物" if i % 4 == 0 else "银行代发")
    for _ in range(2):
        dz.pay(dz.worker("劳模"), B["B2"], rng.choice(B["B2"].days), 1000)
    dz.fill(B["B1"], base, 44, swn_amount)
    dz.fill(B["B2"], base, 12, swn_amount)
    deep = [h for h in base if h.category == "深度困难"]
    for first, second in (("L1", "L3"), ("L2", "L4"), ("L1", "L4")):
        chosen = [h for h in deep if not dz.year_sum[(h.person.id_no, "生活救助", h.category)]]
        rng.shuffle(chosen)
        for h in chosen[:5]:
            for key in (first, second):
                dz.fill(B[key], [h], 1, lambda _h: rng.choice((600, 800, 1000, 1200, 1500, 1800, 2000, 2400)))
    for key in ("M1", "M2", "M3", "M4", "M5", "M6"):
        dz.fill(B[key], base, 2, lambda _h: rng.choice(range(1000, 5000, 500)))
    jq = {"深度困难": (2000, 3000, 4000, 5000), "相对困难": (1500, 2000, 3000, 4000), "意外致困": (2000, 3000, 4000)}
    dz.fill(B["J"], base, 34, lambda h: rng.choice(jq[h.category]))
    dz.fill(B["B5"], base, 30, swn_amount, year_end_cap=0.35)

    # ---- text formatting realism on clean rows ----------------------------------------------
    plain = [p for p in w.pays if p.loaded and not p.raw and p.method != "实物" and p.amount >= 1000
             and not any(p.loc is loc for pl in ctx.planted for loc in pl.locs)
             and not any(p.loc is loc for bd in ctx.boundaries for loc in bd.locs)]
    for p in plain[3:40:9]:
        p.raw["金额"] = "¥" + money_text(p.amount)
    for p in plain[7:60:17]:
        p.raw["金额"] = money_text(p.amount)
    for p in plain[5:80:23]:
        p.raw["发放日期"] = cn_date(p.date)
    for p in plain[11:90:31]:
        p.raw["发放日期"] = f"{p.date:%Y/%m/%d}"
    for p in plain[1::6]:
        p.method = "打卡"
    # a letter O typed for a zero: kept as read at load, and reported by DISB-ID
    typo = next(p for p in w.pays if p.loaded and not p.raw and p.category == "一线职工" and "0" in p.id_no[6:17]
                and not any(p.loc is loc for pl in ctx.planted for loc in pl.locs)
                and not any(p.loc is loc for bd in ctx.boundaries for loc in bd.locs))
    at = typo.id_no.index("0", 6)
    typo.raw["身份证号码"] = typo.id_no[:at] + "O" + typo.id_no[at + 1:]
    ctx.plant("DISB-ID", "error", [typo.loc], "the letter O typed for a zero in the ID")


# ---------------------------------------------------------------------------------------------
# Layout (row numbers), budget, LEDGER-TOTAL
# ---------------------------------------------------------------------------------------------
HDR, BLANK, TOTAL, FOOT = "<repeated header>", "<blank>", "<合计>", "<footer>"


def layout(ctx: Ctx, w: World) -> None:
    for sheet, total in ((SHEET_SWN, w.swn_total), (SHEET_JQ, w.jq_total)):
        pays = sorted((p for p in w.pays if p.sheet == sheet), key=lambda p: p.date)
        items: list[Any] = []
        for i, p in enumerate(pays, start=1):
            p.seq = i
            items.append(p)
            if sheet == SHEET_SWN and i == 100:
                items += [HDR, HDR]
            if sheet == SHEET_SWN and i == 160:
                items.append(BLANK)
        items += [TOTAL, FOOT]
        for row, it in enumerate(items, start=5):  # title 1, 编制单位 2, two-row header 3-4
            if isinstance(it, Pay):
                it.loc.row = row
            elif it == TOTAL:
                total.row = row
        if sheet == SHEET_SWN:
            w.swn_layout = items
        else:
            w.jq_layout = items
    regs: list[Household | dict[str, Any]] = sorted(w.households, key=lambda h: h.file_no)
    nobody = {"职工姓名": "方桂兰", "工作单位": w.employers["U14"].name, "基层工会": w.employers["U14"].name + "工会",
              "困难类别": "相对困难", "主要致困原因": "因病", "家庭人口": 3, "家庭住址": "黄山区甘棠镇芙蓉路"}
    regs.insert(len(regs) // 2, nobody)
    for line, item in enumerate(regs, start=2):
        if isinstance(item, Household):
            item.loc.row = line
        else:
            loc = Loc("register", REG_FILE, None, row=line, who="方桂兰")
            ctx.reject(loc, "档案编号", "no_identity", "row_rejected")
    w.register_rows = regs

    ctx.plant("LEDGER-TOTAL", "error", [w.swn_total],
              f"送温暖 合计 declares {w.swn_declared_extra} more than the loaded rows add up to")
    ctx.boundary("LEDGER-TOTAL", [w.jq_total], "金秋助学 合计 equals the sum of its loaded rows")
    ctx.boundary("LEDGER-TOTAL", [w.dues_total], "dues 合计 (计税依据, 应纳税额, 减免税额, 实缴金额) is right")


def sheet_sum(w: World, sheet: str) -> Decimal:
    return sum((p.amount for p in w.pays if p.sheet == sheet and p.loaded), ZERO)


def build_budget(ctx: Ctx, w: World) -> None:
    spent: defaultdict[str, Decimal] = defaultdict(Decimal)
    for p in w.pays:
        if p.loaded:
            spent[p.program] += p.amount
    step = Decimal(10000)
    swn = (spent["送温暖"] // step) * step
    swn = swn - step if swn == spent["送温暖"] else swn
    life = Decimal(math.ceil(spent["生活救助"] * Decimal("1.25") / step)) * step
    med = Decimal(math.ceil(spent["医疗救助"] * Decimal("2.5") / step)) * step
    plan = (("送温暖", swn), ("生活救助", life), ("医疗救助", med), ("金秋助学", spent["金秋助学"]))
    for i, (prog, amount) in enumerate(plan):
        w.budget.append((prog, q(amount), Loc("budget", "budget.csv", None, row=i + 2, who=prog)))
    locs = {prog: loc for prog, _, loc in w.budget}
    assert spent["送温暖"] > swn and spent["医疗救助"] < med / 2 <= med and life / 2 <= spent["生活救助"] <= life
    ctx.plant("XL-FUND-OVERSPEND", "error", [locs["送温暖"]],
              f"送温暖 paid {spent['送温暖']:,.2f} against an allocation of {swn:,.2f}")
    ctx.plant("XL-FUND-OVERSPEND", "info", [locs["医疗救助"]],
              f"医疗救助 paid {spent['医疗救助']:,.2f} of {med:,.2f}: under half spent")
    ctx.boundary("XL-FUND-OVERSPEND", [locs["金秋助学"]], "金秋助学 paid exactly its allocation")
    ctx.boundary("XL-FUND-OVERSPEND", [locs["生活救助"]], "生活救助 spent between 50% and 100%")
    emp = w.employers
    assert emp["S"].loc and emp["T"].loc and emp["UZ"].loc
    ctx.plant("XL-MISSING-EMPLOYER", "warning", [emp["S"].loc], "存续, 15 staff, no dues row in 2016")
    ctx.boundary("XL-MISSING-EMPLOYER", [emp["T"].loc], "注销 (deregistered) employer without dues rows")
    ctx.boundary("XL-MISSING-EMPLOYER", [emp["UZ"].loc], "存续 but 0 staff")


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------
RATIO_HEADERS = {h for h, _ in SHARE_HEADERS.values()} | {"税率"}


def write_dues_xls(path: Path, w: World) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet(DUES_SHEET)
    st_title = xlwt.easyxf("font: bold on, height 320; align: horiz center")
    st_head = xlwt.easyxf("font: bold on; align: horiz center, wrap on; "
                          "borders: left thin, right thin, top thin, bottom thin")
    st = {"date": xlwt.easyxf(num_format_str="YYYY-MM-DD"), "money": xlwt.easyxf(num_format_str="#,##0.00"),
          "ratio": xlwt.easyxf(num_format_str="0.00##"), "int": xlwt.easyxf(num_format_str="0"),
          "text": xlwt.easyxf(num_format_str="@")}
    ws.write_merge(0, 0, 0, len(DUES_HEADERS) - 1, DUES_TITLE, st_title)
    ws.write(1, 0, "单位：元")
    for c, h in enumerate(DUES_HEADERS):
        ws.write(2, c, h, st_head)
        ws.col(c).width = 256 * (22 if h in ("社会信用代码", "纳税人名称", "电子税票号码", "基层工会账号") else 13)
    for row in w.dues:
        cells = row.cells()
        for c, h in enumerate(DUES_HEADERS):
            v = cells[h]
            r = row.loc.row - 1
            if v is None or v == "":
                continue
            if isinstance(v, ErrorCell):
                ws.row(r).set_cell_error(c, v.code)
            elif isinstance(v, str):
                ws.write(r, c, v, st["text"])
            elif isinstance(v, Decimal):
                ws.write(r, c, float(v), st["ratio" if h in RATIO_HEADERS else "money"])
            elif isinstance(v, dt.date):
                ws.write(r, c, v, st["date"])
            else:
                ws.write(r, c, int(v), st["int"])
    r = w.dues_total.row - 1
    ws.write(r, 0, "合计")
    for h in ("计税依据", "应纳税额", "减免税额", "实缴金额"):
        total = sum((getattr(x, {"计税依据": "base", "应纳税额": "payable", "减免税额": "relief",
                                  "实缴金额": "paid"}[h]) for x in w.dues if x.loaded), ZERO)
        ws.write(r, DUES_HEADERS.index(h), float(total), st["money"])
    ws.write(r + 1, 0, "制表：黄山市黄山区地方税务局　数据日期：2017-02-10")
    wb.save(str(path))


def write_disb_xlsx(path: Path, w: World) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    wb.set_properties({"title": SWN_TITLE, "author": "程晓燕", "company": FEDERATION,
                       "created": dt.datetime(2017, 1, 10, 9, 30, 0)})
    f_title = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    f_head = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1, "text_wrap": True})
    f_cell = wb.add_format({"border": 1})
    f_text = wb.add_format({"border": 1, "num_format": "@"})
    f_money = wb.add_format({"border": 1, "num_format": "#,##0.00"})
    f_date = wb.add_format({"border": 1, "num_format": "yyyy-mm-dd"})
    c1 = DISB_HEADERS.index(DISB_GROUP[1])

    def header(ws: Any, r: int) -> None:
        for c, h in enumerate(DISB_HEADERS):
            if c not in (c1, c1 + 1):
                ws.merge_range(r, c, r + 1, c, h, f_head)
        ws.merge_range(r, c1, r, c1 + 1, DISB_GROUP[0], f_head)
        ws.write_string(r + 1, c1, DISB_GROUP[1], f_head)
        ws.write_string(r + 1, c1 + 1, DISB_GROUP[2], f_head)

    for sheet, title, items, total in ((SHEET_SWN, SWN_TITLE, w.swn_layout, w.swn_total),
                                       (SHEET_JQ, JQ_TITLE, w.jq_layout, w.jq_total)):
        ws = wb.add_worksheet(sheet)
        ws.merge_range(0, 0, 0, len(DISB_HEADERS) - 1, title, f_title)
        ws.write_string(1, 0, "编制单位：黄山区总工会")
        header(ws, 2)
        for c, h in enumerate(DISB_HEADERS):
            ws.set_column(c, c, 21 if h in ("身份证号码", "银行账号", "工作单位", "基层工会") else 11)
        r = 4
        pending_hdr = False
        for it in items:
            if it == HDR:
                if not pending_hdr:
                    header(ws, r)
                pending_hdr = not pending_hdr
            elif it == TOTAL:
                ws.write_string(r, 0, "合计", f_cell)
                declared = sheet_sum(w, sheet) + (w.swn_declared_extra if sheet == SHEET_SWN else ZERO)
                ws.write_number(r, DISB_HEADERS.index("金额"), float(declared), f_money)
            elif it == FOOT:
                ws.write_string(r, 0, FOOTER)
            elif isinstance(it, Pay):
                assert it.loc.row == r + 1 and total.row > r
                for c, h in enumerate(DISB_HEADERS):
                    v = it.cells()[h]
                    if v is None or v == "":
                        ws.write_blank(r, c, None, f_cell)
                    elif isinstance(v, str):
                        ws.write_string(r, c, v, f_text if h in ("身份证号码", "银行账号", "档案编号") else f_cell)
                    elif isinstance(v, Decimal):
                        ws.write_number(r, c, float(v), f_money)
                    elif isinstance(v, dt.date):
                        ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), f_date)
                    else:
                        ws.write_number(r, c, v, f_cell)
            r += 1
    wb.close()


def text_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return f"{v:.2f}"
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, encoding: str = "utf-8",
              newline: str = "\n") -> None:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator=newline)
    wr.writerow(header)
    for row in rows:
        wr.writerow([text_cell(v) for v in row])
    path.write_bytes(buf.getvalue().encode(encoding))


def write_register(path: Path, w: World) -> None:
    rows = []
    for item in w.register_rows:
        cells = item.cells() if isinstance(item, Household) else item
        rows.append([cells.get(h) for h in REG_HEADERS])
    write_csv(path, REG_HEADERS, rows, encoding="gb18030", newline="\r\n")


def write_references(out: Path, w: World) -> None:
    union_cols = ("工会代码", "工会名称", "工会统一社会信用代码", "单位纳税人识别号", "建会日期", "撤销日期",
                  "银行账号", "户名")
    write_csv(out / "unions.csv", union_cols,
              [(u.code, u.name, u.uscc, u.employer_tid, u.founded, None, u.account, u.name) for u in w.unions])
    write_csv(out / "employers.csv", ("纳税人识别号", "单位名称", "职工人数", "状态", "所属期"),
              [(e.tid, e.name, e.headcount, e.status, 2016) for e in w.employers.values() if e.on_roster])
    staff_cols = ("姓名", "身份证号码", "职务", "银行账号", "手机号码", "家庭住址", "亲属关系人", "关系")
    write_csv(out / "staff.csv", staff_cols,
              [(p.name, p.id_no, role, p.card, p.phone, p.address, of, rel) for p, role, of, rel in w.staff])
    write_csv(out / "caps.csv", ("帮扶项目", "困难类别", "年度", "单次上限", "年度上限", "依据"),
              [(prog, cat, 2016, per, year, basis) for prog, cat, per, year, basis in CAPS])
    ratio_cols = ("有效期起", "有效期止", "征收品目", "基层工会比例", "筹备金比例", "县级工会比例", "市级工会比例",
                  "省总工会比例", "全总比例", "代收手续费比例")
    write_csv(out / "ratios.csv", ratio_cols,
              [(d("2015-01-01"), d("2017-12-31"), fund, *(f"{SCHEDULE[fund][k]:.2f}" for k in SHARES))
               for fund in (FUND_UNION, FUND_PREP)])
    write_csv(out / "dibao.csv", ("行政区划代码", "年度", "月低保标准"), [(REGION, 2016, DIBAO)])
    write_csv(out / "min_wage.csv", ("行政区划代码", "执行日期", "月最低工资标准"),
              [(REGION, d("2015-11-01"), MIN_WAGE)])
    write_csv(out / "budget.csv", ("帮扶项目", "年度", "下拨金额"), [(prog, 2016, amt) for prog, amt, _ in w.budget])


REFERENCE_FILES = {  # file -> (kind, data rows)
    "unions.csv": "unions", "employers.csv": "employers", "staff.csv": "staff", "caps.csv": "caps",
    "ratios.csv": "ratios", "dibao.csv": "dibao", "min_wage.csv": "min_wage", "budget.csv": "budget",
}


# ---------------------------------------------------------------------------------------------
# Answer key and README tables
# ---------------------------------------------------------------------------------------------
def sort_key(ref: dict[str, Any]) -> tuple[str, str, int]:
    return (ref["file"], ref["sheet"] or "", ref["row"])


def build_inputs(w: World, out: Path) -> list[dict[str, Any]]:
    def entry(kind: str, file: str, sheet: str | None, header: int, read: int, loaded: int, rejected: int,
              non_data: int, total: Decimal | None) -> dict[str, Any]:
        assert read == loaded + rejected + non_data, file
        return {"kind": kind, "file": file, "sheet": sheet, "header_row": header, "rows_read": read,
                "rows_loaded": loaded, "rows_rejected": rejected, "rows_non_data": non_data,
                "amount_total": None if total is None else f"{total:.2f}"}

    dues_loaded = [r for r in w.dues if r.loaded]
    out_list = [entry("dues", DUES_FILE, DUES_SHEET, 3, w.dues_rows_read, len(dues_loaded),
                      len(w.dues) - len(dues_loaded), 2, sum((r.paid for r in dues_loaded), ZERO))]
    for sheet, items in ((SHEET_SWN, w.swn_layout), (SHEET_JQ, w.jq_layout)):
        pays = [it for it in items if isinstance(it, Pay)]
        loaded = [p for p in pays if p.loaded]
        out_list.append(entry("disbursements", DISB_FILE, sheet, 4, len(items), len(loaded), len(pays) - len(loaded),
                              len(items) - len(pays), sheet_sum(w, sheet)))
    n = len(w.register_rows)
    out_list.append(entry("register", REG_FILE, None, 1, n, n - 1, 1, 0, None))
    for file, kind in REFERENCE_FILES.items():
        lines = (out / file).read_text(encoding="utf-8").splitlines()
        out_list.append(entry(kind, file, None, 1, len(lines) - 1, len(lines) - 1, 0, 0, None))
    return out_list


def build_expected(ctx: Ctx, w: World, out: Path) -> dict[str, Any]:
    findings: dict[str, list[dict[str, Any]]] = {rule: [] for rule in RULES}
    for pl in ctx.planted:
        refs = sorted((loc.ref() for loc in pl.locs), key=sort_key)
        findings[pl.rule].append({"refs": refs, "severity": pl.severity, "note": pl.note})
    for rule, items in findings.items():
        assert items, f"nothing planted for {rule}"
        items.sort(key=lambda f: (sort_key(f["refs"][0]), f["severity"]))
    rejected = [{"kind": r.loc.kind, "file": r.loc.file, "sheet": r.loc.sheet, "row": r.loc.row,
                 "column": r.column, "reason": r.reason, "action": r.action} for r in ctx.rejections]
    rejected.sort(key=lambda x: (x["kind"], *sort_key(x), x["column"]))
    return {"schema_version": 1, "profile": PROFILE,
            "period": {"start": P_START.isoformat(), "end": P_END.isoformat()},
            "params": PARAMS, "inputs": build_inputs(w, out), "rejected_rows": rejected, "findings": findings}


def ref_text(locs: Sequence[Loc]) -> str:
    parts = []
    for loc in sorted(locs, key=Loc.key):
        parts.append(f"{loc.file}{'#' + loc.sheet if loc.sheet else ''}:{loc.row}")
    return "<br>".join(parts)


def readme_tables(ctx: Ctx, expected: dict[str, Any]) -> str:
    lines = ["### Inputs (rows as `rows_read = loaded + rejected + non_data`)", "",
             "| kind | file | sheet | header row | read | loaded | rejected | non-data | amount total |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i in expected["inputs"]:
        lines.append(f"| {i['kind']} | {i['file']} | {i['sheet'] or ''} | {i['header_row']} | {i['rows_read']} | "
                     f"{i['rows_loaded']} | {i['rows_rejected']} | {i['rows_non_data']} | {i['amount_total'] or ''} |")
    lines += ["", "### Unusable rows", "", "| file | sheet | row | column | reason | action |",
              "|---|---|---|---|---|---|"]
    for r in expected["rejected_rows"]:
        lines.append(f"| {r['file']} | {r['sheet'] or ''} | {r['row']} | {r['column']} | {r['reason']} "
                     f"| {r['action']} |")
    lines += ["", "### Planted anomalies (every one must fire)", "", "| rule | severity | where | what was planted |",
              "|---|---|---|---|"]
    for pl in sorted(ctx.planted, key=lambda p: (RULES.index(p.rule), sorted(loc.key() for loc in p.locs))):
        lines.append(f"| {pl.rule} | {pl.severity} | {ref_text(pl.locs)} | {pl.note} |")
    lines += ["", "### Boundary rows (none of these may fire)", "", "| rule | where | why it must not fire |",
              "|---|---|---|"]
    for bd in sorted(ctx.boundaries, key=lambda b: (RULES.index(b.rule), sorted(loc.key() for loc in b.locs))):
        lines.append(f"| {bd.rule} | {ref_text(bd.locs)} | {bd.note} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- BEGIN GENERATED: samples/generate.py writes this part -->", "<!-- END GENERATED -->"


def update_readme(path: Path, tables: str) -> None:
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    assert sep and sep2, "README.md lacks the generated-section markers"
    path.write_text(f"{head}{BEGIN}\n{tables}{END}{tail}", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Self-check: read the files back as text and re-derive counts, rejections and findings
# ---------------------------------------------------------------------------------------------
class BadValueError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


def p_date(v: Any) -> dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    parts = s.replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-").split("-")
    if len(parts) == 3 and all(x.isdigit() for x in parts):
        raise BadValueError("date_impossible")
    raise BadValueError("date_unparseable")


def p_amount(v: Any) -> Decimal | None:
    if v is None or v == "":
        return None
    if isinstance(v, ErrorCell):
        raise BadValueError("excel_error_cell")
    if isinstance(v, int | float):
        return q(Decimal(repr(v)))
    s = str(v).strip().replace("¥", "").replace("￥", "").replace(",", "")
    try:
        return q(Decimal(s))
    except InvalidOperation:
        raise BadValueError("amount_unparseable") from None


def p_rate(v: Any) -> Decimal | None:
    if isinstance(v, str) and v.strip().endswith("%"):
        return Decimal(v.strip()[:-1]) / 100
    if v is None or v == "":
        return None
    return Decimal(repr(v)) if isinstance(v, float) else Decimal(str(v))


def p_int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v)
    raise BadValueError("int_unparseable")


def p_id(v: Any) -> str | None:
    if v is None or v == "":
        return None
    return str(v).strip().upper()  # an invalid ID is kept as read: the ID rules report it


def p_account(v: Any) -> str | None:
    if v is None or v == "":
        return None
    s = str(v).strip().upper()
    if "E+" in s:
        raise BadValueError("account_scientific")
    return digits_only(s)


def p_str(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


DUES_SPEC: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "社会信用代码": ("tid", lambda v: p_str(v).upper()), "纳税人名称": ("name", p_str), "征收品目": ("fund", p_str),
    "税款所属期起": ("pstart", p_date), "税款所属期止": ("pend", p_date), "计税依据": ("base", p_amount),
    "职工人数": ("headcount", p_int), "税率": ("rate", p_rate), "应纳税额": ("payable", p_amount),
    "减免税额": ("relief", p_amount), "实缴金额": ("paid", p_amount), "申报日期": ("filed", p_date),
    "缴款日期": ("paydate", p_date), "入库日期": ("treasury", p_date), "电子税票号码": ("voucher", p_str),
    "更正类型": ("corr", p_str), "工会机构代码": ("union_code", p_str), "基层工会账号": ("gr_account", p_account),
    "结算标记": ("flag", p_str), "结算日期": ("settled", p_date), "小微类型": ("sme", p_str),
    "应返拨金额": ("refund_due", p_amount), "实返拨金额": ("refund_paid", p_amount),
    "返拨日期": ("refund_date", p_date),
    **{h: ("r_" + k, p_rate) for k, (h, _) in SHARE_HEADERS.items()},
    **{h: ("a_" + k, p_amount) for k, (_, h) in SHARE_HEADERS.items()},
}
DISB_SPEC: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "姓名": ("name", p_str), "身份证号码": ("id", p_id), "档案编号": ("file_no", p_str), "基层工会": ("union", p_str),
    "帮扶项目": ("program", p_str), "困难类别": ("category", p_str), "金额": ("amount", p_amount),
    "发放方式": ("method", p_str), "银行账号": ("account", p_account), "账户名": ("holder", p_str),
    "发放日期": ("date", p_date), "公示开始日期": ("disc_start", p_date), "公示结束日期": ("disc_end", p_date),
    "审批人": ("approver", p_str), "审批日期": ("approved", p_date), "经办人": ("handler", p_str),
}
REG_SPEC: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "档案编号": ("file_no", p_str), "职工姓名": ("name", p_str), "身份证号": ("id", p_id),
    "困难类别": ("category", p_str),
    "家庭人口": ("size", p_int), "家庭年度总收入": ("income", p_amount), "因困支出": ("spending", p_amount),
    "建档日期": ("filed", p_date), "复核日期": ("reviewed", p_date), "脱困日期": ("exit_date", p_date),
    "脱困原因": ("exit_reason", p_str), "档案状态": ("status", p_str), "公示日期": ("disclosed", p_date),
    "银行卡号": ("card", p_account), "手机号码": ("phone", p_str), "家庭住址": ("address", p_str),
}
REQUIRED_AMOUNT = {"dues": "实缴金额", "disbursements": "金额"}
WHO_COLUMN = {"dues": "纳税人名称", "disbursements": "姓名", "register": "职工姓名"}
IDENTITY = {"dues": ("社会信用代码", "纳税人名称"), "disbursements": ("姓名", "身份证号码"),
            "register": ("档案编号", "身份证号")}


@dataclass
class Parsed:
    records: defaultdict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    rejected: list[tuple[Any, ...]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    totals: list[tuple[tuple[str, str, str | None, int], dict[str, Decimal], list[dict[str, Any]]]] = field(
        default_factory=list)
    who: dict[tuple[str, str, int], str] = field(default_factory=dict)


def load_grid(p: Parsed, kind: str, file: str, sheet: str | None, grid: list[list[Any]], header_rows: list[int],
              spec: dict[str, tuple[str, Callable[[Any], Any]]], amount_col: str | None) -> None:
    """``grid`` is the whole sheet (0-based rows); ``header_rows`` the 1-based header row numbers."""
    heads = [grid[r - 1] for r in header_rows]
    names = [next((str(h[c]) for h in reversed(heads) if c < len(h) and h[c] not in (None, "")), "")
             for c in range(max(len(h) for h in heads))]
    last = max(i for i, row in enumerate(grid) if any(v not in (None, "") for v in row))
    loaded = rejected = non_data = 0
    total = ZERO
    section: list[dict[str, Any]] = []
    for i in range(header_rows[-1], last + 1):
        row = list(grid[i]) + [None] * (len(names) - len(grid[i]))
        excel_row = i + 1
        texts = [v for v in row if isinstance(v, str) and v.strip()]
        ref = (kind, file, sheet, excel_row)
        p.who[(file, sheet or "", excel_row)] = p_str(row[names.index(WHO_COLUMN[kind])])
        if not any(v not in (None, "") for v in row) or any(row == list(h) for h in heads):
            non_data += 1
            continue
        if texts and texts[0].strip().startswith(("合计", "小计")):
            non_data += 1
            p.who[(file, sheet or "", excel_row)] = "合计"
            declared = {names[c]: p_amount(v) for c, v in enumerate(row)
                        if isinstance(v, int | float) and not isinstance(v, bool)}
            p.totals.append((ref, {k: v for k, v in declared.items() if v is not None}, section))
            section = []
            continue
        if texts and texts[0].strip().startswith(("制表", "注：")) and sum(v not in (None, "") for v in row) == 1:
            non_data += 1
            continue
        cells = dict(zip(names, row, strict=False))
        rec: dict[str, Any] = {"_ref": ref}
        if not any(p_str(cells.get(h)) for h in IDENTITY[kind]):
            p.rejected.append((kind, file, sheet, excel_row, IDENTITY[kind][0], "no_identity", "row_rejected"))
            rejected += 1
            continue
        bad_row = False
        for head, (key, fn) in spec.items():
            try:
                rec[key] = fn(cells.get(head))
            except BadValueError as exc:
                action = "row_rejected" if head == amount_col else "field_blanked"
                p.rejected.append((kind, file, sheet, excel_row, head, exc.reason, action))
                rec[key] = None
                bad_row = bad_row or head == amount_col
        if bad_row:
            rejected += 1
            continue
        loaded += 1
        if amount_col:
            total += rec[spec[amount_col][0]] or ZERO
        p.records[kind].append(rec)
        section.append(rec)
    p.inputs.append({"kind": kind, "file": file, "sheet": sheet, "header_row": header_rows[-1],
                     "rows_read": last + 1 - header_rows[-1], "rows_loaded": loaded, "rows_rejected": rejected,
                     "rows_non_data": non_data, "amount_total": f"{total:.2f}" if amount_col else None})


def read_back(out: Path) -> Parsed:
    import openpyxl
    import xlrd

    p = Parsed()
    book = xlrd.open_workbook(str(out / DUES_FILE))
    sh = book.sheet_by_name(DUES_SHEET)

    def xv(cell: Any) -> Any:
        if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            return None
        if cell.ctype == xlrd.XL_CELL_DATE:
            return xlrd.xldate.xldate_as_datetime(cell.value, book.datemode).date()
        if cell.ctype == xlrd.XL_CELL_ERROR:
            return ErrorCell(cell.value, xlrd.error_text_from_code[cell.value])
        return cell.value

    grid = [[xv(c) for c in sh.row(i)] for i in range(sh.nrows)]
    assert grid[0][0] == DUES_TITLE and grid[1][0] == "单位：元"
    load_grid(p, "dues", DUES_FILE, DUES_SHEET, grid, [3], DUES_SPEC, "实缴金额")
    wb = openpyxl.load_workbook(out / DISB_FILE, data_only=True)
    for sheet in (SHEET_SWN, SHEET_JQ):
        ws = wb[sheet]
        grid = [list(r) for r in ws.iter_rows(values_only=True)]
        assert grid[2][0] == "序号" and grid[3][DISB_HEADERS.index("公示开始日期")] == "公示开始日期"
        assert any(str(m) == "O3:P3" for m in ws.merged_cells.ranges)
        load_grid(p, "disbursements", DISB_FILE, sheet, grid, [3, 4], DISB_SPEC, "金额")
    raw = (out / REG_FILE).read_bytes()
    try:
        raw.decode("gbk")
    except UnicodeDecodeError:
        pass
    else:
        raise AssertionError("register must need GB18030, not plain GBK")
    grid = [[v for v in row] for row in csv.reader(io.StringIO(raw.decode("gb18030"), newline=""))]
    assert raw.count(b"\r\n") == len(grid)
    load_grid(p, "register", REG_FILE, None, [[v or None for v in r] for r in grid], [1], REG_SPEC, None)
    for file, kind in REFERENCE_FILES.items():
        rows = list(csv.DictReader(io.StringIO((out / file).read_text(encoding="utf-8"), newline="")))
        for i, row in enumerate(rows, start=2):
            rec = {"_ref": (kind, file, None, i), **{k: (v or "") for k, v in row.items()}}
            p.records[kind].append(rec)
            names = ("单位名称", "帮扶项目", "姓名", "工会名称")
            p.who[(file, "", i)] = next((row[k] for k in names if row.get(k)), "")
        p.inputs.append({"kind": kind, "file": file, "sheet": None, "header_row": 1, "rows_read": len(rows),
                         "rows_loaded": len(rows), "rows_rejected": 0, "rows_non_data": 0, "amount_total": None})
    return p


# ---------------------------------------------------------------------------------------------
# The oracle: the rules as README.md interprets them, over the re-read records
# ---------------------------------------------------------------------------------------------
Ref = tuple[str, str, str | None, int]
Finding = tuple[str, str, tuple[Ref, ...]]


def merge_groups(groups: Iterable[Sequence[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Union of overlapping groups (rows linked by any test end up in one finding)."""
    merged: list[dict[Ref, dict[str, Any]]] = []
    for g in groups:
        members = {r["_ref"]: r for r in g}
        for m in [m for m in merged if set(m) & set(members)]:
            merged.remove(m)
            members.update(m)
        merged.append(members)
    return [list(m.values()) for m in merged]


def id_problem(idn: str, on: dt.date) -> str | None:
    if len(idn) != 18 or not idn[:17].isdigit() or idn[17] not in "0123456789X":
        return "format"
    if ric_check(idn[:17]) != idn[17]:
        return "checksum"
    try:
        birth = dt.date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
    except ValueError:
        return "birth date"
    return None if 16 <= age_on(birth, on) <= 100 else "age"


def tid_severity(tid: str) -> str | None:
    if len(tid) == 18:
        if any(c not in USCC_ALPHA for c in tid) or uscc_check(tid[:17]) != tid[17]:
            return "error"
        return None if org_check(tid[8:16]) == tid[16] else "warning"
    if len(tid) == 15:
        return None if tid[:6].isdigit() and org_check(tid[6:14]) == tid[14] else "warning"
    return None if len(tid) == 20 else "error"


def oracle(p: Parsed) -> set[Finding]:
    found: set[Finding] = set()

    def add(rule: str, sev: str, rows: Iterable[dict[str, Any]]) -> None:
        refs = tuple(sorted({r["_ref"] for r in rows}, key=lambda x: (x[1], x[2] or "", x[3])))
        found.add((rule, sev, refs))

    dues = p.records["dues"]
    in_p = [r for r in dues if r["pstart"] <= P_END and r["pend"] >= P_START]
    unions = {u["单位纳税人识别号"]: u for u in p.records["unions"]}
    sched = {r["征收品目"]: r for r in p.records["ratios"]}
    min_wage = sorted((d(r["执行日期"]), Decimal(r["月最低工资标准"])) for r in p.records["min_wage"])
    dibao = {int(r["年度"]): Decimal(r["月低保标准"]) for r in p.records["dibao"]}

    for r in in_p:
        if r["rate"] is not None and abs(r["rate"] - Decimal("0.02")) > Decimal("1e-9"):
            add("DUES-RATE", "error", [r])
        relief = r["relief"] or ZERO
        if (abs(q(r["base"] * r["rate"]) - r["payable"]) > CENT or abs(r["payable"] - relief - r["paid"]) > CENT):
            add("DUES-CALC", "error", [r])
        s, t = r["pstart"], r["pend"]
        n = months_len(s, t)
        ok = s <= t and s.day == 1 and t == month_end(t.year, t.month) and n in (1, 3, 12)
        ok = ok and (n != 3 or s.month in (1, 4, 7, 10)) and (n != 12 or s.month == 1)
        if not ok or (r["treasury"] and r["treasury"] < s):
            add("DUES-PERIOD", "error", [r])
        if any(x and x > deadline(t) for x in (r["filed"], r["paydate"], r["treasury"])):
            add("DUES-LATE", "warning", [r])
        sev = tid_severity(r["tid"])
        if sev:
            add("DUES-TAXPAYER-ID", sev, [r])
        ratios = [r["r_" + k] for k in SHARES]
        amounts = [r["a_" + k] for k in SHARES]
        basis = r["paid"] - relief
        if abs(sum(ratios, ZERO) - 1) > Decimal("0.0001") or abs(sum(amounts, ZERO) - basis) > CENT:
            add("DUES-SPLIT-SUM", "error", [r])
        row = sched[r["fund"]]
        if any(abs(r["r_" + k] - Decimal(row[SHARE_HEADERS[k][0]])) > Decimal("0.0001") for k in SHARES):
            add("DUES-SPLIT-RATIO", "error", [r])
        if abs(r["a_fee"] - q(basis * Decimal("0.02"))) > CENT:
            add("DUES-FEE", "warning", [r])
        if r["flag"] == "E" or (r["settled"] and (r["settled"] - r["treasury"]).days > 30):
            add("DUES-REMIT-LATE", "warning", [r])
        if (r["refund_paid"] or ZERO) > 0 and s.year not in (2020, 2021, 2022):
            add("DUES-SME-REFUND", "warning", [r])
        if r["paid"] > 0 and r["base"] is not None:
            mw = [v for since, v in min_wage if since <= s]
            if mw and r["base"] < mw[-1] * (r["headcount"] or 1) * n:
                add("DUES-BASE-MIN", "warning", [r])
        if r["paid"] < 0:
            earlier = [x for x in dues if x["tid"] == r["tid"] and x["fund"] == r["fund"] and x["paid"] > 0
                       and (x["pstart"], x["pend"]) == (s, t) and x["treasury"] <= r["treasury"]
                       and x["treasury"] >= add_months(r["treasury"], -24)]
            if not earlier:
                add("DUES-REFUND", "warning", [r])
        union = unions.get(r["tid"])
        exists = union is not None and d(union["建会日期"]) <= s and not (
            union["撤销日期"] and d(union["撤销日期"]) < t)
        if r["fund"] == FUND_UNION and not exists:
            add("XL-UNION-STATUS", "error", [r])
        if r["fund"] == FUND_PREP and union is not None and d(union["建会日期"]) < s:
            add("XL-UNION-STATUS", "warning", [r])
        if r["fund"] == FUND_UNION and union and r["gr_account"] and r["gr_account"] != digits_only(union["银行账号"]):
            add("XL-UNION-ACCOUNT", "error", [r])

    # DUES-DUP: key groups net of corrections, voucher groups, merged
    keyed: defaultdict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    vouchers: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in dues:
        keyed[(r["tid"], r["fund"], r["pstart"], r["pend"])].append(r)
        if r["voucher"]:
            vouchers[r["voucher"]].append(r)
    dup = [g for g in keyed.values() if sum(x["paid"] > 0 for x in g) - sum(x["paid"] < 0 for x in g) > 1]
    dup += [g for g in vouchers.values() if len(g) > 1]
    for g in merge_groups(dup):
        if any(x in in_p for x in g):
            add("DUES-DUP", "error", g)

    # DUES-GAP and DUES-BASE-DROP: per taxpayer, positive rows, all fund types
    by_tid: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in dues:
        if r["paid"] > 0:
            by_tid[r["tid"]].append(r)
    for rows in by_tid.values():
        rows.sort(key=lambda x: (x["pstart"], x["_ref"][3]))
        lengths = Counter(months_len(x["pstart"], x["pend"]) for x in rows)
        cadence = min(k for k, v in lengths.items() if v == max(lengths.values()))
        if cadence in (1, 3):
            expected = [(dt.date(2016, m, 1), month_end(2016, m + cadence - 1)) for m in range(1, 13, cadence)]
            missing = [e for e in expected if not any(x["pstart"] <= e[0] and x["pend"] >= e[1] for x in rows)]
            runs: list[list[tuple[dt.date, dt.date]]] = []
            for e in missing:
                if runs and expected.index(runs[-1][-1]) + 1 == expected.index(e):
                    runs[-1].append(e)
                else:
                    runs.append([e])
            for run in runs:
                prior = [x for x in rows if x["pend"] < run[0][0]]
                if len(prior) >= 2:
                    before = max(prior, key=lambda x: (x["pend"], -x["_ref"][3]))
                    after = [x for x in rows if x["pstart"] > run[-1][1]]
                    add("DUES-GAP", "warning", [before, *after[:1]])
        for i, r in enumerate(rows):
            hist = [x["base"] for x in rows[:i] if x["pstart"] < r["pstart"]][-6:]
            if r in in_p and len(hist) >= 3:
                srt = sorted(hist)
                med = (srt[(len(srt) - 1) // 2] + srt[len(srt) // 2]) / 2
                if r["base"] < med * Decimal("0.5"):
                    add("DUES-BASE-DROP", "warning", [r])

    paid_tids = {r["tid"] for r in in_p}
    for e in p.records["employers"]:
        if e["状态"] != "注销" and int(e["职工人数"]) >= 1 and e["纳税人识别号"].upper() not in paid_tids:
            add("XL-MISSING-EMPLOYER", "warning", [e])

    # ---- disbursements ------------------------------------------------------------------------
    pays = p.records["disbursements"]
    regs = p.records["register"]
    reg_by_id: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in regs:
        if h["id"]:
            reg_by_id[h["id"]].append(h)
    caps = {(c["帮扶项目"], c["困难类别"]): c for c in p.records["caps"]}

    def cap(prog: str, cat: str, year: int) -> tuple[Decimal, Decimal] | None:
        c = caps.get((prog, cat)) or caps.get((prog, ""))
        if c is None:
            return None
        mult = dibao[year] if c["依据"] == "dibao_multiple" else Decimal(1)
        return Decimal(c["单次上限"]) * mult, Decimal(c["年度上限"]) * mult

    for x in pays:
        if x["id"] and id_problem(x["id"], x["date"]):
            add("DISB-ID", "error", [x])
        files = reg_by_id.get(x["id"] or "", [])
        needs = x["program"] in ("生活救助", "医疗救助", "助学救助") or (
            x["program"] == "送温暖" and x["category"] in HARDSHIP)
        if needs and not any(h["filed"] <= x["date"] for h in files):
            add("DISB-NOT-FILED", "error", [x])
        active = [h for h in files
                  if h["filed"] <= x["date"] and (h["exit_date"] is None or x["date"] <= h["exit_date"])]
        if files and not active and any(h["exit_date"] and h["exit_date"] < x["date"] for h in files):
            add("DISB-AFTER-EXIT", "error", [x])
        if x["category"] in HARDSHIP and active and all(h["category"] != x["category"] for h in active):
            add("DISB-CATEGORY", "warning", [x])
        if x["method"] in CASH_WORDS or (x["method"] == "实物" and x["program"] not in ("送温暖", "夏送清凉")) or (
                x["method"] != "实物" and not x["account"]):
            add("DISB-CASH", "error", [x])
        if x["holder"] and norm_text(x["holder"]) != norm_text(x["name"]):
            add("DISB-ACCOUNT-NAME", "warning", [x])
        c = cap(x["program"], x["category"], x["date"].year)
        if c and x["amount"] > c[0]:
            add("DISB-OVER-CAP", "error", [x])
        if x["disc_start"] is None and x["disc_end"] is None:
            add("DISB-DISCLOSURE", "error", [x])
        elif (x["disc_start"] is None or x["disc_end"] is None
              or (x["disc_end"] - x["disc_start"]).days + 1 < 5 or x["disc_end"] >= x["date"]):
            add("DISB-DISCLOSURE", "warning", [x])
        if not x["approver"]:
            add("DISB-APPROVAL", "error", [x])
        elif ((x["approved"] and x["approved"] > x["date"]) or norm_text(x["approver"]) in
              (norm_text(x["handler"]), norm_text(x["name"]))):
            add("DISB-APPROVAL", "warning", [x])

    yearly: defaultdict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    accounts: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    windows: defaultdict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    same: defaultdict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    per_person: defaultdict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for x in pays:
        day = x["date"]
        if x["id"]:
            yearly[(x["id"], x["program"], x["category"], day.year)].append(x)
            per_person[(x["id"], x["program"])].append(x)
            if x["program"] == "送温暖" and day.month in (12, 1, 2):
                win: Any = ("season", day.year if day.month == 12 else day.year - 1)
            elif x["program"] == "金秋助学":
                win = ("school", day.year if day.month >= 9 else day.year - 1)
            else:
                win = ("day", day)
            windows[(x["id"], x["program"], win)].append(x)
        if x["account"]:
            accounts[x["account"]].append(x)
            same[(day, x["amount"], x["account"])].append(x)
    for (_, prog, cat, year), g in yearly.items():
        c = cap(prog, cat, year)
        if c and sum((x["amount"] for x in g), ZERO) > c[1]:
            add("DISB-OVER-CAP", "error", g)
    for g in accounts.values():
        if len({x["id"] for x in g}) >= 2:
            add("DISB-ACCOUNT-SHARED", "error", g)
    for g in merge_groups([g for g in (*windows.values(), *same.values()) if len(g) > 1]):
        add("DISB-DUP", "error", g)
    for (_, prog), g in per_person.items():
        links = []
        for i, a in enumerate(g):
            for b in g[i + 1:]:
                c = cap(prog, a["category"], a["date"].year)
                limit = c[0] if c else Decimal(1000)
                if (abs((a["date"] - b["date"]).days) <= 30 and a["amount"] < limit and b["amount"] < limit
                        and a["amount"] + b["amount"] > limit):
                    links.append([a, b])
        for grp in merge_groups(links):
            add("DISB-SPLIT", "warning", grp)
    by_union: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for x in pays:
        by_union[x["union"]].append(x)
    for g in by_union.values():
        total = sum((x["amount"] for x in g), ZERO)
        dec = [x for x in g if x["date"] > P_END - dt.timedelta(31)]
        if total and sum((x["amount"] for x in dec), ZERO) / total > Decimal("0.4"):
            add("DISB-YEAR-END", "info", dec)
    spent: defaultdict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for x in pays:
        spent[(x["program"], x["date"].year)] += x["amount"]
    for b in p.records["budget"]:
        got, plan = spent[(b["帮扶项目"], int(b["年度"]))], Decimal(b["下拨金额"])
        if got > plan:
            add("XL-FUND-OVERSPEND", "error", [b])
        elif got < plan * Decimal("0.5"):
            add("XL-FUND-OVERSPEND", "info", [b])

    # ---- register -----------------------------------------------------------------------------
    active_files = [h for h in regs if h["status"] == "在档"]
    for h in regs:
        if h["id"] and id_problem(h["id"], P_END):
            add("REG-ID", "error", [h])
        if h["category"] in ("深度困难", "相对困难") and h["size"]:
            limit = dibao[P_END.year] * (1 if h["category"] == "深度困难" else 2)
            if (h["income"] - h["spending"]) / 12 / h["size"] > limit:
                add("REG-ELIGIBILITY", "warning", [h])
        if h["category"] == "意外致困" and h["spending"] < h["income"] * Decimal("0.8"):
            add("REG-ELIGIBILITY", "warning", [h])
        if h["status"] == "在档" and (h["reviewed"] or h["filed"]) < add_months(P_END, -12):
            add("REG-REVIEW-OVERDUE", "warning", [h])
        if h["status"] in ("已脱困", "已撤档") and (h["exit_date"] is None or h["exit_date"] < h["filed"]):
            add("REG-EXIT-STATE", "error", [h])
        if h["status"] == "在档" and (h["exit_date"] is not None or h["exit_reason"] == "死亡"):
            add("REG-EXIT-STATE", "error", [h])
        if h["disclosed"] is None or h["disclosed"] > h["filed"]:
            add("REG-DISCLOSURE", "warning", [h])
    by_key: defaultdict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for h in active_files:
        if h["id"]:
            by_key[("id", h["id"])].append(h)
        by_key[("addr", norm_text(h["address"]))].append(h)
    for g in merge_groups([g for g in by_key.values() if len(g) > 1]):
        add("REG-DUP-HOUSEHOLD", "error", g)

    staff = p.records["staff"]
    ids = {s["身份证号码"].upper() for s in staff if s["身份证号码"]}
    accts = {digits_only(s["银行账号"]) for s in staff if s["银行账号"]}
    phones = {s["手机号码"] for s in staff if s["手机号码"]}
    addrs = {norm_text(s["家庭住址"]) for s in staff if s["家庭住址"]}
    for x in pays:
        if x["id"] in ids or x["account"] in accts:
            add("XL-STAFF-RELATIVE", "warning", [x])
    for h in regs:
        if h["id"] in ids or h["card"] in accts or h["phone"] in phones or norm_text(h["address"]) in addrs:
            add("REG-STAFF-RELATIVE", "warning", [h])

    for ref, declared, section in p.totals:
        kind = ref[0]
        cols = {"实缴金额": "paid", "计税依据": "base", "应纳税额": "payable", "减免税额": "relief", "金额": "amount"}
        for col, value in declared.items():
            key = cols.get(col)
            if key and kind in ("dues", "disbursements") and abs(
                    sum((x[key] or ZERO for x in section), ZERO) - value) > CENT:
                found.add(("LEDGER-TOTAL", "error", (ref,)))
    return found


def self_check(out: Path, who: dict[tuple[str, str, int], str] | None = None) -> None:
    """Re-read every file and check the answer key: counts, rejections, refs and findings."""
    exp = json.loads((out / "expected.json").read_text(encoding="utf-8"))
    p = read_back(out)
    got_inputs = sorted(p.inputs, key=lambda i: (i["file"], i["sheet"] or ""))
    assert got_inputs == sorted(exp["inputs"], key=lambda i: (i["file"], i["sheet"] or "")), (got_inputs, exp["inputs"])
    want_rej = {(r["kind"], r["file"], r["sheet"], r["row"], r["column"], r["reason"], r["action"])
                for r in exp["rejected_rows"]}
    assert set(p.rejected) == want_rej, (set(p.rejected) ^ want_rej)
    want: set[Finding] = set()
    for rule, items in exp["findings"].items():
        assert rule in RULES and items, rule
        for f in items:
            refs = tuple((r["kind"], r["file"], r["sheet"], r["row"]) for r in f["refs"])
            assert list(refs) == sorted(refs, key=lambda x: (x[1], x[2] or "", x[3])), refs
            want.add((rule, f["severity"], refs))
            for ref in refs:
                assert (ref[1], ref[2] or "", ref[3]) in p.who, ref
                if who is not None:
                    assert p.who[(ref[1], ref[2] or "", ref[3])] == who[(ref[1], ref[2] or "", ref[3])], ref
    got = oracle(p)
    missing, extra = sorted(want - got), sorted(got - want)
    assert not missing and not extra, "answer key and oracle disagree:\n  planted but not found: " + "\n    ".join(
        map(str, missing)) + "\n  found but not planted: " + "\n    ".join(map(str, extra))


# ---------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = Path(args[0]).resolve() if args else HERE
    out.mkdir(parents=True, exist_ok=True)
    for vec, ok in (("11010519491231002X", True), ("34052419800101001X", True), ("340524198001010013", False)):
        assert (ric_check(vec[:17]) == vec[17]) is ok, vec
    for vec in ("91350100M000100Y43", "91350200776049653A", "123502001549897397", "91440101MA5CJQ4N59"):
        assert uscc_check(vec[:17]) == vec[17] and (vec.startswith("12") or org_check(vec[8:16]) == vec[16]), vec
    assert uscc_check("91350203M0001QAY9") != "B"
    ctx, w = Ctx(), World()
    build_staff(ctx, w)
    build_employers(ctx, w)
    build_dues(ctx, w)
    build_register_and_disbursements(ctx, w)
    layout(ctx, w)
    build_budget(ctx, w)
    write_dues_xls(out / DUES_FILE, w)
    write_disb_xlsx(out / DISB_FILE, w)
    write_register(out / REG_FILE, w)
    write_references(out, w)
    expected = build_expected(ctx, w, out)
    (out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, sort_keys=True, indent=2) + "\n",
                                       encoding="utf-8")
    update_readme(out / "README.md", readme_tables(ctx, expected))
    who = {loc.key(): loc.who for pl in ctx.planted for loc in pl.locs}
    who.update({loc.key(): loc.who for bd in ctx.boundaries for loc in bd.locs})
    self_check(out, who)
    n = sum(len(v) for v in expected["findings"].values())
    print(f"wrote {out}: {n} planted findings over {len(RULES)} rules, {len(expected['rejected_rows'])} rejections; "
          "self-check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
