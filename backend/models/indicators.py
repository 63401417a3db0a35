"""The delay calendar the indicators count with, and the quality manager's manual indicators."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.fields import (
    enum_field,
    foreign_key,
    json_field,
    text_field,
    timestamp_field,
)


class CalendarDay(SQLModel, table=True):
    """One day of one delay calendar, numbered so that a delay is a difference of two numbers."""

    __tablename__ = "calendar_days"

    # Which calendar: the delay unit and holiday subdivision, e.g. "working_days/57".
    calendar: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    month: str = Field(max_length=7)  # "2026-03": the indicators group by it on every database
    month_last_day: date
    is_working_day: bool
    # Working days after 1 January 2000 up to and including this day (negative before): any
    # range of days can be added later without renumbering the others.
    working_days_through: int
    # working_days_through of the first working day on or after this one: where a delay starts.
    start_number: int


class IndicatorChange(SQLModel, table=True):
    """A change to a case or a wait that may alter the figures of its day's month and after.

    Written by database triggers on cases and waiting_periods (see the migration), so that no
    write path can forget it; read and deleted by the indicators' cache, which drops the months
    it touches.
    """

    __tablename__ = "indicator_changes"

    id: int | None = Field(default=None, primary_key=True)
    # The earliest day among the old and new values: no month before it is affected.
    from_day: date = Field(index=True)


class IndicatorMonthCache(SQLModel, table=True):
    """The aggregate rows of one month that is over, for one way of counting and grouping."""

    __tablename__ = "indicator_month_cache"
    # Ids never reused on SQLite either: a month kept again is told apart by its new id.
    __table_args__ = (sa.UniqueConstraint("scope_key", "month"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    # The calendar, the counting rules and the grouping the rows were computed with.
    scope_key: str = Field(max_length=200)
    month: str = Field(max_length=7)
    month_last_day: date = Field(index=True)
    rows: dict[str, Any] = json_field()
    computed_at: datetime = timestamp_field(now=True)


class IndicatorUnit(StrEnum):
    """How a manual indicator's values read: a rate, a number of days or a count."""

    PERCENT = "percent"
    DAYS = "days"
    COUNT = "count"


class ManualIndicator(SQLModel, table=True):
    """An indicator of the quality table that no mailbox measures; its values are entered."""

    __tablename__ = "manual_indicators"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=200, unique=True)
    periodicity: str = Field(default="Indicateur mensuel", max_length=200)
    target: str = Field(default="", max_length=100)  # as published: "90,00 %", "60 j maxi"
    unit: IndicatorUnit = enum_field(IndicatorUnit, default=IndicatorUnit.PERCENT)
    # Rows of the table are ordered by position; the measured indicators sit at 500 to 530.
    position: int = 100
    active: bool = True
    created_at: datetime = timestamp_field(now=True)


class ManualIndicatorValue(SQLModel, table=True):
    """The value of a manual indicator for one month."""

    __tablename__ = "manual_indicator_values"
    __table_args__ = (sa.UniqueConstraint("indicator_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = foreign_key("manual_indicators.id", nullable=False, index=False)
    month: str = Field(max_length=7)
    value: Decimal = Field(sa_type=sa.Numeric(14, 4))
    comment: str | None = text_field()
    entered_by_id: int | None = foreign_key("users.id")
    entered_at: datetime = timestamp_field(now=True)
