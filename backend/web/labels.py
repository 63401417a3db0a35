"""The French words the pages show for the enumerations' values."""

from backend.cases.workflow import STATUS_LABELS
from backend.models import AnswerChannel, CaseChannel, CaseKind, CaseStatus, UserRole

KIND_LABELS = {
    CaseKind.INFORMATION_REQUEST: "Demande d'information",
    CaseKind.COMPLAINT: "Réclamation",
    CaseKind.SUGGESTION: "Suggestion",
    CaseKind.RESIDENCE: "Séjour des étrangers",
    CaseKind.OTHER: "Autre",
}
CHANNEL_LABELS = {
    CaseChannel.EMAIL: "Courriel",
    CaseChannel.PAPER: "Courrier",
    CaseChannel.SUGGESTION_BOX: "Boîte à suggestions",
}
ANSWER_CHANNEL_LABELS = {
    AnswerChannel.EMAIL: "Courriel",
    AnswerChannel.LETTER: "Courrier",
    AnswerChannel.PHONE: "Téléphone",
    AnswerChannel.POST: "Voie postale",
    AnswerChannel.IN_PERSON: "Accueil physique",
}
ROLE_LABELS = {
    UserRole.AGENT: "Agent",
    UserRole.SERVICE_HEAD: "Chef de service",
    UserRole.QUALITY_MANAGER: "Responsable qualité",
    UserRole.ADMIN: "Administrateur",
}


def status_label(status: CaseStatus) -> str:
    """The status as a badge shows it: "En attente du demandeur"."""
    label = STATUS_LABELS[CaseStatus(status)]
    return label[:1].upper() + label[1:]
