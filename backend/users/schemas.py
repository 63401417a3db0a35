"""What the sign-in endpoints read and return."""

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from backend.models import UserRole
from backend.validation import PartialUpdate, RequestBody, RowId


class LoginRequest(RequestBody):
    """An e-mail address and password."""

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class MePublic(BaseModel):
    """The signed-in user, their services, and the CSRF token of their browser session."""

    id: int
    email: str
    first_name: str
    last_name: str
    role: UserRole
    services: list[str]
    # To send back in the X-CSRF-Token header of every change; None with an API token.
    csrf_token: str | None


class UserPublic(BaseModel):
    """An account as administrators see it: never its password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    first_name: str
    last_name: str
    title: str | None
    role: UserRole
    is_active: bool
    service_ids: list[int] = []
    has_password: bool = False
    uses_proconnect: bool = False


class UserCreate(RequestBody):
    """A new account; it signs in through ProConnect, or with a password set by the CLI."""

    email: EmailStr
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    title: str | None = Field(default=None, max_length=200)
    role: UserRole = UserRole.AGENT
    service_ids: list[RowId] = Field(default_factory=list)


class UserUpdate(PartialUpdate):
    """The fields to change; the others stay."""

    NULLABLE_FIELDS = frozenset({"title"})

    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    title: str | None = Field(default=None, max_length=200)
    role: UserRole | None = None
    is_active: bool | None = None
    service_ids: list[RowId] | None = None
