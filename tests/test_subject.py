"""A finding's ``subject`` (issue 16, item 4): the keyed hash of the ID of the person or employer it is about, the
key it is made with (file, environment, a created default), and ``recurs_after`` across runs made with that key."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fundaudit
from fundaudit import triage
from fundaudit.cli import main
from fundaudit.columns import catalogue
from fundaudit.subject import default_key_path, key_id, read_key, subjects
from tests.conftest import TEST_SUBJECT_KEY

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
AUDIT = {"paths": [SAMPLES], "profile": "anhui-2016", "period": "2016"}


def _hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


# --- the hash ------------------------------------------------------------------------------------------------

def test_the_subject_is_a_keyed_hash_of_the_typed_id() -> None:
    ids = pd.Series(["34102319800101123X", "91341003MA2N1B2C3D", None], dtype=object)
    a, b = b"a" * 16, b"b" * 16
    got = subjects(ids, "resident_id", a)
    assert got.tolist() == [_hmac(a, "person:34102319800101123X"), _hmac(a, "person:91341003MA2N1B2C3D"), None]
    assert subjects(ids, "resident_id", a).tolist() == got.tolist()  # same key: same subjects
    other = subjects(ids, "resident_id", b).tolist()
    assert other[:2] == [_hmac(b, "person:34102319800101123X"), _hmac(b, "person:91341003MA2N1B2C3D")]
    assert set(other[:2]).isdisjoint(got[:2])  # another key: other subjects
    assert subjects(ids, "taxpayer_id", a).tolist()[1] == _hmac(a, "taxpayer:91341003MA2N1B2C3D")


def test_a_legacy_15_digit_id_is_the_same_person_as_its_18_character_form() -> None:
    key = b"k" * 16
    got = subjects(pd.Series(["110105491231002", "11010519491231002x", "ABC-12 "]), "resident_id", key)
    assert got.tolist() == [_hmac(key, "person:11010519491231002X")] * 2 + [_hmac(key, "person:ABC-12")]


_SPACE = st.sampled_from([" ", "\t", "\u3000", "\u00a0", "\n"])


@given(digits=st.text("0123456789", min_size=17, max_size=17), last=st.sampled_from("0123456789Xx"),
       before=st.lists(_SPACE, max_size=3), after=st.lists(_SPACE, max_size=3),
       full_width=st.booleans())
def test_whitespace_and_case_variants_of_one_id_are_one_subject(digits: str, last: str, before: list[str],
                                                                 after: list[str], full_width: bool) -> None:
    key = b"k" * 16
    canonical = digits + last.upper()
    written = digits + last
    if full_width:  # as typed with a Chinese input method
        written = written.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789Xx"})
    variant = "".join(before) + written + "".join(after)
    got = subjects(pd.Series([canonical, variant, canonical.lower()]), "resident_id", key)
    assert got.tolist() == [_hmac(key, f"person:{canonical}")] * 3


@given(code=st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=18, max_size=18),
       pad=st.lists(_SPACE, max_size=2))
def test_case_and_whitespace_variants_of_a_taxpayer_id_are_one_subject(code: str, pad: list[str]) -> None:
    key = b"k" * 16
    got = subjects(pd.Series([code, "".join(pad) + code.lower() + "".join(pad)]), "taxpayer_id", key)
    assert got.tolist() == [_hmac(key, f"taxpayer:{code}")] * 2


def test_every_subject_column_of_the_catalogue_is_an_id_column() -> None:
    named = {k: (spec.subject, [spec.columns[c].type for c in spec.subject]) for k, spec in catalogue().items()
             if spec.subject}
    assert named == {
        "dues": (("taxpayer_id",), ["taxpayer_id"]),
        "disbursements": (("recipient_id_no",), ["resident_id"]),
        "register": (("id_no",), ["resident_id"]),
        "unions": (("employer_taxpayer_id", "union_uscc"), ["taxpayer_id", "taxpayer_id"]),
        "employers": (("taxpayer_id",), ["taxpayer_id"]),
        "staff": (("id_no",), ["resident_id"]),
    }
    # every kind with an ID column names one: no kind is left without a subject by oversight
    with_ids = {k for k, spec in catalogue().items()
                if any(c.type in ("resident_id", "taxpayer_id") for c in spec.columns.values())}
    assert with_ids == set(named)


# --- on the samples ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unmasked() -> fundaudit.AuditResult:
    return fundaudit.audit(**AUDIT, unmask=True)  # type: ignore[arg-type]


def _first_row_ids(result: fundaudit.AuditResult) -> list[tuple[str, str | None]]:
    """(kind, the raw ID of the subject column) of each finding's first ref, read from the loaded frames."""
    out = []
    for f in result.findings_records():
        ref = f["refs"][0]
        spec = catalogue().get(ref["kind"])
        ledger = result.ledgers.get(ref["kind"])
        if spec is None or ledger is None or not spec.subject or ref.get("role") == "declared_total":
            out.append((ref["kind"], None))
            continue
        frame = ledger.frame
        sheet = frame["sheet"].isna() if ref["sheet"] is None else frame["sheet"] == ref["sheet"]
        at = frame[(frame["file"] == ref["file"]) & sheet & (frame["row"] == ref["row"])]
        assert len(at) == 1
        value = at.iloc[0][spec.subject[0]]
        out.append((spec.columns[spec.subject[0]].type, None if pd.isna(value) else str(value)))
    return out


