"""The package's shape: every module imports first and alone, no import cycles, one home for the severities.

Imports inside functions are deliberate lazy imports (writers loaded when a report is written, pandera on
first validation) and ``if TYPE_CHECKING:`` imports never run, so neither counts as an edge; every other
import a module runs while it loads (module level, under ``if``/``try``, in a class body) does.
"""

from __future__ import annotations

import ast
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fundaudit.rules.severity import LEVELS, Severity

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fundaudit"


def _modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted name → file of every module under ``package`` (a package by its ``__init__.py``)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__main__":  # runs the command when imported: tested as `python -m fundaudit` in test_cli
            continue
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


# --- (a) every module imports first, alone, in a fresh interpreter --------------------------------

_CHILD = (
    "import importlib, sys; m = importlib.import_module(sys.argv[1]); "
    "sys.exit(0 if m.__file__.startswith(sys.argv[2]) else 'imported from ' + m.__file__)"
)


def _import_alone(module: str) -> tuple[str, int, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", _CHILD, module, str(PACKAGE)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    return module, done.returncode, done.stderr


def test_every_module_imports_first_and_alone() -> None:
    """One new interpreter per module (run a few at a time), importing nothing of fundaudit before it:
    a module that only works when another was imported first (a cycle entered from the wrong end, a
    name set up by an earlier import) fails here."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(_import_alone, MODULES))
    failed = {m: err.strip().splitlines()[-1] if err.strip() else f"exit {rc}" for m, rc, err in results if rc}
    assert failed == {}
    assert len(results) == len(MODULES)


# --- (b) no import cycles -------------------------------------------------------------------------

def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _load_time_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run while a module loads (not in functions, not TYPE_CHECKING-only)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from _load_time_imports(node.body)
            yield from _load_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                yield from _load_time_imports(block)
        elif isinstance(node, ast.With | ast.ClassDef):
            yield from _load_time_imports(node.body)


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict[str, Path]
) -> Iterator[str]:
    """The modules an import statement runs: ``from a.b import c`` is ``a.b.c`` when that is a module,
    else ``a.b``."""
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names)
        return
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    for a in node.names:
        yield f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base


def import_graph(modules: dict[str, Path] = MODULES) -> dict[str, dict[str, int]]:
    """module → {module of the package it imports while loading: line of the first such import}."""
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges: dict[str, int] = {}
        for node in _load_time_imports(ast.parse(path.read_text("utf-8"), str(path)).body):
            for target in _targets(node, name, path.name == "__init__.py", modules):
                if target in modules and target != name:
                    edges.setdefault(target, node.lineno)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative), each as one cycle
    through it: ``[a, b, ..., a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start, edges in graph.items():
        if start in index:
            continue
        work = [(start, iter(edges))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(graph[w])))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(_cycle_in(sorted(component), graph))
    return found


def _cycle_in(component: list[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """A shortest cycle from the component's first module back to itself (breadth first, inside it)."""
    first, inside = component[0], set(component)
    paths = {first: [first]}
    queue = [first]
    for v in queue:
        for w in graph[v]:
            if w == first:
                return [*paths[v], first]
            if w in inside and w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(component)  # a strongly connected component always has one


def _describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in itertools.pairwise(cycle)) + f" -> {cycle[-1]}"


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert [_describe(c, graph) for c in cycles(graph)] == []


def test_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    """The finder itself: two modules importing each other at load time are one cycle; a lazy import in
    a function and a TYPE_CHECKING import are not."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("import sys\nif sys:\n    from pkg.a import x\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d\n")
    (pkg / "d.py").write_text("def f():\n    import pkg.c\n")
    graph = import_graph(_modules(pkg))
    assert graph == {"pkg": {}, "pkg.a": {"pkg.b": 1}, "pkg.b": {"pkg.a": 3}, "pkg.c": {}, "pkg.d": {}}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]
    assert _describe(cycles(graph)[0], graph) == "pkg.a (line 1) -> pkg.b (line 3) -> pkg.a"


# --- (c) one home for the list of severities -------------------------------------------------------

def _severity_lists() -> list[str]:
    """Literal tuples, lists, sets and dicts that are a list of severities (two or more of them as strings,
    no other string among their elements or keys), as file:line. A table of UI labels that happens to
    hold the severities' labels among others is not a severity list."""
    hits = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
            if not isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict) or items is None:
                continue
            strings = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
            if len(strings) >= 2 and strings <= set(LEVELS):
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return hits


def test_severities_are_listed_only_by_the_enum() -> None:
    """The order, the --fail-on levels, the money at issue and every report take the severities from
    ``Severity``; no module spells the list out again."""
    assert _severity_lists() == []
    assert LEVELS == ("error", "warning", "info")
    assert [s.value for s in Severity] == list(LEVELS)


@pytest.mark.parametrize(
    ("fail_on", "failing"),
    [("error", ("error",)), ("warning", ("error", "warning")), ("info", ("error", "warning", "info")),
     ("never", ())],
)
def test_fail_on_levels(fail_on: str, failing: tuple[str, ...]) -> None:
    from fundaudit.rules.severity import at_or_above

    assert at_or_above(fail_on) == failing


# --- the result contract sits below the run and the reports -----------------------------------------

def _all_imports(path: Path) -> set[str]:
    """Every module named by an import anywhere in ``path`` (functions included; TYPE_CHECKING excluded)."""
    tree = ast.parse(path.read_text("utf-8"))
    type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
                 for stmt in node.body for n in ast.walk(stmt)}
    name = next(m for m, p in MODULES.items() if p == path)
    return {t for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in type_only
            for t in _targets(node, name, path.name == "__init__.py", MODULES)}


