"""Writing a validated plan file in short transactions, and saying what changed.

The store is read once into an index, so the work is linear in the size of the file and the
plan. The import is checked against that index before anything is written: a reference that
the file puts under another theme than the store's is an error unless ``move`` is given, and
a dry run goes through every step without writing. The rows are then written in batches
(``BATCH_ROWS`` rows, or ``BATCH_SECONDS``, whichever comes first), with a pause between
them in which live mail and Slack commits get the write lock; each batch first takes in the
deliverables that others added meanwhile.

If a write fails part-way (the store locked or full), the batches before it stay. The file is
still valid, and importing it again finishes the job without duplicates: deliverables are
matched by reference, or by title within their theme. The plan's name is written last, so an
interrupted first import is still a first import when it is run again.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from handlers.plan import (
    REF_PATTERN,
    DeliverableSpec,
    PersonSpec,
    PlanError,
    PlanInvalid,
    PlanSpec,
    ThemeSpec,
)
from handlers.service.plan_shape import create_deliverable
from store import Deliverable, Person, Source, Store, StoreError, Theme, utc_now

__all__ = ["BATCH_PAUSE", "BATCH_ROWS", "BATCH_SECONDS", "ImportSummary", "import_plan"]

BATCH_ROWS = 200  # rows (people, themes, deliverables) per transaction at most...
BATCH_SECONDS = 0.01  # ...or this long: well inside the 50 ms that /healthz waits
BATCH_PAUSE = 0.04  # between batches: a waiting writer retries within it


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


def _stamp(day: dt.date, now: dt.datetime) -> dt.datetime:
    """When an imported history row happened: noon of its day, but never later than the
    import itself, so nothing recorded after the import can sort before it."""
    return min(dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC), now)


def _number(ref: str) -> int | None:
    tail = ref.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


@dataclass
class _Index:
    """The store's people, themes and deliverables, read once, kept up to date."""

    people: dict[str, Person]  # by lower-cased email
    themes: dict[str, Theme]  # by code
    every: list[Deliverable] = field(default_factory=list)  # plan order, then newer
    by_ref: dict[str, Deliverable] = field(default_factory=dict)  # upper-cased
    by_title: dict[tuple[int, str], Deliverable] = field(default_factory=dict)
    numbers: dict[int, int] = field(default_factory=dict)  # theme id -> highest CODE-n
    last_id: int = 0

    @classmethod
    def load(cls, store: Store) -> _Index:
        index = cls(
            {p.email.lower(): p for p in store.people()}, {t.code: t for t in store.themes()}
        )
        for d in store.deliverables():
            index.add(d, by_title=True)
        return index

    def add(self, d: Deliverable, *, by_title: bool) -> None:
        self.every.append(d)
        self.by_ref[d.ref.upper()] = d
        if by_title:  # a title added by this import does not match a later line of it
            self.by_title[(d.theme_id, d.title.strip().lower())] = d
        n = _number(d.ref)
        if n is not None:
            self.numbers[d.theme_id] = max(self.numbers.get(d.theme_id, 0), n)
        self.last_id = max(self.last_id, d.id)

    def catch_up(self, store: Store, mine: set[int]) -> None:
        """Take in what was added since the index was read (by others, or by us)."""
        for d in store.deliverables_after(self.last_id):
            if d.id not in mine:
                self.add(d, by_title=True)
            self.last_id = max(self.last_id, d.id)

    def theme_code(self, theme_id: int) -> str:
        return next((t.code for t in self.themes.values() if t.id == theme_id), "?")