def test_each_finding_of_the_samples_has_the_subject_of_its_first_row(unmasked: fundaudit.AuditResult) -> None:
    got = unmasked.findings["subject"].tolist()
    prefix = {"resident_id": "person:", "taxpayer_id": "taxpayer:"}
    expected = [_hmac(TEST_SUBJECT_KEY, prefix[t] + v) if v else None for t, v in _first_row_ids(unmasked)]
    assert got == expected
    assert sum(s is None for s in got) == 3  # two budget lines (XL-FUND-OVERSPEND) and a 合计 row (LEDGER-TOTAL)
    assert unmasked.run["subject_key_id"] == key_id(TEST_SUBJECT_KEY)


def test_one_person_paid_and_on_the_register_has_one_subject(unmasked: fundaudit.AuditResult) -> None:
    f = unmasked.findings
    by_kind = f.groupby("subject")["kind"].agg(lambda k: sorted(set(k)))
    both = by_kind[by_kind.map(lambda k: k == ["disbursements", "register"])]
    assert len(both) == 1
    assert sorted(f.loc[f["subject"] == both.index[0], "rule"]) == ["REG-STAFF-RELATIVE", "XL-STAFF-RELATIVE"]


def test_a_finding_about_a_row_without_an_id_has_no_subject() -> None:
    pays = pd.DataFrame({"姓名": ["张三", "李四"], "身份证号码": ["34102319800101123X", ""], "金额": ["800", "900"],
                         "发放方式": ["现金", "现金"], "发放日期": ["2016-01-10", "2016-01-11"]})
    f = fundaudit.audit({"disbursements": pays}, period="2016").findings
    cash = f[f["rule"] == "DISB-CASH"]
    assert cash["subject"].tolist() == [_hmac(TEST_SUBJECT_KEY, "person:34102319800101123X"), None]


def _texts(out: Path) -> dict[str, str]:
    """Every artefact as text: JSON, HTML and junit as read, each xlsx's unzipped XML, every value of every table of
    audit.duckdb, and the raw bytes of the database (decoded leniently)."""
    texts: dict[str, str] = {}
    for path in sorted(out.iterdir()):
        data = path.read_bytes()
        texts[path.name] = data.decode("utf-8", errors="replace")
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts[path.name] += "".join(z.read(n).decode("utf-8", errors="replace") for n in z.namelist())
        if path.suffix == ".duckdb":
            with duckdb.connect(str(path), read_only=True) as con:
                tables = [r[0] for r in con.execute(
                    "select table_name from information_schema.tables where table_schema = 'main'").fetchall()]
                for t in tables:
                    rows = con.execute(f'select * from "{t}"').fetchall()
                    texts[path.name] += repr(rows)
    return texts


