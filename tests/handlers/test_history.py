"""History import (issue 16): dated updates from a tracker, read and checked by row, then
appended in date order through the service; safe to run twice; bounded input."""

from __future__ import annotations

import datetime as dt
import zipfile
import zoneinfo
from pathlib import Path

import pytest

from digests.report import build_report
from handlers.history import (
    MAX_HISTORY_BYTES,
    MAX_HISTORY_ROWS,
    HistoryInvalid,
    load_history,
)
from handlers.service import (
    HistoryRejected,
    NotAuthorised,
    UpdateRequest,
    import_history,
    record_update,
)
from store import Office, Source, Status, Store

TZ = zoneinfo.ZoneInfo("Europe/London")
HEAD = "date,ref,status,due,dependencies,summary,note,by\n"


def _csv(tmp_path: Path, body: str, name: str = "history.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def _history(store: Store, ref: str) -> list[tuple[str, str, str | None, str]]:
    d = store.deliverable_by_ref(ref)
    assert d is not None
    names = {p.id: p.name for p in store.people()}
    return [
        (u.recorded_at.isoformat(), str(u.status_after), names.get(u.person_id or 0), u.note)
        for u in store.updates(deliverable_id=d.id)
    ][1:]  # the plan import's own row aside


def test_rows_are_appended_in_date_order_with_their_dates_and_authors(
    tmp_path: Path, plan_store: Store, person
) -> None:
    path = _csv(
        tmp_path,
        "16/09/2022,CF-10,,Q4 2022/23,yes,,slipping to Q4 - waiting on venue,priya.shah@example.org\n"
        "2022-09-15 10:30,cf-10,,,,,chased venue re dates,Priya Shah\n"
        "2022-09-20,CF-10,completed,,,true,Event held at the Guildhall,Someone Else\n",
    )
    rows = load_history(path, office=Office(tz=TZ))
    alex = person("alex.morgan@example.org")
    summary = import_history(plan_store, rows, actor=alex)
    assert (summary.added, summary.duplicates) == (3, 0)
    assert _history(plan_store, "CF-10") == [
        ("2022-09-15T09:30:00+00:00", "ongoing", "Priya Shah", "chased venue re dates"),
        (
            "2022-09-16T12:00:00+00:00",
            "ongoing",
            "Priya Shah",
            "slipping to Q4 - waiting on venue",
        ),
        ("2022-09-20T12:00:00+00:00", "completed", "Alex Morgan", "Event held at the Guildhall"),
    ]
    d = plan_store.deliverable_by_ref("CF-10")
    assert (d.status, d.due, d.dependencies) == (Status.COMPLETED, "Q4 2022/23", True)
    assert "1 row(s) by 'Someone Else' (not a person in the plan) recorded as by Alex Morgan" in (
        summary.text(alex)
    )
    # What the panel sees: the imported summary note, completed within the period.
    report = build_report(
        plan_store, day_from=dt.date(2022, 9, 15), day_to=dt.date(2022, 9, 30), office=Office(tz=TZ)
    )
    done = [i for t in report.themes for i in t.completed]
    assert [(i.ref, i.notes) for i in done] == [("CF-10", ("Event held at the Guildhall",))]


def test_of_note_and_summary_flags_come_through(tmp_path: Path, plan_store: Store, person) -> None:
    path = tmp_path / "flags.csv"
    path.write_text(
        "ref,recorded_at,of_note,summary,note\n"
        "CF-10,2022-09-15,yes,,Venue booked for 300\n"
        "CF-10,2022-09-16,,TRUE,Event set for November\n",
        encoding="utf-8",
    )
    summary = import_history(
        plan_store,
        load_history(path, office=Office(tz=TZ)),
        actor=person("alex.morgan@example.org"),
    )
    assert [line.rsplit(" ", 2)[-2:] for line in summary.lines] == [
        ["of", "note"],
        ["CF-10", "summary"],
    ]
    d = plan_store.deliverable_by_ref("CF-10")
    ups = plan_store.updates(deliverable_id=d.id)[-2:]
    assert [(u.of_note, u.summary) for u in ups] == [(True, False), (False, True)]


def test_running_twice_adds_nothing_and_a_dry_run_writes_nothing(
    tmp_path: Path, plan_store: Store, person
) -> None:
    path = _csv(
        tmp_path, "2022-09-15,CF-10,,,,,chased venue,\n2022-09-15,CF-10,,,,,chased venue,\n"
    )
    rows = load_history(path, office=Office(tz=TZ))
    alex = person("alex.morgan@example.org")
    before = len(plan_store.updates())
    dry = import_history(plan_store, rows, actor=alex, dry_run=True)
    assert (dry.added, dry.duplicates) == (1, 1)  # the file's own repeat is one update
    assert len(plan_store.updates()) == before
    first = import_history(plan_store, rows, actor=alex)
    assert first.lines == dry.lines
    again = import_history(plan_store, rows, actor=alex)
    assert (again.added, again.duplicates) == (0, 2)
    assert len(plan_store.updates()) == before + 1


def test_every_bad_row_is_named_and_nothing_is_written(tmp_path: Path, plan_store: Store) -> None:
    long_note = "x" * 3001
    path = _csv(
        tmp_path,
        "2022-09-15,CF-10,,,,,fine,\n"
        "2022-09-15,CF-10,finished-ish,,,,x,\n"
        "2022-09-15,CF-10,,Q9,,,x,\n"
        "someday,CF-10,,,,,x,\n"
        f"2022-09-15,CF-10,,,,,{long_note},\n"
        "2022-09-15,,,,,,x,\n"
        "2022-09-15,CF-10,,,maybe,,x,\n",
    )
    with pytest.raises(HistoryInvalid) as caught:
        load_history(path, office=Office(tz=TZ))
    assert [str(e) for e in caught.value.errors] == [
        f"{path}:3: status: unknown status 'finished-ish'; use not-started, ongoing, on-hold, completed, bau",
        f"{path}:4: due: {caught.value.errors[1].message}",
        f"{path}:5: recorded_at: 'someday' is not a date; write it like 2022-03-07",
        f"{path}:6: note: 3001 characters; the limit is 3,000",
        f"{path}:7: ref: the reference is missing",
        f"{path}:8: dependencies: 'maybe' is not yes or no; write true or false",
    ]
    assert "Q9" in caught.value.errors[1].message


def test_rows_the_service_refuses_are_named_and_roll_back_the_rest(
    tmp_path: Path, plan_store: Store, person
) -> None:
    path = _csv(
        tmp_path,
        "2022-09-15,CF-10,,,,,fine,\n"
        "2022-09-16,CF-99,,,,,no such deliverable,\n"
        "2022-09-17,CF-10,on-hold,,,,,\n"  # on hold without a reason
        "2099-01-01,CF-10,,,,,from the future,\n",
    )
    before = len(plan_store.updates())
    with pytest.raises(HistoryRejected) as caught:
        import_history(
            plan_store,
            load_history(path, office=Office(tz=TZ)),
            actor=person("alex.morgan@example.org"),
        )
    lines = [line for line, _ in caught.value.errors]
    assert lines == [3, 4, 5]
    messages = dict(caught.value.errors)
    assert "CF-99: no deliverable has this reference" in messages[3]
    assert "on hold needs a note" in messages[4]
    assert "in the future" in messages[5]
    assert len(plan_store.updates()) == before  # row 2 was fine, and is not written either


def test_history_goes_after_what_is_recorded(tmp_path: Path, plan_store: Store, person) -> None:
    priya = person("priya.shah@example.org")
    record_update(
        plan_store,
        UpdateRequest(deliverable="CF-10", actor=priya, source=Source.SLACK, note="Venue booked"),
    )
    path = _csv(tmp_path, "2022-09-15,CF-10,,,,,chased venue,\n")
    with pytest.raises(HistoryRejected) as caught:
        import_history(
            plan_store,
            load_history(path, office=Office(tz=TZ)),
            actor=person("alex.morgan@example.org"),
        )
    (line, message), *_ = caught.value.errors
    assert line == 2 and "history is appended in order" in message


def test_only_editors_import_history(tmp_path: Path, plan_store: Store, person) -> None:
    path = _csv(tmp_path, "2022-09-15,CF-10,,,,,chased venue,\n")
    with pytest.raises(NotAuthorised, match="only editors and admins may import history"):
        import_history(
            plan_store,
            load_history(path, office=Office(tz=TZ)),
            actor=person("priya.shah@example.org"),
        )


def test_staff_cannot_record_in_someone_elses_name(plan_store: Store, person) -> None:
    priya, tom = person("priya.shah@example.org"), person("tom.fletcher@example.org")
    with pytest.raises(NotAuthorised, match="on someone else's behalf"):
        record_update(
            plan_store,
            UpdateRequest(
                deliverable="CF-10", actor=priya, author=tom, source=Source.CLI, note="forged"
            ),
        )


def test_a_file_too_big_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write(HEAD)
        f.write(("2022-09-15,CF-10,,,,,filler,\n") * (MAX_HISTORY_BYTES // 28 + 1))
    with pytest.raises(HistoryInvalid, match=r"big.csv: file: .* bytes; the limit is 10,485,760"):
        load_history(path, office=Office(tz=TZ))


def test_too_many_rows_are_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "2022-09-15,CF-10,,,,,x,\n" * (MAX_HISTORY_ROWS + 1))
    with pytest.raises(HistoryInvalid) as caught:
        load_history(path, office=Office(tz=TZ))
    assert "more than 10,000 rows" in str(caught.value.errors[0])


def test_a_zip_bomb_spreadsheet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (220 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(HistoryInvalid) as caught:
        load_history(path, office=Office(tz=TZ))
    assert "inflates to" in str(caught.value.errors[0])


def test_not_a_spreadsheet_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("ref,date\n", encoding="utf-8")
    with pytest.raises(HistoryInvalid, match=r"not a readable \.xlsx workbook"):
        load_history(path, office=Office(tz=TZ))
    missing = _csv(tmp_path, "", name="empty.csv")
    missing.write_text("when,what\n2022-09-15,x\n", encoding="utf-8")
    with pytest.raises(HistoryInvalid, match="missing columns: recorded_at, ref"):
        load_history(missing, office=Office(tz=TZ))
