"""French dates, times and numbers, as the administration writes them."""

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

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


def decimal_fr(value: Decimal | int, *, places: int) -> str:
    """'1,5', '87,50', '1 234': rounded half up, as a person rounds, with a decimal comma."""
    exponent = Decimal(1).scaleb(-places)
    rounded = Decimal(value).quantize(exponent, rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(rounded, format=pattern, locale=LOCALE, decimal_quantization=False)
