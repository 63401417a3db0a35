"""The outbox's states and purposes in French, as the command line and the web pages say them."""

from backend.models.outbox import OutboxPurpose, OutboxStatus

OUTBOX_STATUS_LABELS = {
    OutboxStatus.QUEUED: "en attente",
    OutboxStatus.SENDING: "en cours d'envoi",
    OutboxStatus.SENT: "envoyé",
    OutboxStatus.FAILED: "en échec",
    OutboxStatus.UNCERTAIN: "incertain",
}
OUTBOX_PURPOSE_LABELS = {
    OutboxPurpose.ACKNOWLEDGEMENT: "Accusé de réception",
    OutboxPurpose.REPLY: "Réponse",
    OutboxPurpose.LETTER: "Courrier type",
    OutboxPurpose.ALERT: "Alerte aux services",
}
