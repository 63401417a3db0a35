"""Working a case: each operation checked against the lifecycle, stamped, and recorded as an event.

The functions change the rows and add the events; the request owns the transaction.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from backend.cases.due_dates import due_date, due_date_for
from backend.cases.references import allocate_case_references
from backend.cases.workflow import (
    Operation,
    check_operation,
    check_status_change,
    status_after_assignment,
    status_after_reopening,
)
from backend.config import Settings
from backend.mail.parser import SYNTHETIC_DOMAIN
from backend.models import (
    AnswerChannel,
    Attachment,
    AuditEvent,
    Case,
    CaseChannel,
    CaseKind,
    CaseStatus,
    Message,
    Service,
    ServiceMembership,
    User,
    UserRole,
    WaitingPeriod,
)
from backend.models.types import utc_now
from backend.storage.filestore import FileStore
from backend.users.access import Viewer, visible_cases

# The made-up Message-ID domain of paper letters: nothing ever answers it.
PAPER_MESSAGE_DOMAIN = f"courrier.{SYNTHETIC_DOMAIN}"
MAX_SCAN_BYTES = 20_000_000
# Paper is received on a date, not at a time: noon keeps that date in any time zone.
PAPER_RECEIPT_TIME = time(12, 0)


class CaseNotFoundError(LookupError):
    """No case with this id."""


class CaseForbiddenError(Exception):
    """The user's role does not allow this change."""


class StaleCaseError(Exception):
    """The case changed since the caller read it: their change would overwrite another's."""


class CaseInputError(ValueError):
    """A value the case cannot take (a date in the future, an unknown agent...)."""


@dataclass(frozen=True, slots=True)
class PaperMail:
    """A letter or a suggestion-box slip, as the agent registers it."""

    channel: CaseChannel
    received_on: date
    sender_name: str
    sender_postal_address: str | None
    sender_email: str | None
    subject: str
    kind: CaseKind


def load_case(
    session: Session, *, case_id: int, viewer: Viewer, expected_version: int | None = None
) -> Case:
    """The case if the viewer may see it (else not found), at the version they read."""
    case = session.exec(select(Case).where(col(Case.id) == case_id, visible_cases(viewer))).first()
    if case is None:
        raise CaseNotFoundError(f"Aucun dossier n° {case_id}.")
    if expected_version is not None:
        check_version(case, expected_version=expected_version)
    return case


def check_version(case: Case, *, expected_version: int) -> None:
    """Refuse a change made on a stale version: two agents never silently overwrite each other."""
    if case.version != expected_version:
        raise StaleCaseError(
            f"Le dossier {case.reference} a été modifié entre-temps (version {case.version}, "
            f"et non {expected_version}) : rechargez-le avant de recommencer."
        )


def classify(
    session: Session, *, case: Case, kind: CaseKind, actor: User, settings: Settings
) -> Case:
    """Set the kind; the due date follows the kind's target."""
    check_operation(Operation.CLASSIFY, status=case.status)
    changes = _set(case, kind=kind, due_date=due_date_for(case, kind=kind, settings=settings))
    return _record(session, case=case, actor=actor, action="case.classified", changes=changes)


def assign(
    session: Session,
    *,
    case: Case,
    service_id: int | None,
    assignee_id: int | None,
    actor: User,
) -> Case:
    """Give the case to a service and, optionally, one of its agents."""
    check_operation(Operation.ASSIGN, status=case.status)
    if service_id is not None and session.get(Service, service_id) is None:
        raise CaseInputError(f"Aucun service n° {service_id}.")
    if assignee_id is not None and session.get(User, assignee_id) is None:
        raise CaseInputError(f"Aucun agent n° {assignee_id}.")
    _check_assignment(session, actor=actor, service_id=service_id, assignee_id=assignee_id)
    changes = _set(
        case,
        service_id=service_id,
        assignee_id=assignee_id,
        status=status_after_assignment(current=case.status, has_agent=assignee_id is not None),
    )
    return _record(session, case=case, actor=actor, action="case.assigned", changes=changes)


