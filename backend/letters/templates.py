"""The standard letters on offer: each template folder's manifest, read and checked.

A manifest says what the letter is for (title, case kinds, channels, its effect on the case) and
which variables it needs, with their type and French label, so that an interface can ask the
agent for the ones the case does not know (`ask = true`). See letter_templates/README.md.
"""

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.config import Settings
from backend.letters.rendering import LETTER_PARTS, template_roots
from backend.models import CaseKind

MANIFEST = "manifest.toml"
LAYOUT_DIR = "_layout"


class LetterChannel(StrEnum):
    """How a letter may reach the citizen."""

    EMAIL = "email"
    POST = "post"


class LetterEffect(StrEnum):
    """What sending the letter does to the case."""

    ANSWER = "answer"  # a substantive answer: the first one sets answered_at
    REQUEST_DOCUMENTS = "request_documents"  # the case waits for the citizen from then
    ACKNOWLEDGE = "acknowledge"  # an acknowledgement: never an answer


class VariableType(StrEnum):
    """The type of a template variable, checked before rendering."""

    STR = "str"
    TEXT = "text"  # several lines
    INT = "int"
    BOOL = "bool"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    LIST = "list"  # of lines of text
    OBJECT = "object"


class VariableSpec(BaseModel):
    """A variable of a template: its type, label, and whether the agent provides it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: VariableType
    label: str
    ask: bool = False
    required: bool = True
    default: Any = None
    # For a list the agent picks from: the name of the catalogue in the settings.
    catalogue: str | None = None
    fields: dict[str, "VariableSpec"] = Field(default_factory=dict)


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    kinds: list[CaseKind | str] = Field(default_factory=list)
    channels: list[LetterChannel]
    effect: LetterEffect | None = None
    variables: dict[str, VariableSpec] = Field(default_factory=dict)


class LetterTemplateError(Exception):
    """An unknown template or a broken manifest; the message, in French, names it."""


@dataclass(frozen=True, slots=True)
class LetterTemplate:
    """A standard letter: what it is, what it needs, and the exact version of its wording."""

    name: str
    title: str
    kinds: tuple[str, ...]
    channels: tuple[LetterChannel, ...]
    effect: LetterEffect | None
    variables: Mapping[str, VariableSpec]
    version: str  # sha256 of the files the letter is made of, override included

    @property
    def asked(self) -> dict[str, VariableSpec]:
        """The variables the agent fills in."""
        return {name: spec for name, spec in self.variables.items() if spec.ask}


def letter_templates(settings: Settings) -> list[LetterTemplate]:
    """Every letter that can be printed (the post channel), by title."""
    names = {
        folder.name
        for root in template_roots(settings)
        if root.is_dir()
        for folder in root.iterdir()
        if (folder / MANIFEST).is_file() and (folder / "letter.html.j2").exists()
    }
    letters = [letter_template(settings, name) for name in names]
    return sorted(letters, key=lambda letter: letter.title)


def letter_template(settings: Settings, name: str) -> LetterTemplate:
    """One letter template, its manifest checked; LetterTemplateError if unknown or broken."""
    roots = template_roots(settings)
    manifest_path = _first_existing(roots, f"{name}/{MANIFEST}")
    if "/" in name or name.startswith((".", "_")) or manifest_path is None:
        raise LetterTemplateError(f"Le modèle de lettre « {name} » n'existe pas.")
    try:
        manifest = _Manifest.model_validate(tomllib.loads(manifest_path.read_text("utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        raise LetterTemplateError(
            f"Le fichier {MANIFEST} du modèle « {name} » est invalide : {_first_line(error)}"
        ) from error
    if LetterChannel.POST not in manifest.channels:
        raise LetterTemplateError(f"« {name} » n'est pas un modèle de lettre (pas de courrier).")
    return LetterTemplate(
        name=name,
        title=manifest.title,
        kinds=tuple(str(kind) for kind in manifest.kinds),
        channels=tuple(manifest.channels),
        effect=manifest.effect,
        variables=manifest.variables,
        version=_version(roots, name=name),
    )


def agent_values(template: LetterTemplate, values: Mapping[str, object]) -> dict[str, object]:
    """The agent's values, each checked and converted to its type; defaults filled in."""
    unknown = sorted(set(values) - set(template.asked))
    if unknown:
        raise LetterTemplateError(
            f"Le modèle « {template.name} » n'a pas de variable « {unknown[0]} » à remplir "
            f"(variables : {', '.join(template.asked) or 'aucune'})."
        )
    converted: dict[str, object] = {}
    for name, spec in template.asked.items():
        value = values.get(name, spec.default)
        if value is None or value == "" or value == []:
            if spec.required:
                raise LetterTemplateError(
                    f"La variable « {name} » ({spec.label}) du modèle « {template.name} » "
                    "est obligatoire."
                )
            converted[name] = _empty(spec.type)
            continue
        converted[name] = _converted(value, spec=spec, name=name, template=template.name)
    return converted


