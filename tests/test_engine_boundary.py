"""Test doubles stay out of what ships: no engine, Dagster-layer or CLI module imports `tests`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("pipeline", "assets", "resources", "cli")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_shipped_module_imports_test_support():
    offenders = {
        path.relative_to(ROOT).as_posix(): sorted(
            m for m in _imported_modules(path) if m.split(".")[0] == "tests"
        )
        for folder in SHIPPED
        for path in (ROOT / folder).rglob("*.py")
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_the_test_doubles_left_the_engine():
    for old in (
        "pipeline/llm/stub.py",
        "pipeline/llm/wire.py",
        "pipeline/dreaming/synthetic.py",
        "pipeline/dreaming/synthetic_coding.py",
    ):
        assert not (ROOT / old).exists(), old
