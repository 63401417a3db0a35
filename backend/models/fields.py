"""Field shorthands for the tables, so each column's storage is decided in one place."""

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from backend.models.types import UTCDateTime, enum_type, utc_now


def timestamp_field(*, nullable: bool = True, index: bool = False, now: bool = False) -> Any:
    """A UTC timestamp column; `now` fills it with the time of creation."""
    if now:
        return Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False, index=index)
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def enum_field(enum_class: type[StrEnum], *, default: Any = None, index: bool = False) -> Any:
    """An enum column stored as its string value."""
    return Field(
        default=default,
        sa_type=enum_type(enum_class),
        nullable=default is None,
        index=index,
    )


def text_field(*, nullable: bool = True) -> Any:
    """An unbounded text column (bodies, addresses, error messages)."""
    return Field(default=None if nullable else "", sa_type=sa.Text, nullable=nullable)


def json_field(*, default_factory: Any = dict) -> Any:
    """A JSON column (lists of addresses, header lists, template variables)."""
    return Field(default_factory=default_factory, sa_type=sa.JSON, nullable=False)


def foreign_key(target: str, *, nullable: bool = True, index: bool = True) -> Any:
    """An integer reference to another table's id."""
    return Field(default=None, foreign_key=target, nullable=nullable, index=index)


def big_integer_field(*, nullable: bool = True, default: int | None = None) -> Any:
    """A 64-bit integer (IMAP UIDs and UIDVALIDITY are unsigned 32-bit)."""
    return Field(default=default, sa_type=sa.BigInteger, nullable=nullable)