def test_no_raw_id_and_no_key_in_any_artefact(unmasked: fundaudit.AuditResult, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(out),
                 "--format", "html,xlsx,json,junit,workpapers,db", "--fail-on", "never", "--quiet"]) == 0
    ids = {v for t, v in _first_row_ids(unmasked) if t == "resident_id" and v}
    assert len(ids) == 40  # the resident IDs the samples' findings are about (one as Excel damaged it: 3.41003E+17)
    texts = _texts(out)
    assert sorted(texts) == [".fundaudit-report", "audit.duckdb", "findings.json", "findings.xlsx", "index.html",
                             "junit.xml", "workpapers.xlsx"]
    found = {name: sorted(i for i in ids if i in text) for name, text in texts.items()}
    assert found == {name: [] for name in texts}
    secret = TEST_SUBJECT_KEY.decode()
    assert {name: secret in text for name, text in texts.items()} == {name: False for name in texts}
    doc = json.loads(texts["findings.json"])
    assert doc["run"]["subject_key_id"] == key_id(TEST_SUBJECT_KEY)
    assert [f["subject"] for f in doc["findings"]] == unmasked.findings["subject"].tolist()


# --- the key -------------------------------------------------------------------------------------------------

@pytest.fixture
def no_key_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No key file named: the default one, in a temporary config folder."""
    monkeypatch.delenv("FUNDAUDIT_SUBJECT_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "fundaudit" / "subject.key"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_the_default_key_is_created_once_private_and_reused(no_key_named: Path) -> None:
    assert default_key_path() == no_key_named
    key = read_key()
    assert no_key_named.read_bytes() == key and len(key) == 64 and int(key, 16) >= 0  # 32 random bytes, as hex
    assert stat.S_IMODE(no_key_named.stat().st_mode) == 0o600
    assert stat.S_IMODE(no_key_named.parent.stat().st_mode) == 0o700
    assert read_key() == key  # reused, not replaced
    assert sorted(p.name for p in no_key_named.parent.iterdir()) == ["subject.key"]  # no temporary file left


def test_runs_creating_the_key_at_once_agree_on_it(no_key_named: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: read_key(), range(16)))
    assert keys == {no_key_named.read_bytes()}
    assert sorted(p.name for p in no_key_named.parent.iterdir()) == ["subject.key"]


def test_the_key_comes_from_the_argument_then_the_environment_then_the_default(
        no_key_named: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "mine.key"
    mine.write_bytes(b"0123456789abcdef0123\n")  # an editor's final newline is no part of the key
    env = tmp_path / "env.key"
    env.write_bytes(b"environment-key-0123456789")
    assert read_key(mine) == b"0123456789abcdef0123"
    assert read_key(b"bytes-given-directly") == b"bytes-given-directly"
    monkeypatch.setenv("FUNDAUDIT_SUBJECT_KEY", str(env))
    assert read_key() == b"environment-key-0123456789"
    assert read_key(mine) == b"0123456789abcdef0123"
    assert not no_key_named.exists()  # a named key never creates the default one


@pytest.mark.parametrize(("content", "message"), [
    (None, "无法读取或创建疑点对象密钥文件"),
    (b"", "只有 0 字节，至少需要 16 字节"),
    (b"  short-key  \n", "只有 9 字节，至少需要 16 字节"),
])
def test_a_bad_key_file_exits_2_before_any_input_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          content: bytes | None, message: str) -> None:
    key = tmp_path / "subject.key"
    if content is not None:
        key.write_bytes(content)
    out = tmp_path / "report"
    code = main(["audit", str(SAMPLES), "--out", str(out), "--quiet", "--subject-key", str(key)])
    err = capsys.readouterr().err
    assert (code, err.count("\n")) == (2, 1)
    assert err.startswith("fundaudit: ") and message in err and str(key) in err
    assert not out.exists() or not any(out.iterdir())


def test_an_unreadable_key_named_by_the_environment_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNDAUDIT_SUBJECT_KEY", str(tmp_path / "missing.key"))
    with pytest.raises(fundaudit.ConfigError) as err:
        read_key()
    assert err.value.code == "subject_key_unreadable" and err.value.fields["file"] == str(tmp_path / "missing.key")
    assert "FUNDAUDIT_SUBJECT_KEY" in err.value.message("en")


def test_the_key_id_names_the_key_without_revealing_it() -> None:
    assert key_id(TEST_SUBJECT_KEY) == hashlib.sha256(b"fundaudit subject key id v1\x00" + TEST_SUBJECT_KEY
                                                      ).hexdigest()[:12]
    assert key_id(b"a" * 16) != key_id(b"b" * 16)
    assert key_id(TEST_SUBJECT_KEY) not in _hmac(TEST_SUBJECT_KEY, "person:")  # no subject hash of anything


# --- recurs_after --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = fundaudit.audit(**AUDIT).to_json(tmp_path_factory.mktemp("base") / "findings.json")  # type: ignore[arg-type]
    doc: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return doc


def _earlier(doc: dict[str, Any], index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A baseline of last year: ``doc`` with finding ``index`` changed in content (another fingerprint), its rule
    and subject kept, and the period 2015; with that changed finding."""
    old = {**doc["findings"][index], "fingerprint": "e" * 20}
    findings = [*doc["findings"][:index], old, *doc["findings"][index + 1:]]
    return {**doc, "run": {**doc["run"], "period": {"start": "2015-01-01", "end": "2015-12-31"}},
            "findings": findings}, old


