"""Frozen report data ("snapshots") and what changed since one."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

from digests.report import Report

__all__ = ["changes_since", "render_changes", "report_to_data"]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def report_to_data(report: Report) -> dict[str, Any]:
    """Everything behind a panel paper, as JSON-ready data."""
    data: dict[str, Any] = _plain(report)
    return data


def _items(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for theme in data["themes"]:
        for section in ("completed", "current", "new"):
            for item in theme[section]:
                items[item["ref"]] = {**item, "theme": theme["name"], "section": section}
    return items


def changes_since(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """What moved between two report datasets: completions, status and due changes, new ones."""
    old, new = _items(before), _items(after)
    out: dict[str, list[str]] = {
        "completed": [],
        "status": [],
        "due": [],
        "new": [],
        "no longer reported": [],
    }
    for ref, item in new.items():
        was = old.get(ref)
        label = f"{ref} {item['title']}"
        if was is None:
            out["new"].append(label)
            continue
        if item["status"] != was["status"]:
            if item["status"] == "completed":
                out["completed"].append(label)
            else:
                out["status"].append(f"{label}: {was['status']} → {item['status']}")
        if item["due"] != was["due"]:
            out["due"].append(f"{label}: {was['due'] or 'none'} → {item['due'] or 'none'}")
    for ref, was in old.items():
        if ref not in new and was["status"] != "completed":
            out["no longer reported"].append(f"{ref} {was['title']}")
    return out


def render_changes(name: str, created_at: str, changes: dict[str, list[str]]) -> str:
    lines = [f"# Changes since snapshot {name!r} ({created_at[:10]})", ""]
    headings = {
        "completed": "Completed since",
        "status": "Status changed",
        "due": "Due quarter changed",
        "new": "New since",
        "no longer reported": "No longer in the report",
    }
    any_change = False
    for key, heading in headings.items():
        if changes[key]:
            any_change = True
            lines += [f"## {heading}", ""] + [f"- {line}" for line in changes[key]] + [""]
    if not any_change:
        lines.append("Nothing has changed.")
    return "\n".join(lines).rstrip() + "\n"
