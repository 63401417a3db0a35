"""Settings: defaults for a laptop, environment and .env overrides, refusal of unsafe production."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.config import PrefectureIdentity, Settings


def test_embedded_defaults_live_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="", broker_url="", result_backend_url="")

    assert settings.database_url == f"sqlite:///{tmp_path / 'qualipref.sqlite'}"
    assert settings.broker_url == f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    assert settings.result_backend_url == f"db+sqlite:///{tmp_path / 'celery-results.sqlite'}"
    assert settings.smtp_url == ""
    assert settings.outbox_dir == tmp_path / "outbox"
    assert settings.timezone == "Europe/Paris"


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALIPREF_BROKER_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("QUALIPREF_PREFECTURE__DEPARTMENT_NAME", "Cantal")
    monkeypatch.setenv("QUALIPREF_PREFECTURE__HOLIDAY_SUBDIVISION", "57")

    settings = Settings()

    assert settings.broker_url == "redis://127.0.0.1:6379/3"
    assert settings.result_backend_url == "redis://127.0.0.1:6379/3"
    assert settings.prefecture.department_name == "Cantal"
    assert settings.prefecture.holiday_subdivision == "57"


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "QUALIPREF_SMTP_URL=smtp://relay.example:587\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QUALIPREF_SMTP_URL", raising=False)

    assert Settings().smtp_url == "smtp://relay.example:587"


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALIPREF_ENVIRONMENT", "production")

    with pytest.raises(ValidationError, match="QUALIPREF_SECRET_KEY must be set"):
        Settings()


def test_production_accepts_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALIPREF_ENVIRONMENT", "production")
    monkeypatch.setenv("QUALIPREF_SECRET_KEY", "x" * 48)

    assert Settings().environment == "production"


def test_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Europe/Auch'"):
        Settings(timezone="Europe/Auch")


@pytest.mark.parametrize(
    ("department_name", "reference_prefix", "expected"),
    [
        ("Gers", "", "GERS"),
        ("Hautes-Pyrénées", "", "HAUTES-PYRENEES"),
        ("Bouches-du-Rhône", "", "BOUCHES-DU-RHONE"),
        ("Côtes-d'Armor", "", "COTES-D-ARMOR"),
        ("Val-d'Oise", "vo", "VO"),
    ],
)
def test_case_reference_prefix(department_name: str, reference_prefix: str, expected: str) -> None:
    identity = PrefectureIdentity(
        department_name=department_name, reference_prefix=reference_prefix
    )

    assert identity.case_reference_prefix == expected
