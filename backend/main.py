"""The FastAPI application: `qualipref serve`, or `uvicorn --factory backend.main:create_app`."""

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from backend import __version__
from backend.api import api_router
from backend.cases.router import CASE_ERRORS, case_error_handler
from backend.config import get_settings
from backend.health.router import router as health_router
from backend.letters.router import LETTER_ERRORS, letter_error_handler
from backend.users.oidc_router import router as oidc_router
from backend.users.router import router as auth_router
from backend.validation import french_validation_handler
from backend.web.router import add_web_interface


def create_app() -> FastAPI:
    """Build the application; settings are validated first, so a bad setup never starts."""
    settings = get_settings()
    app = FastAPI(
        title="Qualipref",
        version=__version__,
        description=(
            "Suivi des courriels, courriers et réclamations d'une préfecture "
            f"({settings.prefecture.name}) et des délais de réponse Qual-e-pref."
        ),
        docs_url="/docs",
        openapi_url="/api/v1/openapi.json",
    )
    app.include_router(health_router)
    app.include_router(api_router)
    app.include_router(auth_router)
    app.include_router(oidc_router)
    for error_class in CASE_ERRORS:
        app.add_exception_handler(error_class, case_error_handler)
    for error_class in LETTER_ERRORS:
        app.add_exception_handler(error_class, letter_error_handler)
    app.add_exception_handler(RequestValidationError, french_validation_handler)
    add_web_interface(app)
    return app
