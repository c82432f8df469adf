"""What the channels ask of the round beyond the service: drafting the paper's lines (the
digests' work) and delivering the asks, reminders and notices through the ledger (the
wiring's). ``bot`` implements it; Slack's listeners are given one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from handlers.service.round_admin import OpenRound
from store import Person
from store.round import Round

__all__ = ["Delivered", "RoundDesk"]


@dataclass(frozen=True)
class Delivered:
    kind: str  # round-ask | round-again | round-reminder | round-notice
    period: str
    destination: str
    state: str  # sent | failed | skipped
    reference: str = ""


class RoundDesk(Protocol):
    async def open(self, request: OpenRound, *, actor: Person) -> Round:
        """Draft every line of the period's paper and open the round (not yet delivered)."""
        ...

    async def close(self, name: str, *, actor: Person) -> Round:
        """Freeze the round's paper under its name and close it."""
        ...

    async def deliver(self, name: str | None = None) -> list[Delivered]:
        """Send whatever the open rounds (or the one named) owe anyone now, each once."""
        ...
