"""``report --explain``: why each deliverable is in its list and which rule chose its line."""

from __future__ import annotations

from digests.report import Report, ReportItem

__all__ = ["render_explain"]

_LISTS = (("completed", "Completed"), ("current", "Current"), ("new", "New"))


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _item(item: ReportItem) -> list[str]:
    lines = [f"{item.ref}  {_short(item.title)}"]
    lines += [f"    {why}" for why in item.explain]
    lines += [f"    ! for the coordinator: {flag}" for flag in item.flags]
    return lines


def render_explain(report: Report) -> str:
    """Plain text, one block per deliverable in the paper's order, then the flags again."""
    period = (
        f"{report.period_from.day} {report.period_from:%B %Y} to "
        f"{report.period_to.day} {report.period_to:%B %Y}"
    )
    out = [f"Why each line says what it says: {report.plan}, {period}", ""]
    flagged: list[str] = []
    for theme in report.themes:
        out.append(f"{theme.name}")
        for key, label in _LISTS:
            items: list[ReportItem] = getattr(theme, key)
            if not items:
                continue
            out.append(f"  {label} ({len(items)})")
            for item in items:
                out += [f"  {line}" for line in _item(item)]
                flagged += [f"- {item.ref}: {flag}" for flag in item.flags]
        out.append("")
    if flagged:
        out += [f"For the coordinator ({len(flagged)}):", *flagged]
    else:
        out.append("Nothing for the coordinator to check.")
    return "\n".join(out).rstrip() + "\n"
