"""French date and time formatting for the templates, as the administration writes them."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

DEFAULT_TIMEZONE = "Europe/Paris"
LOCALE = "fr_FR"


def date_fr(value: date, *, tz: str = DEFAULT_TIMEZONE) -> str:
    """'25 novembre 2026', '1er décembre 2026'; an aware datetime is first put in the time zone."""
    if not isinstance(value, date):
        raise TypeError(f"date_fr attend une date, pas « {type(value).__name__} »")
    day = _local(value, tz=tz).date() if isinstance(value, datetime) else value
    pattern = "d'er' MMMM y" if day.day == 1 else "d MMMM y"
    return format_date(day, format=pattern, locale=LOCALE)


def time_fr(value: datetime | time, *, tz: str = DEFAULT_TIMEZONE) -> str:
    """'14 h 05'; an aware datetime is first put in the time zone."""
    if not isinstance(value, datetime | time):
        raise TypeError(f"time_fr attend une heure, pas « {type(value).__name__} »")
    moment = _local(value, tz=tz).time() if isinstance(value, datetime) else value
    return format_time(moment, format="H 'h' mm", locale=LOCALE)


def datetime_fr(value: datetime, *, tz: str = DEFAULT_TIMEZONE) -> str:
    """'25 novembre 2026 à 14 h 05', in the time zone."""
    return f"{date_fr(value, tz=tz)} à {time_fr(value, tz=tz)}"


def _local(value: datetime, *, tz: str) -> datetime:
    """The aware datetime in the time zone; a naive one is refused (its zone is unknown)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"date et heure sans fuseau horaire : {value.isoformat()}")
    return value.astimezone(ZoneInfo(tz))
