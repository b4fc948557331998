"""The import graph of ``worker/`` has no circle (issue 14).

A circle makes every module in it load the others first, so none can be read, tested or
replaced alone. The graph is read with ``ast``: imports inside functions count too, imports
under ``if TYPE_CHECKING:`` do not (they never run: annotations only), and ``from package import
submodule`` is an edge to the submodule only, since that is all it needs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import worker

ROOT = Path(worker.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, modules: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name in modules)
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
        submodules = [f"{node.module}.{a.name}" for a in node.names]
        if all(name in modules for name in submodules):
            yield from submodules
        else:
            yield node.module


def _type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """The import nodes inside ``if TYPE_CHECKING:`` blocks."""
    return {
        inner
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for stmt in node.body
        for inner in ast.walk(stmt)
    }


def import_graph() -> dict[str, set[str]]:
    """Module → the ``worker`` modules it imports."""
    paths = {_module_name(path): path for path in ROOT.rglob("*.py")}
    modules = set(paths)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        nodes = (node for node in ast.walk(tree) if node not in skipped)
        graph[name] = {dep for node in nodes for dep in _imported(node, modules)}
        graph[name].discard(name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of ``graph`` as a path that ends where it starts, or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for dep in sorted(graph[node]):
            if dep in on_path:
                return [*path[path.index(dep) :], dep]
            if dep not in done and (cycle := visit(dep)) is not None:
                return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_finder_sees_a_circle() -> None:
    """The checker itself works: a three-module circle is reported as a closed path."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_worker_imports_have_no_circle() -> None:
    """No module of ``worker/`` imports itself through others."""
    graph = import_graph()
    assert "worker.settings" in graph["worker.api.auth"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])
