"""Celery task: send a standard letter in the background, queued after the caller's commit."""

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import date

from celery import shared_task
from pydantic import JsonValue
from sqlmodel import Session, col, select

from backend.cases.service import CaseInputError, CaseNotFoundError, load_case
from backend.cases.workflow import TransitionNotAllowedError
from backend.config import Settings, get_settings
from backend.database import session_scope
from backend.letters.rendering import TemplateRenderError
from backend.letters.service import send_letter
from backend.letters.templates import (
    LetterChannel,
    LetterTemplateError,
    agent_values,
    letter_template,
)
from backend.models import Letter, User
from backend.users.access import Viewer
from workers.enqueue import enqueue_after_commit

logger = logging.getLogger(__name__)

SEND_LETTER_TASK = "qualipref.send_letter"
# What running the task again cannot change: the template, its values, the case, the agent.
# Logged with their French message and not retried; anything else (the database down, no PDF
# library) fails the task as usual.
PERMANENT_ERRORS = (
    LetterTemplateError,
    TemplateRenderError,
    TransitionNotAllowedError,
    CaseNotFoundError,
    CaseInputError,
)


def enqueue_letters(
    session: Session,
    *,
    case_ids: Sequence[int],
    template_name: str,
    values: Mapping[str, JsonValue],
    channel: LetterChannel,
    actor_id: int,
    settings: Settings,
    posted_on: date | None = None,
) -> None:
    """Queue the letter for each case, sent by a worker once this session commits."""
    # The template and the agent's values are checked now, so the caller gets the error.
    agent_values(letter_template(settings, template_name), values)
    for case_id in case_ids:
        # Each queued letter has its own id: a redelivered task finds its letter already there.
        enqueue_after_commit(
            session,
            task_name=SEND_LETTER_TASK,
            kwargs={
                "case_id": case_id,
                "template_name": template_name,
                "values": dict(values),
                "channel": channel.value,
                "actor_id": actor_id,
                "posted_on": posted_on.isoformat() if posted_on else None,
                "request_id": uuid.uuid4().hex,
            },
        )


@shared_task(name=SEND_LETTER_TASK)
def send_letter_task(
    *,
    case_id: int,
    template_name: str,
    values: dict[str, object],
    channel: str,
    actor_id: int,
    posted_on: str | None = None,
    request_id: str | None = None,
) -> dict[str, int | str]:
    """Render, record and send (or post) one letter; a permanent error is logged, not raised."""
    try:
        with session_scope() as session:
            case = load_case(session, case_id=case_id, viewer=Viewer.system())
            # Two letters on one case in two workers: the second waits here for the first's
            # commit and applies its effect to the status the first left.
            session.refresh(case, with_for_update=True)
            # Redelivered after its commit (the worker killed before the acknowledgement): the
            # letter exists, and is neither recorded nor sent again. The case lock above
            # orders this check after a concurrent delivery's commit.
            done = _letter_of_request(session, request_id=request_id)
            if done is not None:
                return {"letter_id": done}
            actor = session.get(User, actor_id)
            if actor is None:
                raise CaseInputError(f"Aucun agent n° {actor_id}.")
            letter = send_letter(
                session,
                case=case,
                template_name=template_name,
                values=values,
                channel=LetterChannel(channel),
                actor=actor,
                settings=get_settings(),
                posted_on=date.fromisoformat(posted_on) if posted_on else None,
                request_id=request_id,
            )
            assert letter.id is not None
            return {"letter_id": letter.id}
    except PERMANENT_ERRORS as error:
        logger.error("letter %s on case %s not sent: %s", template_name, case_id, error)
        return {"error": str(error)}


def _letter_of_request(session: Session, *, request_id: str | None) -> int | None:
    """The letter a request already made, if any."""
    if request_id is None:
        return None
    return session.exec(select(Letter.id).where(col(Letter.request_id) == request_id)).first()
