"""Delays in working days as DOMAIN.md defines them: holidays, Alsace-Moselle, due dates."""

import random
from datetime import date, timedelta

import pytest

from backend.calendar.working_days import DelayUnit, WorkingCalendar, days_left
from backend.config import PrefectureIdentity, Settings

METROPOLITAN = WorkingCalendar()
MOSELLE = WorkingCalendar(subdivision="57")
CALENDAR_DAYS = WorkingCalendar(unit=DelayUnit.CALENDAR_DAYS)


def test_an_answer_the_same_day_takes_no_day() -> None:
    assert METROPOLITAN.delay(received=date(2026, 3, 10), answered=date(2026, 3, 10)) == 0


def test_received_friday_answered_monday_takes_one_day() -> None:
    assert METROPOLITAN.delay(received=date(2026, 3, 6), answered=date(2026, 3, 9)) == 1


def test_received_saturday_answered_monday_takes_no_day() -> None:
    assert METROPOLITAN.delay(received=date(2026, 3, 7), answered=date(2026, 3, 9)) == 0


def test_received_on_14_july_answered_the_next_monday_takes_no_day() -> None:
    assert METROPOLITAN.delay(received=date(2023, 7, 14), answered=date(2023, 7, 17)) == 0


def test_an_answer_before_the_first_working_day_is_never_negative() -> None:
    assert METROPOLITAN.delay(received=date(2026, 3, 7), answered=date(2026, 3, 7)) == 0
    assert METROPOLITAN.delay(received=date(2026, 3, 7), answered=date(2026, 3, 8)) == 0


def test_a_week_of_work_is_five_days() -> None:
    assert METROPOLITAN.delay(received=date(2026, 3, 2), answered=date(2026, 3, 9)) == 5


def test_easter_monday_2026_is_not_worked() -> None:
    assert not METROPOLITAN.is_working_day(date(2026, 4, 6))


def test_ascension_2026_is_not_worked() -> None:
    assert not METROPOLITAN.is_working_day(date(2026, 5, 14))


def test_whit_monday_is_a_public_holiday() -> None:
    # holidays.France lists lundi de Pentecôte as a public holiday; the journée de solidarité
    # may have it worked in some administrations, but delays follow the holidays package.
    assert not METROPOLITAN.is_working_day(date(2026, 5, 25))


def test_good_friday_is_a_holiday_in_moselle_only() -> None:
    good_friday = date(2026, 4, 3)

    assert not MOSELLE.is_working_day(good_friday)
    assert METROPOLITAN.is_working_day(good_friday)


def test_26_december_is_a_holiday_in_moselle_only() -> None:
    saint_stephen = date(2025, 12, 26)  # a Friday

    assert not MOSELLE.is_working_day(saint_stephen)
    assert METROPOLITAN.is_working_day(saint_stephen)


def test_alsace_departments_are_the_alsace_subdivision() -> None:
    assert WorkingCalendar(subdivision="67") == WorkingCalendar(subdivision="6AE")
    assert not WorkingCalendar(subdivision="68").is_working_day(date(2026, 4, 3))


def test_a_weekend_or_holiday_receipt_starts_on_the_next_working_day() -> None:
    assert METROPOLITAN.first_working_day_on_or_after(date(2026, 4, 4)) == date(2026, 4, 7)
    assert METROPOLITAN.first_working_day_on_or_after(date(2026, 4, 7)) == date(2026, 4, 7)


def test_an_email_received_friday_is_due_the_next_friday() -> None:
    assert METROPOLITAN.due_date(received=date(2026, 11, 20), target_days=5) == date(2026, 11, 27)


def test_an_email_received_saturday_is_due_like_one_received_monday() -> None:
    # Received Saturday 21 November 2026: the delay starts on Monday 23 (an answer that Monday
    # takes 0 days), so the fifth working day after the start is Monday 30, not Friday 27.
    received_saturday = date(2026, 11, 21)

    assert METROPOLITAN.due_date(received=received_saturday, target_days=5) == date(2026, 11, 30)
    assert METROPOLITAN.delay(received=received_saturday, answered=date(2026, 11, 27)) == 4


