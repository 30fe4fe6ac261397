"""The committed samples are exactly what samples/generate.py writes, and their answer key checks out."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
OUTPUTS = (
    "dues_2016.xls", "disbursements_2016.xlsx", "register_2016.csv", "unions.csv", "employers.csv", "staff.csv",
    "caps.csv", "ratios.csv", "dibao.csv", "min_wage.csv", "budget.csv", "expected.json",
)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fundaudit_samples_generate", SAMPLES / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_regenerated_samples_are_byte_identical(tmp_path: Path) -> None:
    assert _generator().main([str(tmp_path)]) == 0
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), f"{name} differs: run make samples"


def test_committed_answer_key_passes_the_self_check() -> None:
    _generator().self_check(SAMPLES)
