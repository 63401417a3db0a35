"""Request validation: errors in French, and input types that keep out what the database refuses."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, ClassVar

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

# Integer columns are 32-bit on PostgreSQL (SQLite's go to 64): a larger number would reach the
# database and fail there (a 500), so it is refused with the other invalid input.
INT32_MAX = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=INT32_MAX)]
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
# Python's calendar stops at years 1 and 9999, where the conversion to UTC overflows (a 500);
# no préfecture deals with days before or after these.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
# A moment must name its time zone: the database keeps UTC and refuses to guess.
Moment = Annotated[
    AwareDatetime,
    Field(
        ge=datetime.combine(FIRST_DAY, time.min, tzinfo=UTC),
        le=datetime.combine(LAST_DAY, time.max, tzinfo=UTC),
    ),
]
NULL_REFUSED = "Valeur null refusée : omettez le champ pour le laisser inchangé."
NUL_REFUSED = "Caractère nul (U+0000) refusé : il ne peut pas être enregistré."
_ENUM_MEMBER = re.compile(r"<\w+\.\w+: ('[^']*')>")

_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda _: "Champ obligatoire.",
    "string_too_short": lambda c: f"Texte trop court : au moins {c['min_length']} caractère(s).",
    "string_too_long": lambda c: f"Texte trop long : au plus {c['max_length']} caractères.",
    "string_pattern_mismatch": lambda c: f"Format invalide (attendu : {c['pattern']}).",
    "too_short": lambda c: f"Au moins {c['min_length']} élément(s).",
    "too_long": lambda c: f"Au plus {c['max_length']} élément(s).",
    "greater_than_equal": lambda c: f"Doit être supérieur ou égal à {c['ge']}.",
    "greater_than": lambda c: f"Doit être supérieur à {c['gt']}.",
    "less_than_equal": lambda c: f"Doit être inférieur ou égal à {c['le']}.",
    "less_than": lambda c: f"Doit être inférieur à {c['lt']}.",
    "int_parsing": lambda _: "Nombre entier attendu.",
    "int_type": lambda _: "Nombre entier attendu.",
    "float_parsing": lambda _: "Nombre attendu.",
    "bool_parsing": lambda _: "Valeur attendue : true ou false.",
    "string_type": lambda _: "Texte attendu.",
    "date_parsing": lambda _: "Date attendue, au format AAAA-MM-JJ.",
    "date_from_datetime_parsing": lambda _: "Date attendue, au format AAAA-MM-JJ.",
    "datetime_parsing": lambda _: "Date et heure attendues, au format ISO 8601.",
    "datetime_from_date_parsing": lambda _: "Date et heure attendues, au format ISO 8601.",
    "enum": lambda c: f"Valeur attendue : {_expected(c)}.",
    "literal_error": lambda c: f"Valeur attendue : {_expected(c)}.",
    "json_invalid": lambda _: "Corps de requête JSON illisible.",
    "model_attributes_type": lambda _: "Objet JSON attendu.",
    "dict_type": lambda _: "Objet JSON attendu.",
    "list_type": lambda _: "Liste attendue.",
    # Found by fuzzing the API (tests/test_api_fuzzing.py): these too reach the agent.
    "int_from_float": lambda _: "Nombre entier attendu, sans partie décimale.",
    "int_parsing_size": lambda _: "Nombre entier trop grand.",
    "float_type": lambda _: "Nombre attendu.",
    "finite_number": lambda _: "Nombre fini attendu.",
    "decimal_type": lambda _: "Nombre décimal attendu.",
    "decimal_parsing": lambda _: "Nombre décimal attendu.",
    "decimal_max_digits": lambda c: f"Au plus {c['max_digits']} chiffres en tout.",
    "decimal_max_places": lambda c: f"Au plus {c['decimal_places']} chiffres après la virgule.",
    "decimal_whole_digits": lambda c: f"Au plus {c['whole_digits']} chiffres avant la virgule.",
    "multiple_of": lambda c: f"Doit être un multiple de {c['multiple_of']}.",
    "bool_type": lambda _: "Valeur attendue : true ou false.",
    "string_unicode": lambda _: "Texte Unicode valide attendu.",
    "date_type": lambda _: "Date attendue, au format AAAA-MM-JJ.",
    "date_from_datetime_inexact": lambda _: "Date attendue, sans heure : AAAA-MM-JJ.",
    "datetime_type": lambda _: "Date et heure attendues, au format ISO 8601.",
    "datetime_object_invalid": lambda _: "Date et heure attendues, au format ISO 8601.",
    "timezone_aware": lambda _: "Fuseau horaire attendu dans la date et l'heure (+01:00, Z…).",
    "timezone_naive": lambda _: "Date et heure attendues sans fuseau horaire.",
    "time_type": lambda _: "Heure attendue, au format HH:MM.",
    "time_parsing": lambda _: "Heure attendue, au format HH:MM.",
    "extra_forbidden": lambda _: "Champ inconnu.",
    "none_required": lambda _: "Valeur null attendue.",
    "json_type": lambda _: "JSON attendu.",
    "set_type": lambda _: "Liste attendue.",
    "tuple_type": lambda _: "Liste attendue.",
    "uuid_type": lambda _: "Identifiant UUID attendu.",
    "uuid_parsing": lambda _: "Identifiant UUID attendu.",
    "url_type": lambda _: "Adresse URL attendue.",
    "url_parsing": lambda _: "Adresse URL attendue.",
}


def _expected(context: dict[str, Any]) -> str:
    """Pydantic's list of the allowed values, in French: "'a', 'b' ou 'c'"."""
    # A Literal of enum members is listed by their repr: "<CaseChannel.PAPER: 'paper'>".
    values = _ENUM_MEMBER.sub(r"\1", str(context.get("expected", "")))
    head, separator, last = values.rpartition(" or ")
    return f"{head} ou {last}" if separator else values


