"""The monthly table of a hand-built spring: every figure worked out by hand, not by the code."""

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from backend.config import Settings
from backend.indicators.periods import months_between, parse_month
from backend.indicators.queries import Dimension
from backend.indicators.service import IndicatorGroup, IndicatorRequest, compute_indicators
from backend.indicators.table import quality_table
from backend.models import CaseChannel, CaseKind, IndicatorUnit, ManualIndicator
from backend.models.indicators import ManualIndicatorValue
from tests.backend.indicators.dataset import Spec, add_cases, local

SPRING = months_between(parse_month("2026-04"), parse_month("2026-06"))


def test_the_monthly_table_reads_as_worked_out_by_hand(
    session: Session, settings: Settings
) -> None:
    add_cases(session)

    table = quality_table(session, months=SPRING, settings=settings)

    assert table.month_labels == ["Avril 2026", "Mai 2026", "Juin 2026"]
    assert [(row.label, row.target, row.cells) for row in table.rows] == [
        ("Délai moyen de traitement des courriels", "5 j maxi", ["2,4 j", "1,0 j", "–"]),
        ("Délai moyen de traitement des courriers", "10 j maxi", ["–", "6,5 j", "–"]),
        ("Délai moyen de traitement des réclamations", "5 j maxi", ["3,0 j", "6,0 j", "–"]),
        ("Taux de réponse aux courriels sous 5 jours", "> 80 %", ["80,00 %", "100,00 %", "–"]),
    ]
    assert table.rows[0].periodicity == "Indicateur mensuel, sur 7 courriels répondus"


def test_each_month_counts_receipts_answers_and_what_is_left_open(
    session: Session, settings: Settings
) -> None:
    add_cases(session)

    april, may, june = compute_indicators(
        session, request=IndicatorRequest(months=SPRING), settings=settings
    )

    # April: A B C D E F M received (L merged, H is 1 May in Paris); answers 1 1 0 7 3.
    assert _figures(april) == (7, 5, Decimal("2.4"), 1, Decimal("5.4"), 4, Decimal(80), 2, 1)
    assert (april.oldest_open_received_on, april.oldest_open_age) == (date(2026, 3, 16), 32)
    # May: G H I J received; answers 7 (F), 2 (G), 0 (H), 6 (I).
    assert _figures(may) == (4, 4, Decimal("3.75"), 4, Decimal("6.7"), 3, Decimal(75), 2, 1)
    # June: nothing answered; J K O Q open, of which J K O past their due date.
    assert _figures(june) == (2, 0, None, None, None, 0, None, 4, 3)
    assert june.oldest_open_received_on == date(2026, 3, 16)


def test_grouping_by_channel_and_kind_splits_the_answers(
    session: Session, settings: Settings
) -> None:
    add_cases(session)

    groups = compute_indicators(
        session,
        request=IndicatorRequest(months=SPRING[:1], dimensions=(Dimension.CHANNEL, Dimension.KIND)),
        settings=settings,
    )

    assert [(g.channel, g.kind, g.received, g.answered, g.average_delay) for g in groups] == [
        (CaseChannel.EMAIL, CaseKind.COMPLAINT, 1, 1, Decimal(3)),
        (CaseChannel.EMAIL, CaseKind.INFORMATION_REQUEST, 5, 4, Decimal("2.25")),
        (CaseChannel.PAPER, CaseKind.INFORMATION_REQUEST, 1, 0, None),
    ]
    paper = groups[2]
    # K (March) and F (27 April) are letters still open on 30 April; K is late.
    assert (paper.open_at_end, paper.past_due_at_end) == (2, 1)


def test_waiting_for_documents_counts_when_the_setting_says_so(
    session: Session, settings: Settings
) -> None:
    add_cases(session)
    counting_waits = settings.model_copy(update={"delay_excludes_waiting_periods": False})

    table = quality_table(session, months=SPRING, settings=counting_waits)

    # G takes 4 days instead of 2: May's e-mails average (4 + 0) / 2.
    assert table.rows[0].cells == ["2,4 j", "2,0 j", "–"]


@pytest.mark.parametrize(("stops_clock", "april_average"), [(False, "13,0 j"), (True, "1,0 j")])
def test_a_holding_reply_stops_the_clock_only_when_configured(
    session: Session, settings: Settings, stops_clock: bool, april_average: str
) -> None:
    # Received Monday 13 April, holding reply the next day, answered on 30 April.
    add_cases(
        session,
        (
            Spec(
                "A",
                CaseChannel.EMAIL,
                CaseKind.INFORMATION_REQUEST,
                local(date(2026, 4, 13)),
                date(2026, 4, 20),
                date(2026, 4, 30),
                holding_reply=date(2026, 4, 14),
            ),
        ),
    )
    rules = settings.model_copy(update={"holding_reply_stops_clock": stops_clock})

    table = quality_table(session, months=SPRING, settings=rules)

    assert table.rows[0].cells == [april_average, "–", "–"]


def test_manual_indicators_take_their_place_with_the_values_entered(
    session: Session, settings: Settings
) -> None:
    calls = ManualIndicator(
        label="Taux d'appels décrochés", target="90,00 %", unit=IndicatorUnit.PERCENT, position=10
    )
    visitors = ManualIndicator(
        label="Nombre d'usagers inscrits au point numérique",
        target="pas d'objectif",
        unit=IndicatorUnit.COUNT,
        position=900,
    )
    session.add_all([calls, visitors])
    session.flush()
    assert calls.id is not None
    assert visitors.id is not None
    session.add_all(
        [
            ManualIndicatorValue(indicator_id=calls.id, month="2026-04", value=Decimal("89.65")),
            ManualIndicatorValue(indicator_id=calls.id, month="2026-06", value=Decimal("90.3")),
            ManualIndicatorValue(indicator_id=visitors.id, month="2026-05", value=Decimal(47)),
        ]
    )
    session.flush()

    table = quality_table(session, months=SPRING, settings=settings)

    assert table.rows[0].label == "Taux d'appels décrochés"
    assert table.rows[0].cells == ["89,65 %", "–", "90,30 %"]
    assert table.rows[-1].cells == ["–", "47", "–"]
    assert len(table.rows) == 6


def _figures(
    group: IndicatorGroup,
) -> tuple[object, ...]:
    return (
        group.received,
        group.answered,
        group.average_delay,
        group.median_delay,
        group.p90_delay,
        group.within_target,
        group.within_target_rate,
        group.open_at_end,
        group.past_due_at_end,
    )
