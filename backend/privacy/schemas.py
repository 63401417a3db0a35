"""What the citizens' rights endpoints read and return."""

from pydantic import BaseModel, Field

from backend.validation import RequestBody


class CitizenErase(RequestBody):
    """The e-mail address whose personal data is to be erased."""

    email: str = Field(min_length=3, max_length=320)


class CitizenErased(BaseModel):
    """The cases whose personal data was erased."""

    references: list[str]
