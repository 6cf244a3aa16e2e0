"""The shape of govctl's imports: no cycle between its modules (counting imports inside functions and under
TYPE_CHECKING), and the benchmarks import nothing from the tests."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module `path` imports, wherever the import statement is; `from pkg import name` counts pkg.name too."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def govctl_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in (ROOT / "govctl").rglob("*.py")}
    return {name: {m for m in imported(path) if m in modules and m != name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as the list of modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_govctl_modules_import_each_other_without_a_cycle():
    graph = govctl_graph()
    assert "govctl.commands.reads" in graph["govctl.cli"] and "govctl.sandbox" in graph["govctl.walkthrough"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_benchmarks_and_govctl_import_nothing_from_the_tests():
    offenders = {module_name(p): sorted(m for m in imported(p) if m == "tests" or m.startswith("tests."))
                 for p in [*(ROOT / "bench").glob("*.py"), *(ROOT / "govctl").rglob("*.py")]}
    assert {k: v for k, v in offenders.items() if v} == {}
