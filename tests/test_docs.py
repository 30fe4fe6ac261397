"""Generated docs are current, and the README keeps the two set-up commands (CONTRACT.md §1)."""

from pathlib import Path

from fundaudit.columns import docs

ROOT = Path(__file__).resolve().parents[1]


def test_columns_page_is_generated_from_the_catalogue() -> None:
    assert (ROOT / "docs" / "columns.md").read_text("utf-8") == docs.render(), (
        "docs/columns.md is stale: run `python -m fundaudit.columns.docs > docs/columns.md`")


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "make demo" in readme
    assert "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text("utf-8")


def test_rules_page_is_generated_from_the_packs() -> None:
    from fundaudit.rules import docs as rule_docs

    assert (ROOT / "docs" / "rules.md").read_text("utf-8") == rule_docs.render(), (
        "docs/rules.md is stale: run `python -m fundaudit.rules.docs > docs/rules.md`")


def test_reliability_coverage_cites_existing_tests() -> None:
    """Every `tests/path.py::name` in docs/reliability-coverage.md names a test function that exists.

    The coverage map is the closing note of issue 13: a renamed or removed test must not leave it pointing nowhere.
    """
    import ast
    import re

    text = (ROOT / "docs" / "reliability-coverage.md").read_text("utf-8")
    cited = sorted(set(re.findall(r"(tests/[\w/]+\.py)::(\w+(?:::\w+)?)", text)))
    assert len(cited) > 100, "the citation pattern no longer matches the map"
    defined: dict[str, set[str]] = {}
    missing = []
    for path, name in cited:
        if path not in defined:
            file = ROOT / path
            names: set[str] = set()
            if file.is_file():
                for node in ast.parse(file.read_text("utf-8")).body:
                    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                        names.add(node.name)
                    elif isinstance(node, ast.ClassDef):
                        names.update(f"{node.name}::{item.name}" for item in node.body
                                     if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef))
            defined[path] = names
        if name not in defined[path]:
            missing.append(f"{path}::{name}")
    assert missing == [], "cited but not defined: " + ", ".join(missing)
