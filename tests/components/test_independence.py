"""Components take plain arguments: none imports the program (`mlgov`), so each can be used, and published, on its own."""
from __future__ import annotations

import ast
from pathlib import Path

COMPONENTS = Path(__file__).resolve().parents[2] / "components"


def imported_modules(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_no_component_imports_the_program_or_the_lambda_handlers() -> None:
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if m.split(".")[0] == "mlgov" or m.startswith("governance.handlers"))
        for path in sorted(COMPONENTS.glob("*.py"))
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}
