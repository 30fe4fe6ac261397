"""The shipped rule packs: the YAML files of the top-level ``rules/`` folder, installed with the
package as ``fundaudit/_shipped/rules`` (so nothing depends on running from a checkout)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fundaudit.errors import RuleError
from fundaudit.rules.model import Pack, RuleSet, apply_params, load_pack, pack_error

if TYPE_CHECKING:
    from fundaudit.rules.profiles import Profile

__all__ = ["PACK_ORDER", "check_packs", "pack_file", "resolve_rules", "shipped_dir", "shipped_packs"]

PACK_ORDER = ("dues", "disbursements", "register", "cross", "ledger")


def shipped_dir() -> Path:
    """Where the shipped packs are: inside the installed package, else the checkout's ``rules/``."""
    here = Path(__file__).resolve().parent.parent
    installed = here / "_shipped" / "rules"
    return installed if installed.is_dir() else here.parent / "rules"


def shipped_packs() -> list[Pack]:
    """Every shipped pack, in catalog order (dues, disbursements, register, cross-ledger, ledger)."""
    folder = shipped_dir()
    files = sorted(
        folder.glob("*.yaml"),
        key=lambda p: (PACK_ORDER.index(p.stem) if p.stem in PACK_ORDER else len(PACK_ORDER), p.stem),
    )
    return [load_pack(p, display=f"rules/{p.name}") for p in files]


def check_packs(paths: Sequence[str | Path]) -> list[Pack]:
    """Load user packs and resolve them against the shipped rules as an audit would (overrides,
    disables, duplicate ids); raises one :class:`RuleError` listing every problem of every pack. A
    shipped pack given by its path is checked in place of its installed copy."""
    packs: list[Pack] = []
    problems = []
    for path in paths:
        try:
            packs.append(load_pack(path))
        except RuleError as exc:
            if not exc.problems:
                raise
            problems.extend(exc.problems)
    if problems:
        raise pack_error(problems)
    given = {Path(p).resolve() for p in paths}
    shipped = [p for p in shipped_packs() if (shipped_dir() / Path(p.source).name).resolve() not in given]
    RuleSet.build([*shipped, *packs])
    return packs


def resolve_rules(
    profile: str | Profile = "national",
    rules: Iterable[str | PathLike[str]] = (),
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[RuleSet, Profile]:
    """The rule set of a run, resolved as an audit resolves it: shipped packs, then user ``rules`` packs,
    then the profile's values, then ``params`` (``--param``); with the profile it used. ``fundaudit
    audit``, ``rules list`` and ``rules show`` all go through here."""
    from fundaudit.rules.profiles import apply_profile, load_profile

    prof = load_profile(profile) if isinstance(profile, str) else profile
    ruleset = RuleSet.build([*shipped_packs(), *[load_pack(Path(r)) for r in rules]])
    ruleset = apply_profile(ruleset, prof)
    return apply_params(ruleset, params or {}, source="--param"), prof


def pack_file(source: str) -> Path:
    """The file a pack was read from, given its ``source`` as rules and problems name it (a shipped pack is
    named ``rules/<file>``, a user pack by the path it was given)."""
    shipped = shipped_dir() / Path(source).name
    return shipped if source == f"rules/{Path(source).name}" and shipped.is_file() else Path(source)
