"""A small PNG for the digest: correspondence per week, and deliverables by status."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from store import Status

__all__ = ["digest_chart"]

_COLOURS = {
    Status.NOT_STARTED: "#b0b7c3",
    Status.ONGOING: "#2b6cb0",
    Status.ON_HOLD: "#dd6b20",
    Status.COMPLETED: "#2f855a",
    Status.BAU: "#6b46c1",
}


def digest_chart(weekly: list[tuple[str, int]], status_counts: dict[Status, int]) -> bytes:
    """Two panels side by side, 8 x 2.6 inches at 100 dpi: about 20 KB of PNG."""
    fig: Figure = plt.figure(figsize=(8, 2.6), dpi=100)
    try:
        left = fig.add_subplot(1, 2, 1)
        labels = [w for w, _ in weekly]
        counts = [n for _, n in weekly]
        left.bar(range(len(counts)), counts, color="#2b6cb0")
        left.set_xticks(range(len(labels)), labels, fontsize=7, rotation=45)
        left.set_title("Correspondence per week", fontsize=9)
        left.tick_params(axis="y", labelsize=7)
        left.yaxis.set_major_locator(MaxNLocator(integer=True))
        left.spines[["top", "right"]].set_visible(False)
        left.set_ylim(bottom=0, top=max(counts, default=0) or 1)  # no negative axis for zero

        right = fig.add_subplot(1, 2, 2)
        statuses = [s for s in Status if status_counts.get(s)]
        right.barh(
            [s.label for s in statuses],
            [status_counts[s] for s in statuses],
            color=[_COLOURS[s] for s in statuses],
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
