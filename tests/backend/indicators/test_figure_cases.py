"""The cases behind a figure: the quality manager reads them across services, without a word of
personal data, with the delays the indicators count."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from backend.models import UserRole
from tests.backend.indicators.dataset import add_cases
from tests.fixtures.users import make_agent


def test_the_answers_of_april_with_their_delays_and_no_personal_data(
    session: Session, client: TestClient
) -> None:
    cases = add_cases(session)
    manager = make_agent(session, first_name="Hélène", role=UserRole.QUALITY_MANAGER)

    answered = client.get(
        "/api/v1/indicators/cases?month=2026-04&measure=answered", headers=manager.headers
    )
    open_in_may = client.get(
        "/api/v1/indicators/cases?month=2026-05&measure=open&channel=paper",
        headers=manager.headers,
    )

    by_name = {case.id: name for name, case in cases.items()}
    rows = {by_name[row["id"]]: row for row in answered.json()}
    assert {name: (row["delay"], row["within_target"]) for name, row in rows.items()} == {
        "A": (1, True),
        "B": (1, True),
        "C": (0, True),
        "D": (7, False),
        "E": (3, True),
    }
    assert "Dossier" not in answered.text  # the subjects
    assert [by_name[row["id"]] for row in open_in_may.json()] == ["K"]
    assert open_in_may.json()[0]["delay"] == 49


def test_an_agent_may_not_read_the_lists_and_a_bad_month_is_explained(
    session: Session, client: TestClient
) -> None:
    agent = make_agent(session)
    manager = make_agent(session, first_name="Hélène", role=UserRole.QUALITY_MANAGER)

    refused = client.get(
        "/api/v1/indicators/cases?month=2026-04&measure=answered", headers=agent.headers
    )
    bad = client.get(
        "/api/v1/indicators/cases?month=2026-13&measure=answered", headers=manager.headers
    )

    assert refused.status_code == 403
    assert bad.status_code == 422
    assert "AAAA-MM" in bad.json()["detail"]
