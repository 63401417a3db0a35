"""Retention over a year of demo data, the clock moved forward: the right cases lose their
personal data, the others keep theirs, and the published table does not change by a digit."""

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, delete, select

from backend.config import RetentionSettings, Settings
from backend.demo.generator import generate_demo
from backend.demo.loader import load_demo
from backend.indicators.periods import months_between, parse_month
from backend.indicators.table import quality_table
from backend.models import (
    Attachment,
    AuditEvent,
    Case,
    CaseKind,
    IndicatorMonthCache,
    Letter,
    Message,
)
from backend.privacy.service import ANONYMISED_SUBJECT, apply_retention

YEAR = months_between(parse_month("2025-11"), parse_month("2026-10"))
# A year after the demo's last day.
NOW = datetime(2027, 11, 15, 9, 0, tzinfo=UTC)
RULES = RetentionSettings(months_after_closure=18, months_by_kind={"complaint": 12})


@pytest.fixture
def demo_year(session: Session, settings: Settings) -> Settings:
    """The documented demo year loaded, and settings with 18 months (12 for complaints)."""
    load_demo(
        session,
        plan=generate_demo(seed=2026, until=date(2026, 10, 31), settings=settings),
        settings=settings,
    )
    return settings.model_copy(update={"retention": RULES})


def test_retention_removes_the_personal_data_of_the_right_cases_only(
    session: Session, demo_year: Settings
) -> None:
    before = _personal_data(session)
    due = {
        case_id
        for case_id, (kind, closed_at, *_) in before.items()
        if closed_at is not None and closed_at <= _cutoff(kind)
    }
    table_before = _fresh_table(session, demo_year)
    audit_cutoff = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
    old_events = session.exec(
        select(AuditEvent.id).where(col(AuditEvent.occurred_at) < audit_cutoff)
    ).all()
    recent_events = set(
        session.exec(select(AuditEvent.id).where(col(AuditEvent.occurred_at) >= audit_cutoff))
    )

    report = apply_retention(session, settings=demo_year, now=NOW)

    after = _personal_data(session)
    anonymised = {case_id for case_id in after if after[case_id] != before[case_id]}
    assert anonymised == due
    assert len(report.case_references) == len(due)
    assert 0 < len(due) < len(before)
    for case_id in due:
        assert after[case_id][2:] == (ANONYMISED_SUBJECT, None, None, None, set(), set(), [])
    assert _fresh_table(session, demo_year) == table_before
    # Complaints go after their own 12 months: every closed one of the year is anonymised.
    assert {after[case_id][0] for case_id in after.keys() - due if after[case_id][1]} == {
        CaseKind.INFORMATION_REQUEST,
        CaseKind.RESIDENCE,
        CaseKind.SUGGESTION,
        CaseKind.OTHER,
    }
    # Audit events over 12 months old are deleted, and the run itself is traced.
    remaining = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert report.audit_events_deleted == len(old_events) > 0
    assert {event.id for event in remaining} - recent_events == {remaining[-1].id}
    assert (remaining[-1].action, remaining[-1].actor_label) == (
        "retention.applied",
        "system:retention",
    )
    assert remaining[-1].details["cases"] == len(due)


def test_a_dry_run_names_the_same_cases_and_changes_nothing(
    session: Session, demo_year: Settings
) -> None:
    before = _personal_data(session)

    planned = apply_retention(session, settings=demo_year, now=NOW, dry_run=True)

    assert _personal_data(session) == before
    assert (
        planned.case_references
        == apply_retention(session, settings=demo_year, now=NOW).case_references
    )


def _cutoff(kind: CaseKind) -> datetime:
    """Closed on or before this instant, a case's time is over (written out by hand)."""
    if kind is CaseKind.COMPLAINT:
        return datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
    return datetime(2026, 5, 15, 9, 0, tzinfo=UTC)


def _personal_data(session: Session) -> dict[int | None, tuple[Any, ...]]:
    """Per case, what retention may remove of it, after its kind and closing."""
    bodies: dict[int, set[str]] = defaultdict(set)
    senders: dict[int, set[str | None]] = defaultdict(set)
    kept: dict[int, list[Any]] = defaultdict(list)
    for case_id, body, sender in session.exec(
        select(Message.case_id, Message.body_text, Message.from_address)
    ):
        bodies[case_id].add(body)
        senders[case_id].add(sender)
    for case_id, values in session.exec(select(Letter.case_id, Letter.variables)):
        kept[case_id] += [values] if values else []
    for case_id, attachment_id in session.exec(
        select(Message.case_id, Attachment.id).join(
            Message, col(Message.id) == col(Attachment.message_id)
        )
    ):
        kept[case_id].append(attachment_id)
    return {
        case.id: (
            case.kind,
            case.closed_at,
            case.subject,
            case.sender_name,
            case.sender_email,
            case.sender_postal_address,
            bodies[case.id or 0] - {""},
            senders[case.id or 0] - {None},
            sorted(kept[case.id or 0], key=str),
        )
        for case in session.exec(select(Case)).all()
    }


def _fresh_table(session: Session, settings: Settings) -> list[tuple[str, list[str]]]:
    """The published table, computed again from the cases (nothing kept)."""
    session.execute(delete(IndicatorMonthCache))
    table = quality_table(session, months=YEAR, settings=settings, today=NOW.date())
    return [(row.label, row.cells) for row in table.rows]
