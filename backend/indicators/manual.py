"""The quality manager's manual indicators: define them, enter their monthly values."""

from decimal import Decimal

from sqlmodel import Session, col, select

from backend.indicators.periods import parse_month
from backend.models import ManualIndicator, User
from backend.models.indicators import ManualIndicatorValue
from backend.models.types import utc_now


class ManualIndicatorError(ValueError):
    """A manual indicator request that cannot be done; the message says why, in French."""


class ManualIndicatorNotFoundError(LookupError):
    """No manual indicator has that number."""


def list_indicators(session: Session) -> list[ManualIndicator]:
    """Every manual indicator, in the table's order."""
    statement = select(ManualIndicator).order_by(
        col(ManualIndicator.position), col(ManualIndicator.label)
    )
    return list(session.exec(statement).all())


def get_indicator(session: Session, *, indicator_id: int) -> ManualIndicator:
    """The indicator, or ManualIndicatorNotFoundError."""
    indicator = session.get(ManualIndicator, indicator_id)
    if indicator is None:
        raise ManualIndicatorNotFoundError(f"Aucun indicateur manuel n° {indicator_id}.")
    return indicator


def save_indicator(session: Session, *, indicator: ManualIndicator) -> ManualIndicator:
    """Add or change an indicator; two indicators never share a label."""
    clash = session.exec(
        select(ManualIndicator.id)
        .where(col(ManualIndicator.label) == indicator.label)
        .where(col(ManualIndicator.id) != indicator.id)
    ).first()
    if clash is not None:
        raise ManualIndicatorError(f"Un indicateur « {indicator.label} » existe déjà.")
    session.add(indicator)
    session.flush()
    return indicator


def set_value(
    session: Session,
    *,
    indicator: ManualIndicator,
    month: str,
    value: Decimal,
    comment: str | None,
    actor: User,
) -> ManualIndicatorValue:
    """Enter (or correct) the indicator's value for a month."""
    assert indicator.id is not None
    month_key = _month_key(month)
    row = _value_row(session, indicator=indicator, month=month_key) or ManualIndicatorValue(
        indicator_id=indicator.id, month=month_key, value=value
    )
    row.value, row.comment = value, comment
    row.entered_by_id, row.entered_at = actor.id, utc_now()
    session.add(row)
    session.flush()
    return row


def delete_value(session: Session, *, indicator: ManualIndicator, month: str) -> None:
    """Remove the value of a month: the table shows '–' again."""
    row = _value_row(session, indicator=indicator, month=_month_key(month))
    if row is not None:
        session.delete(row)
        session.flush()


def _value_row(
    session: Session, *, indicator: ManualIndicator, month: str
) -> ManualIndicatorValue | None:
    return session.exec(
        select(ManualIndicatorValue)
        .where(col(ManualIndicatorValue.indicator_id) == indicator.id)
        .where(col(ManualIndicatorValue.month) == month)
    ).first()


def _month_key(month: str) -> str:
    return parse_month(month).key
