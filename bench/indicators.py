"""Delay indicators over a large table: the 12-month quality table, by channel and kind, by service.

Run by hand (PostgreSQL on 127.0.0.1:5432; SQLite in a temporary file under /var/tmp):

    .venv/bin/python -m bench.indicators --cases 1000000 --database both --repeat 5

Fills an empty, migrated database with generated cases spread over twelve months, November 2025
to October 2026, numbered in order of receipt (PostgreSQL: one INSERT … SELECT over
generate_series, as bench/case_listing.py does; SQLite: rows generated in Python, inserted
10,000 at a time), then ANALYZE (VACUUM ANALYZE on PostgreSQL, as autovacuum would). Builds the
calendar table once and takes the changes the fill logged, reporting those times, then times,
median and minimum of the repeats, with nothing kept (every month computed): the quality table,
the indicators grouped by channel and kind, by service, and by channel, kind and service, and
each of the three aggregate queries alone (a run is stopped after --timeout seconds). Then it
keeps the months over as of 20 October 2026, as the nightly refresh would, and times the table
and the per-service indicators again, October being computed each time: as they are, and after
one September answer is moved a day later before each run (September computed again too).
Then splits one run into its statements, and prints the plans of the three queries grouped by
channel and kind (EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite) with
the indexes they use. Writes nothing but the throw-away databases, dropped at the end.
"""

import argparse
import math
import random
import re
import statistics
import tempfile
import threading
import time
import uuid
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.database import create_db_engine, session_scope
from backend.indicators.cache import drop_changed_months
from backend.indicators.calendar_days import calendar_key, ensure_calendar_days
from backend.indicators.delays import DelayRules
from backend.indicators.periods import months_between, parse_month
from backend.indicators.queries import (
    Dimension,
    Month,
    Scope,
    answered_statistics,
    backlog,
    received_counts,
)
from backend.indicators.service import IndicatorRequest, compute_indicators
from backend.indicators.table import quality_table
from backend.migrations import upgrade_database
from backend.models import Case, Mailbox, MailboxKind, Service, WaitingPeriod
from tests.fixtures.database import empty_postgres_database, empty_sqlite_database

FIRST_MONTH, LAST_MONTH = "2025-11", "2026-10"
# "Today" of the runs with months kept: October in progress, computed each time.
IN_PROGRESS_DAY = date(2026, 10, 20)
SEED = 42
SQLITE_BATCH = 10_000

# Cumulative shares: a draw below a bound picks its value.
CHANNELS = (("email", 0.85), ("paper", 0.97), ("suggestion_box", 1.0))
KINDS = (
    ("complaint", 0.05),
    ("information_request", 0.60),
    ("residence", 0.85),
    ("suggestion", 0.88),
    ("other", 1.0),
)
# Fates: still open, closed without an answer (half of them merged into the case received just
# before), or answered; half the answered cases were closed two days after their answer.
OPEN_SHARE, UNANSWERED_CLOSED_SHARE = 0.03, 0.01
CLOSED_AFTER_ANSWER_SHARE = 0.5
OPEN_STATUSES = (("waiting_citizen", 0.25), ("new", 0.5), ("assigned", 0.75), ("in_progress", 1.0))
# E-mail arrives at any hour of any day one time in five; letters and the suggestion box are
# registered on weekdays in office hours (08:00-18:00).
EMAIL_OFFICE_SHARE = 0.8
OFFICE_OPENS_SECONDS, OFFICE_HOURS_SECONDS = 8 * 3600, 10 * 3600
ANSWER_OPENS_SECONDS, ANSWER_HOURS_SECONDS = 9 * 3600, 9 * 3600
# Delays of 0-10 working days, skewed low: floor(11 * r ** 2.5), mean 2.7, 78 % within 5.
LONGEST_DELAY, DELAY_SKEW = 10, 2.5
# Answered cases whose answer came at least two days after receipt wait for the citizen's
# documents this often (about 5 % of all cases with the waits of open cases).
WAIT_SHARE_OF_ELIGIBLE = 0.08
SERVICES = (
    ("accueil", "Accueil général"),
    ("sejour", "Bureau du séjour"),
    ("naturalisation", "Bureau de la naturalisation"),
    ("permis", "Bureau des permis"),
    ("associations", "Bureau des associations"),
    ("qualite", "Mission qualité"),
)
# Mailboxes by decreasing traffic (the first gets the most e-mail), each with its service.
MAILBOXES = (
    ("contact", MailboxKind.CONTACT, "accueil"),
    ("sejour", MailboxKind.SEJOUR, "sejour"),
    ("sejour-etudiants", MailboxKind.SEJOUR, "sejour"),
    ("naturalisation", MailboxKind.OTHER, "naturalisation"),
    ("permis-conduire", MailboxKind.OTHER, "permis"),
    ("cartes-grises", MailboxKind.OTHER, "permis"),
    ("associations", MailboxKind.OTHER, "associations"),
    ("elections", MailboxKind.OTHER, "accueil"),
    ("qualite", MailboxKind.QUALITE, "qualite"),
    ("communication", MailboxKind.OTHER, "accueil"),
)

