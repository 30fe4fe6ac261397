"""The column catalogue: header normalisation, alias mapping and kind detection."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fundaudit.columns import (
    MONEY_UNITS,
    catalogue,
    detect_kind,
    header_unit,
    map_headers,
    normalize_header,
    normalize_headers,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("金额（元）", "金额"),
        ("金额(元)", "金额"),
        ("金额\n（元）", "金额"),
        (" 姓名 ", "姓名"),
        ("姓　名", "姓名"),
        ("*身份证号码", "身份证号码"),
        ("应补（退）税额", "应补退税额"),
        ("税率（征收率）", "税率征收率"),
        ("ＡＢＣ", "abc"),
        ("发放日期：", "发放日期"),
    ],
)
def test_normalize_header(raw: str, expected: str) -> None:
    assert normalize_header(raw) == expected


def test_unit_scale() -> None:
    headers = ("金额（万元）", "金额(单位:万元)", "金额（元）")
    assert [MONEY_UNITS[header_unit(h) or "元"] for h in headers] == [10000, 10000, 1]


def test_header_unit_names_the_unit_a_header_states() -> None:
    """None when the header states no unit: only then does a sheet's 单位：万元 line apply to the column."""
    headers = ["金额（万元）", "金额(万)", "金额（ 单位：千元 ）", "金额（人民币元）", "金额（元）", "金额",
               "人数（人）"]
    assert [header_unit(h) for h in headers] == ["万元", "万元", "千元", "元", "元", None, None]


_HEADER_PIECES = [*"金额姓名单位元万千人民币（）()[]【】*:： \u3000\t\n\u200b\ufeffＡＢａbc１2%İ\x1c", "应补（退）税额",
                  "身份证号码"]
_HEADERISH = st.lists(st.sampled_from(_HEADER_PIECES), max_size=8).map("".join)


@given(st.lists(_HEADERISH, max_size=20))
def test_normalize_headers_is_normalize_header_for_a_whole_column(texts: list[str]) -> None:
    """The Arrow version layout uses to compare every cell with the catalogue gives the same keys."""
    import pyarrow as pa

    got = normalize_headers(pa.array(texts, type=pa.large_string())).to_pylist()
    assert got == [normalize_header(t) for t in texts]


def test_normalize_headers_gives_every_alias_its_key() -> None:
    import pyarrow as pa

    aliases = [a for spec in catalogue().values() for col in spec.columns.values() for a in (col.name, *col.aliases)]
    assert normalize_headers(pa.array(aliases, type=pa.large_string())).to_pylist() == [
        normalize_header(a) for a in aliases]


def test_every_alias_maps_to_its_own_column() -> None:
    for kind, spec in catalogue().items():
        for col in spec.columns.values():
            for alias in (col.name, *col.aliases):
                got = spec.alias_index[normalize_header(alias)]
                # an alias may be shared by two columns only if the first one listed wins on purpose
                assert got == col.name or normalize_header(alias) in {
                    normalize_header(a) for c in spec.columns.values() if c.name == got for a in c.aliases
                }, (kind, alias, got)


def test_catalogue_references_are_consistent() -> None:
    for kind, spec in catalogue().items():
        for name in (*spec.identity, *spec.signature, *([spec.amount] if spec.amount else [])):
            assert name in spec.columns, (kind, name)
        for col in spec.columns.values():
            assert (col.type == "enum") == bool(col.values), (kind, col.name)


def test_map_headers_real_export() -> None:
    m = map_headers(
        "disbursements", ["序号", "姓 名", "身份证号码", "金额（元）", "公示情况/公示开始日期", "签名栏", ""]
    )
    assert m.columns == {0: "payment_id", 1: "recipient_name", 2: "recipient_id_no", 3: "amount", 4: "disclosure_start"}
    assert m.unmapped == ((5, "签名栏"),)
    assert m.by_header["金额（元）"] == "amount"


def test_map_headers_reports_duplicates_first_wins() -> None:
    m = map_headers("disbursements", ["姓名", "金额", "发放金额"])
    assert m.columns == {0: "recipient_name", 1: "amount"}
    assert m.duplicates == {"amount": (1, 2)}


def test_snake_case_headers_accepted() -> None:
    m = map_headers("dues", ["taxpayer_id", "amount_paid", "period_start"])
    assert set(m.columns.values()) == {"taxpayer_id", "amount_paid", "period_start"}


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        (["序号", "姓名", "身份证号码", "金额", "发放方式", "发放日期"], "disbursements"),
        (["档案编号", "职工姓名", "身份证号", "困难类别", "建档日期", "家庭人口"], "register"),
        (["社会信用代码", "纳税人名称", "征收品目", "计税依据", "税率", "实缴金额", "入库日期"], "dues"),
        (["纳税人识别号", "单位名称", "职工人数", "状态", "所属期"], "employers"),
        (["姓名", "身份证号码", "职务", "银行账号", "手机号码", "亲属关系人", "关系"], "staff"),
        (["工会代码", "工会名称", "工会统一社会信用代码", "单位纳税人识别号", "建会日期"], "unions"),
        (["帮扶项目", "困难类别", "年度", "单次上限", "年度上限", "依据"], "caps"),
        (["有效期起", "有效期止", "征收品目", "基层工会比例", "县级工会比例", "全总比例"], "ratios"),
        (["行政区划代码", "年度", "月低保标准"], "dibao"),
        (["行政区划代码", "执行日期", "月最低工资标准"], "min_wage"),
        (["帮扶项目", "年度", "下拨金额"], "budget"),
    ],
)
def test_detect_kind(headers: list[str], kind: str) -> None:
    ranking = detect_kind(headers)
    assert ranking[0][0] == kind
    assert ranking[0][1] >= 1.5 * ranking[1][1]
