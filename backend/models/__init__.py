"""All tables, in one package so that relations never make import cycles."""

from sqlmodel import SQLModel

# Stable constraint names on PostgreSQL and SQLite, so migrations can name what they alter.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from backend.models.audit import AuditEvent  # noqa: E402
from backend.models.cases import (  # noqa: E402
    NO_SUBJECT,
    AnswerChannel,
    Case,
    CaseChannel,
    CaseKind,
    CaseReferenceCounter,
    CaseStatus,
    WaitingPeriod,
)
from backend.models.indicators import (  # noqa: E402
    CalendarDay,
    IndicatorChange,
    IndicatorMonthCache,
    IndicatorUnit,
    ManualIndicator,
    ManualIndicatorValue,
)
from backend.models.letters import (  # noqa: E402
    AppointmentSlot,
    CannedReply,
    Letter,
    LetterDelivery,
)
from backend.models.mailboxes import ImapTls, Mailbox, MailboxKind, MailboxSyncState  # noqa: E402
from backend.models.messages import Attachment, Message, MessageDirection  # noqa: E402
from backend.models.outbox import OutboxEmail, OutboxPurpose, OutboxStatus  # noqa: E402
from backend.models.users import (  # noqa: E402
    ApiToken,
    Service,
    ServiceMembership,
    User,
    UserRole,
    UserSession,
)

metadata = SQLModel.metadata

__all__ = [
    "NO_SUBJECT",
    "AnswerChannel",
    "ApiToken",
    "AppointmentSlot",
    "Attachment",
    "AuditEvent",
    "CalendarDay",
    "CannedReply",
    "Case",
    "CaseChannel",
    "CaseKind",
    "CaseReferenceCounter",
    "CaseStatus",
    "ImapTls",
    "IndicatorChange",
    "IndicatorMonthCache",
    "IndicatorUnit",
    "Letter",
    "LetterDelivery",
    "Mailbox",
    "MailboxKind",
    "MailboxSyncState",
    "ManualIndicator",
    "ManualIndicatorValue",
    "Message",
    "MessageDirection",
    "OutboxEmail",
    "OutboxPurpose",
    "OutboxStatus",
    "Service",
    "ServiceMembership",
    "User",
    "UserRole",
    "UserSession",
    "WaitingPeriod",
    "metadata",
]
