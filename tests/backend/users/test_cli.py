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
