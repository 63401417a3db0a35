"""Rendering pages: one Jinja2 environment (autoescaped), its French filters, and the context
every page shares (who is signed in, their CSRF token, the navigation)."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backend.config import Settings, get_settings
from backend.letters.formatting import date_fr, decimal_fr
from backend.models import User, UserRole
from backend.users.access import Viewer
from backend.web import labels

FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"
TEMPLATES_DIR = FRONTEND_DIR / "templates"


@dataclass(frozen=True, slots=True)
class PageUser:
    """The signed-in user of a page, what they may see, and the token their forms carry."""

    user: User
    viewer: Viewer
    csrf_token: str

    @property
    def role(self) -> UserRole:
        """Their role."""
        return self.user.role

    def has_role(self, *roles: UserRole) -> bool:
        """Whether their role is one of these."""
        return self.user.role in roles


@dataclass(frozen=True, slots=True)
class NavItem:
    """An entry of the main navigation."""

    label: str
    url: str
    roles: frozenset[UserRole] = field(default_factory=lambda: frozenset(UserRole))


NAVIGATION = (
    NavItem("Dossiers", "/dossiers"),
    NavItem("Enregistrer un courrier", "/courriers/nouveau"),
    NavItem("Qualité", "/qualite"),
    NavItem("Administration", "/administration", frozenset({UserRole.ADMIN})),
)


def local_datetime(value: datetime | None) -> str:
    """An instant at the préfecture: "26/11/2026 à 10:32"."""
    if value is None:
        return "–"
    local = value.astimezone(get_settings().tzinfo)
    return f"{local:%d/%m/%Y} à {local:%H:%M}"


def local_date(value: date | datetime | None) -> str:
    """A day: "26/11/2026"."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(get_settings().tzinfo).date()
    return f"{value:%d/%m/%Y}"


def file_size(size: int | None) -> str:
    """Bytes as people read them: "1,2 Mo"."""
    if size is None:
        return "–"
    for unit, factor in (("Go", 1 << 30), ("Mo", 1 << 20), ("ko", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}".replace(".", ",")
    return f"{size} o"


def french_number(value: Decimal | int | None, places: int = 1) -> str:
    """A number with a decimal comma: "4,2"; "–" for none."""
    return "–" if value is None else decimal_fr(value, places=places)


def long_date(value: date | datetime | None) -> str:
    """A day as letters write it: "1er décembre 2026"."""
    return "–" if value is None else date_fr(value, tz=get_settings().timezone)


def _environment() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    templates.env.filters.update(
        local_datetime=local_datetime,
        local_date=local_date,
        long_date=long_date,
        file_size=file_size,
        french_number=french_number,
        status_label=labels.status_label,
    )
    templates.env.globals.update(
        KIND_LABELS=labels.KIND_LABELS,
        CHANNEL_LABELS=labels.CHANNEL_LABELS,
        ANSWER_CHANNEL_LABELS=labels.ANSWER_CHANNEL_LABELS,
        ROLE_LABELS=labels.ROLE_LABELS,
        UserRole=UserRole,
    )
    return templates


templates = _environment()


def render(
    request: Request,
    template: str,
    *,
    page_user: PageUser | None,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    settings: Settings | None = None,
) -> HTMLResponse:
    """A page (or, for htmx, a fragment) with the shared context."""
    settings = settings or get_settings()
    navigation = [
        item for item in NAVIGATION if page_user is not None and page_user.role in item.roles
    ]
    shared = {
        "page_user": page_user,
        "csrf_token": page_user.csrf_token if page_user else "",
        "navigation": navigation,
        "current_path": request.url.path,
        "prefecture": settings.prefecture,
        "is_htmx": request.headers.get("HX-Request") == "true",
    }
    return templates.TemplateResponse(
        request, template, {**shared, **(context or {})}, status_code=status_code
    )