def _converted(value: object, *, spec: VariableSpec, name: str, template: str) -> object:
    """The value as its type; a value that is not is an error naming the variable."""
    try:
        return _CONVERTERS[spec.type](value)
    except (TypeError, ValueError, KeyError) as error:
        raise LetterTemplateError(
            f"La variable « {name} » ({spec.label}) du modèle « {template} » attend "
            f"{_TYPE_NAMES[spec.type]}, pas « {value} »."
        ) from error


def _to_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(value)
    return int(value)


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return {"oui": True, "true": True, "1": True, "non": False, "false": False, "0": False}[
        str(value).strip().lower()
    ]


def _to_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _to_time(value: object) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value).replace("h", ":"))


def _to_lines(value: object) -> list[str]:
    items = value if isinstance(value, list) else str(value).splitlines()
    lines = [str(item).strip() for item in items if str(item).strip()]
    if not lines:
        raise ValueError(value)
    return lines


def _to_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value.strip()


_CONVERTERS: dict[VariableType, Any] = {
    VariableType.STR: _to_str,
    VariableType.TEXT: _to_str,
    VariableType.INT: _to_int,
    VariableType.BOOL: _to_bool,
    VariableType.DATE: _to_date,
    VariableType.TIME: _to_time,
    VariableType.LIST: _to_lines,
}
_TYPE_NAMES = {
    VariableType.STR: "un texte",
    VariableType.TEXT: "un texte",
    VariableType.INT: "un nombre entier",
    VariableType.BOOL: "oui ou non",
    VariableType.DATE: "une date AAAA-MM-JJ",
    VariableType.TIME: "une heure HH:MM",
    VariableType.DATETIME: "une date et une heure",
    VariableType.LIST: "une liste d'au moins une ligne",
    VariableType.OBJECT: "un objet",
}


def _empty(variable_type: VariableType) -> object:
    return [] if variable_type is VariableType.LIST else ""


def _version(roots: tuple[Path, ...], *, name: str) -> str:
    """sha256 of the letter's files and the layout, each as the search path resolves it."""
    digest = hashlib.sha256()
    layout = sorted(
        {
            path.name
            for root in roots
            if (root / LAYOUT_DIR).is_dir()
            for path in (root / LAYOUT_DIR).iterdir()
        }
    )
    relative = [f"{name}/{MANIFEST}", *(f"{name}/{part}" for part in LETTER_PARTS)]
    for path_name in [*relative, *(f"{LAYOUT_DIR}/{file}" for file in layout)]:
        resolved = _first_existing(roots, path_name)
        if resolved is not None:
            digest.update(path_name.encode() + b"\0" + resolved.read_bytes() + b"\0")
    return digest.hexdigest()


def _first_existing(roots: tuple[Path, ...], relative: str) -> Path | None:
    return next((root / relative for root in roots if (root / relative).is_file()), None)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
