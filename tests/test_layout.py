"""The rules of the house, each with a test that it sees a violation.

- Imports flow downwards only: ``bot`` → ``handlers`` → ``digests`` → ``store``.
- The rooms: the core (``handlers/service/``) imports no channel, and a channel
  (``handlers/slack/``, ``handlers/mail/``) imports no other channel.
- Each channel's libraries only in its room: Slack's in ``handlers/slack/``, mail's in
  ``handlers/mail/``.
- Writes only in ``handlers/service/``: everything else holds a ``Reader`` (no write in its
  type, which mypy holds) or a ``Writer`` (which runs service functions); a write method
  called on a store anywhere else is caught here too.
- The model does no I/O; no module over 500 lines, no function over 80.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"bot", "handlers", "digests", "store"}
ALLOWED = {
    "store": {"store"},
    "handlers": {"handlers", "digests", "store"},
    "digests": {"digests", "store"},
    "bot": OURS,
}


def _all_imports(source: str) -> set[str]:
    """The top-level names of every absolute import in ``source`` (lazy ones too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _imports(path: Path) -> set[str]:
    return _all_imports(path.read_text(encoding="utf-8")) & OURS


@pytest.mark.parametrize("package", sorted(OURS))
def test_imports_flow_downwards(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        wrong = _imports(path) - ALLOWED[package]
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_import_rule_sees_an_upward_import() -> None:
    source = "from handlers.service import record_update\n"
    assert _all_imports(source) & OURS - ALLOWED["digests"] == {"handlers"}
    assert _all_imports(source) & OURS - ALLOWED["bot"] == set()


# The rooms inside handlers/: the core, and one room a channel.
CORE = "handlers.service"
CHANNELS = ("handlers.slack", "handlers.mail")


def _modules(source: str) -> set[str]:
    """Every module ``source`` imports (``from a.b import c`` is ``a.b`` and ``a.b.c``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _room_of(dotted: str) -> str | None:
    for room in (CORE, *CHANNELS):
        if dotted == room or dotted.startswith(room + "."):
            return room
    return None


def _room_trespass(path: Path, source: str) -> list[str]:
    """A channel imported by the core, or by another channel."""
    dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    mine = _room_of(dotted)
    if mine is None:
        return []
    return [
        f"{dotted} imports {module}"
        for module in sorted(_modules(source))
        if (room := _room_of(module)) in CHANNELS and room != mine
    ]


def test_the_core_knows_no_channel_and_channels_not_each_other() -> None:
    offenders = [
        hit
        for path in sorted((ROOT / "handlers").rglob("*.py"))
        for hit in _room_trespass(path, path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_room_rule_sees_a_trespass() -> None:
    slack_in_core = "from handlers.slack.blocks import esc\n"
    assert _room_trespass(ROOT / "handlers/service/updates.py", slack_in_core)
    mail_in_slack = "import handlers.mail.parse\n"
    assert _room_trespass(ROOT / "handlers/slack/forms.py", mail_in_slack)
    assert not _room_trespass(ROOT / "handlers/slack/forms.py", slack_in_core)
    assert not _room_trespass(ROOT / "handlers/grammar.py", slack_in_core)


def test_model_has_no_io() -> None:
    for name in ("model.py", "quarters.py", "status.py", "office.py", "round.py"):
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
    "set_glossary",
    "set_deliverable_fields",
    "set_identity",
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
    "rebuild_current_state",
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


def test_a_reader_has_no_write_and_the_store_has_every_one() -> None:
    from store import Reader, Store

    assert not set(dir(Reader)) & WRITES
    assert WRITES - {"execute", "executescript"} <= set(dir(Store))


def test_the_type_checker_refuses_a_write_through_a_reader(tmp_path: Path) -> None:
    """What listeners, digests, the board and jobs hold is a ``Reader`` (or a ``Writer``,
    which runs a service function): mypy refuses a write through it."""
    snippet = tmp_path / "listener.py"
    snippet.write_text(
        "from handlers.service.writer import Writer\n"
        "from store import Reader\n\n\n"
        "def reads(reader: Reader) -> int:\n"
        "    return len(reader.people())\n\n\n"
        "def writes(reader: Reader, writer: Writer) -> None:\n"
        "    reader.set_person_away(1, None)\n"
        "    writer.reader.append_update()\n",
        encoding="utf-8",
    )
    found = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(snippet),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    errors = [line for line in found.stdout.splitlines() if ": error:" in line]
    assert [e.split(":")[1] for e in errors] == ["10", "11"], found.stdout
    assert '"Reader" has no attribute "set_person_away"' in errors[0]
    assert '"Reader" has no attribute "append_update"' in errors[1]


# Each channel's libraries are imported in its own room only.
CHANNEL_LIBRARIES = {
    "slack_bolt": "handlers/slack",
    "slack_sdk": "handlers/slack",
    "aiosmtpd": "handlers/mail",
    "aiosmtplib": "handlers/mail",
    "imapclient": "handlers/mail",
    "msal": "handlers/mail",
}


def _library_trespass(path: Path, source: str) -> list[str]:
    where = path.relative_to(ROOT).as_posix()
    return [
        f"{where} imports {library}"
        for library, room in sorted(CHANNEL_LIBRARIES.items())
        if library in _all_imports(source) and not where.startswith(room + "/")
    ]


def test_channel_libraries_stay_in_their_rooms() -> None:
    offenders = [
        hit
        for package in sorted(OURS)
        for path in sorted((ROOT / package).rglob("*.py"))
        for hit in _library_trespass(path, path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize("library", sorted(CHANNEL_LIBRARIES))
def test_the_library_rule_sees_a_trespass(library: str) -> None:
    source = f"def late() -> None:\n    from {library} import x\n"
    assert _library_trespass(ROOT / "digests" / "example.py", source)
    room = ROOT / CHANNEL_LIBRARIES[library] / "example.py"
    assert not _library_trespass(room, source)


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
