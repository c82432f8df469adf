"""Writing a validated plan file in one transaction, and saying what changed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from handlers.plan import REF_PATTERN, DeliverableSpec, PlanSpec, ThemeSpec
from handlers.service.plan_shape import next_ref
from store import Deliverable, Source, Store

__all__ = ["ImportSummary", "import_plan"]


@dataclass
class ImportSummary:
    changes: list[str] = field(default_factory=list)
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    kept: int = 0
    own: int = 0  # added by the first import as the plan's own: never "New" in a report
    own_from: dt.date | None = None

    @property
    def text(self) -> str:
        head = f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged" + (
            f", {self.kept} kept (not in the file)" if self.kept else ""
        )
        lines = list(self.changes)
        if self.own and self.own_from is not None:
            new = self.added - self.own
            lines.append(
                f"In reports: {self.own} are the plan's own from {self.own_from.isoformat()} "
                "(completed or current, never New)"
                + (f"; {new} are New in the period that holds their date" if new else "")
            )
        return "\n".join([*lines, head])


class _DryRun(Exception):
    pass


def _stamp(day: dt.date, now: dt.datetime) -> dt.datetime:
    """When an imported history row happened: noon of its day, but never later than the
    import itself, so nothing recorded after the import can sort before it."""
    return min(dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC), now)


@dataclass
class _Import:
    """One import run: the store, the file, the clock, and what it has done so far."""

    store: Store
    spec: PlanSpec
    today: dt.date
    now: dt.datetime
    first: bool
    summary: ImportSummary = field(default_factory=ImportSummary)
    people: dict[str, int] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)

    def note(self, line: str) -> None:
        if not self.first:
            self.summary.changes.append(line)

    def save_people(self) -> None:
        for p in self.spec.people:
            known = self.store.person_by_email(p.email) if p.partial else None
            if known is not None:  # a spreadsheet names people; it does not set their role
                self.people[p.email.lower()] = known.id
                continue
            pid, changed = self.store.save_person(
                name=p.name, email=p.email, slack_id=p.slack, role=str(p.role)
            )
            self.people[p.email.lower()] = pid
            if changed:
                self.note(f"person {p.email}: saved")

    def save_theme(self, position: int, theme: ThemeSpec) -> None:
        aim = theme.aim
        if aim is None:
            stored = self.store.theme_by_code(theme.code)
            aim = stored.aim if stored else ""
        theme_id, changed = self.store.save_theme(
            code=theme.code, name=theme.name, aim=aim, position=position
        )
        if changed:
            self.note(f"theme {theme.code}: name, aim or order updated")
        reserved = {
            int(m.group(2))
            for d in theme.deliverables
            if d.ref and (m := REF_PATTERN.match(d.ref)) and m.group(1) == theme.code
        }
        by_title = {d.title.strip().lower(): d for d in self.store.deliverables(theme_id=theme_id)}
        for position_in_theme, item in enumerate(theme.deliverables, start=1):
            current = (
                self.store.deliverable_by_ref(item.ref)
                if item.ref
                else by_title.get(item.title.strip().lower())
            )
            if current is None:
                ref = item.ref
                if ref is None:
                    ref = next_ref(self.store, theme_id, theme.code, reserved=reserved)
                    reserved.add(int(ref.rsplit("-", 1)[1]))
                self.add(theme_id, position_in_theme, item, ref)
            else:
                self.bring_in_line(current, theme_id, position_in_theme, item, theme.code)

    def add(self, theme_id: int, position: int, item: DeliverableSpec, ref: str) -> None:
        start = self.spec.start
        added_on = item.added or (start if self.first and start else self.today)
        # The first import's deliverables are the plan's own, never new; one added later
        # (``added:`` after the plan's start, a later import) is new on its date.
        origin = (start or self.today) if self.first else None
        own = origin is not None and added_on <= origin
        did = self.store.insert_deliverable(
            ref=ref,
            theme_id=theme_id,
            title=item.title,
            status=item.status,
            owner_id=self.people.get(item.owner) if item.owner else None,
            due=item.due,
            dependencies=item.dependencies,
            added_on=added_on,
            position=position,
        )
        self.store.append_update(
            deliverable_id=did,
            person_id=None,
            source=Source.CLI,
            note=item.note or "",
            status_before=None,
            status_after=item.status,
            due_before=None,
            due_after=item.due,
            dependencies=item.dependencies,
            recorded_at=_stamp(item.updated or added_on, self.now),
            summary=item.summary,
        )
        self.seen.add(did)
        self.summary.added += 1
        if own:
            self.summary.own += 1
            self.summary.own_from = origin
            self.summary.changes.append(f"+ {ref} {item.title} (the plan's own)")
        else:
            self.summary.changes.append(f"+ {ref} {item.title} (new on {added_on.isoformat()})")

    def bring_in_line(
        self, current: Deliverable, theme_id: int, position: int, item: DeliverableSpec, code: str
    ) -> None:
        """Titles, owners, themes, order and due quarters follow the file; status does not
        (it comes from updates). A due change is appended to the history."""
        self.seen.add(current.id)
        owner_id = self.people.get(item.owner) if item.owner else None
        diffs: list[str] = []
        fields: dict[str, Any] = {}
        if current.title != item.title:
            diffs.append(f"title {current.title!r} → {item.title!r}")
            fields["title"] = item.title
        if current.owner_id != owner_id:
            diffs.append(f"owner → {item.owner or 'nobody'}")
            fields["owner_id"] = owner_id
        if current.theme_id != theme_id:
            diffs.append(f"theme → {code}")
            fields["theme_id"] = theme_id
        if current.position != position:
            fields["position"] = position
        if item.due != current.due and item.due is not None:
            diffs.append(f"due {current.due or 'none'} → {item.due}")
            fields["due"] = item.due
            self.store.append_update(
                deliverable_id=current.id,
                person_id=None,
                source=Source.CLI,
                note="Due quarter changed by plan import.",
                status_before=current.status,
                status_after=current.status,
                due_before=current.due,
                due_after=item.due,
                recorded_at=self.now,
            )
        if fields:
            self.store.set_deliverable_fields(current.id, **fields)
        if diffs:
            self.summary.changed += 1
            self.summary.changes.append(f"~ {current.ref}: " + "; ".join(diffs))
        else:
            self.summary.unchanged += 1

    def report_kept(self) -> None:
        for existing in self.store.deliverables():
            if existing.id not in self.seen:
                self.summary.kept += 1
                self.summary.changes.append(
                    f"= {existing.ref} {existing.title}: not in the file; kept with its history"
                )


def import_plan(
    store: Store,
    spec: PlanSpec,
    *,
    today: dt.date,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> ImportSummary:
    """Write the plan in one transaction and say what changed.

    New deliverables are recorded as new on ``added`` (or today; on a first import, the plan's
    ``start``). A first import without ``start`` is the baseline: its deliverables existed
    before it and are not new. Titles, owners, aims and due quarters are brought in line with
    the file; a due change is appended as an update. Deliverables missing from the file are
    kept.
    """
    now = now or dt.datetime.now(dt.UTC)
    run: _Import | None = None
    try:
        with store.transaction():
            first = store.get_meta("plan") is None
            run = _Import(store, spec, today, now, first)
            store.set_meta("plan", spec.plan)
            store.set_meta("office", spec.office)
            if spec.start:
                store.set_meta("plan_start", spec.start.isoformat())
            if spec.paper is not None:  # the office's wording for the whole paper
                wording = spec.paper.to_json()
                if store.get_meta("paper") != wording:
                    run.note("paper: the office's wording for the paper updated")
                store.set_meta("paper", wording)
            baseline = first and spec.start is None
            if baseline:
                store.set_meta("baseline_on", today.isoformat())
            if spec.glossary is not None and spec.glossary != store.glossary():
                store.set_glossary(spec.glossary)
                run.note(f"glossary: {len(spec.glossary)} term(s)")
            run.save_people()
            for position, theme in enumerate(spec.themes, start=1):
                run.save_theme(position, theme)
            if baseline:
                store.set_meta("baseline_last_id", str(max(run.seen, default=0)))
            if first:
                store.set_meta("origin_last_id", str(max(run.seen, default=0)))
            run.report_kept()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert run is not None
    return run.summary
