"""The production deployment files describe a system that can start (no Docker engine here)."""

from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
import yaml
from pydantic import BaseModel

from backend.cli.main import app
from backend.config import Settings

ROOT = Path(__file__).resolve().parent.parent
APPLICATION_SERVICES = ("migrate", "api", "worker", "beat", "idle")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml, with its YAML anchors resolved."""
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _environment_files(service: dict[str, Any]) -> list[Path]:
    """The example of each env file a service reads (the real one holds secrets)."""
    return [ROOT / f"{name}.example" for name in service.get("env_file", [])]


def _variables_set_by(service: dict[str, Any]) -> set[str]:
    names = set(service.get("environment", {}))
    for env_file in _environment_files(service):
        lines = env_file.read_text().splitlines()
        names |= {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    return names


def _is_setting(variable: str) -> bool:
    """QUALIPREF_PREFECTURE__PHONE names Settings.prefecture.phone, and so on."""
    model: type[BaseModel] = Settings
    *parents, leaf = variable.removeprefix("QUALIPREF_").lower().split("__")
    for name in parents:
        annotation = model.model_fields[name].annotation if name in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return False
        model = annotation
    return leaf in model.model_fields


def test_compose_runs_the_whole_production_system(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert set(services) == {*APPLICATION_SERVICES, "postgres", "redis"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in APPLICATION_SERVICES:
        assert services[name]["build"] == "."
        assert services[name]["image"] == "qualipref:latest"
    assert (ROOT / "Dockerfile").is_file()


def test_migrations_complete_before_the_api_and_workers_start(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert services["migrate"]["command"] == ["qualipref", "db", "upgrade"]
    for name in ("api", "worker", "beat", "idle"):
        migrate = services[name]["depends_on"]["migrate"]
        assert migrate["condition"] == "service_completed_successfully"


def _parse_command_line(arguments: list[str]) -> str:
    """Parse a qualipref command line as the CLI would, without running it; its path."""
    command: Any = typer.main.get_command(app)
    path = ["qualipref"]
    while hasattr(command, "commands") and arguments and arguments[0] in command.commands:
        command = command.commands[arguments[0]]
        path.append(arguments.pop(0))
    command.make_context(" ".join(path), arguments)  # raises on an unknown option or value
    return " ".join(path)


@pytest.mark.parametrize(
    ("service_name", "command_path"),
    [
        ("migrate", "qualipref db upgrade"),
        ("api", "qualipref serve"),
        ("worker", "qualipref worker"),
        ("beat", "qualipref beat"),
        ("idle", "qualipref idle"),
    ],
)
def test_service_runs_a_valid_qualipref_command(
    compose: dict[str, Any], service_name: str, command_path: str
) -> None:
    program, *arguments = compose["services"][service_name]["command"]

    assert program == "qualipref"
    assert _parse_command_line(arguments) == command_path


def test_command_line_check_rejects_unknown_options() -> None:
    with pytest.raises(typer.TyperException, match="No such option: --listen"):
        _parse_command_line(["serve", "--listen", "127.0.0.1"])


def test_worker_leaves_scheduling_to_the_single_beat(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert "--no-beat" in services["worker"]["command"]
    assert services["beat"]["command"] == ["qualipref", "beat"]


def test_every_qualipref_variable_is_a_setting(compose: dict[str, Any]) -> None:
    variables = {
        name
        for service in compose["services"].values()
        for name in _variables_set_by(service)
        if name.startswith("QUALIPREF_")
    }

    assert "QUALIPREF_DATABASE_URL" in variables
    assert "QUALIPREF_PREFECTURE__PHONE" in variables
    assert sorted(name for name in variables if not _is_setting(name)) == []


def test_production_services_have_health_checks_and_restart(compose: dict[str, Any]) -> None:
    services = compose["services"]

    for name in ("api", "worker", "postgres", "redis"):
        assert "healthcheck" in services[name], name
    for name in ("api", "worker", "beat", "idle", "postgres", "redis"):
        assert services[name]["restart"] == "unless-stopped", name
