"""The shipped rule packs: the YAML files of the top-level ``rules/`` folder, installed with the
package as ``fundaudit/_shipped/rules`` (so nothing depends on running from a checkout)."""

from __future__ import annotations

from pathlib import Path

from fundaudit.rules.model import Pack, load_pack

__all__ = ["PACK_ORDER", "shipped_dir", "shipped_packs"]

PACK_ORDER = ("dues", "disbursements", "register", "cross", "ledger")


def shipped_dir() -> Path:
    """Where the shipped packs are: inside the installed package, else the checkout's ``rules/``."""
    here = Path(__file__).resolve().parent.parent
    installed = here / "_shipped" / "rules"
    return installed if installed.is_dir() else here.parent / "rules"


def shipped_packs() -> list[Pack]:
    """Every shipped pack, in catalog order (dues, disbursements, register, cross-ledger, ledger)."""
    folder = shipped_dir()
    files = sorted(folder.glob("*.yaml"), key=lambda p: (PACK_ORDER.index(p.stem) if p.stem in PACK_ORDER
                                                         else len(PACK_ORDER), p.stem))
    return [load_pack(p, display=f"rules/{p.name}") for p in files]
