"""Rendering the letter templates: sandboxed, autoescaped HTML, and no variable left blank."""

import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateRuntimeError,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    select_autoescape,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from backend.calendar.months import months_after
from backend.calendar.working_days import WorkingCalendar
from backend.config import Settings
from backend.letters.formatting import date_fr, datetime_fr, time_fr

SHIPPED_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "letter_templates"
EMAIL_PARTS = ("subject.txt.j2", "body.txt.j2", "body.html.j2")
# A letter is also a printed document: the A4 page the PDF is made from.
LETTER_PARTS = (*EMAIL_PARTS, "letter.html.j2")
# What an expression of a (préfecture-edited) template may raise: `{{ 1 / 0 }}`, a filter given
# the wrong type...; reported like Jinja's own errors rather than crashing the caller.
EXPRESSION_ERRORS = (ArithmeticError, AttributeError, LookupError, TypeError, ValueError)


class TemplateRenderError(Exception):
    """A template could not be rendered; the message, in French, is for the préfecture."""

    def __init__(self, message: str, *, template: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.template = template
        self.variable = variable


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """The three parts of an e-mail rendered from one template folder."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class RenderedLetter:
    """A letter: its object line, its e-mail parts and the HTML document of its printed page."""

    subject: str
    text: str
    html: str
    document: str


class _MissingVariableError(UndefinedError):
    """A template used a variable, or an attribute of one, that the context does not have."""

    def __init__(self, message: str, *, name: str, owner: object) -> None:
        super().__init__(message)
        self.name = name
        self.owner = owner


class _NamedStrictUndefined(StrictUndefined):
    """StrictUndefined whose error carries the missing name and the object it was looked up on.

    The exception class is swapped in __init__: StrictUndefined's operators are bound to the base
    class's _fail_with_undefined_error, so overriding that method would not reach them.
    """

    __slots__ = ()

    def __init__(
        self, hint: str | None = None, obj: Any = missing, name: str | None = None, exc: Any = None
    ) -> None:
        if exc in {None, UndefinedError} and name is not None:  # not the sandbox's SecurityError
            owner = None if obj is missing else obj
            exc = partial(_MissingVariableError, name=str(name), owner=owner)
        super().__init__(hint, obj, name, exc or UndefinedError)


def render_email(
    *, settings: Settings, template: str, context: Mapping[str, object]
) -> RenderedEmail:
    """Render the subject, text and HTML parts of a template folder, all or nothing."""
    subject, text, html = _render_parts(
        settings, template=template, parts=EMAIL_PARTS, context=context
    )
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)


def render_letter(
    *, settings: Settings, template: str, context: Mapping[str, object]
) -> RenderedLetter:
    """Render a letter's object line, e-mail parts and printed page, all or nothing."""
    subject, text, html, document = _render_parts(
        settings, template=template, parts=LETTER_PARTS, context=context
    )
    return RenderedLetter(
        subject=" ".join(subject.split()), text=text, html=html, document=document
    )


def template_roots(settings: Settings) -> tuple[Path, ...]:
    """Where templates are looked for: the préfecture's folder first, then the shipped one."""
    return _search_path(settings.letter_templates_override_dir)


def _render_parts(
    settings: Settings, *, template: str, parts: tuple[str, ...], context: Mapping[str, object]
) -> list[str]:
    roots = template_roots(settings)
    environment = _environment(roots, settings.timezone, WorkingCalendar.from_settings(settings))
    return [
        _render(environment, name=f"{template}/{part}", context=context, roots=roots)
        for part in parts
    ]


def render_text(
    *, settings: Settings, source: str, name: str, context: Mapping[str, object]
) -> str:
    """Plain text from a template held as text (a canned reply), as sandboxed and strict."""
    roots = template_roots(settings)
    environment = _environment(roots, settings.timezone, WorkingCalendar.from_settings(settings))
    return _render(
        environment,
        name=name,
        context=context,
        roots=roots,
        source="{% autoescape false %}" + source + "{% endautoescape %}",
    )


def _search_path(override_dir: Path | None) -> tuple[Path, ...]:
    """Where templates are looked for: the préfecture's folder first, then the shipped one."""
    if override_dir is None:
        return (SHIPPED_TEMPLATES_DIR,)
    return (override_dir, SHIPPED_TEMPLATES_DIR)


@lru_cache(maxsize=8)
def _environment(
    roots: tuple[Path, ...], timezone: str, calendar: WorkingCalendar
) -> ImmutableSandboxedEnvironment:
    """The environment of one search path, time zone and calendar (built once, it caches)."""
    environment = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(roots),
        autoescape=select_autoescape(
            enabled_extensions=("html.j2", "html"),
            disabled_extensions=("txt.j2", "txt"),
            default=True,
        ),
        undefined=_NamedStrictUndefined,
        finalize=_refuse_none,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
    )
    filters: dict[str, Callable[..., object]] = {
        "date_fr": partial(date_fr, tz=timezone),
        "datetime_fr": partial(datetime_fr, tz=timezone),
        "time_fr": partial(time_fr, tz=timezone),
        # `{{ today | working_days_after(15) | date_fr }}`: a deadline in the delays' calendar.
        "working_days_after": partial(_working_days_after, calendar=calendar),
        # `{{ case.received_on | months_after(4) | date_fr }}`: when an implicit decision arises.
        "months_after": months_after,
    }
    environment.filters.update({name: _strict(f) for name, f in filters.items()})
    return environment


