"""Profiles: packaged parameter values and dated reference tables for a region and period.

A profile is YAML under ``fundaudit/profiles/`` (shipped with the package)::

    profile: anhui-2016
    extends: national               # parameters and tables inherited, then overridden
    region_code: "341003"           # picks the row of regional tables (minimum wage, 低保)
    params: {DISB-DISCLOSURE: {min_days: 5}}
    tables: {min_wage: tables/anhui-min-wage.csv, …}

Tables are ordinary inputs (loaded by ``fundaudit.load``); an input of the same kind given by the
user replaces the profile's table. Dated rows (``effective_from``, ``year``) are picked by the rules
for each payment or period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from fundaudit.columns import catalogue
from fundaudit.errors import ConfigError
from fundaudit.rules.located import parse_located
from fundaudit.rules.model import RuleSet, apply_params, pack_error

__all__ = ["Profile", "load_profile", "profile_names"]

PROFILE_KEYS = {"profile", "title", "extends", "region_code", "params", "tables", "description"}


@dataclass(frozen=True)
class Profile:
    """A resolved profile (``extends`` applied)."""

    name: str
    title: dict[str, str]
    region_code: str | None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, Traversable] = field(default_factory=dict)


def _root() -> Traversable:
    return resources.files("fundaudit").joinpath("profiles")


def profile_names() -> list[str]:
    """Names of the shipped profiles."""
    return sorted(p.name[:-5] for p in _root().iterdir() if p.name.endswith(".yaml"))


def load_profile(name: str) -> Profile:
    """Load a shipped profile by name; an unknown name is a :class:`ConfigError`."""
    return _load(name, set())


def _load(name: str, seen: set[str]) -> Profile:
    if name not in profile_names():
        raise ConfigError("unknown_profile", name=name, names=", ".join(profile_names()))
    if name in seen:
        raise ConfigError("unknown_profile", name=f"{name} (extends itself)", names=", ".join(profile_names()))
    source = f"profiles/{name}.yaml"
    doc, problems = parse_located(_root().joinpath(f"{name}.yaml").read_text("utf-8"), source)
    if doc is None:
        raise pack_error(problems)
    data = doc.data if isinstance(doc.data, dict) else {}
    problems = [
        doc.problem(k, "pack_unknown_key", key=k, allowed=", ".join(sorted(PROFILE_KEYS)))
        for k in data
        if k not in PROFILE_KEYS
    ]
    tables = data.get("tables") or {}
    for kind in tables:
        if kind not in catalogue():
            problems.append(
                doc.problem(f"tables.{kind}", "pack_bad_value", value=kind, expected=", ".join(catalogue()))
            )
    if problems:
        raise pack_error(problems)
    base = _load(str(data["extends"]), seen | {name}) if data.get("extends") else None
    params = {k: dict(v) for k, v in (base.params if base else {}).items()}
    for rid, values in (data.get("params") or {}).items():
        params.setdefault(rid, {}).update(values)
    resolved = dict(base.tables) if base else {}
    resolved.update({kind: _root().joinpath(str(path)) for kind, path in tables.items()})
    region = data.get("region_code", base.region_code if base else None)
    return Profile(
        name,
        dict(data.get("title") or {"zh": name, "en": name}),
        None if region is None else str(region),
        params,
        resolved,
    )


def apply_profile(ruleset: RuleSet, profile: Profile) -> RuleSet:
    """The profile's parameter values over the shipped defaults, under what user packs override: precedence
    is shipped pack < profile < user pack ``override`` < ``--param``/``params=`` (docs/profiles.md)."""
    overridden = {
        (rid, key)
        for pack in ruleset.packs
        for rid, change in pack.override.items()
        for key in (change.get("params") or {})
    }
    values = {
        rid: {k: v for k, v in vals.items() if (rid, k) not in overridden}
        for rid, vals in profile.params.items()
        if rid in ruleset.rules
    }
    return apply_params(ruleset, {rid: vals for rid, vals in values.items() if vals}, source=f"profile {profile.name}")
