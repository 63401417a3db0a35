"""The monthly quality table, laid out as the préfecture publishes it (seed 000).

One row per indicator with its periodicity and target, one column per month. The rows a
mailbox measures come from the indicators; the others (calls answered, website updates, …)
are the quality manager's manual indicators, with the values they entered.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlmodel import Session, col, select

from backend.config import DelayTargets, Settings
from backend.indicators.periods import month_label
from backend.indicators.queries import Dimension, Month
from backend.indicators.service import (
    HUNDRED,
    IndicatorGroup,
    IndicatorRequest,
    compute_indicators,
    ratio,
)
from backend.letters.formatting import decimal_fr
from backend.models import CaseChannel, CaseKind, IndicatorUnit, ManualIndicator
from backend.models.indicators import ManualIndicatorValue

# The measured rows tell e-mails, letters and complaints apart.
TABLE_DIMENSIONS = (Dimension.CHANNEL, Dimension.KIND)
NOTHING = "–"  # a month without a figure: nothing answered, or no value entered


class Measure(StrEnum):
    """What a measured row reports of its answers."""

    AVERAGE_DELAY = "average_delay"
    WITHIN_TARGET_RATE = "within_target_rate"


@dataclass(frozen=True, slots=True)
class MeasuredIndicator:
    """A row of the table computed from the cases: which answers, which figure."""

    position: int
    label: Callable[[DelayTargets], str]
    answers: str  # the plural noun of its answers in the periodicity column
    selects: Callable[[IndicatorGroup], bool]
    measure: Measure
    target: Callable[[DelayTargets], str]


def _is_email(group: IndicatorGroup) -> bool:
    return group.channel is CaseChannel.EMAIL


def _is_paper(group: IndicatorGroup) -> bool:
    return group.channel is CaseChannel.PAPER


def _is_complaint(group: IndicatorGroup) -> bool:
    return group.kind is CaseKind.COMPLAINT


def _days_target(days: int) -> str:
    return f"{days} j maxi"


MEASURED_INDICATORS: tuple[MeasuredIndicator, ...] = (
    MeasuredIndicator(
        position=500,
        label=lambda _: "Délai moyen de traitement des courriels",
        answers="courriels répondus",
        selects=_is_email,
        measure=Measure.AVERAGE_DELAY,
        target=lambda targets: _days_target(targets.email),
    ),
    MeasuredIndicator(
        position=510,
        label=lambda _: "Délai moyen de traitement des courriers",
        answers="courriers répondus",
        selects=_is_paper,
        measure=Measure.AVERAGE_DELAY,
        target=lambda targets: _days_target(targets.paper),
    ),
    MeasuredIndicator(
        position=520,
        label=lambda _: "Délai moyen de traitement des réclamations",
        answers="réclamations répondues",
        selects=_is_complaint,
        measure=Measure.AVERAGE_DELAY,
        target=lambda targets: _days_target(targets.complaint),
    ),
    MeasuredIndicator(
        position=530,
        label=lambda targets: f"Taux de réponse aux courriels sous {targets.email} jours",
        answers="courriels répondus",
        selects=_is_email,
        measure=Measure.WITHIN_TARGET_RATE,
        target=lambda targets: (
            f"> {decimal_fr(Decimal(targets.within_target_rate_percent), places=0)} %"
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class TableRow:
    """One indicator: its values per month (None: no figure) and how they read."""

    label: str
    periodicity: str
    target: str
    unit: IndicatorUnit
    values: list[Decimal | None]
    measured: bool

    @property
    def cells(self) -> list[str]:
        """The values as published: '1,5 j', '87,50 %', '47', '–'."""
        return [format_value(value, unit=self.unit) for value in self.values]


@dataclass(frozen=True, slots=True)
class QualityTable:
    """The monthly table: its months and its rows in the published order."""

    months: list[Month]
    rows: list[TableRow]

    @property
    def month_labels(self) -> list[str]:
        """'Janvier 2026', …"""
        return [month_label(month) for month in self.months]


def quality_table(
    session: Session, *, months: Sequence[Month], settings: Settings, today: date | None = None
) -> QualityTable:
    """The table over these months: measured rows and active manual ones, by position."""
    groups = compute_indicators(
        session,
        request=IndicatorRequest(months=months, dimensions=TABLE_DIMENSIONS),
        settings=settings,
        today=today,
    )
    positioned: list[tuple[int, str, TableRow]] = [
        (
            definition.position,
            "",
            _measured_row(definition, groups, months=months, settings=settings),
        )
        for definition in MEASURED_INDICATORS
    ]
    positioned += [
        (indicator.position, indicator.label, row)
        for indicator, row in _manual_rows(session, months=months)
    ]
    positioned.sort(key=lambda item: (item[0], item[1]))
    return QualityTable(months=list(months), rows=[row for _, _, row in positioned])


def format_value(value: Decimal | None, *, unit: IndicatorUnit) -> str:
    """A value the French way, with its unit."""
    if value is None:
        return NOTHING
    if unit is IndicatorUnit.PERCENT:
        return f"{decimal_fr(value, places=2)} %"
    if unit is IndicatorUnit.DAYS:
        return f"{decimal_fr(value, places=1)} j"
    return decimal_fr(value, places=0)


def _measured_row(
    definition: MeasuredIndicator,
    groups: Sequence[IndicatorGroup],
    *,
    months: Sequence[Month],
    settings: Settings,
) -> TableRow:
    """The row's value per month, over the answers of the groups it selects."""
    values: list[Decimal | None] = []
    answered_in_period = 0
    for month in months:
        selected = [g for g in groups if g.month == month.key and definition.selects(g)]
        answered = sum(group.answered for group in selected)
        answered_in_period += answered
        if definition.measure is Measure.AVERAGE_DELAY:
            values.append(ratio(sum(group.delay_total for group in selected), answered))
        else:
            rate = ratio(sum(group.within_target for group in selected), answered)
            values.append(None if rate is None else rate * HUNDRED)
    targets = settings.delay_targets
    return TableRow(
        label=definition.label(targets),
        periodicity=f"Indicateur mensuel, sur {answered_in_period} {definition.answers}",
        target=definition.target(targets),
        unit=(
            IndicatorUnit.DAYS
            if definition.measure is Measure.AVERAGE_DELAY
            else IndicatorUnit.PERCENT
        ),
        values=values,
        measured=True,
    )


def _manual_rows(
    session: Session, *, months: Sequence[Month]
) -> list[tuple[ManualIndicator, TableRow]]:
    """The active manual indicators with the values entered for these months."""
    indicators = session.exec(
        select(ManualIndicator).where(col(ManualIndicator.active).is_(True))
    ).all()
    month_keys = [month.key for month in months]
    entered: dict[tuple[int | None, str], Decimal] = {
        (value.indicator_id, value.month): value.value
        for value in session.exec(
            select(ManualIndicatorValue).where(col(ManualIndicatorValue.month).in_(month_keys))
        ).all()
    }
    return [
        (
            indicator,
            TableRow(
                label=indicator.label,
                periodicity=indicator.periodicity,
                target=indicator.target,
                unit=indicator.unit,
                values=[entered.get((indicator.id, key)) for key in month_keys],
                measured=False,
            ),
        )
        for indicator in indicators
    ]
