"""GET /healthz (the process is alive) and GET /readyz (its dependencies answer)."""

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from backend.config import get_settings
from backend.database import get_engine
from backend.health.service import check_broker, check_database, run_checks

router = APIRouter(tags=["santé"])


class HealthPublic(BaseModel):
    """Liveness answer."""

    status: str


class ReadinessPublic(BaseModel):
    """Readiness answer: 'ok' or the failure, per dependency."""

    status: str
    checks: dict[str, str]


@router.get("/healthz", response_model=HealthPublic)
def healthz() -> HealthPublic:
    """The process is alive."""
    return HealthPublic(status="ok")


@router.get(
    "/readyz",
    response_model=ReadinessPublic,
    responses={503: {"model": ReadinessPublic, "description": "Une dépendance ne répond pas"}},
)
def readyz(response: Response) -> ReadinessPublic:
    """The database and the task broker answer."""
    settings = get_settings()
    checks = run_checks(
        {
            "database": lambda: check_database(get_engine()),
            "broker": lambda: check_broker(settings.broker_url),
        }
    )
    ready = all(result == "ok" for result in checks.values())
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return ReadinessPublic(status="ready" if ready else "unavailable", checks=checks)
