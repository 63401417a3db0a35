"""Column types shared by the tables: UTC timestamps and string-stored enums."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

ENUM_LENGTH = 32


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored in UTC on every database (SQLite has no zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone")
        value = value.astimezone(UTC)
        # SQLite stores text: naive UTC keeps lexical order equal to time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_class: type[StrEnum]) -> sa.Enum:
    """A VARCHAR holding the enum's values: no native enum type, so values can be added freely."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=ENUM_LENGTH,
        values_callable=_enum_values,
        validate_strings=True,
    )


def _enum_values(enum_class: Any) -> list[str]:
    return [member.value for member in enum_class]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)