def test_reports_and_result_do_not_import_the_run() -> None:
    """The writers take what a result holds from ``fundaudit.result``, not from the run that builds it (not even
    lazily), and ``fundaudit.result`` imports neither the run nor a writer."""
    users = {m: _all_imports(p) for m, p in MODULES.items()
             if m.startswith("fundaudit.report") or m == "fundaudit.result"}
    assert {m: sorted(i & {"fundaudit.run"}) for m, i in users.items() if "fundaudit.run" in i} == {}
    assert sorted(i for i in users["fundaudit.result"] if i.startswith(("fundaudit.report", "fundaudit.run"))) == []


# --- one home for the other facts the issue found twice ----------------------------------------------

def test_facts_defined_once() -> None:
    """unit_of, the window syntax, Arg/Signature, PROVENANCE and the finding columns each have one
    definition; the modules that used to define their own now hold the same object."""
    from fundaudit import engine, result, run, schemas
    from fundaudit.engine import findings, sql
    from fundaudit.engine.checks import payments
    from fundaudit.rules import model, signatures, spec, values
    from fundaudit.rules.signatures import payments as signatures_payments

    assert sql.unit_of is values.unit_of
    assert payments.parse_window is values.parse_window is model.parse_window
    assert signatures.Arg is signatures_payments.Arg is spec.Arg
    assert signatures.Signature is signatures_payments.Signature is spec.Signature
    assert findings.PROVENANCE is schemas.PROVENANCE
    assert run.FINDING_COLUMNS is result.FINDING_COLUMNS
    assert findings.FINDING_FRAME_COLUMNS is engine.FINDING_FRAME_COLUMNS is result.FINDING_FRAME_COLUMNS
    assert result.FINDING_FRAME_COLUMNS == ["id", "fingerprint", "rule", "severity", "kind", "union", "subject",
                                           "message", "message_en", "amount", "amount_fen", "values", "refs",
                                           "evidence"]


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [("same_day", ("same_day", 0, 0)), (" month ", ("month", 0, 0)), ("year", ("year", 0, 0)),
     ("12-01..02-29", ("season", 1201, 229)), ("1-5 .. 3-31", ("season", 105, 331))],
)
def test_parse_window(spec: str, parsed: tuple[str, int, int]) -> None:
    from fundaudit.rules.values import parse_window

    assert parse_window(spec) == parsed


@pytest.mark.parametrize("spec", ["13-01..02-29", "02-30..03-01", "week", "", 5, None, ["month"]])
def test_parse_window_refuses(spec: object) -> None:
    from fundaudit.rules.values import parse_window

    with pytest.raises(ValueError):
        parse_window(spec)


# --- check types in families: engine module and signature module mirrored by name -------------------

FAMILY_MAX_LINES = 600


def test_check_families_mirror_their_signatures() -> None:
    """engine/checks/<family>.py and rules/signatures/<family>.py declare the same check types, family
    by family, and the engine's family list and the signatures' are the same modules."""
    from fundaudit.engine.checks import FAMILIES, IMPLS, load_builtin
    from fundaudit.rules import signatures

    load_builtin()
    engine = {f: sorted(n for n, fn in IMPLS.items() if fn.__module__ == f"fundaudit.engine.checks.{f}")
              for f in FAMILIES}
    specs = {m.__name__.rsplit(".", 1)[1]: sorted(s.name for s in m.SIGNATURES) for m in signatures.FAMILIES}
    assert specs == engine
    assert all(engine.values())
    assert sorted(n for names in engine.values() for n in names) == sorted(IMPLS)
    files = {p.stem for p in (ROOT / "fundaudit/engine/checks").glob("*.py")} - {"__init__", "common"}
    assert files == set(FAMILIES) == {p.stem for p in (ROOT / "fundaudit/rules/signatures").glob("*.py")} - {
        "__init__"}


def test_check_families_read_in_one_sitting() -> None:
    from fundaudit.engine.checks import FAMILIES

    lines = {f: len((ROOT / f"fundaudit/engine/checks/{f}.py").read_text("utf-8").splitlines()) for f in FAMILIES}
    assert {f: n for f, n in lines.items() if n > FAMILY_MAX_LINES} == {}


def test_check_family_of() -> None:
    from fundaudit.engine.checks import family_of

    types = ("duplicate_payment", "dues_gap", "flag", "household_duplicate", "in_set")
    assert [family_of(t) for t in types] == ["payments", "dues_timing", "flag", "register", "generic"]


def _function_bodies(folder: Path) -> dict[str, list[str]]:
    """Each top-level or nested function of ``folder``'s modules by its arguments and body (docstring
    left out, names kept): two entries under one key are the same function written twice."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            key = ast.dump(node.args) + ast.dump(ast.Module(body=body, type_ignores=[]))
            found.setdefault(key, []).append(f"{path.relative_to(ROOT).as_posix()} {node.name}")
    return found


def test_engine_defines_each_sql_builder_once() -> None:
    """The check families share their SQL builders (engine/sql.py) and context helpers (checks/common.py)
    instead of each keeping a copy (aid.py and dues.py used to define _nn, _eq, _as, _or ... twice)."""
    twice = [places for places in _function_bodies(ROOT / "fundaudit/engine").values() if len(places) > 1]
    assert twice == []
