"""Errors as pages: a browser asking for a page gets French HTML, an API client keeps JSON."""

from fastapi import Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.web.dependencies import SignInRequiredError
from backend.web.templating import render

# Paths whose clients read JSON, whatever their Accept header says.
MACHINE_PREFIXES = ("/api/", "/auth/", "/healthz", "/readyz", "/metrics", "/docs")
ERROR_TITLES = {
    status.HTTP_403_FORBIDDEN: "Accès refusé",
    status.HTTP_404_NOT_FOUND: "Page non trouvée",
    status.HTTP_405_METHOD_NOT_ALLOWED: "Action impossible",
}


def wants_page(request: Request) -> bool:
    """Whether the request comes from a browser reading the web interface."""
    path = request.url.path
    return not path.startswith(MACHINE_PREFIXES) and "text/html" in request.headers.get(
        "accept", "text/html"
    )


async def sign_in_required_handler(request: Request, error: Exception) -> Response:
    """Send the browser to the sign-in page (htmx follows HX-Redirect)."""
    assert isinstance(error, SignInRequiredError)
    if request.headers.get("HX-Request") == "true":
        return Response(
            status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": error.sign_in_url}
        )
    return RedirectResponse(error.sign_in_url, status_code=status.HTTP_303_SEE_OTHER)


async def page_http_exception_handler(request: Request, error: Exception) -> Response:
    """An HTTP error as a DSFR error page for browsers, as JSON for the API."""
    assert isinstance(error, StarletteHTTPException)
    if not wants_page(request):
        return await http_exception_handler(request, error)
    return render(
        request,
        "errors/error.html",
        page_user=None,
        context={
            "status_code": error.status_code,
            "title": ERROR_TITLES.get(error.status_code, "Une erreur est survenue"),
            "detail": error.detail if isinstance(error.detail, str) else None,
        },
        status_code=error.status_code,
    )
