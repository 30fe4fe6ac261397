"""`pip install .` must give everything a user needs without a checkout (CONTRACT.md §1)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_carries_catalogues_and_rule_packs(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    [wheel] = tmp_path.glob("fundaudit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "fundaudit/catalogue/messages.yaml" in names
    assert "fundaudit/columns/catalogue.yaml" in names
    shipped = {p.relative_to(ROOT / "rules").as_posix() for p in (ROOT / "rules").rglob("*") if p.is_file()}
    assert sorted(shipped) == [
        "README.md", "cross.yaml", "disbursements.yaml", "dues.yaml", "ledger.yaml", "register.yaml"
    ]
    for rel in shipped:
        assert f"fundaudit/_shipped/rules/{rel}" in names
    assert any(n.endswith("entry_points.txt") for n in names)
