"""The package's layering, checked from the source: the core never reaches up into adapters.

Core modules (model, policy, evaluate, select, baseline, catalogue, options,
engine, manager, hookspecs) may import each other and third-party libraries;
the adapters (sources, sinks, the CodePipeline package, the test tools, the
CLI and the pytest plugin) build on them. Imports under ``if TYPE_CHECKING:``
do not run and are allowed; lazy imports inside functions do run, so they
count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_releasegate

PACKAGE = Path(pytest_releasegate.__file__).parent
CORE = (
    "model",
    "policy",
    "evaluate",
    "select",
    "baseline",
    "catalogue",
    "options",
    "engine",
    "manager",
    "hookspecs",
    "history",
    "failures",
    "trends",
)
ADAPTERS = ("sources", "sinks", "codepipeline", "testing", "cli", "plugin")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:`` blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def runtime_imports(source: str, package: str) -> set[str]:
    """The project modules that code in ``package`` imports when it runs."""
    found: set[str] = set()
    for node in _walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from . import cli` imports the module `cli`; a name that is no
            # module (`from .model import Verdict`) never matches an adapter.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {f for f in found if f.split(".")[0] == "pytest_releasegate"}


def imports_of(path: Path) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return runtime_imports(path.read_text(encoding="utf-8"), package)


def is_adapter(target: str) -> bool:
    parts = target.split(".")
    return len(parts) > 1 and parts[1] in ADAPTERS


@pytest.mark.parametrize("core", CORE)
def test_core_module_imports_no_adapter(core: str) -> None:
    path = PACKAGE / f"{core}.py"
    bad = sorted(t for t in imports_of(path) if is_adapter(t))
    assert not bad, f"{path.name} imports adapters at runtime: {bad}"


def test_the_check_sees_lazy_imports_and_skips_type_checking_blocks() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .model import Verdict\n"
        "if TYPE_CHECKING:\n    from .sinks.files import x\n"
        "def f():\n    from .sources import smoke\n    from . import cli\n"
        "    import pytest_releasegate.codepipeline.results\n"
    )
    found = {t for t in runtime_imports(source, "pytest_releasegate") if is_adapter(t)}
    assert found == {
        "pytest_releasegate.sources",
        "pytest_releasegate.sources.smoke",
        "pytest_releasegate.cli",
        "pytest_releasegate.codepipeline.results",
    }


def test_no_import_cycles_between_modules() -> None:
    """Runtime imports form no cycle (edges into a package's ``__init__`` aside:
    a package is always imported before its modules)."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {
        name: {t for t in imports_of(path) if t in paths and paths[t].name != "__init__.py"}
        for name, path in paths.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_supported_coverage_range_is_declared_once_and_tested_at_its_floor() -> None:
    """pyproject's coverage range is the one the source names, and CI installs its floor."""
    import re
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    from pytest_releasegate.sources.coverage import SUPPORTED_COVERAGE

    repo = PACKAGE.parent
    deps = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    (declared,) = [d for d in deps if re.match(r"coverage\b", d)]
    assert declared == f"coverage{SUPPORTED_COVERAGE}"
    floor = re.match(r">=([\d.]+),", SUPPORTED_COVERAGE)
    assert floor is not None
    assert f'"coverage=={floor.group(1)}.0"' in (repo / ".ci" / "run").read_text()
