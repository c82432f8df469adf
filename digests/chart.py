"""A small PNG for the digest: correspondence per week, and deliverables by status."""

from __future__ import annotations

import datetime as dt
import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from store import Status

__all__ = ["digest_chart", "period_span", "period_title", "week_labels"]


def week_labels(weeks: list[dt.date]) -> list[str]:
    """ "27 Jun 2022", then "4 Jul", ..., with the year again where it changes."""
    labels = []
    for i, monday in enumerate(weeks):
        year = i == 0 or monday.year != weeks[i - 1].year
        labels.append(f"{monday.day} {monday:%b}" + (f"\n{monday.year}" if year else ""))
    return labels


def period_span(weeks: list[dt.date]) -> str:
    """ "27 June to 18 September 2022": from the first Monday to the last Sunday."""
    if not weeks:
        return ""
    first, last = weeks[0], weeks[-1] + dt.timedelta(days=6)
    same = first.year == last.year
    start = f"{first.day} {first:%B}" + ("" if same else f" {first.year}")
    return f"{start} to {last.day} {last:%B %Y}"


def period_title(weeks: list[dt.date]) -> str:
    """ "Correspondence per week, 27 June to 18 September 2022"."""
    return "Correspondence per week" + (f", {period_span(weeks)}" if weeks else "")


def digest_chart(weekly: list[tuple[dt.date, int]], status_counts: dict[Status, int]) -> bytes:
    """Two panels side by side, 8 x 2.8 inches at 100 dpi: about 20 KB of PNG. With no mail
    in the 12 weeks the left panel says so, instead of drawing an empty axis."""
    fig: Figure = plt.figure(figsize=(8, 2.8), dpi=100)
    try:
        left = fig.add_subplot(1, 2, 1)
        weeks = [w for w, _ in weekly]
        counts = [n for _, n in weekly]
        left.set_title(period_title(weeks), fontsize=9)
        if any(counts):
            left.bar(range(len(counts)), counts, color="#2b6cb0")
            left.set_xticks(range(len(weeks)), week_labels(weeks), fontsize=7, rotation=45)
            left.tick_params(axis="y", labelsize=7)
            left.yaxis.set_major_locator(MaxNLocator(integer=True))
            left.spines[["top", "right"]].set_visible(False)
            left.set_ylim(bottom=0, top=max(counts))
        else:
            left.axis("off")
            left.text(0.5, 0.5, "No correspondence recorded", ha="center", va="center", fontsize=9)

        right = fig.add_subplot(1, 2, 2)
        statuses = [s for s in Status if status_counts.get(s)]
        right.barh(
            [s.label for s in statuses],
            [status_counts[s] for s in statuses],
            color=[s.colour for s in statuses],
        )
        right.invert_yaxis()
        right.set_title("Deliverables by status", fontsize=9)
        right.tick_params(labelsize=7)
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        right.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    finally:
        plt.close(fig)
