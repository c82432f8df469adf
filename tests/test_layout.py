"""Imports flow downwards only: bot → handlers/digests → store."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"bot", "handlers", "digests", "store"}
ALLOWED = {
    "store": {"store"},
    "handlers": {"handlers", "store"},
    "digests": {"digests", "store"},
    "bot": OURS,
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & OURS


@pytest.mark.parametrize("package", sorted(OURS))
def test_imports_flow_downwards(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        wrong = _imports(path) - ALLOWED[package]
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_model_has_no_io() -> None:
    for name in ("model.py", "quarters.py"):
        imported = {
            n.split(".")[0]
            for node in ast.walk(ast.parse((ROOT / "store" / name).read_text()))
            for n in (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
        }
        assert not imported & {"sqlite3", "sqlite_utils", "os", "pathlib", "socket", "io"}, name
