"""`qualipref indicators`, as the quality manager runs it at the end of a month."""

import io
import json
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from backend.cli.main import app
from tests.backend.indicators.dataset import add_cases

runner = CliRunner()
SPRING = ["--from", "2026-04", "--to", "2026-06"]


def test_the_table_prints_and_exports(committed_engine: Engine, tmp_path: Path) -> None:
    with Session(committed_engine) as session:
        add_cases(session)
        session.commit()
    workbook = tmp_path / "indicateurs.xlsx"

    printed = runner.invoke(app, ["indicators", *SPRING])
    grouped = runner.invoke(
        app, ["indicators", *SPRING, "--group-by", "channel,kind", "--format", "json"]
    )
    written = runner.invoke(
        app, ["indicators", *SPRING, "--format", "xlsx", "--out", str(workbook)]
    )

    assert printed.exit_code == 0, printed.output
    assert "Délai moyen de traitement des courriels" in printed.stdout
    assert "80,00 %" in printed.stdout
    assert grouped.exit_code == 0, grouped.output
    body = json.loads(grouped.stdout)
    assert body["group_by"] == ["channel", "kind"]
    assert len(body["groups"]) == 3 * 4  # three months, four channel × kind groups
    assert written.exit_code == 0, written.output
    sheet = load_workbook(io.BytesIO(workbook.read_bytes())).active
    assert sheet is not None
    assert sheet["D2"].value == 2.4


def test_mistakes_are_explained(committed_engine: Engine) -> None:
    no_file = runner.invoke(app, ["indicators", "--format", "xlsx"])
    bad_group = runner.invoke(app, ["indicators", "--group-by", "canal"])

    assert no_file.exit_code == 2
    assert "ajoutez --out FICHIER.xlsx" in no_file.output
    assert bad_group.exit_code == 2
    assert "Regroupement inconnu « canal »" in bad_group.output