def _strict(function: Callable[..., object]) -> Callable[..., object]:
    """The filter, but a missing variable given to it is reported as missing, by name."""

    def strict(value: object, *args: object, **kwargs: object) -> object:
        if isinstance(value, Undefined):
            value._fail_with_undefined_error()
        return function(value, *args, **kwargs)

    return strict


def _working_days_after(day: date, count: int, *, calendar: WorkingCalendar) -> date:
    """The count-th working day after day."""
    return calendar.add_working_days(day=day, count=count)


def _refuse_none(value: object) -> object:
    """Every printed value but None, which would show as 'None' in a letter to a citizen."""
    if value is None:
        raise TemplateRuntimeError("une valeur à afficher est vide (None)")
    return value


def _render(
    environment: ImmutableSandboxedEnvironment,
    *,
    name: str,
    context: Mapping[str, object],
    roots: tuple[Path, ...],
    source: str | None = None,
) -> str:
    """One template (a file, or the source given) rendered, Jinja's errors made readable."""
    try:
        if source is not None:
            return environment.from_string(source).render(context)
        return environment.get_template(name).render(context)
    except (TemplateNotFound, TemplateSyntaxError) as error:
        raise TemplateRenderError(_loading_message(error, template=name), template=name) from error
    except (TemplateError, *EXPRESSION_ERRORS) as error:
        raise _runtime_error(error, template=name, context=context, roots=roots) from error


def _loading_message(error: TemplateNotFound | TemplateSyntaxError, *, template: str) -> str:
    """A missing template, or one Jinja cannot parse: which one, and the faulty line."""
    other = error.name not in {None, template}
    if isinstance(error, TemplateNotFound):
        if other:
            return f"Le modèle « {template} » fait appel au modèle « {error.name} », introuvable."
        return f"Le modèle « {template} » est introuvable."
    where = f" de « {error.name} »" if other else ""
    detail = (error.message or "").rstrip(".")
    return (
        f"Le modèle « {template} » contient une erreur de syntaxe "
        f"(ligne {error.lineno}{where}) : {detail}."
    )


def _runtime_error(
    error: Exception, *, template: str, context: Mapping[str, object], roots: tuple[Path, ...]
) -> TemplateRenderError:
    """A missing variable, a refused unsafe access or another failure while rendering."""
    prefix, location = f"Le modèle « {template} »", _location(error, roots=roots)
    if isinstance(error, _MissingVariableError):
        variable = _dotted_path(context, name=error.name, owner=error.owner)
        message = f"{prefix} utilise la variable « {variable} », qui n'est pas fournie{location}."
        return TemplateRenderError(message, template=template, variable=variable)
    if isinstance(error, SecurityError):
        return TemplateRenderError(
            f"{prefix} tente un accès interdit{location} : {error}", template=template
        )
    return TemplateRenderError(
        f"{prefix} n'a pas pu être rendu{location} : {error}", template=template
    )


def _location(error: BaseException, *, roots: tuple[Path, ...]) -> str:
    """' (ligne 12 de « _layout/x.txt.j2 »)': the template line that failed, if Jinja kept it."""
    location = ""
    for frame, line in traceback.walk_tb(error.__traceback__):
        path = Path(frame.f_code.co_filename)
        root = next((root for root in roots if path.is_relative_to(root)), None)
        if root is not None:
            location = f" (ligne {line} de « {path.relative_to(root).as_posix()} »)"
    return location


def _dotted_path(context: Mapping[str, object], *, name: str, owner: object) -> str:
    """'service.phone' when the object the name was looked up on is in the context, else 'phone'."""
    if owner is None or isinstance(owner, str | int | float):
        return name
    for path, value in _walk(context):
        if value is owner:
            return f"{path}.{name}"
    return name


def _walk(
    mapping: Mapping[str, object], *, prefix: str = "", depth: int = 4
) -> Iterator[tuple[str, object]]:
    """Every value of nested mappings with its dotted path, parents first, a few levels deep."""
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        yield path, value
        if isinstance(value, Mapping) and depth > 1:
            yield from _walk(value, prefix=f"{path}.", depth=depth - 1)
