"""Request validation errors in French: an agent's form or an integration reads them as they are."""

from collections.abc import Callable
from typing import Any

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
    "enum": lambda c: f"Valeur attendue : {c['expected']}.",
    "literal_error": lambda c: f"Valeur attendue : {c['expected']}.",
    "json_invalid": lambda _: "Corps de requête JSON illisible.",
    "model_attributes_type": lambda _: "Objet JSON attendu.",
    "dict_type": lambda _: "Objet JSON attendu.",
    "list_type": lambda _: "Liste attendue.",
}


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
    """A validator's own message (e-mail addresses, custom checks), else the original one."""
    message = str(item.get("msg", ""))
    if item.get("type") != "value_error":
        return message
    if "email address" in message.lower():
        return f"Adresse électronique invalide : {item.get('input')!s}."
    # Our validators already speak French; pydantic only prefixes them.
    return message.removeprefix("Value error, ")
