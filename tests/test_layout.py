"""The layout of the house, held by its imports (issue 16: arrows point down, one door per room).

Read from the source with :mod:`ast` (nothing is imported, no new dependency), every import
counted wherever it is written (a lazy import inside a function is still an arrow):

- the scoring engine imports only the kernel;
- nothing below ``chiso.web`` imports it (the top-level ``chiso.cli`` starts the server);
- the HTTP helpers (``chiso.http``) import only the kernel, ``auth`` and the registry;
- pages (``chiso.web``, ``reports/web.py``) never touch DuckDB: they call services;
- the kernel imports no domain;
- no import cycle between packages, no two modules importing each other, and no module
  reaching into another's private names.

A rule broken by code that is being moved elsewhere is listed below as a known exception,
with why; the test also fails when an exception no longer happens, so the list only shrinks.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "chiso"

#: Below every domain: what any package may import. Errors, translation, settings, the
#: database engine and sessions, periods, the working-day calendar, the wall clock and
#: number formatting know nothing of units, dossiers, indexes or rounds.
KERNEL = frozenset({"errors", "i18n", "settings", "db", "periods", "calendar", "clock", "output", "shapes"})

#: What the HTTP helpers may import besides the kernel: the actor comes from ``auth``, and
#: a scope is a set of units of the registry (which ``auth`` already rests on).
HTTP_ALLOWED = KERNEL | {"auth", "units"}

#: Pages: they render what services return and never query the columnar store themselves.
PAGES = ("chiso.web", "chiso.reports.web")

#: Known exceptions to "pages touch no DuckDB": module → why it is still allowed.
KNOWN_DUCKDB_IN_PAGES: dict[str, str] = {}

#: Known package-level arrows that close a cycle: (importer, imported) → why. Every other
#: arrow must leave the package graph without cycles.
KNOWN_CYCLE_EDGES = {
    # The audit trail names the actor in annotations and looks units up by id, while auth
    # and the registry write audit entries: the audit log wants to sit below both.
    ("audit", "auth"): "Actor in annotations of audit.service",
    ("audit", "units"): "audit.service resolves unit codes",
    # The records store (backup, identity) reaches into the dossier store and the table
    # registry, and the CLI helpers open the store: the store sits above the domains today.
    ("store", "dossiers"): "store.service/backup open the dossier store",
    ("store", "models_registry"): "store.backup loads every table",
    ("clitools", "store"): "clitools.records opens the records store",
    # dossiers/ is being split (issue 16, another branch); its CLI opens the store.
    ("dossiers", "store"): "dossiers.cli opens the records store",
}

#: Known imports of another module's private names: (importer, "module.name") → why.
KNOWN_PRIVATE = {
    # settings.py is being reworked on another branch (issue 16, security points).
    ("chiso.store.service", "chiso.settings._default_database_url"): "the default database URL",
}


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module, dotted
    target: str  # the imported module, dotted (for ``from m import n``: ``m.n`` when it is a module, else ``m``)
    names: tuple[str, ...]  # names taken with ``from ... import``
    line: int
    module: str  # the ``from`` module as written (resolved when relative)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


MODULES = _modules()


def _imports() -> list[Import]:
    out: list[Import] = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    out.append(Import(name, alias.name, (), node.lineno, alias.name))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    target = sub if sub in MODULES else module
                    out.append(Import(name, target, (alias.name,), node.lineno, module))
    return out


IMPORTS = _imports()


def package_of(module: str) -> str | None:
    """``chiso.scoring.rules`` → ``scoring``; ``chiso.periods`` → ``periods``; ``chiso`` → None."""
    parts = module.split(".")
    if parts[0] != "chiso" or len(parts) < 2:
        return None
    return parts[1]


def _where(imp: Import) -> str:
    return f"{MODULES[imp.importer].relative_to(SRC.parent.parent)}:{imp.line}: {imp.importer} imports {imp.target}"


def _fail(rule: str, problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{rule}:\n  " + "\n  ".join(sorted(set(problems))), pytrace=False)


def test_the_engine_imports_only_the_kernel():
    problems = [
        _where(i) for i in IMPORTS
        if package_of(i.importer) == "scoring" and package_of(i.target) not in (None, "scoring", *KERNEL)
    ]
    _fail("The scoring engine may import only the kernel (" + ", ".join(sorted(KERNEL)) + ")", problems)


def test_nothing_below_the_web_imports_it():
    problems = [
        _where(i) for i in IMPORTS
        if i.target.startswith("chiso.web") and package_of(i.importer) != "web" and i.importer != "chiso.cli"
    ]
    _fail("Only chiso.web (and chiso.cli, which starts the server) may import chiso.web: "
          "move what a domain needs into chiso.http", problems)


def test_the_http_helpers_import_only_the_kernel_auth_and_the_registry():
    problems = [
        _where(i) for i in IMPORTS
        if package_of(i.importer) == "http" and package_of(i.target) not in (None, "http", *HTTP_ALLOWED)
    ]
    _fail("chiso.http may import only " + ", ".join(sorted(HTTP_ALLOWED)), problems)


def test_pages_touch_no_duckdb():
    offenders = {i.importer for i in IMPORTS
                 if i.importer.startswith(PAGES) and i.target.split(".")[0] == "duckdb"}
    _fail("Pages must not import duckdb (ask a service in chiso.index instead)",
          [f"{m} imports duckdb" for m in offenders - set(KNOWN_DUCKDB_IN_PAGES)])
    _fail("Known exceptions that no longer happen (remove them from KNOWN_DUCKDB_IN_PAGES)",
          sorted(set(KNOWN_DUCKDB_IN_PAGES) - offenders))


def test_the_kernel_imports_no_domain():
    problems = [
        _where(i) for i in IMPORTS
        if package_of(i.importer) in KERNEL and package_of(i.target) not in (None, *KERNEL)
    ]
    _fail("The kernel (" + ", ".join(sorted(KERNEL)) + ") may import only the kernel", problems)


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for i in IMPORTS:
        a, b = package_of(i.importer), package_of(i.target)
        if a and b and a != b and b in {package_of(m) for m in MODULES}:
            graph[a].add(b)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan, the same
    function that draws docs/architecture.md)."""
    sys.path.insert(0, str(SRC.parents[1] / "scripts"))
    try:
        from architecture import strongly_connected
    finally:
        sys.path.pop(0)
    return strongly_connected(graph)


