"""The lifecycle of a case in one place: which operation is allowed from which status, and where
it leads.

new → assigned → in progress → (waiting for the citizen) → answered → closed; a closed case
reopens when the citizen writes again or an agent reopens it.
"""

from enum import StrEnum

from backend.models import CaseStatus

# Cases still owed an answer: the ones that can be late.
AWAITING_ANSWER = frozenset(
    {CaseStatus.NEW, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.WAITING_CITIZEN}
)
OPEN_STATUSES = AWAITING_ANSWER | {CaseStatus.ANSWERED}
STATUS_LABELS = {
    CaseStatus.NEW: "nouveau",
    CaseStatus.ASSIGNED: "attribué",
    CaseStatus.IN_PROGRESS: "en cours",
    CaseStatus.WAITING_CITIZEN: "en attente du demandeur",
    CaseStatus.ANSWERED: "répondu",
    CaseStatus.CLOSED: "clos",
}


class Operation(StrEnum):
    """What an agent does to a case."""

    CLASSIFY = "classify"
    ASSIGN = "assign"
    SET_STATUS = "set_status"
    HOLDING_REPLY = "holding_reply"
    REPLY = "reply"
    ANSWERED_ELSEWHERE = "answered_elsewhere"
    REQUEST_DOCUMENTS = "request_documents"
    DOCUMENTS_RECEIVED = "documents_received"
    CLOSE = "close"
    REOPEN = "reopen"
    MERGE = "merge"
    NOTE = "note"


OPERATION_LABELS = {
    Operation.CLASSIFY: "classer",
    Operation.ASSIGN: "attribuer",
    Operation.SET_STATUS: "changer le statut",
    Operation.HOLDING_REPLY: "enregistrer une réponse d'attente",
    Operation.REPLY: "répondre",
    Operation.ANSWERED_ELSEWHERE: "enregistrer une réponse par un autre canal",
    Operation.REQUEST_DOCUMENTS: "demander des pièces",
    Operation.DOCUMENTS_RECEIVED: "enregistrer la réception des pièces",
    Operation.CLOSE: "clore",
    Operation.REOPEN: "rouvrir",
    Operation.MERGE: "fusionner",
    Operation.NOTE: "ajouter une note",
}
# From which statuses each operation may start.
ALLOWED_FROM: dict[Operation, frozenset[CaseStatus]] = {
    Operation.CLASSIFY: OPEN_STATUSES,
    Operation.ASSIGN: OPEN_STATUSES,
    Operation.SET_STATUS: frozenset(CaseStatus),
    Operation.HOLDING_REPLY: AWAITING_ANSWER,
    Operation.REPLY: OPEN_STATUSES,
    Operation.ANSWERED_ELSEWHERE: OPEN_STATUSES,
    Operation.REQUEST_DOCUMENTS: AWAITING_ANSWER - {CaseStatus.WAITING_CITIZEN},
    Operation.DOCUMENTS_RECEIVED: frozenset({CaseStatus.WAITING_CITIZEN}),
    Operation.CLOSE: OPEN_STATUSES,
    Operation.REOPEN: frozenset({CaseStatus.CLOSED, CaseStatus.ANSWERED}),
    Operation.MERGE: OPEN_STATUSES,
    Operation.NOTE: frozenset(CaseStatus),
}
# The status changes an agent may make directly; the others come with their operation
# (a reply answers, a request for documents waits, closing closes).
DIRECT_STATUS_CHANGES: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.IN_PROGRESS}),
    CaseStatus.ASSIGNED: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.NEW}),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.ASSIGNED}),
    CaseStatus.WAITING_CITIZEN: frozenset(),
    CaseStatus.ANSWERED: frozenset({CaseStatus.IN_PROGRESS}),
    CaseStatus.CLOSED: frozenset(),
}


class TransitionNotAllowedError(Exception):
    """The operation is not allowed from the case's status; the message says what is."""

    def __init__(self, message: str, *, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed


def check_operation(operation: Operation, *, status: CaseStatus) -> None:
    """Refuse an operation the case's status does not allow, saying what it allows."""
    if status in ALLOWED_FROM[operation]:
        return
    allowed = allowed_operations(status)
    raise TransitionNotAllowedError(
        f"Impossible {_de(OPERATION_LABELS[operation])} un dossier « {STATUS_LABELS[status]} ». "
        f"Opérations possibles : {', '.join(OPERATION_LABELS[o] for o in allowed) or 'aucune'}.",
        allowed=[operation.value for operation in allowed],
    )


def _de(infinitive: str) -> str:
    """The infinitive after "de", elided before a vowel: « d'attribuer », « de clore »."""
    return f"d'{infinitive}" if infinitive[0] in "aeiouéèh" else f"de {infinitive}"


def check_status_change(*, current: CaseStatus, target: CaseStatus) -> None:
    """Refuse a direct status change the lifecycle does not allow."""
    allowed = DIRECT_STATUS_CHANGES[current]
    if target in allowed:
        return
    names = sorted(status.value for status in allowed)
    labels = ", ".join(STATUS_LABELS[CaseStatus(name)] for name in names) or "aucun"
    raise TransitionNotAllowedError(
        f"Un dossier « {STATUS_LABELS[current]} » ne peut pas passer directement au statut "
        f"« {STATUS_LABELS[target]} ». Statuts possibles : {labels}.",
        allowed=names,
    )


def allowed_operations(status: CaseStatus) -> list[Operation]:
    """The operations a case in this status allows, in a stable order."""
    return [operation for operation in Operation if status in ALLOWED_FROM[operation]]


def status_after_assignment(*, current: CaseStatus, has_agent: bool) -> CaseStatus:
    """A new case given to an agent is assigned; otherwise the status stays."""
    return CaseStatus.ASSIGNED if current is CaseStatus.NEW and has_agent else current


def status_after_reopening(*, has_agent: bool) -> CaseStatus:
    """Back to work: in progress with its agent, new without one."""
    return CaseStatus.IN_PROGRESS if has_agent else CaseStatus.NEW