def test_a_new_finding_about_the_same_subject_recurs_after_last_years_decision(base_doc: dict[str, Any]) -> None:
    x = next(i for i, f in enumerate(base_doc["findings"]) if f["rule"] == "DISB-CASH")
    baseline, old = _earlier(base_doc, x)
    decisions = pd.DataFrame([{"fingerprint": old["fingerprint"], "rule": old["rule"], "status": "confirmed",
                               "reason": "现金发放属实", "evidence": "凭证 3", "by": "王", "date": "2016-03-01"}])
    result = fundaudit.audit(**AUDIT, baseline=baseline, triage=decisions)  # type: ignore[arg-type]
    f = result.findings
    assert f["since_baseline"].tolist() == ["new" if i == x else "persisting" for i in range(len(f))]
    assert f["recurs_after"].tolist() == [
        {"fingerprint": "e" * 20, "period": {"start": "2015-01-01", "end": "2015-12-31"}, "status": "confirmed",
         "reason": "现金发放属实", "date": "2016-03-01"} if i == x else None for i in range(len(f))]
    assert result.run["recurrence"] == "ok"
    assert result.summary["by_baseline"] == {"new": 1, "persisting": len(f) - 1, "resolved": 1, "recurring": 1}


def test_a_baseline_made_with_another_key_computes_no_recurrence_and_says_so(
        base_doc: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = next(i for i, f in enumerate(base_doc["findings"]) if f["rule"] == "DISB-CASH")
    baseline, old = _earlier(base_doc, x)
    old["triage"] = {"status": "confirmed", "reason": "", "evidence": "", "by": "", "date": "2016-03-01"}
    other = {**baseline, "run": {**baseline["run"], "subject_key_id": key_id(b"another key, 16+ bytes")}}
    (tmp_path / "base.json").write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "report"
    assert main(["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(out),
                 "--format", "json", "--quiet", "--fail-on", "never", "--baseline", str(tmp_path / "base.json")]) == 0
    assert capsys.readouterr().err == (
        "fundaudit: 未判断重复发生（recurs_after）：基准 findings.json 的疑点对象由另一把密钥生成"
        "（两者 run.subject_key_id 不同）；请使用生成基准时的密钥文件（--subject-key）\n")
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    assert doc["run"]["recurrence"] == "key_mismatch"
    assert [f["recurs_after"] for f in doc["findings"]] == [None] * len(doc["findings"])
    assert doc["summary"]["by_baseline"]["recurring"] == 0
    # the same baseline without a key id (its subjects hashed with an unnamed key) is no better
    unnamed = {**baseline, "run": {k: v for k, v in baseline["run"].items() if k != "subject_key_id"}}
    result = fundaudit.audit(**AUDIT, baseline=unnamed)  # type: ignore[arg-type]
    assert result.run["recurrence"] == "key_mismatch" and result.findings["recurs_after"].isna().all()


def test_a_baseline_without_subjects_says_recurrence_was_not_computed() -> None:
    old = [{"fingerprint": "old", "rule": "DISB-CASH", "triage": {"status": "confirmed"}}]
    now = pd.DataFrame({"fingerprint": ["new"], "rule": ["DISB-CASH"], "subject": ["s1"], "amount_fen": [1]})
    got, extra = triage.apply(now, baseline={"run": {}, "findings": old}, subject_key_id="k1")
    assert (extra["recurrence"], got["recurs_after"].tolist()) == ("no_subjects", [None])


def test_of_several_earlier_findings_the_decided_one_is_recalled_else_the_first() -> None:
    def earlier(fp: str, status: str | None = None) -> dict[str, Any]:
        t = {"status": status, "reason": "r", "evidence": "", "by": "", "date": "2016-05-01"} if status else None
        return {"fingerprint": fp, "rule": "DISB-CASH", "subject": "s1", "triage": t}

    base = {"run": {"subject_key_id": "k1", "period": "2016"}}
    now = pd.DataFrame({"fingerprint": ["new"], "rule": ["DISB-CASH"], "subject": ["s1"], "amount_fen": [1]})
    cases = [
        ([earlier("a"), earlier("b", "rectified"), earlier("c", "confirmed")], None, ("b", "rectified")),
        ([earlier("a"), earlier("b")], None, ("a", "pending")),
        ([earlier("a"), earlier("b", "rectified")], "a", ("a", "excluded")),  # a decision given in this run
    ]
    for old, decided_now, (fp, status) in cases:
        decisions = (pd.DataFrame([{"fingerprint": decided_now, "status": "excluded", "reason": "同名", "evidence": "",
                                    "by": "", "date": ""}]) if decided_now else None)
        got, _ = triage.apply(now, decisions=decisions, baseline={**base, "findings": old}, subject_key_id="k1")
        (after,) = got["recurs_after"].tolist()
        assert (after["fingerprint"], after["status"]) == (fp, status)


def test_the_subject_key_file_is_used_by_the_cli(tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_bytes(b"a key of the federation, shared")
    out = tmp_path / "report"
    pays = tmp_path / "aid.csv"
    pays.write_text("姓名,身份证号码,金额,发放方式,发放日期\n张三,34102319800101123X,800,现金,2016-01-10\n",
                    encoding="utf-8")
    assert main(["audit", "--ledger", f"disbursements={pays}", "--period", "2016", "--out", str(out),
                 "--format", "json", "--quiet", "--fail-on", "never", "--subject-key", str(key)]) == 0
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    assert doc["run"]["subject_key_id"] == key_id(b"a key of the federation, shared")
    assert {f["subject"] for f in doc["findings"]} == {_hmac(b"a key of the federation, shared",
                                                             "person:34102319800101123X")}


def test_a_key_id_of_digits_only_is_no_account_number(tmp_path: Path) -> None:
    """One key in 250 has a key id of twelve digits, the shape of an account number: it is kept as it is, or the
    run's baseline would never match its own key."""
    key = b"digits-only-key-id-64"
    assert key_id(key) == "191323171803"
    result = fundaudit.audit(**AUDIT, subject_key=key)  # type: ignore[arg-type]
    assert result.run["subject_key_id"] == "191323171803"
    doc = json.loads(result.to_json(tmp_path / "findings.json").read_text("utf-8"))
    again = fundaudit.audit(**AUDIT, subject_key=key, baseline=doc)  # type: ignore[arg-type]
    assert again.run["recurrence"] == "ok"


@pytest.mark.parametrize(("platform", "env", "expected"), [
    ("linux", {"XDG_CONFIG_HOME": "/x/config"}, "/x/config/fundaudit/subject.key"),
    ("linux", {"HOME": "/home/u"}, "/home/u/.config/fundaudit/subject.key"),
    ("win32", {"APPDATA": "/c/Users/u/AppData/Roaming", "HOME": "/home/u"},
     "/c/Users/u/AppData/Roaming/fundaudit/subject.key"),
    ("win32", {"XDG_CONFIG_HOME": "/x/config", "APPDATA": "/c/AppData"}, "/x/config/fundaudit/subject.key"),
])
def test_where_the_default_key_lives(monkeypatch: pytest.MonkeyPatch, platform: str, env: dict[str, str],
                                     expected: str) -> None:
    for name in ("XDG_CONFIG_HOME", "APPDATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", platform)
    assert default_key_path() == Path(expected)
