"""Writing a demo year to the database: one transaction, one executemany INSERT per table.

Services, mailboxes and accounts that already exist (same slug or e-mail) are kept as they are
and used; cases get consecutive references from the counters, as mail from a mailbox would.
"""

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import format_datetime, formataddr
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, insert, update
from sqlmodel import Session, SQLModel, col, select

from backend.cases.classification import suggest_complaint
from backend.cases.due_dates import due_date
from backend.cases.ingestion import POLLER
from backend.cases.references import case_ids_by_reference, references_by_year
from backend.cases.service import PAPER_MESSAGE_DOMAIN, answer_values
from backend.config import Settings
from backend.database import session_scope
from backend.demo.generator import OFFICE_OPENING, CasePlan, DemoPlan, MessagePlan, generate_demo
from backend.models import (
    AuditEvent,
    Case,
    CaseChannel,
    CaseKind,
    CaseStatus,
    ImapTls,
    Mailbox,
    Message,
    MessageDirection,
    Service,
    ServiceMembership,
    User,
    WaitingPeriod,
)
from backend.users.passwords import hash_password

# The demo mailboxes are never polled (disabled): this variable need not exist.
DEMO_PASSWORD_ENV = "QUALIPREF_DEMO_IMAP_PASSWORD"  # noqa: S105 - a variable's name
# Every demo account signs in with it (the demo never runs in production): see docs/demo.md.
DEMO_PASSWORD = "qualipref-demo"  # noqa: S105 - published on purpose


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What a demo year holds, for the one-line report."""

    seed: int
    first_day: date
    until: date
    cases: int
    emails: int
    letters: int
    slips: int
    complaints: int
    still_open: int
    waits: int
    messages: int
    mailboxes: int
    accounts: int


@dataclass(frozen=True, slots=True)
class _Ids:
    """Database ids of the plan's services, mailboxes and accounts, by slug or e-mail."""

    services: dict[str, int]
    mailboxes: dict[str, int]
    users: dict[str, int]


def summarize(plan: DemoPlan) -> DemoSummary:
    """The counts of a plan."""
    channels = Counter(case.channel for case in plan.cases)
    return DemoSummary(
        seed=plan.seed,
        first_day=plan.first_day,
        until=plan.until,
        cases=len(plan.cases),
        emails=channels[CaseChannel.EMAIL],
        letters=channels[CaseChannel.PAPER],
        slips=channels[CaseChannel.SUGGESTION_BOX],
        complaints=sum(case.kind is CaseKind.COMPLAINT for case in plan.cases),
        still_open=sum(_is_open(case) for case in plan.cases),
        waits=sum(len(case.waits) for case in plan.cases),
        messages=sum(len(case.messages) for case in plan.cases),
        mailboxes=len(plan.mailboxes),
        accounts=len(plan.agents),
    )


def database_has_cases(session: Session) -> bool:
    """True when any case exists: the demo only ever fills an empty database."""
    return session.exec(select(Case.id).limit(1)).first() is not None


def load_demo_if_empty(
    *, seed: int, until: date, settings: Settings, engine: Engine | None = None
) -> DemoSummary | None:
    """Draw the year and write it in one transaction; None when the database holds cases."""
    with session_scope(engine) as session:
        # Checked and loaded in the same transaction: on SQLite it holds the write lock
        # from the check on, so nothing else can add a case in between.
        if database_has_cases(session):
            return None
        plan = generate_demo(seed=seed, until=until, settings=settings)
        return load_demo(session, plan=plan, settings=settings)


def load_demo(session: Session, *, plan: DemoPlan, settings: Settings) -> DemoSummary:
    """Write the plan in the session's transaction; the caller commits."""
    ids = _ensure_setup(session, plan=plan, settings=settings)
    references = _allocate_references(session, cases=plan.cases, settings=settings)
    case_ids = _insert_cases(session, plan=plan, references=references, ids=ids, settings=settings)
    _bulk_insert(session, WaitingPeriod, rows=_wait_rows(plan, case_ids, settings=settings))
    _bulk_insert(
        session,
        Message,
        rows=[
            _message_row(
                message, case=case, case_id=case_ids[case.key], ids=ids, references=references
            )
            for case in plan.cases
            for message in case.messages
        ],
    )
    _bulk_insert(
        session,
        AuditEvent,
        rows=[
            event
            for case in plan.cases
            for event in _events(case, ids=ids, case_ids=case_ids, references=references)
        ],
    )
    return summarize(plan)