def test_no_import_cycle_between_packages():
    graph = package_graph()
    unused = [f"{a} -> {b}" for (a, b) in KNOWN_CYCLE_EDGES if b not in graph.get(a, set())]
    for a, b in KNOWN_CYCLE_EDGES:
        graph.get(a, set()).discard(b)
    problems = []
    for comp in _cycles(graph):
        first: dict[tuple[str, str], str] = {}
        for i in IMPORTS:
            a, b = package_of(i.importer), package_of(i.target)
            if a in comp and b in comp and b in graph.get(a, ()):
                first.setdefault((a, b), _where(i))
        problems.append("packages " + ", ".join(comp) + " import each other; an arrow of each kind:\n    "
                        + "\n    ".join(first[k] for k in sorted(first)))
    _fail("Import cycles between packages (a lower module is missing)", problems)
    _fail("Known exceptions that no longer happen (remove them from KNOWN_CYCLE_EDGES)", unused)


def _private_uses() -> dict[tuple[str, str], str]:
    """(importer, "module.name") → where, for every private name of another chiso module
    that a module imports or reads as an attribute of an imported module."""
    found: dict[tuple[str, str], str] = {}
    for i in IMPORTS:
        if i.module.startswith("chiso") and i.target == i.module and i.target != i.importer:
            for name in i.names:
                # ``_`` is gettext, a public name by convention.
                if name.startswith("_") and name != "_" and not name.startswith("__"):
                    found[(i.importer, f"{i.target}.{name}")] = f"{_where(i)} ({name})"
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chiso"):
                for a in node.names:
                    if f"{node.module}.{a.name}" in MODULES:
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and a.name in MODULES:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_") and not node.attr.startswith("__")
                    and aliases[node.value.id] != name):
                where = f"{path.relative_to(SRC.parent.parent)}:{node.lineno}: {name} reads {aliases[node.value.id]}.{node.attr}"
                found.setdefault((name, f"{aliases[node.value.id]}.{node.attr}"), where)
    return found


def test_no_module_uses_another_modules_private_names():
    found = _private_uses()
    _fail("Private names used across modules (make the name public, or move it to a lower module)",
          [where for key, where in found.items() if key not in KNOWN_PRIVATE])
    _fail("Known exceptions that no longer happen (remove them from KNOWN_PRIVATE)",
          [f"{a} uses {b}" for (a, b) in KNOWN_PRIVATE if (a, b) not in found])


def test_no_two_modules_import_each_other():
    # Two files that need each other are one file, or lack a third, lower one (as
    # methods/reader.py is for the two definition loaders).
    arrows: dict[str, dict[str, str]] = defaultdict(dict)
    for i in IMPORTS:
        if i.target in MODULES and i.target not in (i.importer, "chiso"):
            arrows[i.importer].setdefault(i.target, _where(i))
    problems = [
        f"{arrows[a][b]}\n    and {arrows[b][a]}"
        for a in sorted(arrows) for b in sorted(arrows[a]) if a < b and a in arrows.get(b, {})
    ]
    _fail("Modules that import each other", problems)


def test_the_inner_loop_names_tests_and_modules_that_exist():
    """The inner loop's lists (tests/conftest.py) name files and tests by hand: a renamed
    test would silently come back into the two-minute loop, or a slow one never leave it."""
    from tests.conftest import SLOW_MODULES, SLOW_TESTS

    root = SRC.parents[1]
    for module in SLOW_MODULES:
        assert (root / module).is_file(), module
    for test in SLOW_TESTS:
        module, name = test.split("::")
        assert f"def {name}(" in (root / module).read_text(encoding="utf-8"), test
