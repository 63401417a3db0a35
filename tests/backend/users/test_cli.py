"""`qualipref user add` and `qualipref token create`: an account, then a token the API accepts."""

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backend.cli.main import app
from backend.main import create_app

runner = CliRunner()


@pytest.mark.usefixtures("committed_engine")
def test_a_created_token_opens_the_api_and_is_shown_once() -> None:
    added = runner.invoke(
        app,
        ["user", "add", "Claire.Dupont@gers.gouv.fr", "--first-name", "Claire",
         "--last-name", "Dupont", "--title", "Cheffe du bureau du séjour"],
    )  # fmt: skip
    again = runner.invoke(
        app, ["user", "add", "claire.dupont@gers.gouv.fr", "--first-name", "C", "--last-name", "D"]
    )
    created = runner.invoke(app, ["token", "create", "claire.dupont@gers.gouv.fr"])
    unknown = runner.invoke(app, ["token", "create", "personne@gers.gouv.fr"])

    assert added.exit_code == 0, added.output
    assert again.exit_code == 2
    assert "existe déjà" in again.output
    token = created.stdout.strip()
    assert token.startswith("qp_")
    assert unknown.exit_code == 2
    with TestClient(create_app()) as client:
        listed = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
        refused = client.get("/api/v1/cases", headers={"Authorization": "Bearer qp_faux"})
    assert listed.status_code == 200
    assert refused.status_code == 401


@pytest.mark.usefixtures("committed_engine")
def test_a_user_is_added_to_a_service_and_signs_in_with_the_password_typed_twice() -> None:
    service = runner.invoke(app, ["service", "add", "sejour", "--name", "Bureau du séjour"])
    password = "un mot de passe assez long"
    added = runner.invoke(
        app,
        ["user", "add", "ines.martin@gers.gouv.fr", "--first-name", "Inès",
         "--last-name", "Martin", "--role", "agent", "--service", "sejour", "--password"],
        input=f"{password}\n{password}\n",
    )  # fmt: skip
    unknown_service = runner.invoke(
        app,
        ["user", "add", "x@gers.gouv.fr", "--first-name", "X", "--last-name", "Y",
         "--service", "inconnu"],
    )  # fmt: skip
    short = runner.invoke(
        app, ["user", "password", "ines.martin@gers.gouv.fr"], input="court\ncourt\n"
    )
    listed = runner.invoke(app, ["user", "list"])

    assert service.exit_code == 0, service.output
    assert added.exit_code == 0, added.output
    assert (unknown_service.exit_code, "aucun service inconnu" in unknown_service.output) == (
        2,
        True,
    )
    assert (short.exit_code, "au moins 12 caractères" in short.output) == (2, True)
    assert "ines.martin@gers.gouv.fr\tagent\tsejour\tmot de passe\tactif" in listed.output
    with TestClient(create_app(), base_url="https://testserver") as client:
        signed_in = client.post(
            "/auth/login", json={"email": "Ines.Martin@gers.gouv.fr", "password": password}
        )
        me = client.get("/auth/me").json()
    assert signed_in.status_code == 204
    assert me["services"] == ["Bureau du séjour"]