def _bulk_insert(session: Session, model: type[SQLModel], *, rows: list[dict[str, Any]]) -> None:
    """One executemany INSERT on the table, past the ORM's per-row bookkeeping."""
    if rows:
        session.execute(insert(model.__table__), rows)  # type: ignore[attr-defined]


def _ensure_setup(session: Session, *, plan: DemoPlan, settings: Settings) -> _Ids:
    """The services, accounts, memberships and mailboxes, created unless they exist."""
    created_at = datetime.combine(plan.first_day, OFFICE_OPENING, tzinfo=settings.tzinfo)
    services = _ensure_rows(
        session, Service, key="slug", rows=_service_rows(plan, created_at=created_at)
    )
    users = _ensure_rows(session, User, key="email", rows=_user_rows(plan, created_at=created_at))
    _ensure_memberships(
        session, pairs=[(users[agent.email], services[agent.service]) for agent in plan.agents]
    )
    mailboxes = _ensure_rows(
        session,
        Mailbox,
        key="slug",
        rows=_mailbox_rows(plan, service_ids=services, created_at=created_at),
    )
    return _Ids(services=services, mailboxes=mailboxes, users=users)


def _service_rows(plan: DemoPlan, *, created_at: datetime) -> list[dict[str, Any]]:
    return [
        {
            "slug": service.slug,
            "name": service.name,
            # No address of its own: the daily overdue alert e-mails no real service.
            "email": None,
            "postal_address": service.postal_address,
            "created_at": created_at,
        }
        for service in plan.services
    ]


def _user_rows(plan: DemoPlan, *, created_at: datetime) -> list[dict[str, Any]]:
    # One hash for every account: argon2 is slow on purpose.
    password_hash = hash_password(DEMO_PASSWORD)
    return [
        {
            "email": agent.email,
            "first_name": agent.first_name,
            "last_name": agent.last_name,
            "title": agent.title,
            "role": agent.role,
            "password_hash": password_hash,
            "is_active": True,
            "failed_login_count": 0,
            "created_at": created_at,
        }
        for agent in plan.agents
    ]


def _mailbox_rows(
    plan: DemoPlan, *, service_ids: dict[str, int], created_at: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "slug": mailbox.slug,
            "kind": mailbox.kind,
            "address": mailbox.address,
            "imap_host": "127.0.0.1",
            "imap_port": 993,
            "imap_tls": ImapTls.SSL,
            "imap_username": mailbox.address,
            "password_env": DEMO_PASSWORD_ENV,
            "folder": "INBOX",
            # Nothing to poll on a laptop: the poller and the IDLE watcher leave them alone.
            "enabled": False,
            "start_date": plan.first_day,
            "import_before_start_date": False,
            "service_id": service_ids[mailbox.service],
            "auto_reply": True,
            "mark_seen": False,
            "consecutive_failures": 0,
            "created_at": created_at,
        }
        for mailbox in plan.mailboxes
    ]


def _ensure_rows(
    session: Session, model: type[SQLModel], *, key: str, rows: list[dict[str, Any]]
) -> dict[str, int]:
    """Insert the rows whose key is new; every row's id by its key."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    keys = [row[key] for row in rows]
    existing = set(session.execute(sa.select(table.c[key]).where(table.c[key].in_(keys))).scalars())
    _bulk_insert(session, model, rows=[row for row in rows if row[key] not in existing])
    found = session.execute(sa.select(table.c[key], table.c.id).where(table.c[key].in_(keys)))
    return {row_key: row_id for row_key, row_id in found}


def _ensure_memberships(session: Session, *, pairs: list[tuple[int, int]]) -> None:
    """Each account in its service, unless it already is."""
    existing = set(
        session.exec(
            select(ServiceMembership.user_id, ServiceMembership.service_id).where(
                col(ServiceMembership.user_id).in_([user_id for user_id, _ in pairs])
            )
        ).all()
    )
    _bulk_insert(
        session,
        ServiceMembership,
        rows=[
            {"user_id": user_id, "service_id": service_id}
            for user_id, service_id in pairs
            if (user_id, service_id) not in existing
        ],
    )


def _allocate_references(
    session: Session, *, cases: Sequence[CasePlan], settings: Settings
) -> dict[int, str]:
    """Each case's reference by its key: consecutive in order of receipt within each year."""
    references = references_by_year(
        session,
        prefix=settings.prefecture.case_reference_prefix,
        years=[settings.local_date(case.received_at).year for case in cases],
    )
    return {case.key: reference for case, reference in zip(cases, references, strict=True)}


