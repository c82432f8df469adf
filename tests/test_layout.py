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
    for name in ("model.py", "quarters.py", "round.py"):
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


# Store methods that write. Only the service (handlers/service/) may call them, so that
# authorisation, validation, audit and the clock live in one place.
WRITES = {
    "transaction",
    "execute",
    "executescript",
    "insert_inbound",
    "insert_deliverable",
    "insert_correspondence",
    "append_update",
    "set_meta",
    "set_deliverable_fields",
    "set_person_slack_id",
    "set_person_away",
    "set_mail_token",
    "set_inbound_state",
    "save_person",
    "save_theme",
    "save_pending",
    "save_snapshot",
    "drop_pending",
    "add_forward",
    "mark_answered",
    "mark_sent",
    "mark_failed",
    "claim",
    "reclaim",
    "add_ledger_warning",
    "requeue_inbound",
    "rewrite_inbound",
    "purge_raw",
    "checkpoint",
    "save_mailbox_folder",
    "save_mailbox_cursor",
    "take_mailbox_message",
    "mark_mailbox_messages",
    "insert_round",
    "append_round_event",
    "set_round_closed",
}
SERVICE = ROOT / "handlers" / "service"


def _store_writes(path: Path) -> list[str]:
    """Calls like ``store.append_update(...)`` or ``self.store.db.execute(...)``: a write
    method called on something named store, reader or db."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in WRITES:
            continue
        target = node.func.value
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in {"store", "reader", "db", "_store"}:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}.{node.func.attr}")
    return found


def test_only_the_service_writes_to_the_store() -> None:
    offenders = [
        hit
        for package in ("bot", "handlers", "digests")
        for path in sorted((ROOT / package).rglob("*.py"))
        if SERVICE not in path.parents
        for hit in _store_writes(path)
    ]
    assert offenders == []


def test_the_write_rule_sees_writes() -> None:
    # The rule itself must be able to fail: the service's own modules are full of writes.
    assert any(_store_writes(p) for p in SERVICE.glob("*.py"))


def _sizes() -> list[str]:
    """Modules over 500 lines and functions over 80, in the four packages."""
    found = []
    for package in sorted(OURS):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            name = path.relative_to(ROOT)
            if len(text.splitlines()) > 500:
                found.append(f"{name}: {len(text.splitlines())} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > 80:
                        found.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    return found


def test_no_module_over_500_lines_and_no_function_over_80() -> None:
    assert _sizes() == []