@dataclass
class _Import:
    """One import run: the store (``write`` off for a dry run), the file, the clock."""

    store: Store
    spec: PlanSpec
    today: dt.date
    now: dt.datetime
    first: bool
    move: bool
    write: bool
    index: _Index
    summary: ImportSummary = field(default_factory=ImportSummary)
    people: dict[str, int] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    mine: set[int] = field(default_factory=set)  # deliverables this run added
    theme: ThemeSpec | None = None
    theme_id: int = 0
    reserved: set[int] = field(default_factory=set)
    fake_ids: Iterator[int] = field(default_factory=lambda: itertools.count(-1, -1))

    def note(self, line: str) -> None:
        if not self.first:
            self.summary.changes.append(line)

    def conflicts(self) -> list[PlanError]:
        """References the file puts under another theme than the store's (without move)."""
        if self.move:
            return []
        errors = []
        for theme in self.spec.themes:
            stored = self.index.themes.get(theme.code)
            for item in theme.deliverables:
                current = self.index.by_ref.get(item.ref.upper()) if item.ref else None
                if current is None or (stored is not None and current.theme_id == stored.id):
                    continue
                errors.append(
                    PlanError(
                        self.spec.source,
                        item.line,
                        "ref",
                        f"{current.ref} is under theme {self.index.theme_code(current.theme_id)}"
                        f" in the database and under {theme.code} in the file; "
                        "to move it, import with --move",
                    )
                )
        return errors

    def steps(self) -> Iterator[None]:
        """The whole import, one row at a time: a batch may end after any of them."""
        for person in self.spec.people:
            self.save_person(person)
            yield
        for position, theme in enumerate(self.spec.themes, start=1):
            self.save_theme(position, theme)
            yield
            for position_in_theme, item in enumerate(theme.deliverables, start=1):
                self.save_item(position_in_theme, item)
                yield
        self.finish()

    def save_person(self, p: PersonSpec) -> None:
        key = p.email.lower()
        known = self.index.people.get(key)
        if known is not None and (
            p.partial  # a spreadsheet names people; it does not set their role
            or (known.name, known.identity("slack"), str(known.role))
            == (p.name, p.slack, str(p.role))
        ):
            self.people[key] = known.id
            return
        if self.write:
            self.people[key], _ = self.store.save_person(
                name=p.name, email=p.email, role=str(p.role)
            )
            # The plan file's ``slack:`` is the person's Slack identity (none: forgotten).
            self.store.set_identity(self.people[key], "slack", p.slack)
        else:
            self.people[key] = known.id if known else next(self.fake_ids)
        self.note(f"person {p.email}: saved")

    def save_theme(self, position: int, theme: ThemeSpec) -> None:
        stored = self.index.themes.get(theme.code)
        aim = theme.aim if theme.aim is not None else (stored.aim if stored else "")
        if self.write:
            self.theme_id, changed = self.store.save_theme(
                code=theme.code, name=theme.name, aim=aim, position=position
            )
        else:
            self.theme_id = stored.id if stored else next(self.fake_ids)
            changed = stored is None or (stored.name, stored.aim, stored.position) != (
                theme.name,
                aim,
                position,
            )
        if changed:
            self.note(f"theme {theme.code}: name, aim or order updated")
        self.theme = theme
        self.reserved = {
            int(m.group(2))
            for d in theme.deliverables
            if d.ref and (m := REF_PATTERN.match(d.ref)) and m.group(1) == theme.code
        }

    def save_item(self, position: int, item: DeliverableSpec) -> None:
        if item.ref:
            current = self.index.by_ref.get(item.ref.upper())
        else:
            current = self.index.by_title.get((self.theme_id, item.title.strip().lower()))
        if current is None:
            self.add(position, item, item.ref or self.next_ref())
            return
        if self.write:  # the row as it is now: Slack or mail may have changed it since
            current = self.store.deliverable(current.id) or current
        self.bring_in_line(current, position, item)

    def next_ref(self) -> str:
        """One more than any number in use in the theme (stored, added by this import, or
        reserved by a reference in the file), and not in use anywhere."""
        assert self.theme is not None
        n = max(self.index.numbers.get(self.theme_id, 0), max(self.reserved, default=0)) + 1
        while f"{self.theme.code}-{n}" in self.index.by_ref:
            n += 1
        return f"{self.theme.code}-{n}"

    def add(self, position: int, item: DeliverableSpec, ref: str) -> None:
        start = self.spec.start
        added_on = item.added or (start if self.first and start else self.today)
        # The first import's deliverables are the plan's own, never new; one added later
        # (``added:`` after the plan's start, a later import) is new on its date.
        origin = (start or self.today) if self.first else None
        own = origin is not None and added_on <= origin
        owner_id = self.people.get(item.owner) if item.owner else None
        did = next(self.fake_ids)
        if self.write:
            did = create_deliverable(
                self.store,
                ref=ref,
                theme_id=self.theme_id,
                title=item.title,
                status=item.status,
                owner_id=owner_id,
                due=item.due,
                added_on=added_on,
                position=position,
                person_id=None,
                source=Source.CLI,
                dependencies=item.dependencies,
                note=item.note or "",
                recorded_at=_stamp(item.updated or added_on, self.now),
                summary=item.summary,
            )
        self.index.add(
            Deliverable(
                did,
                ref,
                self.theme_id,
                item.title,
                item.status,
                owner_id,
                item.due,
                item.dependencies,
                added_on,
                position,
            ),
            by_title=False,
        )
        self.mine.add(did)
        self.seen.add(did)
        self.summary.added += 1
        if own:
            self.summary.own += 1
            self.summary.own_from = origin
            self.summary.changes.append(f"+ {ref} {item.title} (the plan's own)")
        else:
            self.summary.changes.append(f"+ {ref} {item.title} (new on {added_on.isoformat()})")

    def bring_in_line(self, current: Deliverable, position: int, item: DeliverableSpec) -> None:
        """Titles, owners, themes, order and due quarters follow the file; status does not
        (it comes from updates). A due change is appended to the history."""
        assert self.theme is not None
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
        if current.theme_id != self.theme_id and self.move:
            diffs.append(f"theme → {self.theme.code}")
            fields["theme_id"] = self.theme_id
        if current.position != position:
            fields["position"] = position
        if item.due != current.due and item.due is not None:
            diffs.append(f"due {current.due or 'none'} → {item.due}")
            fields["due"] = item.due
            if self.write:
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
        if fields and self.write:
            self.store.set_deliverable_fields(current.id, **fields)
        if diffs:
            self.summary.changed += 1
            self.summary.changes.append(f"~ {current.ref}: " + "; ".join(diffs))
        else:
            self.summary.unchanged += 1

    def finish(self) -> None:
        """The plan's own fields, last: until they are written, the plan is not imported."""
        spec, store = self.spec, self.store
        glossary_changed = spec.glossary is not None and spec.glossary != store.glossary()
        if glossary_changed and spec.glossary is not None:
            self.note(f"glossary: {len(spec.glossary)} term(s)")
        wording = spec.paper.to_json() if spec.paper is not None else None
        if wording is not None and store.get_meta("paper") != wording:
            self.note("paper: the office's wording for the paper updated")
        if not self.write:
            return
        if wording is not None:  # the office's wording for the whole paper
            store.set_meta("paper", wording)
        if glossary_changed and spec.glossary is not None:
            store.set_glossary(spec.glossary)
        store.set_meta("plan", spec.plan)
        store.set_meta("office", spec.office)
        if spec.start:
            store.set_meta("plan_start", spec.start.isoformat())
        if self.first and spec.start is None:  # the baseline: see import_plan
            store.set_meta("baseline_on", self.today.isoformat())
            store.set_meta("baseline_last_id", str(max(self.seen, default=0)))
        if self.first:
            store.set_meta("origin_last_id", str(max(self.seen, default=0)))

    def report_kept(self) -> None:
        """Deliverables the file does not name (read after the last commit, not within it)."""
        for existing in self.store.deliverables() if self.write else self.index.every:
            if existing.id not in self.seen:
                self.summary.kept += 1
                self.summary.changes.append(
                    f"= {existing.ref} {existing.title}: not in the file; kept with its history"
                )