def _insert_cases(
    session: Session, *, plan: DemoPlan, references: dict[int, str], ids: _Ids, settings: Settings
) -> dict[int, int]:
    """Insert the cases, then link the merged ones; each case's id by its key."""
    _bulk_insert(
        session,
        Case,
        rows=[
            _case_row(case, reference=references[case.key], ids=ids, settings=settings)
            for case in plan.cases
        ],
    )
    # Read back by reference: a plain multi-row INSERT is faster than one with RETURNING.
    by_reference = case_ids_by_reference(session, references=list(references.values()))
    case_ids = {key: by_reference[reference] for key, reference in references.items()}
    for case in plan.cases:
        if case.merged_into is not None:
            session.execute(
                update(Case)
                .where(col(Case.id) == case_ids[case.key])
                .values(merged_into_id=case_ids[case.merged_into])
            )
    return case_ids


def _case_row(case: CasePlan, *, reference: str, ids: _Ids, settings: Settings) -> dict[str, Any]:
    """The cases row: instants with their days at the préfecture, the due date of its kind."""
    answer = (
        answer_values(at=case.answered_at, channel=case.answer_channel, settings=settings)
        if case.answered_at is not None and case.answer_channel is not None
        else {"answered_at": None, "answered_on": None, "answer_channel": None}
    )
    steps = _case_steps(case)
    return {
        "reference": reference,
        "channel": case.channel,
        "kind": case.kind,
        "suggested_kind": _suggested_kind(case, settings=settings),
        "status": case.status,
        "mailbox_id": ids.mailboxes[case.mailbox] if case.mailbox else None,
        "service_id": ids.services[case.service],
        "assignee_id": ids.users[case.assignee] if case.assignee else None,
        "subject": case.subject,
        "sender_name": case.sender_name,
        "sender_email": case.sender_email,
        "sender_postal_address": case.sender_postal_address,
        "received_at": case.received_at,
        "received_on": settings.local_date(case.received_at),
        "registered_at": case.registered_at,
        "acknowledged_at": case.acknowledged_at,
        "acknowledgement_skip_reason": case.acknowledgement_skip_reason,
        "holding_reply_at": case.holding_reply_at,
        "holding_reply_on": _local_date(case.holding_reply_at, settings=settings),
        "holding_reply_delay_days": case.holding_reply_delay_days,
        **answer,
        "closed_at": case.closed_at,
        "closed_on": _local_date(case.closed_at, settings=settings),
        "due_date": due_date(
            received_at=case.received_at, channel=case.channel, kind=case.kind, settings=settings
        ),
        "needs_attention": False,
        "merged_into_id": None,  # linked once every case has its id
        # Each step an agent took made a new version, as the case service counts them.
        "version": 1 + len(steps),
        "updated_at": max([case.registered_at, *(moment for moment, _ in steps)]),
    }


def _suggested_kind(case: CasePlan, *, settings: Settings) -> CaseKind | None:
    """What the complaint keywords propose for an e-mail, as when it was logged."""
    if case.channel is not CaseChannel.EMAIL:
        return None
    body = case.messages[0].body_text if case.messages else ""
    complaint = suggest_complaint(
        subject=case.subject, body=body, keywords=settings.complaint_keywords
    )
    return CaseKind.COMPLAINT if complaint else None


def _local_date(moment: datetime | None, *, settings: Settings) -> date | None:
    return None if moment is None else settings.local_date(moment)


def _wait_rows(
    plan: DemoPlan, case_ids: dict[int, int], *, settings: Settings
) -> list[dict[str, Any]]:
    """The waiting periods, with their days at the préfecture."""
    return [
        {
            "case_id": case_ids[case.key],
            "started_at": wait.started_at,
            "started_on": settings.local_date(wait.started_at),
            "ended_at": wait.ended_at,
            "ended_on": _local_date(wait.ended_at, settings=settings),
            "reason": "missing_documents",
        }
        for case in plan.cases
        for wait in case.waits
    ]


