"""Delivering the outbox: each e-mail claimed, sent and recorded so that it never goes out twice.

The steps of one attempt, each its own transaction:

1. claim: queued -> sending, the attempt counted (a compare-and-set: one worker wins);
   an e-mail not yet composed is composed and stored once, here;
2. just before the message data goes out: `transmission_started_at` is committed;
3. the server's answer: sent (and the case acknowledged), queued again with a backoff
   (temporary failure) or failed (permanent failure, or too old to keep trying).

A worker that dies between 1 and 2 left a message that cannot have gone out: after
`outbox_stale_sending_seconds` it is queued again. One that dies between 2 and 3 may have
delivered it, and nobody can tell from here: it becomes `uncertain` and is not resent without
a person (`qualipref outbox retry`). That window is the time the server takes to answer the
data, plus any database outage at that very moment (the final commit is retried for a minute).
"""

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import OperationalError
from sqlmodel import col, or_, select

from backend.cases.service import answer_values
from backend.config import Settings
from backend.database import session_scope
from backend.models import AnswerChannel, Case, OutboxEmail, OutboxPurpose, OutboxStatus
from backend.models.types import utc_now
from backend.outbox.composition import Composer, CompositionError
from backend.outbox.transport import (
    DeliveryError,
    FileOutbox,
    PermanentDeliveryError,
    SmtpRelay,
    Transport,
)
from backend.storage.filestore import FileStore

logger = logging.getLogger(__name__)

# How long a sent message's final commit is retried through a database outage.
RECORD_RETRY_SECONDS = 60.0
MAX_ERROR_LENGTH = 2000


class ClaimLostError(Exception):
    """The attempt outlived its claim: another worker has the e-mail now, this one stops."""


@dataclass(frozen=True, slots=True)
class _Claimed:
    """What one attempt needs of the outbox row it claimed."""

    outbox_id: int
    case_id: int | None
    purpose: OutboxPurpose
    from_address: str
    recipients: list[str]
    raw_sha256: str | None
    attempts: int
    created_at: datetime


def transport_for(settings: Settings) -> Transport:
    """The SMTP relay when one is configured, else the file outbox."""
    if settings.smtp_url:
        return SmtpRelay.from_url(settings.smtp_url, timeout_seconds=settings.smtp_timeout_seconds)
    return FileOutbox(settings.outbox_dir)


def deliver_emails(
    *,
    outbox_ids: Sequence[int],
    settings: Settings,
    engine: Engine,
    transport: Transport | None = None,
) -> dict[int, OutboxStatus]:
    """Attempt each e-mail that is due; the status each one is left in (absent: not claimed)."""
    # The composers belong to the domains that queue e-mails, which import this package.
    from backend.outbox.composers import COMPOSERS

    transport = transport or transport_for(settings)
    results: dict[int, OutboxStatus] = {}
    for outbox_id in outbox_ids:
        claimed = _claim(engine=engine, outbox_id=outbox_id)
        if claimed is None:
            continue
        try:
            if claimed.raw_sha256 is None:
                claimed = _compose(claimed, settings=settings, engine=engine, composers=COMPOSERS)
            results[outbox_id] = _attempt(
                claimed, settings=settings, engine=engine, transport=transport
            )
        except CompositionError as error:
            results[outbox_id] = _record_composition_failure(claimed, error=error, engine=engine)
        except ClaimLostError:
            logger.warning("outbox %s: claim lost to another worker, not sent", outbox_id)
    return results


def due_email_ids(*, settings: Settings, engine: Engine, limit: int = 500) -> list[int]:
    """Queued e-mails whose next attempt is due, oldest first, after settling stale attempts."""
    _settle_stale_attempts(settings=settings, engine=engine)
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxEmail.id)
            .where(col(OutboxEmail.status) == OutboxStatus.QUEUED)
            .where(_is_due(utc_now()))
            .order_by(col(OutboxEmail.id))
            .limit(limit)
        ).all()
    return [row for row in rows if row is not None]


def _is_due(now: datetime) -> Any:
    """Never attempted, or its backoff has passed."""
    return or_(col(OutboxEmail.next_attempt_at).is_(None), col(OutboxEmail.next_attempt_at) <= now)


