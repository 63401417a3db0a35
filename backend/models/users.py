"""Users, the services they belong to, and their roles."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from backend.models.fields import enum_field, text_field, timestamp_field


class UserRole(StrEnum):
    """What a user may do; visibility of cases comes from service membership."""

    AGENT = "agent"
    SERVICE_HEAD = "service_head"
    QUALITY_MANAGER = "quality_manager"
    ADMIN = "admin"


class Service(SQLModel, table=True):
    """A service of the préfecture (bureau du séjour, accueil...) owning mailboxes and cases."""

    __tablename__ = "services"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    postal_address: str | None = text_field()
    created_at: datetime = timestamp_field(now=True)


class User(SQLModel, table=True):
    """An agent, service head, quality manager or administrator."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    # Printed on correspondence with the name (CRPA L111-2), e.g. "Cheffe du bureau du séjour".
    title: str | None = Field(default=None, max_length=200)
    role: UserRole = enum_field(UserRole, default=UserRole.AGENT)
    password_hash: str | None = Field(default=None, max_length=255)
    oidc_subject: str | None = Field(default=None, max_length=255, unique=True)
    is_active: bool = True
    failed_login_count: int = 0
    locked_until: datetime | None = timestamp_field()
    last_login_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)


class ServiceMembership(SQLModel, table=True):
    """A user belongs to a service: they see its mailboxes and cases."""

    __tablename__ = "service_memberships"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    service_id: int = Field(foreign_key="services.id", primary_key=True, index=True)


class ApiToken(SQLModel, table=True):
    """A personal API token for integrations; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    token_sha256: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp_field(now=True)
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()


class UserSession(SQLModel, table=True):
    """A browser session: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_sha256: str = Field(max_length=64, unique=True)
    # How the user proved who they are: "password" or "oidc".
    method: str = Field(max_length=16)
    created_at: datetime = timestamp_field(now=True)
    expires_at: datetime = timestamp_field(nullable=False)
    revoked_at: datetime | None = timestamp_field()
    ip_address: str | None = Field(default=None, max_length=45)