def _message_row(
    message: MessagePlan, *, case: CasePlan, case_id: int, ids: _Ids, references: dict[int, str]
) -> dict[str, Any]:
    """The messages row of an e-mail, or of a paper letter as its registration writes it."""
    reference = references[case.key]
    is_letter = message.message_id is None
    # A letter's Message-ID and fingerprint are made from its case's reference, as when an
    # agent registers it, so that a scan attached later finds it.
    message_id = message.message_id or f"{reference.lower()}@{PAPER_MESSAGE_DOMAIN}"
    outbound = message.direction is MessageDirection.OUTBOUND
    subject = f"{message.subject} [{reference}]" if outbound else message.subject
    return {
        "case_id": case_id,
        "direction": message.direction,
        "mailbox_id": ids.mailboxes[case.mailbox] if case.mailbox else None,
        "rfc_message_id": message_id,
        "in_reply_to": message.in_reply_to,
        "reference_ids": list(message.references),
        "subject": subject,
        "from_name": message.from_name,
        "from_address": message.from_address,
        "to_addresses": [message.to_address] if message.to_address else [],
        "cc_addresses": [],
        "date_header": None if is_letter else message.at,
        "received_at": message.at,
        "registered_at": message.at,
        "headers": [] if is_letter else _headers(message, message_id=message_id, subject=subject),
        "body_text": message.body_text,
        "body_html": None,
        "fingerprint": hashlib.sha256(
            (reference if is_letter else f"{message_id}\n{message.body_text}").encode()
        ).hexdigest(),
        "raw_sha256": None,
        "raw_size": None,
        "parse_defects": [],
        "parse_error": None,
    }


def _headers(message: MessagePlan, *, message_id: str, subject: str) -> list[list[str]]:
    """The decoded headers of an e-mail, as [name, value] pairs."""
    headers = [
        ["From", formataddr((message.from_name or "", message.from_address or ""))],
        ["To", message.to_address or ""],
        ["Subject", subject],
        ["Date", format_datetime(message.at)],
        ["Message-ID", f"<{message_id}>"],
    ]
    if message.in_reply_to:
        headers.append(["In-Reply-To", f"<{message.in_reply_to}>"])
        headers.append(["References", " ".join(f"<{ref}>" for ref in message.references)])
    return headers + [[name, value] for name, value in message.extra_headers]


def _case_steps(case: CasePlan) -> list[tuple[datetime, str]]:
    """The agents' steps on the case after it was logged, as (moment, action)."""
    steps = [(case.assigned_at, "case.assigned"), (case.holding_reply_at, "case.holding_reply")]
    for wait in case.waits:
        steps += [
            (wait.started_at, "case.documents_requested"),
            (wait.ended_at, "case.documents_received"),
        ]
    steps.append((case.answered_at, "case.answered"))
    steps.append((case.closed_at, "case.merged" if case.merged_into else "case.closed"))
    return sorted((moment, action) for moment, action in steps if moment is not None)


def _events(
    case: CasePlan, *, ids: _Ids, case_ids: dict[int, int], references: dict[int, str]
) -> list[dict[str, Any]]:
    """The case's audit trail: logged or registered, then each step an agent took."""
    case_id = case_ids[case.key]
    agent_id = ids.users[case.assignee] if case.assignee else None
    registrar_id = ids.users[case.registered_by] if case.registered_by else None
    opened = _event(
        case.registered_at,
        action="case.registered" if registrar_id else "case.opened",
        case_id=case_id,
        actor_id=registrar_id,
        details={"channel": case.channel.value},
    )
    events = [opened]
    for moment, action in _case_steps(case):
        details = _step_details(case, action=action, references=references)
        events.append(
            _event(moment, action=action, case_id=case_id, actor_id=agent_id, details=details)
        )
    if case.merged_into is not None and case.closed_at is not None:
        # The merge is recorded on both cases, as the case service does.
        target_id = case_ids[case.merged_into]
        details = {"from": references[case.key]}
        events.append(
            _event(
                case.closed_at,
                action="case.absorbed",
                case_id=target_id,
                actor_id=agent_id,
                details=details,
            )
        )
    return events


def _step_details(case: CasePlan, *, action: str, references: dict[int, str]) -> dict[str, Any]:
    """What an event records beside its action."""
    if action == "case.merged" and case.merged_into is not None:
        return {"into": references[case.merged_into]}
    if action == "case.holding_reply":
        return {"announced_delay_days": case.holding_reply_delay_days}
    if action == "case.answered" and case.answer_channel is not None:
        return {"channel": case.answer_channel.value}
    return {}


def _event(
    moment: datetime, *, action: str, case_id: int, actor_id: int | None, details: dict[str, Any]
) -> dict[str, Any]:
    """An audit_events row; without an agent, the poller logged it."""
    return {
        "occurred_at": moment,
        "actor_user_id": actor_id,
        "actor_label": POLLER if actor_id is None else None,
        "action": action,
        "case_id": case_id,
        "object_type": "case",
        "object_id": str(case_id),
        "changes": {},
        "details": details,
    }


def _is_open(case: CasePlan) -> bool:
    return case.status not in {CaseStatus.ANSWERED, CaseStatus.CLOSED}
