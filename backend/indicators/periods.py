"""Periods of whole months, as the quality table reports them."""

import re
from collections.abc import Iterator
from datetime import date, timedelta

from babel.dates import format_date

from backend.indicators.queries import Dimension, Month
from backend.validation import FIRST_DAY, LAST_DAY

_MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
# A 12-month table is the usual request; five years is plenty and keeps a request bounded.
MAX_MONTHS = 60
# The years a period may name: those of the days a request may give (year 9999 was a 500).
FIRST_YEAR, LAST_YEAR = FIRST_DAY.year, LAST_DAY.year


class PeriodError(ValueError):
    """A period or grouping that cannot be reported: the message says why, in French."""


def parse_month(text: str) -> Month:
    """'2026-03' as a Month; anything else is refused with a French message."""
    match = _MONTH_PATTERN.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise PeriodError(f"Mois invalide « {text} » : attendu AAAA-MM, par exemple 2026-03.")
    if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise PeriodError(
            f"Mois hors limites « {text} » : de {FIRST_YEAR}-01 à {LAST_YEAR}-12 seulement."
        )
    return month_of(date(int(match.group(1)), int(match.group(2)), 1))


def month_of(day: date) -> Month:
    """The month a day falls in."""
    first_day = day.replace(day=1)
    next_month = (first_day + timedelta(days=31)).replace(day=1)
    return Month(
        key=f"{first_day:%Y-%m}", first_day=first_day, last_day=next_month - timedelta(days=1)
    )


def months_between(first: Month, last: Month) -> list[Month]:
    """Every month from first to last, both included."""
    if last.first_day < first.first_day:
        raise PeriodError(f"La période se termine ({last.key}) avant de commencer ({first.key}).")
    months = list(_months_from(first, last))
    if len(months) > MAX_MONTHS:
        raise PeriodError(
            f"La période compte {len(months)} mois ; {MAX_MONTHS} au plus par demande."
        )
    return months


def month_label(month: Month) -> str:
    """'Janvier 2026', as the table's column headers read."""
    return format_date(month.first_day, format="MMMM y", locale="fr_FR").capitalize()


def _months_from(first: Month, last: Month) -> Iterator[Month]:
    month = first
    while month.first_day <= last.first_day:
        yield month
        month = month_of(month.last_day + timedelta(days=1))


def requested_months(*, first: str | None, last: str | None, today: date) -> list[Month]:
    """The months asked for; by default the twelve months up to the current one."""
    last_month = parse_month(last) if last else month_of(today)
    if first:
        return months_between(parse_month(first), last_month)
    eleven_before = last_month.first_day.year * 12 + last_month.first_day.month - 1 - 11
    first_month = month_of(date(eleven_before // 12, eleven_before % 12 + 1, 1))
    return months_between(first_month, last_month)


def parse_dimensions(text: str | None) -> tuple[Dimension, ...]:
    """'channel,kind' as dimensions; an unknown one is refused with the valid ones."""
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    valid = ", ".join(dimension.value for dimension in Dimension)
    dimensions: list[Dimension] = []
    for name in names:
        try:
            dimension = Dimension(name)
        except ValueError:
            raise PeriodError(
                f"Regroupement inconnu « {name} » : valeurs possibles {valid}."
            ) from None
        if dimension not in dimensions:
            dimensions.append(dimension)
    return tuple(dimensions)
