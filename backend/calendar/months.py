"""Calendar months: the same day some months later or earlier."""

import calendar
from datetime import date


def months_after(day: date, count: int) -> date:
    """The same day count months later (earlier if negative); the month's last day when it has
    no such day."""
    month_index = day.month - 1 + count
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
