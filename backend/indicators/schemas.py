"""What the indicators API reads and returns."""

from datetime import date
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from backend.indicators.queries import Dimension
from backend.indicators.service import IndicatorGroup
from backend.indicators.table import QualityTable
from backend.models import CaseChannel, CaseKind, IndicatorUnit, ManualIndicator
from backend.validation import Int32, PartialUpdate, RequestBody


class IndicatorGroupPublic(BaseModel):
    """The figures of one month and group; delays in the configured unit (working days)."""

    month: str = Field(examples=["2026-03"])
    channel: CaseChannel | None
    kind: CaseKind | None
    mailbox_id: int | None
    mailbox: str | None
    service_id: int | None
    service: str | None
    received: int
    answered: int
    average_delay: float | None
    median_delay: float | None
    p90_delay: float | None
    max_delay: int | None
    within_target: int
    within_target_rate: float | None = Field(description="En pourcentage des réponses du mois.")
    open_at_end: int
    past_due_at_end: int
    oldest_open_received_on: date | None
    oldest_open_age: int | None

    @classmethod
    def from_group(cls, group: IndicatorGroup) -> Self:
        """The public view of a computed group."""
        return cls(
            month=group.month,
            channel=group.channel,
            kind=group.kind,
            mailbox_id=group.mailbox_id,
            mailbox=group.mailbox,
            service_id=group.service_id,
            service=group.service,
            received=group.received,
            answered=group.answered,
            average_delay=_number(group.average_delay),
            median_delay=_number(group.median_delay),
            p90_delay=_number(group.p90_delay),
            max_delay=group.max_delay,
            within_target=group.within_target,
            within_target_rate=_number(group.within_target_rate),
            open_at_end=group.open_at_end,
            past_due_at_end=group.past_due_at_end,
            oldest_open_received_on=group.oldest_open_received_on,
            oldest_open_age=group.oldest_open_age,
        )


class IndicatorsPublic(BaseModel):
    """The indicators of a period, per month and group."""

    months: list[str]
    group_by: list[Dimension]
    groups: list[IndicatorGroupPublic]


class TableRowPublic(BaseModel):
    """A row of the monthly table: values as numbers, and as published."""

    label: str
    periodicity: str
    target: str
    unit: IndicatorUnit
    measured: bool
    values: list[float | None]
    cells: list[str] = Field(examples=[["1,5 j", "–"]])


class QualityTablePublic(BaseModel):
    """The monthly quality table."""

    months: list[str]
    month_labels: list[str]
    rows: list[TableRowPublic]

    @classmethod
    def from_table(cls, table: QualityTable) -> Self:
        """The public view of the table."""
        return cls(
            months=[month.key for month in table.months],
            month_labels=table.month_labels,
            rows=[
                TableRowPublic(
                    label=row.label,
                    periodicity=row.periodicity,
                    target=row.target,
                    unit=row.unit,
                    measured=row.measured,
                    values=[_number(value) for value in row.values],
                    cells=row.cells,
                )
                for row in table.rows
            ],
        )


class ManualIndicatorCreate(RequestBody):
    """A new indicator of the table that no mailbox measures."""

    label: str = Field(min_length=1, max_length=200, examples=["Taux d'appels décrochés"])
    periodicity: str = Field(default="Indicateur mensuel", max_length=200)
    target: str = Field(default="", max_length=100, examples=["90,00 %"])
    unit: IndicatorUnit = IndicatorUnit.PERCENT
    position: Int32 = Field(
        default=100, description="Rang dans le tableau (délais mesurés : 500 à 530)."
    )


class ManualIndicatorUpdate(PartialUpdate):
    """Changes to a manual indicator; what is left out stays."""

    label: str | None = Field(default=None, min_length=1, max_length=200)
    periodicity: str | None = Field(default=None, max_length=200)
    target: str | None = Field(default=None, max_length=100)
    unit: IndicatorUnit | None = None
    position: Int32 | None = None
    active: bool | None = None


class ManualIndicatorPublic(BaseModel):
    """A manual indicator."""

    id: int
    label: str
    periodicity: str
    target: str
    unit: IndicatorUnit
    position: int
    active: bool

    @classmethod
    def from_row(cls, row: ManualIndicator) -> Self:
        """The public view of the row."""
        return cls.model_validate(row, from_attributes=True)


class ManualValueUpdate(RequestBody):
    """The value of a manual indicator for a month (a percentage as 89.65)."""

    value: Decimal = Field(max_digits=14, decimal_places=4)
    comment: str | None = Field(default=None, max_length=2000)


class ManualValuePublic(BaseModel):
    """A value entered for a month."""

    indicator_id: int
    month: str
    value: float
    comment: str | None


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class FigureCasePublic(BaseModel):
    """A case behind a figure: dates, channel, kind, service, delay; no personal data."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    channel: CaseChannel
    kind: CaseKind
    mailbox_id: int | None
    service_id: int | None
    received_on: date
    answered_on: date | None
    closed_on: date | None
    due_date: date | None
    delay: int | None
    target: int
    within_target: bool | None
