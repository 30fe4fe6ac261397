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
