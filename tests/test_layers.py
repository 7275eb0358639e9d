"""The direction of imports the README's Layout section draws, checked on the source.

Every project module's imports are read with ``ast`` (no module is imported to do it): at the top, in
functions and under ``if TYPE_CHECKING:`` alike. A lazy or type-only import is still a dependency a
reader must follow, and a cycle hidden in one is the same knot of modules that cannot be understood
or changed one at a time; so none is exempt.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# not the project's importable code: the tests themselves, front-end sources, environments, migrations
# (Alembic loads those by path, and they import sqlalchemy and alembic only)
OUTSIDE = {"tests", "web", "docs", "deploy", "node_modules", "migrations", "var"}
GATEWAY = {
    "server",
    "services",
    "config",
    "schema",
    "middleware",
    "resolvers",
    "access",
    "coordination",
    "store",
    "connectors",
    "domain",
    "identity",
    "observability",
    "cli",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> Mapping[str, Path]:
    """Every project module by dotted name (a package by its ``__init__``)."""
    found = {}
    paths = list(ROOT.glob("*.py"))
    for top in ROOT.iterdir():  # not into the tests, .venv, node_modules: never read, never walked
        if top.is_dir() and top.name not in OUTSIDE and not top.name.startswith("."):
            paths += top.rglob("*.py")
    for path in paths:
        if not any(part in OUTSIDE for part in path.relative_to(ROOT).parts):
            found[_module_name(path)] = path
    return found


def _project_module(name: str) -> str | None:
    """The project module ``name`` refers to: itself, or the nearest package above it (``from schema
    import build_schema`` depends on ``schema``); None for a module of another distribution."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _imported(node: ast.Import | ast.ImportFrom, package: str) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative: from the module's package, one level up per extra dot
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in modules() else base


@cache
def imports_of(module: str) -> frozenset[str]:
    """The project modules ``module`` imports, anywhere in its source."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported(node, package):
                target = _project_module(name)
                if target is not None and target != module:
                    found.add(target)
    return frozenset(found)


def cycles(graph: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): each is a cycle, or several."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: no recursion limit on a long chain of imports
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def graph() -> dict[str, frozenset[str]]:
    return {module: imports_of(module) for module in modules()}


def in_package(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def offending(importers: tuple[str, ...], forbidden: set[str] | tuple[str, ...]) -> list[str]:
    """``importer -> imported`` for every import from a module of ``importers`` into ``forbidden``."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph().items()
        if in_package(module, *importers)
        for target in targets
        if in_package(target, *forbidden)
    )


# -- the checker itself -------------------------------------------------------------------------------


def test_the_checker_sees_the_imports_that_exist() -> None:
    """Guards the guards: a checker that read nothing would pass every rule below."""
    assert len(modules()) > 100
    assert "schema.context" in imports_of("schema.view")  # from schema.context import Context
    assert "services" in imports_of("schema.context")
    assert "schema" in imports_of("server")  # from schema import build_schema: the package
    assert "services" in imports_of("cli.audit")  # an import inside a function counts
    assert "mocks" not in imports_of("server")


def test_the_cycle_finder_finds_cycles() -> None:
    knot = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert cycles(knot) == [["a", "b", "c"]]
    assert cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


# -- the rules ----------------------------------------------------------------------------------------


def test_no_modules_import_each_other() -> None:
    """No cycle at all, of two modules or more: each module can be read knowing only those below it."""
    assert cycles(graph()) == []


def test_the_graphql_view_imports_nothing_from_middleware() -> None:
    """The view reads who is asking from ``scope["user"]`` (identity/authentication.py), not from a
    guard: the schema works the same behind any middleware."""
    assert offending(("schema.view",), ("middleware",)) == []


def test_the_domain_imports_nothing_of_the_project() -> None:
    """The canonical records are plain data every layer shares: they depend on none."""
    project = set(GATEWAY | {"mocks", "bench"}) - {"domain"}
    assert offending(("domain",), project) == []


def test_connectors_know_no_graphql_access_or_store() -> None:
    assert offending(("connectors",), ("schema", "resolvers", "access", "store", "services", "server")) == []


def test_identity_imports_nothing_of_the_gateway() -> None:
    assert offending(("identity",), GATEWAY - {"identity"}) == []


def test_the_mocks_and_the_gateway_only_talk_http() -> None:
    assert offending(("mocks",), GATEWAY) == []
    assert offending(tuple(GATEWAY), ("mocks",)) == []


def test_only_the_top_reads_the_services() -> None:
    """``Services`` holds every part; the layers below the schema are handed the one part they use, so
    none of them may import it (services.py's docstring)."""
    below = ("middleware", "resolvers", "access", "coordination", "store", "connectors", "domain")
    assert offending((*below, "identity", "observability", "config"), ("services", "server")) == []


def test_the_readme_layout_names_every_package_and_top_level_module() -> None:
    """The Layout section is where a newcomer starts: a package or module it leaves out is unexplained."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
    named = {line.split()[0].rstrip("/") for line in layout.splitlines() if line.strip()}
    ours = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    ours |= {p.name for p in ROOT.glob("*.py")}
    assert ours - named == set()