def _check_assignment(
    session: Session, *, actor: User, service_id: int | None, assignee_id: int | None
) -> None:
    """An agent takes a case or passes it to a service; a service head gives it to an agent,
    who must belong to the service."""
    gives_to_another = assignee_id is not None and assignee_id != actor.id
    if gives_to_another and actor.role is UserRole.AGENT:
        raise CaseForbiddenError("Seul un chef de service attribue un dossier à un autre agent.")
    if assignee_id is not None and service_id is not None:
        membership = session.get(ServiceMembership, (assignee_id, service_id))
        if membership is None:
            raise CaseInputError(
                f"L'agent n° {assignee_id} n'est pas membre du service n° {service_id}."
            )


def set_status(session: Session, *, case: Case, status: CaseStatus, actor: User) -> Case:
    """A direct status change the lifecycle allows (the others come with their operation)."""
    check_status_change(current=case.status, target=status)
    changes = _set(case, status=status)
    return _record(session, case=case, actor=actor, action="case.status_changed", changes=changes)


def record_holding_reply(
    session: Session, *, case: Case, announced_delay_days: int, actor: User, settings: Settings
) -> Case:
    """A reply announcing a processing delay; the first one is the case's holding reply."""
    check_operation(Operation.HOLDING_REPLY, status=case.status)
    changes: dict[str, list[Any]] = {}
    if case.holding_reply_at is None:
        now = utc_now()
        changes = _set(
            case,
            holding_reply_at=now,
            holding_reply_on=settings.local_date(now),
            holding_reply_delay_days=announced_delay_days,
        )
    return _record(
        session,
        case=case,
        actor=actor,
        action="case.holding_reply",
        changes=changes,
        details={"announced_delay_days": announced_delay_days},
    )


def mark_answered_elsewhere(
    session: Session,
    *,
    case: Case,
    channel: AnswerChannel,
    answered_on: date,
    actor: User,
    settings: Settings,
) -> Case:
    """The citizen was answered by phone, post or in person on that date."""
    check_operation(Operation.ANSWERED_ELSEWHERE, status=case.status)
    received_on = settings.local_date(case.received_at)
    answered_at = moment_of(answered_on, settings=settings, what="La date de réponse")
    if answered_on < received_on:
        raise CaseInputError(
            f"La date de réponse ({answered_on:%d/%m/%Y}) précède la réception du dossier "
            f"({received_on:%d/%m/%Y})."
        )
    return answer_case(
        session,
        case=case,
        channel=channel,
        at=answered_at,
        actor=actor,
        settings=settings,
        details={"answered_on": answered_on.isoformat()},
    )


def request_documents(
    session: Session,
    *,
    case: Case,
    documents: list[str],
    actor: User,
    settings: Settings,
    at: datetime | None = None,
) -> Case:
    """Ask the citizen for documents: the case waits for them from now (or from `at`)."""
    check_operation(Operation.REQUEST_DOCUMENTS, status=case.status)
    assert case.id is not None
    now = at or utc_now()
    session.add(WaitingPeriod(case_id=case.id, started_at=now, started_on=settings.local_date(now)))
    changes = _set(case, status=CaseStatus.WAITING_CITIZEN)
    return _record(
        session,
        case=case,
        actor=actor,
        action="case.documents_requested",
        changes=changes,
        details={"documents": documents},
    )


def documents_received(session: Session, *, case: Case, actor: User, settings: Settings) -> Case:
    """The documents arrived: the wait ends and the work resumes."""
    check_operation(Operation.DOCUMENTS_RECEIVED, status=case.status)
    end_waiting(session, case=case, settings=settings)
    changes = _set(case, status=CaseStatus.IN_PROGRESS)
    return _record(
        session, case=case, actor=actor, action="case.documents_received", changes=changes
    )


def close(session: Session, *, case: Case, actor: User, settings: Settings) -> Case:
    """Close the case (answered, or nothing to answer)."""
    check_operation(Operation.CLOSE, status=case.status)
    end_waiting(session, case=case, settings=settings)
    now = utc_now()
    changes = _set(
        case, status=CaseStatus.CLOSED, closed_at=now, closed_on=settings.local_date(now)
    )
    return _record(session, case=case, actor=actor, action="case.closed", changes=changes)


def reopen(session: Session, *, case: Case, actor: User) -> Case:
    """Back to work on a closed or answered case."""
    check_operation(Operation.REOPEN, status=case.status)
    status = status_after_reopening(has_agent=case.assignee_id is not None)
    changes = _set(case, status=status, closed_at=None, closed_on=None)
    return _record(session, case=case, actor=actor, action="case.reopened", changes=changes)


