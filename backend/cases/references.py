"""Case references <PREFIX>-<YEAR>-<NNNNNN>, allocated without gaps or duplicates."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from backend.database import dialect_insert, in_list_chunks
from backend.models import Case, CaseReferenceCounter

NUMBER_DIGITS = 6


@dataclass(frozen=True)
class CaseReference:
    """A parsed case reference."""

    prefix: str
    year: int
    number: int

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}-{self.number:0{NUMBER_DIGITS}d}"


def allocate_case_reference(session: Session, *, prefix: str, year: int) -> CaseReference:
    """Take the next number of the year in the caller's transaction."""
    (reference,) = allocate_case_references(session, prefix=prefix, year=year, count=1)
    return reference


def allocate_case_references(
    session: Session, *, prefix: str, year: int, count: int
) -> list[CaseReference]:
    """Take the next `count` consecutive numbers of the year in the caller's transaction.

    A single INSERT ... ON CONFLICT DO UPDATE ... RETURNING advances the counter row and
    locks it until the transaction ends, on PostgreSQL and SQLite alike: concurrent callers
    queue behind it, and a rolled-back transaction gives its numbers back, so the numbers
    that reach the database are consecutive.
    """
    if count < 1:
        raise ValueError(f"cannot allocate {count} case references")
    table = CaseReferenceCounter.__table__  # type: ignore[attr-defined]
    statement = (
        dialect_insert(session, table)
        .values(prefix=prefix, year=year, last_number=count)
        .on_conflict_do_update(
            index_elements=[table.c.prefix, table.c.year],
            set_={"last_number": table.c.last_number + count},
        )
        .returning(table.c.last_number)
    )
    last = session.execute(statement).scalar_one()
    return [
        CaseReference(prefix=prefix, year=year, number=number)
        for number in range(last - count + 1, last + 1)
    ]


def references_by_year(session: Session, *, prefix: str, years: Sequence[int]) -> list[str]:
    """A reference for each year given, consecutive within each year in the order given."""
    allocated = {
        year: iter(allocate_case_references(session, prefix=prefix, year=year, count=count))
        for year, count in sorted(Counter(years).items())
    }
    return [str(next(allocated[year])) for year in years]


def case_ids_by_reference(session: Session, *, references: Sequence[str]) -> dict[str, int]:
    """The ids of the cases bearing these references (those that exist)."""
    found: dict[str, int] = {}
    for chunk in in_list_chunks(sorted(set(references))):
        rows = session.exec(select(Case.reference, Case.id).where(col(Case.reference).in_(chunk)))
        found.update((reference, case_id) for reference, case_id in rows if case_id is not None)
    return found
