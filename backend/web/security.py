"""Response headers that keep pages safe in the browser, whatever a message's HTML holds."""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

# No inline script or style anywhere, so that markup slipping through the sanitiser still
# cannot run; frames only from this site (the sandboxed frame that shows a message's HTML).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)
EMBEDDABLE_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'self'", "frame-ancestors *")


def add_security_headers(app: FastAPI) -> None:
    """Every response: no MIME sniffing, no referrer to other sites; HTML gets the CSP."""

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        is_html = response.headers.get("content-type", "").startswith("text/html")
        # Swagger UI (/docs) is FastAPI's own page, built on inline scripts.
        if is_html and not request.url.path.startswith("/docs"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
