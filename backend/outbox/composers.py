"""Which domain composes the outbox e-mails of each purpose that are composed at delivery."""

from backend.acknowledgements.composition import compose_acknowledgement
from backend.models import OutboxPurpose
from backend.outbox.composition import Composer

COMPOSERS: dict[OutboxPurpose, Composer] = {
    OutboxPurpose.ACKNOWLEDGEMENT: compose_acknowledgement,
}