def record_letter(session: Session, *, case: Case, actor: User, details: dict[str, Any]) -> Case:
    """A standard letter was sent or posted: in the case's timeline."""
    return _record(
        session, case=case, actor=actor, action="case.letter", changes={}, details=details
    )


def add_note(session: Session, *, case: Case, text: str, actor: User) -> Case:
    """An internal note, in the case's timeline, never sent to the citizen."""
    check_operation(Operation.NOTE, status=case.status)
    return _record(
        session, case=case, actor=actor, action="case.note", changes={}, details={"text": text}
    )


def merge(session: Session, *, target: Case, source: Case, actor: User, settings: Settings) -> Case:
    """The citizen wrote twice: the source's messages join the target, which keeps the
    earliest receipt; the source is closed as merged and leads to the target from now on."""
    check_operation(Operation.MERGE, status=source.status)
    check_operation(Operation.MERGE, status=target.status)
    if source.id == target.id or target.merged_into_id is not None:
        raise CaseInputError(
            f"Le dossier {source.reference} ne peut pas être fusionné dans lui-même."
        )
    session.execute(
        update(Message).where(col(Message.case_id) == source.id).values(case_id=target.id)
    )
    received_at = min(target.received_at, source.received_at)
    now = utc_now()
    target_changes = _set(
        target,
        received_at=received_at,
        received_on=settings.local_date(received_at),
        due_date=due_date(
            received_at=received_at, channel=target.channel, kind=target.kind, settings=settings
        ),
    )
    _record(
        session,
        case=source,
        actor=actor,
        action="case.merged",
        changes=_set(
            source,
            status=CaseStatus.CLOSED,
            closed_at=now,
            closed_on=settings.local_date(now),
            merged_into_id=target.id,
        ),
        details={"into": target.reference},
    )
    return _record(
        session,
        case=target,
        actor=actor,
        action="case.absorbed",
        changes=target_changes,
        details={"from": source.reference},
    )


def register_paper(session: Session, *, paper: PaperMail, actor: User, settings: Settings) -> Case:
    """A letter or suggestion-box slip becomes a case with its reference and due date."""
    received_at = moment_of(paper.received_on, settings=settings, what="La date de réception")
    (reference,) = allocate_case_references(
        session,
        prefix=settings.prefecture.case_reference_prefix,
        year=paper.received_on.year,
        count=1,
    )
    case = Case(
        reference=str(reference),
        channel=paper.channel,
        kind=paper.kind,
        subject=paper.subject,
        sender_name=paper.sender_name,
        sender_email=paper.sender_email,
        sender_postal_address=paper.sender_postal_address,
        received_at=received_at,
        received_on=paper.received_on,
    )
    case.due_date = due_date_for(case, kind=paper.kind, settings=settings)
    session.add(case)
    session.flush()
    assert case.id is not None
    # The letter itself, in the case's thread beside the e-mails (a merge carries it along).
    session.add(
        Message(
            case_id=case.id,
            rfc_message_id=_paper_message_id(case),
            fingerprint=hashlib.sha256(case.reference.encode()).hexdigest(),
            subject=paper.subject,
            from_name=paper.sender_name,
            from_address=paper.sender_email,
            received_at=received_at,
            body_text="",
        )
    )
    session.add(
        AuditEvent(
            actor_user_id=actor.id,
            action="case.registered",
            case_id=case.id,
            details={"channel": paper.channel.value},
        )
    )
    return case


def check_scan(pdf: bytes) -> None:
    """Refuse a scan that is not a PDF (by its first bytes) or is too large."""
    if not pdf.startswith(b"%PDF-"):
        raise CaseInputError("Le fichier envoyé n'est pas un PDF.")
    if len(pdf) > MAX_SCAN_BYTES:
        raise CaseInputError(f"Le PDF dépasse {MAX_SCAN_BYTES // 1_000_000} Mo.")


