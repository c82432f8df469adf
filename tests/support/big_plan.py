"""Plans of any size for the import benchmark and the fault suite: N deliverables spread over
five themes and twenty people, as YAML (the plan file) or as rows for a CSV."""

from __future__ import annotations

import csv
import io

THEMES = [
    ("CF", "Putting Communities First"),
    ("CP", "Crime Prevention"),
    ("VW", "Supporting Victims and Witnesses"),
    ("EP", "Ethical Policing"),
    ("RE", "Robust Enforcement"),
]
STATUSES = ["not-started", "ongoing", "on-hold", "completed", "bau"]


def _email(i: int) -> str:
    return f"owner{i % 20}@example.org"


def big_plan_yaml(rows: int, *, refs: bool = False, tag: str = "", themes: int = 5) -> str:
    """A valid plan file with ``rows`` deliverables over ``themes`` themes; with ``refs``
    each names its reference."""
    lines = ["plan: Big Plan", "office: Test Office", "start: 2021-11-29", "people:"]
    lines += [f"  - {{name: Owner {i}, email: {_email(i)}}}" for i in range(20)]
    lines.append("themes:")
    used = THEMES[:themes]
    per_theme: dict[str, list[int]] = {code: [] for code, _ in used}
    for i in range(rows):
        per_theme[used[i % len(used)][0]].append(i)
    for code, name in used:
        lines += [
            f"  - code: {code}",
            f"    name: {name}",
            "    aim: Do the work.",
            "    deliverables:",
        ]
        for n, i in enumerate(per_theme[code], start=1):
            if refs:
                lines.append(f"      - ref: {code}-{n}")
                lines.append(f"        title: Deliverable {i}{tag}")
            else:
                lines.append(f"      - title: Deliverable {i}{tag}")
            lines += [
                f"        status: {STATUSES[i % len(STATUSES)]}",
                f"        owner: {_email(i)}",
                "        due: Q3 2022/23",
                f"        note: Progress on deliverable {i} noted at the monthly meeting.",
                "        updated: 2022-07-29",
            ]
    return "\n".join(lines) + "\n"


def big_plan_csv(rows: int) -> str:
    """The same plan as a spreadsheet with the export's columns."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["ref", "title", "theme", "theme_code", "status", "due", "owner", "owner_email", "note"]
    )
    counters = {code: 0 for code, _ in THEMES}
    for i in range(rows):
        code, name = THEMES[i % len(THEMES)]
        counters[code] += 1
        writer.writerow(
            [
                f"{code}-{counters[code]}",
                f"Deliverable {i}",
                name,
                code,
                STATUSES[i % len(STATUSES)],
                "Q3 2022/23",
                f"Owner {i % 20}",
                _email(i),
                f"Progress on deliverable {i} noted at the monthly meeting.",
            ]
        )
    return out.getvalue()