def _claim(*, engine: Engine, outbox_id: int) -> _Claimed | None:
    """Take the e-mail for this attempt, or None when it is not due or another worker has it."""
    now = utc_now()
    with session_scope(engine) as session:
        claimed = session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == outbox_id)
            .where(col(OutboxEmail.status) == OutboxStatus.QUEUED)
            .where(_is_due(now))
            .values(
                status=OutboxStatus.SENDING,
                attempts=col(OutboxEmail.attempts) + 1,
                last_attempt_at=now,
                transmission_started_at=None,
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = session.get(OutboxEmail, outbox_id)
        assert row is not None
        assert row.id is not None
        return _Claimed(
            outbox_id=row.id,
            case_id=row.case_id,
            purpose=row.purpose,
            from_address=row.from_address,
            recipients=list(row.recipients),
            raw_sha256=row.raw_sha256,
            attempts=row.attempts,
            created_at=row.created_at,
        )


def _compose(
    claimed: _Claimed,
    *,
    settings: Settings,
    engine: Engine,
    composers: Mapping[OutboxPurpose, Composer],
) -> _Claimed:
    """Compose the e-mail and store its bytes: every later attempt sends exactly these."""
    composer = composers.get(claimed.purpose)
    if composer is None:
        raise CompositionError(f"aucun modèle pour les courriels « {claimed.purpose.value} »")
    with session_scope(engine) as session:
        row = session.get(OutboxEmail, claimed.outbox_id)
        assert row is not None
        composed = composer(session, row, settings)
        stored = FileStore(settings.file_store_dir).put_bytes(composed.raw)
        row.raw_sha256 = stored.sha256
        row.subject = composed.subject
        session.add(row)
    return replace(claimed, raw_sha256=stored.sha256)


def _record_composition_failure(
    claimed: _Claimed, *, error: CompositionError, engine: Engine
) -> OutboxStatus:
    """Nothing left; the e-mail failed and its case asks a person to act."""
    with session_scope(engine) as session:
        session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == claimed.outbox_id)
            .values(status=OutboxStatus.FAILED, last_error=error.reason[:MAX_ERROR_LENGTH])
        )
        if claimed.case_id is not None:
            session.execute(
                update(Case)
                .where(col(Case.id) == claimed.case_id)
                .values(
                    needs_attention=True, attention_reason=f"Courriel non envoyé : {error.reason}"
                )
            )
    logger.error("outbox %s cannot be composed: %s", claimed.outbox_id, error.reason)
    return OutboxStatus.FAILED


def _attempt(
    claimed: _Claimed, *, settings: Settings, engine: Engine, transport: Transport
) -> OutboxStatus:
    """Send one claimed e-mail and record what happened."""
    assert claimed.raw_sha256 is not None
    raw = FileStore(settings.file_store_dir).read_bytes(claimed.raw_sha256)
    try:
        accepted = transport.send(
            raw=raw,
            envelope_sender=_envelope_sender(claimed),
            recipients=claimed.recipients,
            name=f"{claimed.outbox_id:08d}",
            before_data=lambda: _mark_transmission_started(claimed, engine=engine),
        )
    except DeliveryError as error:
        return _record_failure(claimed, error=error, settings=settings, engine=engine)
    _with_retries(lambda: _record_sent(claimed, settings=settings, engine=engine))
    logger.info("outbox %s delivered: %s", claimed.outbox_id, accepted)
    return OutboxStatus.SENT


def _envelope_sender(claimed: _Claimed) -> str:
    """Automatic replies go out with the null sender, so that no bounce answers them (RFC 3834)."""
    return "" if claimed.purpose is OutboxPurpose.ACKNOWLEDGEMENT else claimed.from_address


def _mark_transmission_started(claimed: _Claimed, *, engine: Engine) -> None:
    """Record that the data goes out now, if this attempt still holds the claim."""
    with session_scope(engine) as session:
        marked = session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == claimed.outbox_id)
            .where(col(OutboxEmail.status) == OutboxStatus.SENDING)
            .where(col(OutboxEmail.attempts) == claimed.attempts)
            .values(transmission_started_at=utc_now())
        )
        if marked.rowcount != 1:  # type: ignore[attr-defined]
            raise ClaimLostError(claimed.outbox_id)