def french_validation_handler(_request: Request, error: Exception) -> JSONResponse:
    """422 with each error's place and a French message (the original kept as `type`)."""
    assert isinstance(error, RequestValidationError)
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": [_french(item) for item in error.errors()]},
    )


def _french(item: dict[str, Any]) -> dict[str, Any]:
    """One error with its message in French when its type is known."""
    translate = _MESSAGES.get(str(item.get("type")))
    context = item.get("ctx") or {}
    message = translate(context) if translate else _value_error(item)
    encoded: dict[str, Any] = jsonable_encoder(
        {"loc": item.get("loc"), "msg": message, "type": item.get("type")}
    )
    return encoded


def _value_error(item: dict[str, Any]) -> str:
    """A validator's own message (e-mail addresses, custom checks), else a general one."""
    message = str(item.get("msg", ""))
    if item.get("type") != "value_error":
        # Pydantic's message is English; the agent reads French, the `type` says the rest.
        return "Valeur invalide."
    if "email address" in message.lower():
        return f"Adresse électronique invalide : {item.get('input')!s}."
    # Our validators already speak French; pydantic only prefixes them.
    return message.removeprefix("Value error, ")


def refuse_nul(value: object) -> object:
    """Refuse U+0000 anywhere in the value: PostgreSQL stores none in text or JSON (a 500)."""
    if _holds_nul(value):
        raise ValueError(NUL_REFUSED)
    return value


# A query or path parameter's text, for the parameters that reach the database.
Text = Annotated[str, AfterValidator(refuse_nul)]


class RequestBody(BaseModel):
    """A request body whose text, nested or not, can be stored as it is."""

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: object) -> object:
        """Each field, strings nested in lists and mappings included, without U+0000."""
        return refuse_nul(value)


def _holds_nul(value: object) -> bool:
    """Whether a string, or any key or item of a list or mapping, contains U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_nul(item) for item in value)
    return False


def _without_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Document a partial update's fields without null, except those that may be emptied."""
    nullable: frozenset[str] = getattr(model, "NULLABLE_FIELDS", frozenset())
    for name, field in schema.get("properties", {}).items():
        branches = [branch for branch in field.get("anyOf", []) if branch != {"type": "null"}]
        if name in nullable or len(branches) != 1:
            continue
        del field["anyOf"]
        field.pop("default", None)
        field.update(branches[0])


class PartialUpdate(RequestBody):
    """Changes to a row: a field left out stays as it is; null only empties a nullable column."""

    model_config = ConfigDict(json_schema_extra=_without_null)
    # The fields whose column takes null; every other field refuses an explicit null.
    NULLABLE_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_null(cls, value: object, info: ValidationInfo) -> object:
        """A null where the column takes none would fail in the database: refused here."""
        if value is None and info.field_name not in cls.NULLABLE_FIELDS:
            raise ValueError(NULL_REFUSED)
        return value
