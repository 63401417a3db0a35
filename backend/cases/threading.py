"""Which case an incoming message belongs to: by Message-ID, then by reference in the subject."""

import re
from collections.abc import Sequence

from sqlmodel import Session, col, select

from backend.models import Case, Message, OutboxEmail

# "[GERS-2026-000123]", as our acknowledgements and replies put it in the subject.
REFERENCE_IN_SUBJECT = re.compile(r"\[\s*([A-Z0-9][A-Z0-9-]*-\d{4}-\d{6})\s*\]")
MAX_MERGE_HOPS = 20


def find_thread_case(session: Session, *, message_ids: Sequence[str], subject: str) -> Case | None:
    """The case this message continues, or None when it starts a new one."""
    case_id = _case_id_by_message_ids(session, message_ids=message_ids)
    if case_id is None:
        case_id = _case_id_by_subject_reference(session, subject=subject)
    if case_id is None:
        return None
    return _follow_merges(session, case_id=case_id)


def _case_id_by_message_ids(session: Session, *, message_ids: Sequence[str]) -> int | None:
    """The case of the latest logged message, ours included, that this one answers."""
    if not message_ids:
        return None
    logged = session.exec(
        select(Message.case_id)
        .where(col(Message.rfc_message_id).in_(message_ids))
        .order_by(col(Message.id).desc())
        .limit(1)
    ).first()
    if logged is not None:
        return logged
    # Acknowledgements and letters are sent from the outbox and may have no message row.
    return session.exec(
        select(OutboxEmail.case_id)
        .where(col(OutboxEmail.rfc_message_id).in_(message_ids))
        .where(col(OutboxEmail.case_id).is_not(None))
        .order_by(col(OutboxEmail.id).desc())
        .limit(1)
    ).first()


def _case_id_by_subject_reference(session: Session, *, subject: str) -> int | None:
    references = REFERENCE_IN_SUBJECT.findall(subject.upper())
    if not references:
        return None
    return session.exec(
        select(Case.id).where(col(Case.reference).in_(references)).order_by(col(Case.id).desc())
    ).first()


def _follow_merges(session: Session, *, case_id: int) -> Case | None:
    """A message for a case merged into another joins the surviving case."""
    case = session.get(Case, case_id)
    for _ in range(MAX_MERGE_HOPS):
        if case is None or case.merged_into_id is None:
            return case
        case = session.get(Case, case.merged_into_id)
    return case
