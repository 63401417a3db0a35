"""The web interface's routes and static files, added to the application."""

import logging

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.web import admin, auth, case_answers, case_page, dashboard, inbox, paper, public
from backend.web.dependencies import SignInRequiredError
from backend.web.errors import page_http_exception_handler, sign_in_required_handler
from backend.web.security import add_security_headers
from backend.web.templating import FRONTEND_DIR

logger = logging.getLogger(__name__)
NODE_MODULES = FRONTEND_DIR / "node_modules"
# URL prefix → directory: the npm packages' built files (never copied into the repository)
# and the application's own CSS and scripts.
STATIC_DIRECTORIES = {
    "/static/dsfr": NODE_MODULES / "@gouvfr" / "dsfr" / "dist",
    "/static/htmx": NODE_MODULES / "htmx.org" / "dist",
    "/static/chartjs": NODE_MODULES / "chart.js" / "dist",
    "/static/app": FRONTEND_DIR / "static",
}


def add_web_interface(app: FastAPI) -> None:
    """Mount the pages, their static files, their error pages and security headers."""
    for module in (auth, inbox, case_page, case_answers, paper, dashboard, public, admin):
        app.include_router(module.router)
    for prefix, directory in STATIC_DIRECTORIES.items():
        if not directory.is_dir():
            logger.warning(
                "%s is missing: run `make frontend` (npm ci in frontend/) for the pages' styles",
                directory,
            )
        app.mount(prefix, StaticFiles(directory=directory, check_dir=False), name=prefix)
    app.add_exception_handler(SignInRequiredError, sign_in_required_handler)
    app.add_exception_handler(StarletteHTTPException, page_http_exception_handler)
    add_security_headers(app)