def _pause() -> None:
    time.sleep(BATCH_PAUSE)


_END = object()


def _write_in_batches(
    store: Store, run: _Import, batch_rows: int, pause: Callable[[], None]
) -> None:
    steps = run.steps()
    total = len(run.spec.people) + sum(1 + len(t.deliverables) for t in run.spec.themes)
    written = 0  # rows committed so far
    done = False
    while not done:
        started = time.monotonic()
        try:
            with store.transaction():
                run.index.catch_up(store, run.mine)
                for count in itertools.count(1):
                    if next(steps, _END) is _END:
                        done = True
                        break
                    if count >= batch_rows or time.monotonic() - started >= BATCH_SECONDS:
                        break
        except StoreError as exc:
            if not written:
                raise
            raise type(exc)(
                f"{exc}; the import stopped after writing {written:,} of {total:,} rows. "
                "Run it again to finish: nothing is added twice"
            ) from exc
        written += count
        if not done:
            pause()


def import_plan(
    store: Store,
    spec: PlanSpec,
    *,
    today: dt.date,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    move: bool = False,
    batch_rows: int = BATCH_ROWS,
    pause: Callable[[], None] = _pause,
) -> ImportSummary:
    """Write the plan in batches and say what changed (``dry_run``: say it, write nothing).

    New deliverables are recorded as new on ``added`` (or today; on a first import, the plan's
    ``start``). A first import without ``start`` is the baseline: its deliverables existed
    before it and are not new. Titles, owners, aims and due quarters are brought in line with
    the file; a due change is appended as an update. A reference under another theme than
    the store's is refused (:class:`PlanInvalid`, nothing written) unless ``move``.
    Deliverables missing from the file are kept. ``pause`` runs between batches.
    """
    now = now or utc_now()
    run = _Import(
        store,
        spec,
        today,
        now,
        first=store.get_meta("plan") is None,
        move=move,
        write=not dry_run,
        index=_Index.load(store),
    )
    errors = run.conflicts()
    if errors:
        raise PlanInvalid(errors)
    if dry_run:
        for _ in run.steps():
            pass
    else:
        _write_in_batches(store, run, batch_rows, pause)
    run.report_kept()
    return run.summary