def attach_scan(
    session: Session, *, case: Case, pdf: bytes, actor: User, settings: Settings
) -> Case:
    """The scanned letter or slip, a PDF attached to the letter in the case's thread."""
    if case.channel is CaseChannel.EMAIL:
        raise CaseInputError(f"Le dossier {case.reference} est un courriel : rien à numériser.")
    check_scan(pdf)
    letter = session.exec(
        select(Message).where(col(Message.rfc_message_id) == _paper_message_id(case))
    ).one()
    assert letter.id is not None
    stored = FileStore(settings.file_store_dir).put_bytes(pdf)
    position = len(
        session.exec(select(Attachment.id).where(col(Attachment.message_id) == letter.id)).all()
    )
    session.add(
        Attachment(
            message_id=letter.id,
            position=position,
            filename=f"{case.reference}-numerisation-{position + 1}.pdf",
            content_type="application/pdf",
            size=stored.size,
            sha256=stored.sha256,
        )
    )
    return _record(
        session,
        case=case,
        actor=actor,
        action="case.scan_attached",
        changes={},
        details={"size": stored.size, "sha256": stored.sha256},
    )


def answer_case(
    session: Session,
    *,
    case: Case,
    channel: AnswerChannel,
    at: datetime | None,
    actor: User,
    settings: Settings,
    details: dict[str, Any],
) -> Case:
    """The case is answered; the first substantive answer sets answered_at.

    An e-mail passes `at=None`: it is answered when the SMTP server accepts it (the outbox
    records that moment).
    """
    end_waiting(session, case=case, settings=settings)
    values: dict[str, Any] = {"status": CaseStatus.ANSWERED}
    if case.answered_at is None and at is not None:
        values |= answer_values(at=at, channel=channel, settings=settings)
    changes = _set(case, **values)
    return _record(
        session,
        case=case,
        actor=actor,
        action="case.answered",
        changes=changes,
        details={"channel": channel.value, **details},
    )


def _paper_message_id(case: Case) -> str:
    """The made-up Message-ID of a paper case's letter."""
    return f"{case.reference.lower()}@{PAPER_MESSAGE_DOMAIN}"


def answer_values(*, at: datetime, channel: AnswerChannel, settings: Settings) -> dict[str, Any]:
    """The columns the first substantive answer sets, its day at the préfecture included."""
    return {"answered_at": at, "answered_on": settings.local_date(at), "answer_channel": channel}


def end_waiting(
    session: Session, *, case: Case, settings: Settings, at: datetime | None = None
) -> None:
    """Close the open waiting period, if any, now or at the moment given."""
    waiting = session.exec(
        select(WaitingPeriod)
        .where(col(WaitingPeriod.case_id) == case.id)
        .where(col(WaitingPeriod.ended_at).is_(None))
    ).all()
    ended_at = at or utc_now()
    for period in waiting:
        period.ended_at = ended_at
        period.ended_on = settings.local_date(ended_at)
        session.add(period)


def moment_of(day: date, *, settings: Settings, what: str) -> datetime:
    """Now for today, noon of a past day; a future day is refused."""
    today = settings.today()
    if day > today:
        raise CaseInputError(
            f"{what} ({day:%d/%m/%Y}) ne peut pas être postérieure à aujourd'hui "
            f"({today:%d/%m/%Y})."
        )
    if day == today:
        return utc_now()
    return datetime.combine(day, PAPER_RECEIPT_TIME, tzinfo=settings.tzinfo).astimezone(UTC)


def _set(case: Case, **values: Any) -> dict[str, list[Any]]:
    """Set the fields; the changes as {field: [before, after]}, for the event."""
    changes = {}
    for field, value in values.items():
        before = getattr(case, field)
        if before != value:
            changes[field] = [jsonable(before), jsonable(value)]
            setattr(case, field, value)
    return changes


def jsonable(value: Any) -> Any:
    """A value as JSON stores it: dates and times as ISO text."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _record(
    session: Session,
    *,
    case: Case,
    actor: User,
    action: str,
    changes: dict[str, list[Any]],
    details: dict[str, Any] | None = None,
) -> Case:
    """A new version of the case, and the event that says who did what."""
    case.version += 1
    case.updated_at = utc_now()
    session.add(case)
    session.add(
        AuditEvent(
            actor_user_id=actor.id,
            action=action,
            case_id=case.id,
            object_type="case",
            object_id=str(case.id),
            changes=changes,
            details=details or {},
        )
    )
    return case