def _record_sent(claimed: _Claimed, *, settings: Settings, engine: Engine) -> None:
    """Sent; the case acknowledged, or answered, at the server's acceptance."""
    now = utc_now()
    with session_scope(engine) as session:
        session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == claimed.outbox_id)
            .values(status=OutboxStatus.SENT, sent_at=now, last_error=None)
        )
        if claimed.case_id is None:
            return
        if claimed.purpose is OutboxPurpose.ACKNOWLEDGEMENT:
            session.execute(
                update(Case)
                .where(col(Case.id) == claimed.case_id)
                .where(col(Case.acknowledged_at).is_(None))
                .values(acknowledged_at=now)
            )
        elif claimed.purpose is OutboxPurpose.REPLY:
            # The first substantive answer is given when the server accepts it.
            session.execute(
                update(Case)
                .where(col(Case.id) == claimed.case_id)
                .where(col(Case.answered_at).is_(None))
                .values(answer_values(at=now, channel=AnswerChannel.EMAIL, settings=settings))
            )


def _record_failure(
    claimed: _Claimed, *, error: DeliveryError, settings: Settings, engine: Engine
) -> OutboxStatus:
    """Failed for good, or queued again after a backoff."""
    now = utc_now()
    too_old = now - claimed.created_at > timedelta(seconds=settings.outbox_give_up_after_seconds)
    status, reason, next_attempt_at = OutboxStatus.QUEUED, error.reason, None
    if isinstance(error, PermanentDeliveryError):
        status = OutboxStatus.FAILED
    elif too_old:
        status = OutboxStatus.FAILED
        tries = f"{claimed.attempts} essai{'s' if claimed.attempts > 1 else ''}"
        reason = f"abandon après {tries} : {error.reason}"
    else:
        delay = _backoff_seconds(claimed.attempts, settings=settings)
        next_attempt_at = now + timedelta(seconds=delay)
    with session_scope(engine) as session:
        session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == claimed.outbox_id)
            .values(
                status=status,
                last_error=reason[:MAX_ERROR_LENGTH],
                next_attempt_at=next_attempt_at,
                transmission_started_at=None,
            )
        )
    logger.warning("outbox %s not delivered (%s): %s", claimed.outbox_id, status, reason)
    return status


def _backoff_seconds(attempts: int, *, settings: Settings) -> float:
    """Exponential: base, twice the base, four times... up to the maximum."""
    base = settings.outbox_retry_base_seconds
    return float(min(base * 2 ** max(0, attempts - 1), settings.outbox_retry_max_seconds))


def _settle_stale_attempts(*, settings: Settings, engine: Engine) -> None:
    """Attempts whose worker vanished: queued again if nothing went out, else uncertain."""
    stale_before = utc_now() - timedelta(seconds=settings.outbox_stale_sending_seconds)
    with session_scope(engine) as session:
        stale = (
            col(OutboxEmail.status) == OutboxStatus.SENDING,
            col(OutboxEmail.last_attempt_at) < stale_before,
        )
        session.execute(
            update(OutboxEmail)
            .where(*stale, col(OutboxEmail.transmission_started_at).is_(None))
            .values(status=OutboxStatus.QUEUED, last_error="tentative interrompue avant l'envoi")
        )
        session.execute(
            update(OutboxEmail)
            .where(*stale, col(OutboxEmail.transmission_started_at).is_not(None))
            .values(
                status=OutboxStatus.UNCERTAIN,
                last_error=(
                    "envoi interrompu pendant la transmission : le serveur a pu recevoir le "
                    "courriel ; vérifier ses journaux avant de le renvoyer"
                ),
            )
        )


def _with_retries(action: Callable[[], None]) -> None:
    """Run a database write through a short outage: the message it records has gone out."""
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    delay = 0.5
    while True:
        try:
            action()
            return
        except OperationalError:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("database unavailable while recording a sent e-mail; retrying")
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
