"""/api/v1/indicators, as the quality manager's tools and the web pages call it."""

import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from backend.models import UserRole
from tests.backend.indicators.dataset import add_cases
from tests.fixtures.users import Agent

SPRING = {"from": "2026-04", "to": "2026-06"}


def test_the_table_comes_as_json_with_values_and_published_cells(
    agent_client: TestClient, session: Session
) -> None:
    add_cases(session)

    response = agent_client.get("/api/v1/indicators/table", params=SPRING)

    assert response.status_code == 200, response.text
    table = response.json()
    assert table["month_labels"] == ["Avril 2026", "Mai 2026", "Juin 2026"]
    emails = table["rows"][0]
    assert (emails["values"], emails["cells"]) == ([2.4, 1.0, None], ["2,4 j", "1,0 j", "–"])


def test_a_case_shows_the_delay_the_indicators_count(
    agent_client: TestClient, session: Session
) -> None:
    cases = add_cases(session)

    waited = agent_client.get(f"/api/v1/cases/{cases['G'].id}").json()
    over_easter = agent_client.get(f"/api/v1/cases/{cases['D'].id}").json()

    # G: 4 working days from receipt to answer, 2 of them waiting for the citizen's documents.
    assert waited["working_days_elapsed"] == 2
    assert over_easter["working_days_elapsed"] == 7


def test_the_table_downloads_as_a_spreadsheet(agent_client: TestClient, session: Session) -> None:
    add_cases(session)

    response = agent_client.get("/api/v1/indicators/table", params={**SPRING, "format": "xlsx"})

    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="tableau-qualite_2026-04_2026-06.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    assert sheet["E2"].value == 1.0


def test_indicators_group_by_service_and_kind(agent_client: TestClient, session: Session) -> None:
    add_cases(session)

    response = agent_client.get(
        "/api/v1/indicators", params={**SPRING, "group_by": "kind", "format": "json"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["group_by"] == ["kind"]
    april_complaints = next(
        g for g in body["groups"] if g["month"] == "2026-04" and g["kind"] == "complaint"
    )
    assert (april_complaints["answered"], april_complaints["average_delay"]) == (1, 3.0)


def test_a_bad_period_or_grouping_is_refused_in_french(agent_client: TestClient) -> None:
    backwards = agent_client.get(
        "/api/v1/indicators/table", params={"from": "2026-06", "to": "2026-01"}
    )
    bad_month = agent_client.get("/api/v1/indicators", params={"from": "2026-13"})
    bad_group = agent_client.get("/api/v1/indicators", params={"group_by": "agent"})
    text = agent_client.get("/api/v1/indicators", params={"format": "table"})

    assert backwards.status_code == 422
    assert (
        backwards.json()["detail"]
        == "La période se termine (2026-01) avant de commencer (2026-06)."
    )
    assert "Mois invalide « 2026-13 »" in bad_month.json()["detail"]
    assert "Regroupement inconnu « agent »" in bad_group.json()["detail"]
    assert text.status_code == 422


def test_the_indicators_need_a_signed_in_user(client: TestClient) -> None:
    assert client.get("/api/v1/indicators/table").status_code == 401


def test_the_quality_manager_enters_a_manual_indicator_month_by_month(
    client: TestClient, session: Session, agent: Agent
) -> None:
    agent.user.role = UserRole.QUALITY_MANAGER
    session.add(agent.user)
    client.headers.update(agent.headers)

    created = client.post(
        "/api/v1/indicators/manual",
        json={"label": "Taux d'appels décrochés", "target": "90,00 %", "position": 10},
    )
    indicator_id = created.json()["id"]
    entered = client.put(
        f"/api/v1/indicators/manual/{indicator_id}/values/2026-05",
        json={"value": "89.65", "comment": "Relevé du standard"},
    )
    duplicate = client.post("/api/v1/indicators/manual", json={"label": "Taux d'appels décrochés"})
    table = client.get("/api/v1/indicators/table", params=SPRING).json()

    assert created.status_code == 201, created.text
    assert entered.status_code == 200, entered.text
    assert table["rows"][0]["label"] == "Taux d'appels décrochés"
    assert table["rows"][0]["cells"] == ["–", "89,65 %", "–"]
    assert duplicate.status_code == 422
    assert duplicate.json()["detail"] == "Un indicateur « Taux d'appels décrochés » existe déjà."

    removed = client.delete(f"/api/v1/indicators/manual/{indicator_id}/values/2026-05")
    retired = client.patch(f"/api/v1/indicators/manual/{indicator_id}", json={"active": False})
    table = client.get("/api/v1/indicators/table", params=SPRING).json()

    assert removed.status_code == 204
    assert retired.json()["active"] is False
    assert table["rows"][0]["label"] == "Délai moyen de traitement des courriels"


def test_an_agent_cannot_change_the_manual_indicators(agent_client: TestClient) -> None:
    response = agent_client.post("/api/v1/indicators/manual", json={"label": "Taux"})

    assert response.status_code == 403
    assert response.json()["detail"] == "Réservé au responsable qualité ou à un administrateur."


def test_a_manual_indicator_the_database_cannot_take_gets_a_422_not_a_500(
    client: TestClient, session: Session, agent: Agent
) -> None:
    """Cases found by fuzzing the API (tests/test_api_fuzzing.py), each once a 500."""
    agent.user.role = UserRole.QUALITY_MANAGER
    session.add(agent.user)
    client.headers.update(agent.headers)
    created = client.post("/api/v1/indicators/manual", json={"label": "Taux d'appels décrochés"})
    indicator_id = created.json()["id"]

    null_active = client.patch(f"/api/v1/indicators/manual/{indicator_id}", json={"active": None})
    huge_position = client.post("/api/v1/indicators/manual", json={"label": "A", "position": 2**31})
    huge_id = client.patch(f"/api/v1/indicators/manual/{2**63}", json={"active": False})
    nul_label = client.post("/api/v1/indicators/manual", json={"label": "Taux\u0000"})
    not_a_number = client.put(
        f"/api/v1/indicators/manual/{indicator_id}/values/2026-05", json={"value": "NaN"}
    )

    for refused, message in [
        (null_active, "Valeur null refusée : omettez le champ pour le laisser inchangé."),
        (huge_position, "Doit être inférieur ou égal à 2147483647."),
        (huge_id, "Doit être inférieur ou égal à 2147483647."),
        (nul_label, "Caractère nul (U+0000) refusé : il ne peut pas être enregistré."),
        (not_a_number, "Nombre fini attendu."),
    ]:
        assert refused.status_code == 422
        assert [error["msg"] for error in refused.json()["detail"]] == [message]


def test_a_month_out_of_the_calendars_range_gets_a_422_not_a_500(admin_client: TestClient) -> None:
    """Years 0 and 9999 broke the date arithmetic (found while fuzzing the API)."""
    created = admin_client.post("/api/v1/indicators/manual", json={"label": "Taux"})

    year_zero = admin_client.get("/api/v1/indicators/table", params={"from": "0000-01"})
    last_month = admin_client.get("/api/v1/indicators", params={"to": "9999-12"})
    value = admin_client.put(
        f"/api/v1/indicators/manual/{created.json()['id']}/values/9999-12", json={"value": "1"}
    )

    assert year_zero.status_code == 422
    assert year_zero.json()["detail"] == (
        "Mois hors limites « 0000-01 » : de 1900-01 à 2999-12 seulement."
    )
    assert last_month.status_code == 422
    assert value.status_code == 422
