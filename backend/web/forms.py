"""Reading what a page's form or query string sends: ids, choices, days, whole numbers."""

from datetime import date
from enum import StrEnum
from typing import TypeVar

from pydantic import EmailStr, TypeAdapter, ValidationError

EnumT = TypeVar("EnumT", bound=StrEnum)
# The largest id a row can have (the id columns are 32-bit integers).
MAX_ROW_ID = 2**31 - 1
INVALID_EMAIL = "Adresse électronique invalide : elle doit ressembler à nom@domaine.fr."
_EMAIL = TypeAdapter(EmailStr)


class FormError(ValueError):
    """A field of the form is missing or invalid; the message says which and why."""


def row_id(value: str | None) -> int | None:
    """A row id from a URL or a form, none if it is not one."""
    if not value or not value.isascii() or not value.isdecimal():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ROW_ID else None


def optional_id(value: str | None, *, what: str) -> int | None:
    """An id from a select, none for the empty option; FormError for anything else."""
    if not value:
        return None
    number = row_id(value)
    if number is None:
        raise FormError(f"{what} inconnu.")
    return number


def enum_member(enum: type[EnumT], value: str | None) -> EnumT | None:
    """The enumeration member of a value, none if it is not one."""
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def required_choice(enum: type[EnumT], value: str | None, *, missing: str) -> EnumT:
    """The enumeration member a select sent, or FormError with the message `missing`."""
    member = enum_member(enum, value)
    if member is None:
        raise FormError(missing)
    return member


def optional_day(value: str | None) -> date | None:
    """A day (AAAA-MM-JJ, as date inputs send it), none if it is not one."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def required_day(value: str | None, *, what: str) -> date:
    """A day (AAAA-MM-JJ, as date inputs send it), or FormError naming the field."""
    day = optional_day((value or "").strip())
    if day is None:
        raise FormError(f"{what} : saisissez une date au format JJ/MM/AAAA.")
    return day


def whole_number(value: str | None, *, what: str, low: int, high: int) -> int:
    """A whole number from low to high, or FormError naming the field."""
    refusal = FormError(f"{what} : saisissez un nombre entier de {low} à {high}.")
    try:
        number = int((value or "").strip())
    except ValueError as error:
        raise refusal from error
    if not low <= number <= high:
        raise refusal
    return number


def email_address(value: str) -> str | None:
    """The e-mail address, as the API's models check one; None if it is not one."""
    try:
        return str(_EMAIL.validate_python(value))
    except ValidationError:
        return None
