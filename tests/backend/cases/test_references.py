"""Case references: the format agents write on envelopes, and no duplicate under load."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from backend.cases.references import (
    CaseReference,
    allocate_case_reference,
    allocate_case_references,
)
from backend.database import session_scope


def _unique_prefix() -> str:
    return f"T{uuid.uuid4().hex[:8].upper()}"


def test_reference_reads_prefix_year_and_six_digit_number() -> None:
    assert str(CaseReference(prefix="GERS", year=2026, number=123)) == "GERS-2026-000123"


def test_numbers_follow_each_other_and_restart_each_year(session: Session) -> None:
    prefix = _unique_prefix()

    numbers = [allocate_case_reference(session, prefix=prefix, year=2026).number for _ in range(3)]
    next_year = allocate_case_reference(session, prefix=prefix, year=2027)

    assert numbers == [1, 2, 3]
    assert str(next_year) == f"{prefix}-2027-000001"


def test_a_block_of_numbers_continues_the_sequence(session: Session) -> None:
    prefix = _unique_prefix()
    allocate_case_reference(session, prefix=prefix, year=2026)

    block = allocate_case_references(session, prefix=prefix, year=2026, count=3)
    after = allocate_case_reference(session, prefix=prefix, year=2026)

    assert [reference.number for reference in block] == [2, 3, 4]
    assert after.number == 5


def test_rolled_back_allocation_gives_its_number_back(engine: Engine) -> None:
    prefix = _unique_prefix()
    with session_scope(engine) as session:
        allocate_case_reference(session, prefix=prefix, year=2026)

    def allocate_then_fail() -> None:
        with session_scope(engine) as session:
            allocate_case_reference(session, prefix=prefix, year=2026)
            raise RuntimeError("the case could not be stored")

    with pytest.raises(RuntimeError):
        allocate_then_fail()

    with session_scope(engine) as session:
        assert allocate_case_reference(session, prefix=prefix, year=2026).number == 2


def test_concurrent_allocations_give_distinct_consecutive_numbers(engine: Engine) -> None:
    prefix = _unique_prefix()

    def allocate_in_own_transaction(_: int) -> int:
        with session_scope(engine) as session:
            return allocate_case_reference(session, prefix=prefix, year=2026).number

    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(allocate_in_own_transaction, range(100)))

    assert sorted(numbers) == list(range(1, 101))