# Index names in a plan: PostgreSQL's scans, SQLite's SEARCH/SCAN … USING.
PLAN_INDEX = re.compile(
    r"(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)"
    r"|USING (?:COVERING )?INDEX (\w+)|USING (INTEGER PRIMARY KEY|PRIMARY KEY)"
    r"|(AUTOMATIC (?:PARTIAL )?(?:COVERING )?INDEX)"
)


@dataclass(frozen=True, slots=True)
class Period:
    """The days cases are received on: all of them, and the weekdays counted from a Monday."""

    first_day: date
    days: int
    first_monday: date
    weekdays: int

    @classmethod
    def of(cls, months: Sequence[Month]) -> "Period":
        """The period of these months."""
        first, last = months[0].first_day, months[-1].last_day
        first_monday = first + timedelta(days=-first.weekday() % 7)
        span = (last - first_monday).days + 1
        weekdays = 5 * (span // 7) + min(span % 7, 5)
        return cls(first, (last - first).days + 1, first_monday, weekdays)

    def weekday(self, number: int) -> date:
        """The weekday of that number, 0 being the first Monday."""
        return self.first_monday + timedelta(days=7 * (number // 5) + number % 5)


@dataclass(frozen=True, slots=True)
class Targets:
    """The ids the cases point to: mailboxes with their service, and services."""

    mailboxes: list[tuple[int, int]]
    services: list[int]


def pick(choices: Sequence[tuple[str, float]], draw: float) -> str:
    """The first value whose cumulative share is above the draw."""
    return next((value for value, bound in choices if draw < bound), choices[-1][0])


def pick_sql(choices: Sequence[tuple[str, float]], draw: str) -> str:
    """The same choice as a SQL CASE over a column of draws."""
    branches = " ".join(f"WHEN {draw} < {bound!r} THEN '{value}'" for value, bound in choices[:-1])
    return f"CASE {branches} ELSE '{choices[-1][0]}' END"


# One row per case, every column computed from ten draws per case, in layers: draws, then the
# receipt (local wall time, then the instant in the préfecture's zone, then its local day), then
# the answer: the first weekday on or after receipt plus `delay` weekdays (holidays ignored),
# never before the receipt. Every *_on is the local day of its instant. Cases are numbered and
# written in order of receipt, as ingestion creates them: the table's physical order follows
# received_on as in production, which index scans on the dates depend on. Only the module's own
# constants are formatted into it.
PG_FILL = f"""
WITH draws AS NOT MATERIALIZED (
    SELECT g, random() AS r_channel, random() AS r_kind, random() AS r_office, random() AS r_day,
           random() AS r_time, random() AS r_fate, random() AS r_delay, random() AS r_answer,
           random() AS r_box, random() AS r_status
    FROM generate_series(1, :count) AS g
), drawn AS (
    SELECT *, {pick_sql(CHANNELS, "r_channel")} AS channel,
           CASE WHEN r_fate < :open_share THEN 'open'
                WHEN r_fate < :open_share + :unanswered_share THEN 'closed'
                ELSE 'answered' END AS fate,
           floor((:longest_delay + 1) * power(r_delay, :delay_skew))::int AS delay
    FROM draws
), placed AS (
    SELECT *,
           CASE WHEN channel = 'suggestion_box' AND r_kind >= {KINDS[0][1]!r} THEN 'suggestion'
                ELSE {pick_sql(KINDS, "r_kind")} END AS kind,
           CASE WHEN fate = 'open' THEN 1 - power(r_day, 3) ELSE r_day END AS position,
           channel <> 'email' OR r_office < :email_office_share AS office
    FROM drawn
), received AS (
    SELECT *,
           (CASE WHEN office
                 THEN CAST(:first_monday AS date)
                      + 7 * (least(:weekdays - 1, floor(position * :weekdays)::int) / 5)
                      + least(:weekdays - 1, floor(position * :weekdays)::int) % 5
                      + make_interval(secs => :office_opens + r_time * :office_hours)
                 ELSE CAST(:first_day AS date) + least(:days - 1, floor(position * :days)::int)
                      + make_interval(secs => r_time * 86400)
            END) AT TIME ZONE :zone AS received_at
    FROM placed
), received_day AS (
    SELECT *, (received_at AT TIME ZONE :zone)::date AS received_on FROM received
), started AS (
    SELECT *, received_on + CASE extract(isodow FROM received_on)
                                WHEN 6 THEN 2 WHEN 7 THEN 1 ELSE 0 END AS start_day
    FROM received_day
), answered AS (
    SELECT *,
           CASE WHEN fate = 'answered' THEN
               greatest(
                   start_day + delay + 2 * ((extract(isodow FROM start_day)::int - 1 + delay) / 5)
                   + make_interval(secs => :answer_opens + r_answer * :answer_hours),
                   (received_at AT TIME ZONE :zone) + interval '20 minutes'
               ) AT TIME ZONE :zone
           END AS answered_at
    FROM started
), closed AS (
    SELECT *,
           CASE WHEN fate = 'closed'
                    THEN received_at + make_interval(days => 1 + floor(r_answer * 3)::int)
                WHEN fate = 'answered' AND r_status < :closed_after_answer_share
                    THEN answered_at + interval '2 days'
           END AS closed_at
    FROM answered
), numbered AS (
    SELECT *, row_number() OVER (ORDER BY received_at) AS n FROM closed
)
INSERT INTO cases (id, reference, channel, kind, status, mailbox_id, service_id, subject,
                   sender_email, received_at, received_on, registered_at, answered_at,
                   answered_on, answer_channel, closed_at, closed_on, due_date, needs_attention,
                   merged_into_id, version, updated_at)
SELECT n, 'BENCH-' || lpad(n::text, 7, '0'), channel, kind,
       CASE fate WHEN 'open' THEN {pick_sql(OPEN_STATUSES, "r_status")}
                 WHEN 'closed' THEN 'closed'
                 ELSE CASE WHEN closed_at IS NULL THEN 'answered' ELSE 'closed' END END,
       CASE WHEN channel = 'email'
            THEN (CAST(:mailbox_ids AS integer[]))[1 + floor(:mailboxes * r_box * r_box)::int]
       END,
       CASE WHEN channel = 'email'
            THEN (CAST(:mailbox_services AS integer[]))[1 + floor(:mailboxes * r_box * r_box)::int]
            ELSE (CAST(:service_ids AS integer[]))[1 + floor(:services * r_box)::int]
       END,
       'Demande n° ' || n,
       CASE WHEN channel = 'email' THEN 'citoyen' || n || '@example.org' END,
       received_at, received_on, received_at,
       answered_at, (answered_at AT TIME ZONE :zone)::date,
       CASE WHEN answered_at IS NULL THEN NULL
            WHEN channel = 'email' THEN 'email' ELSE 'letter' END,
       closed_at, (closed_at AT TIME ZONE :zone)::date,
       received_on + CASE WHEN channel = 'email' OR kind = 'complaint' THEN 7 ELSE 14 END,
       false,
       CASE WHEN fate = 'closed' AND n % 2 = 0 THEN n - 1 END,
       1, coalesce(closed_at, answered_at, received_at)
FROM numbered
ORDER BY n
"""  # noqa: S608
# One wait per case waiting for the citizen now, and for some answered cases: from the day
# after receipt to a day up to the answer's (documents received in the morning).
PG_WAITS = """
INSERT INTO waiting_periods (case_id, started_at, started_on, ended_at, ended_on, reason)
SELECT id, started_at, (started_at AT TIME ZONE :zone)::date,
       ended_at, (ended_at AT TIME ZONE :zone)::date, 'missing_documents'
FROM (
    SELECT id, (received_on + 1 + time '10:00') AT TIME ZONE :zone AS started_at,
           CASE WHEN answered_on IS NOT NULL THEN
               (received_on + 1 + floor(random() * (answered_on - received_on))::int
                + time '08:30') AT TIME ZONE :zone
           END AS ended_at
    FROM cases
    WHERE status = 'waiting_citizen'
       OR (answered_on - received_on >= 2 AND random() < :wait_share)
) AS waits
"""


class Draws(NamedTuple):
    """The random numbers one case is made of, in [0, 1)."""

    channel: float
    kind: float
    office: float
    day: float
    time: float
    fate: float
    delay: float
    answer: float
    box: float
    status: float
    wait: float
    wait_end: float


def generated_cases(
    count: int, *, period: Period, zone: tzinfo, targets: Targets, seed: int
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each case as PG_FILL generates it, numbered in order of receipt, with its wait if any."""
    rng = random.Random(seed)
    width = len(Draws._fields)
    numbers = array("d", (rng.random() for _ in range(count * width)))
    draws = [Draws(*numbers[index * width : (index + 1) * width]) for index in range(count)]
    del numbers
    receipts = [_receipt(case, period=period, zone=zone) for case in draws]
    order = sorted(range(count), key=receipts.__getitem__)
    for number, index in enumerate(order, start=1):
        yield _case(number, draws[index], receipts[index], zone=zone, targets=targets)


def _fate(draws: Draws) -> str:
    """Still open, closed without an answer, or answered."""
    if draws.fate < OPEN_SHARE:
        return "open"
    return "closed" if draws.fate < OPEN_SHARE + UNANSWERED_CLOSED_SHARE else "answered"


def _receipt(draws: Draws, *, period: Period, zone: tzinfo) -> datetime:
    """The instant of receipt: a weekday in office hours, or any moment for some e-mail."""
    channel = pick(CHANNELS, draws.channel)
    position = 1 - draws.day**3 if _fate(draws) == "open" else draws.day
    if channel != "email" or draws.office < EMAIL_OFFICE_SHARE:
        day = period.weekday(min(period.weekdays - 1, int(position * period.weekdays)))
        seconds = OFFICE_OPENS_SECONDS + draws.time * OFFICE_HOURS_SECONDS
    else:
        day = period.first_day + timedelta(days=min(period.days - 1, int(position * period.days)))
        seconds = draws.time * 86400
    return _instant(datetime.combine(day, datetime.min.time()), seconds, zone)


def _case(
    number: int, draws: Draws, received_at: datetime, *, zone: tzinfo, targets: Targets
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The row of the case received `number`-th, and of its wait if it has one."""
    channel = pick(CHANNELS, draws.channel)
    kind = pick(KINDS, draws.kind)
    if channel == "suggestion_box" and kind != "complaint":
        kind = "suggestion"
    fate = _fate(draws)
    received_local = received_at.astimezone(zone).replace(tzinfo=None)
    received_on = received_local.date()
    answered_at = closed_at = None
    if fate == "answered":
        delay = int((LONGEST_DELAY + 1) * draws.delay**DELAY_SKEW)
        start = received_on + timedelta(days={5: 2, 6: 1}.get(received_on.weekday(), 0))
        answer_day = start + timedelta(days=delay + 2 * ((start.weekday() + delay) // 5))
        answered_local = max(
            datetime.combine(answer_day, datetime.min.time())
            + timedelta(seconds=ANSWER_OPENS_SECONDS + draws.answer * ANSWER_HOURS_SECONDS),
            received_local + timedelta(minutes=20),
        )
        answered_at = _instant(answered_local, 0, zone)
        if draws.status < CLOSED_AFTER_ANSWER_SHARE:
            closed_at = answered_at + timedelta(days=2)
    elif fate == "closed":
        closed_at = received_at + timedelta(days=1 + int(draws.answer * 3))
    if fate == "open":
        status = pick(OPEN_STATUSES, draws.status)
    else:
        status = "answered" if closed_at is None else "closed"
    if channel == "email":
        box = int(len(targets.mailboxes) * draws.box * draws.box)
        mailbox_id, service_id = targets.mailboxes[box]
    else:
        mailbox_id, service_id = None, targets.services[int(len(targets.services) * draws.box)]
    answered_on = None if answered_at is None else answered_at.astimezone(zone).date()
    answer_channel = None if answered_at is None else "email" if channel == "email" else "letter"
    due_days = 7 if channel == "email" or kind == "complaint" else 14
    case = {
        "id": number,
        "reference": f"BENCH-{number:07d}",
        "channel": channel,
        "kind": kind,
        "status": status,
        "mailbox_id": mailbox_id,
        "service_id": service_id,
        "subject": f"Demande n° {number}",
        "sender_email": f"citoyen{number}@example.org" if channel == "email" else None,
        "received_at": received_at,
        "received_on": received_on,
        "registered_at": received_at,
        "answered_at": answered_at,
        "answered_on": answered_on,
        "answer_channel": answer_channel,
        "closed_at": closed_at,
        "closed_on": None if closed_at is None else closed_at.astimezone(zone).date(),
        "due_date": received_on + timedelta(days=due_days),
        "needs_attention": False,
        "merged_into_id": number - 1 if fate == "closed" and number % 2 == 0 else None,
        "version": 1,
        "updated_at": closed_at or answered_at or received_at,
    }
    wait = None
    if status == "waiting_citizen" or (
        answered_on is not None
        and (answered_on - received_on).days >= 2
        and draws.wait < WAIT_SHARE_OF_ELIGIBLE
    ):
        wait = _wait(number, received_on, answered_on, draws.wait_end, zone)
    return case, wait


def _instant(local: datetime, seconds: float, zone: tzinfo) -> datetime:
    """The UTC instant of a wall time at the préfecture (plus some seconds)."""
    return (local + timedelta(seconds=seconds)).replace(tzinfo=zone).astimezone(UTC)


def _wait(
    case_id: int, received_on: date, answered_on: date | None, draw: float, zone: tzinfo
) -> dict[str, Any]:
    """A wait from the day after receipt, over by the answer's day if answered."""
    started_on = received_on + timedelta(days=1)
    started_at = _instant(datetime.combine(started_on, datetime.min.time()), 10 * 3600, zone)
    ended_at = ended_on = None
    if answered_on is not None:
        ended_on = started_on + timedelta(days=int(draw * (answered_on - received_on).days))
        ended_at = _instant(datetime.combine(ended_on, datetime.min.time()), 8.5 * 3600, zone)
    return {
        "case_id": case_id,
        "started_at": started_at,
        "started_on": started_at.astimezone(zone).date(),
        "ended_at": ended_at,
        "ended_on": None if ended_at is None else ended_at.astimezone(zone).date(),
        "reason": "missing_documents",
    }


def add_targets(engine: Engine) -> Targets:
    """The services and mailboxes the cases belong to."""
    with session_scope(engine) as session:
        services = {slug: Service(slug=slug, name=name) for slug, name in SERVICES}
        session.add_all(services.values())
        session.flush()
        mailboxes = [
            Mailbox(
                slug=slug,
                kind=kind,
                address=f"{slug}@gers.gouv.fr",
                imap_host="imap.gers.gouv.fr",
                imap_username=f"{slug}@gers.gouv.fr",
                password_env="QUALIPREF_BENCH_IMAP_PASSWORD",
                start_date=date(2025, 1, 1),
                service_id=services[service].id,
            )
            for slug, kind, service in MAILBOXES
        ]
        session.add_all(mailboxes)
        session.flush()
        return Targets(
            mailboxes=[(_id(mailbox.id), _id(mailbox.service_id)) for mailbox in mailboxes],
            services=[_id(service.id) for service in services.values()],
        )


def _id(value: int | None) -> int:
    """The id of a flushed row."""
    assert value is not None
    return value


def fill_postgresql(engine: Engine, *, count: int, period: Period, settings: Settings) -> None:
    """Generate the cases and their waits in the database, then VACUUM ANALYZE."""
    targets = add_targets(engine)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text("SELECT setseed(:seed)"), {"seed": SEED / 100})
        connection.execute(
            text(PG_FILL),
            {
                "count": count,
                "zone": settings.timezone,
                "open_share": OPEN_SHARE,
                "unanswered_share": UNANSWERED_CLOSED_SHARE,
                "closed_after_answer_share": CLOSED_AFTER_ANSWER_SHARE,
                "longest_delay": LONGEST_DELAY,
                "delay_skew": DELAY_SKEW,
                "email_office_share": EMAIL_OFFICE_SHARE,
                "first_monday": period.first_monday,
                "weekdays": period.weekdays,
                "first_day": period.first_day,
                "days": period.days,
                "office_opens": OFFICE_OPENS_SECONDS,
                "office_hours": OFFICE_HOURS_SECONDS,
                "answer_opens": ANSWER_OPENS_SECONDS,
                "answer_hours": ANSWER_HOURS_SECONDS,
                "mailboxes": len(targets.mailboxes),
                "mailbox_ids": [mailbox for mailbox, _ in targets.mailboxes],
                "mailbox_services": [service for _, service in targets.mailboxes],
                "services": len(targets.services),
                "service_ids": targets.services,
            },
        )
        filled = time.perf_counter()
        connection.execute(
            text(PG_WAITS), {"zone": settings.timezone, "wait_share": WAIT_SHARE_OF_ELIGIBLE}
        )
        connection.execute(
            text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :count)"), {"count": count}
        )
    waited = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        pages, visible = connection.execute(
            text("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'cases'")
        ).one()
    print(
        f"postgresql: {count} cases inserted in {filled - started:.1f} s, waiting periods in "
        f"{waited - filled:.1f} s, VACUUM ANALYZE in {time.perf_counter() - waited:.1f} s "
        f"({visible} of the {pages} pages of cases all-visible)"
    )


def fill_sqlite(engine: Engine, *, count: int, period: Period, settings: Settings) -> None:
    """Insert the generated cases and waits, SQLITE_BATCH rows a statement, then ANALYZE."""
    targets = add_targets(engine)
    cases: sa.Table = Case.__table__  # type: ignore[attr-defined]
    waits: sa.Table = WaitingPeriod.__table__  # type: ignore[attr-defined]
    rows = generated_cases(count, period=period, zone=settings.tzinfo, targets=targets, seed=SEED)
    started = time.perf_counter()
    with engine.begin() as connection:
        while batch := [row for _, row in zip(range(SQLITE_BATCH), rows, strict=False)]:
            connection.execute(sa.insert(cases), [case for case, _ in batch])
            batch_waits = [wait for _, wait in batch if wait is not None]
            if batch_waits:
                connection.execute(sa.insert(waits), batch_waits)
    filled = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    print(
        f"sqlite: {count} cases and their waiting periods inserted in {filled - started:.1f} s, "
        f"ANALYZE in {time.perf_counter() - filled:.1f} s"
    )


def describe_data(engine: Engine) -> None:
    """The shares the generated cases ended up with, to check they are the intended ones."""
    with engine.connect() as connection:
        total, answered, closed, open_, merged, waits, email, paper, complaint, weekend = (
            connection.execute(
                text(
                    "SELECT count(*),"
                    " sum(CASE WHEN answered_on IS NOT NULL THEN 1 ELSE 0 END),"
                    " sum(CASE WHEN answered_on IS NULL AND closed_on IS NOT NULL"
                    "     THEN 1 ELSE 0 END),"
                    " sum(CASE WHEN answered_on IS NULL AND closed_on IS NULL THEN 1 ELSE 0 END),"
                    " sum(CASE WHEN merged_into_id IS NOT NULL THEN 1 ELSE 0 END),"
                    " (SELECT count(*) FROM waiting_periods),"
                    " sum(CASE WHEN channel = 'email' THEN 1 ELSE 0 END),"
                    " sum(CASE WHEN channel = 'paper' THEN 1 ELSE 0 END),"
                    " sum(CASE WHEN kind = 'complaint' THEN 1 ELSE 0 END),"
                    " sum(CASE WHEN received_on IN (SELECT day FROM calendar_days"
                    "      WHERE NOT is_working_day) THEN 1 ELSE 0 END)"
                    " FROM cases"
                )
            ).one()
        )
        first, last = connection.execute(
            text("SELECT min(received_on), max(received_on) FROM cases")
        ).one()
    share = {
        "answered": answered,
        "closed unanswered": closed,
        "open": open_,
        "merged": merged,
        "with a wait": waits,
        "email": email,
        "paper": paper,
        "complaints": complaint,
        "received on a non-working day": weekend,
    }
    print(
        f"  {total} cases received {first}..{last}: "
        + ", ".join(f"{name} {100 * value / total:.1f} %" for name, value in share.items())
    )


def warm_calendar(engine: Engine, *, months: Sequence[Month], settings: Settings) -> float:
    """Build the calendar table as the first indicators request would; its time in seconds."""
    rules = DelayRules.from_settings(settings)
    started = time.perf_counter()
    with session_scope(engine) as session:
        first = session.execute(sa.select(sa.func.min(Case.received_on))).scalar_one()
        ensure_calendar_days(
            session, calendar=rules.calendar, first=first, last=months[-1].last_day
        )
    elapsed = time.perf_counter() - started
    # Autovacuum analyses a table this new within a minute on PostgreSQL; SQLite keeps the
    # statistics of the ANALYZE after the fill, which had no calendar rows (see the report).
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE calendar_days"))
    return elapsed


def scope_of(months: Sequence[Month], dimensions: Sequence[Dimension], settings: Settings) -> Scope:
    """The Scope compute_indicators builds, on the calendar rows already built."""
    rules = DelayRules.from_settings(settings)
    return Scope(
        months=months, dimensions=dimensions, rules=rules, calendar_key=calendar_key(rules.calendar)
    )


def measurements(
    months: Sequence[Month], settings: Settings
) -> list[tuple[str, Callable[[Session], object]]]:
    """What is timed: the table, the groupings, and each query alone."""
    channel_kind = (Dimension.CHANNEL, Dimension.KIND)
    service = (Dimension.SERVICE,)
    everything = (Dimension.CHANNEL, Dimension.KIND, Dimension.SERVICE)

    def indicators(dimensions: Sequence[Dimension]) -> Callable[[Session], object]:
        request = IndicatorRequest(months=months, dimensions=dimensions)
        return lambda session: compute_indicators(session, request=request, settings=settings)

    def query(
        function: Callable[..., object], dimensions: Sequence[Dimension]
    ) -> Callable[[Session], object]:
        scope = scope_of(months, dimensions, settings)
        return lambda session: function(session, scope=scope)

    return [
        (
            "quality_table, 12 months",
            lambda session: quality_table(session, months=months, settings=settings),
        ),
        ("compute_indicators (channel, kind)", indicators(channel_kind)),
        ("compute_indicators (service)", indicators(service)),
        ("compute_indicators (channel, kind, service)", indicators(everything)),
        ("received_counts (channel, kind)", query(received_counts, channel_kind)),
        ("answered_statistics (channel, kind)", query(answered_statistics, channel_kind)),
        ("backlog (channel, kind)", query(backlog, channel_kind)),
        ("received_counts (service)", query(received_counts, service)),
        ("answered_statistics (service)", query(answered_statistics, service)),
        ("backlog (service)", query(backlog, service)),
    ]


def kept_measurements(
    months: Sequence[Month], settings: Settings
) -> list[tuple[str, Callable[[Session], object], Callable[[Engine], None] | None]]:
    """What is timed once the months over are kept, October being the month in progress."""
    by_service = IndicatorRequest(months=months, dimensions=(Dimension.SERVICE,))

    def table(session: Session) -> object:
        return quality_table(session, months=months, settings=settings, today=IN_PROGRESS_DAY)

    def service(session: Session) -> object:
        return compute_indicators(
            session, request=by_service, settings=settings, today=IN_PROGRESS_DAY
        )

    return [
        ("quality_table, 11 months kept", table, None),
        ("compute_indicators (service), 11 months kept", service, None),
        ("quality_table, after a late answer in September", table, answer_later_in_september),
        ("compute_indicators (service), after a late answer", service, answer_later_in_september),
    ]


def take_changes(engine: Engine) -> float:
    """Take the changes the fill logged (one per case), as the nightly refresh would; seconds."""
    started = time.perf_counter()
    with session_scope(engine) as session:
        drop_changed_months(session)
    return time.perf_counter() - started


def keep_months_over(engine: Engine, *, months: Sequence[Month], settings: Settings) -> float:
    """Keep the months over as of IN_PROGRESS_DAY, as the nightly refresh would; seconds."""
    started = time.perf_counter()
    with session_scope(engine) as session:
        for dimensions in ((Dimension.CHANNEL, Dimension.KIND), (Dimension.SERVICE,)):
            request = IndicatorRequest(months=months, dimensions=dimensions)
            compute_indicators(session, request=request, settings=settings, today=IN_PROGRESS_DAY)
    return time.perf_counter() - started


def answer_later_in_september(engine: Engine) -> None:
    """Commit one September answer moved a day later, as an agent's correction would."""
    with session_scope(engine) as session:
        case = session.exec(
            select(Case)
            .where(col(Case.answered_on).between(date(2026, 9, 1), date(2026, 9, 20)))
            .order_by(col(Case.id))
            .limit(1)
        ).one()
        assert case.answered_on is not None
        case.answered_on += timedelta(days=1)


class TimedOutError(Exception):
    """The database was stopped after the time allowed."""


@contextmanager
def limited_session(engine: Engine, timeout: float) -> Iterator[Session]:
    """A session that changes nothing, whose running statement is stopped after `timeout` s."""
    with Session(engine) as session:
        dbapi_connection: Any = session.connection().connection.dbapi_connection
        # sqlite3 interrupts, psycopg cancels: the running statement fails at once.
        stop = getattr(dbapi_connection, "interrupt", None) or dbapi_connection.cancel
        timer = threading.Timer(timeout, stop)
        timer.start()
        try:
            yield session
        except sa.exc.DBAPIError as error:
            if timer.finished.is_set():
                raise TimedOutError from error
            raise
        finally:
            timer.cancel()
            session.rollback()


def time_runs(
    engine: Engine,
    work: Callable[[Session], object],
    *,
    repeat: int,
    timeout: float,
    prepare: Callable[[Engine], None] | None = None,
) -> list[float]:
    """Each run's time in seconds; a run stopped after `timeout` counts as infinite, the last.

    `prepare`, untimed, commits what each run starts from.
    """
    timings = []
    for _ in range(repeat):
        if prepare is not None:
            prepare(engine)
        try:
            with limited_session(engine, timeout) as session:
                started = time.perf_counter()
                work(session)
                timings.append(time.perf_counter() - started)
        except TimedOutError:
            timings.append(math.inf)
            break
    return timings


def summary(timings: Sequence[float], *, timeout: float) -> str:
    """'median / min' in seconds, or how long a run was allowed before it was stopped."""
    if math.inf in timings:
        return f"stopped after {timeout:g} s"
    return f"{statistics.median(timings):.3f} / {min(timings):.3f}"


@dataclass(slots=True)
class Sent:
    """One statement the engine sent, with its parameters and how long the database took."""

    statement: str
    parameters: Any
    seconds: float = 0.0


@contextmanager
def sent_statements(engine: Engine) -> Iterator[list[Sent]]:
    """The statements the engine sends meanwhile, timed from the cursor's execute to its end."""
    sent: list[Sent] = []
    started: list[float] = []

    def before(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append(Sent(statement, parameters))
        started.append(time.perf_counter())

    def after(*_: Any) -> None:
        sent[-1].seconds = time.perf_counter() - started.pop()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def profile(
    engine: Engine, name: str, work: Callable[[Session], object], *, timeout: float
) -> None:
    """One more run, with the time of each statement it sends and what is left to Python."""
    with limited_session(engine, timeout) as session, sent_statements(engine) as sent:
        started = time.perf_counter()
        work(session)
        total = time.perf_counter() - started
    print(f"\n--- {name}: {total:.3f} s, of which")
    for item in sent:
        print(f"  {item.seconds:7.3f} s  {' '.join(item.statement.split())[:110]}")
    print(f"  {total - sum(item.seconds for item in sent):7.3f} s  outside the database")


class CapturedError(Exception):
    """Stops a call at its first query, which it carries."""

    def __init__(self, sent: Sent) -> None:
        super().__init__(sent.statement)
        self.sent = sent


def statement_of(engine: Engine, call: Callable[[Session], object]) -> Sent:
    """The first query a call sends, stopped before the database runs it."""

    def stop(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        # SQLite's BEGIN IMMEDIATE (backend.database) goes through the cursor too.
        if not statement.startswith("BEGIN"):
            raise CapturedError(Sent(statement, parameters))

    event.listen(engine, "before_cursor_execute", stop)
    try:
        with Session(engine) as session:
            call(session)
    except CapturedError as captured:
        return captured.sent
    finally:
        event.remove(engine, "before_cursor_execute", stop)
    raise AssertionError("the call sent no query")


def explain(
    engine: Engine, name: str, call: Callable[[Session], object], *, timeout: float
) -> set[str]:
    """Print the plan of the statement the call runs; the indexes it uses."""
    query = statement_of(engine, call)
    with limited_session(engine, timeout) as session:
        connection = session.connection()
        if engine.dialect.name == "postgresql":
            lines = [
                row[0]
                for row in connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + query.statement, query.parameters
                )
            ]
        else:
            rows = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + query.statement, query.parameters
            ).all()
            lines = _sqlite_plan_lines([(row[0], row[1], row[3]) for row in rows])
    print(f"\n--- {name}: plan ---")
    print("\n".join(lines))
    indexes = {
        next(group for group in match.groups() if group)
        for line in lines
        for match in PLAN_INDEX.finditer(line)
    }
    print(f"--- {name}: indexes used: {', '.join(sorted(indexes)) or 'none'}")
    return indexes


def _sqlite_plan_lines(rows: list[tuple[int, int, str]]) -> list[str]:
    """EXPLAIN QUERY PLAN's rows as an indented tree, as the sqlite3 shell shows them."""
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def run_database(
    backend: str, database_url: str, *, cases: int, repeat: int, timeout: float
) -> dict[str, list[float]]:
    """Migrate, fill, warm the calendar, time every measurement and explain; the timings."""
    settings = Settings(database_url=database_url)
    months = months_between(parse_month(FIRST_MONTH), parse_month(LAST_MONTH))
    period = Period.of(months)
    started = time.perf_counter()
    upgrade_database(database_url=database_url)
    print(f"\n=== {backend}: migrated in {time.perf_counter() - started:.1f} s")
    engine = create_db_engine(database_url)
    try:
        fill = fill_postgresql if backend == "postgresql" else fill_sqlite
        fill(engine, count=cases, period=period, settings=settings)
        built = warm_calendar(engine, months=months, settings=settings)
        print(f"{backend}: calendar table built in {built:.2f} s")
        taken = take_changes(engine)
        print(f"{backend}: the fill's {cases} logged changes taken in {taken:.2f} s")
        describe_data(engine)
        results: dict[str, list[float]] = {}
        for name, work in measurements(months, settings):
            results[name] = time_runs(engine, work, repeat=repeat, timeout=timeout)
            _print_timings(backend, name, results[name], timeout=timeout)
        kept_in = keep_months_over(engine, months=months, settings=settings)
        print(f"{backend}: months over kept (two groupings) in {kept_in:.2f} s")
        for name, work, prepare in kept_measurements(months, settings):
            results[name] = time_runs(engine, work, repeat=repeat, timeout=timeout, prepare=prepare)
            _print_timings(backend, name, results[name], timeout=timeout)
        table_name, table_work = measurements(months, settings)[1]
        steps: list[Callable[[], object]] = [
            partial(_print_table, engine, months=months, settings=settings, timeout=timeout),
            partial(profile, engine, table_name, table_work, timeout=timeout),
            *(
                partial(explain, engine, name, work, timeout=timeout)
                for name, work in measurements(months, settings)[4:7]
            ),
        ]
        for step in steps:
            try:
                step()
            except TimedOutError:
                print(f"(stopped after {timeout:g} s)")
        return results
    finally:
        engine.dispose()


def _print_timings(backend: str, name: str, timings: list[float], *, timeout: float) -> None:
    print(
        f"{backend}: {name}: median / min (s) {summary(timings, timeout=timeout)} "
        f"(runs: {', '.join(f'{t:.3f}' for t in timings)})",
        flush=True,
    )


def _print_table(
    engine: Engine, *, months: Sequence[Month], settings: Settings, timeout: float
) -> None:
    """The measured rows of the table, to see the figures are plausible."""
    with limited_session(engine, timeout) as session:
        table = quality_table(session, months=months, settings=settings)
    print("  " + " | ".join(["indicator", *table.month_labels]))
    for row in table.rows:
        print("  " + " | ".join([row.label, *row.cells]))


def run(*, cases: int, database: str, repeat: int, timeout: float) -> None:
    """Each database asked for in turn, PostgreSQL first, then a summary of the timings."""
    results: dict[str, dict[str, list[float]]] = {}
    if database in {"postgresql", "both"}:
        name = f"qualipref_bench_{uuid.uuid4().hex[:8]}"
        with empty_postgres_database(name) as database_url:
            results["postgresql"] = run_database(
                "postgresql", database_url, cases=cases, repeat=repeat, timeout=timeout
            )
    if database in {"sqlite", "both"}:
        directory = Path(tempfile.mkdtemp(prefix="qualipref-bench-", dir="/var/tmp"))
        with empty_sqlite_database(directory) as database_url:
            results["sqlite"] = run_database(
                "sqlite", database_url, cases=cases, repeat=repeat, timeout=timeout
            )
    print(f"\n{cases} cases, {repeat} runs each: median / min in seconds")
    backends = list(results)
    print("| measurement | " + " | ".join(backends) + " |")
    for name in next(iter(results.values())):
        cells = [summary(results[backend][name], timeout=timeout) for backend in backends]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds before a run is stopped"
    )
    arguments = parser.parse_args()
    run(
        cases=arguments.cases,
        database=arguments.database,
        repeat=arguments.repeat,
        timeout=arguments.timeout,
    )


if __name__ == "__main__":
    main()