def test_an_answer_on_the_due_date_is_within_target() -> None:
    received = date(2026, 11, 20)
    due = METROPOLITAN.due_date(received=received, target_days=5)

    assert METROPOLITAN.delay(received=received, answered=due) == 5
    assert METROPOLITAN.delay(received=received, answered=due + timedelta(days=3)) == 6


def test_a_ten_day_target_skips_christmas_and_new_year() -> None:
    # 25 December 2026 and 1 January 2027 are Fridays.
    assert METROPOLITAN.due_date(received=date(2026, 12, 18), target_days=10) == date(2027, 1, 5)


def test_a_zero_day_target_is_due_on_the_first_working_day() -> None:
    assert METROPOLITAN.due_date(received=date(2026, 11, 21), target_days=0) == date(2026, 11, 23)


def test_calendar_days_count_weekends_and_holidays() -> None:
    assert CALENDAR_DAYS.delay(received=date(2023, 7, 14), answered=date(2023, 7, 17)) == 3
    assert CALENDAR_DAYS.due_date(received=date(2026, 11, 21), target_days=5) == date(2026, 11, 26)
    assert CALENDAR_DAYS.is_working_day(date(2026, 12, 25))


def test_calendar_days_are_never_negative() -> None:
    assert CALENDAR_DAYS.delay(received=date(2026, 3, 10), answered=date(2026, 3, 9)) == 0


def test_days_left_before_the_due_date() -> None:
    assert days_left(today=date(2026, 11, 23), due=date(2026, 11, 27), calendar=METROPOLITAN) == 4


def test_days_left_on_the_due_date_is_zero() -> None:
    assert days_left(today=date(2026, 11, 27), due=date(2026, 11, 27), calendar=METROPOLITAN) == 0


def test_days_left_after_the_due_date_counts_working_days_late() -> None:
    assert days_left(today=date(2026, 12, 1), due=date(2026, 11, 27), calendar=METROPOLITAN) == -2


def test_the_weekend_after_the_due_date_is_not_late_yet() -> None:
    assert days_left(today=date(2026, 11, 28), due=date(2026, 11, 27), calendar=METROPOLITAN) == 0


def test_an_unknown_subdivision_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown holiday subdivision '99'.*57.*6AE.*971"):
        WorkingCalendar(subdivision="99")


def test_negative_targets_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        METROPOLITAN.due_date(received=date(2026, 11, 20), target_days=-1)


def test_the_calendar_follows_the_settings() -> None:
    settings = Settings(
        delay_unit=DelayUnit.CALENDAR_DAYS, prefecture=PrefectureIdentity(holiday_subdivision="57")
    )

    assert WorkingCalendar.from_settings(settings) == WorkingCalendar(
        unit=DelayUnit.CALENDAR_DAYS, subdivision="57"
    )


def test_working_days_are_the_default_unit() -> None:
    assert Settings().delay_unit is DelayUnit.WORKING_DAYS


def _naive_count(calendar: WorkingCalendar, *, start: date, end: date) -> int:
    """Working days in (start, end], one day at a time."""
    return sum(
        calendar.is_working_day(start + timedelta(days=offset))
        for offset in range(1, (end - start).days + 1)
    )


@pytest.mark.parametrize("calendar", [METROPOLITAN, MOSELLE], ids=["metropolitan", "57"])
def test_the_fast_count_equals_the_day_by_day_count(calendar: WorkingCalendar) -> None:
    rng = random.Random(20260406)
    first, last = date(2019, 1, 1).toordinal(), date(2030, 12, 31).toordinal()
    for _ in range(200):
        start = date.fromordinal(rng.randint(first, last))
        end = date.fromordinal(rng.randint(start.toordinal() - 10, last))

        assert calendar.working_days_between(start=start, end=end) == _naive_count(
            calendar, start=start, end=end
        ), (start, end)


@pytest.mark.parametrize("calendar", [METROPOLITAN, MOSELLE], ids=["metropolitan", "57"])
def test_adding_working_days_inverts_the_count(calendar: WorkingCalendar) -> None:
    rng = random.Random(1905)
    for _ in range(200):
        day = date(2019, 1, 1) + timedelta(days=rng.randint(0, 4000))
        count = rng.randint(0, 60)

        assert (
            calendar.working_days_between(
                start=day, end=calendar.add_working_days(day=day, count=count)
            )
            == count
        )
