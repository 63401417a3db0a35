"""The agent's inbox: the cases they may see, filtered, searched, sorted by due date, assigned
in bulk.

The filter form is a plain GET form (the URL says what is shown, so it can be shared and the
back button works); htmx only swaps the results in. Pages follow a cursor, never an OFFSET.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from backend.cases import service
from backend.cases.presentation import public_cases
from backend.cases.repository import (
    CaseFilters,
    CasePage,
    CaseSort,
    InvalidCursorError,
    case_filters,
    count_by_status,
    list_cases,
)
from backend.cases.service import (
    CaseForbiddenError,
    CaseInputError,
    CaseNotFoundError,
    StaleCaseError,
)
from backend.cases.workflow import AWAITING_ANSWER, TransitionNotAllowedError
from backend.config import Settings
from backend.database import QueryTooLongError, SessionDep, time_limited
from backend.dependencies import SettingsDep
from backend.mailboxes.service import list_mailboxes
from backend.models import CaseKind, CaseStatus, Service, ServiceMembership, User, UserRole
from backend.web.dependencies import PageUserDep
from backend.web.forms import enum_member, optional_day, row_id
from backend.web.people import full_name, service_members, user_names
from backend.web.templating import PageUser, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# How long a search may take; the other lists use the partial and keyset indexes.
SEARCH_SECONDS = 5.0
WHOLE_REQUEST = 30.0
# The status filter's own choices beside the statuses.
AWAITING = "a_traiter"
ANY_STATUS = "tous"
# The assignee filter's own choices beside the agents.
ME = "moi"
NOBODY = "aucun"
REFUSALS = (
    CaseForbiddenError,
    CaseInputError,
    CaseNotFoundError,
    StaleCaseError,
    TransitionNotAllowedError,
)


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """What the inbox shows, as the URL says it; a value that cannot be read is ignored."""

    q: str = ""
    mailbox_id: int | None = None
    status: str = AWAITING
    kind: CaseKind | None = None
    assignee: str = ""
    overdue: bool = False
    received_from: date | None = None
    received_to: date | None = None
    sort: CaseSort = CaseSort.DUE_DATE
    cursor: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "InboxQuery":
        """The query of a URL's parameters."""
        status = params.get("status", AWAITING)
        assignee = params.get("assignee", "")
        return cls(
            q=params.get("q", "").strip()[:200],
            mailbox_id=row_id(params.get("mailbox_id")),
            status=status if status in {AWAITING, ANY_STATUS, *CaseStatus} else AWAITING,
            kind=enum_member(CaseKind, params.get("kind")),
            assignee=assignee if assignee in {ME, NOBODY} or row_id(assignee) else "",
            overdue=params.get("overdue") in {"1", "on", "true"},
            received_from=optional_day(params.get("received_from")),
            received_to=optional_day(params.get("received_to")),
            sort=enum_member(CaseSort, params.get("sort")) or CaseSort.DUE_DATE,
            cursor=params.get("cursor") or None,
        )

    def filters(self, *, user: User, settings: Settings) -> CaseFilters:
        """The repository's filters for this user."""
        return case_filters(
            settings=settings,
            mailbox_id=self.mailbox_id,
            status=enum_member(CaseStatus, self.status),
            awaiting_answer=self.status == AWAITING,
            kind=self.kind,
            assignee_id=user.id if self.assignee == ME else row_id(self.assignee),
            unassigned=self.assignee == NOBODY,
            overdue=self.overdue,
            received_from=self.received_from,
            received_to=self.received_to,
            text=self.q,
        )

    def url(self, *, cursor: str | None = None, **changes: Any) -> str:
        """/dossiers with this query (the values that differ from none), on another page."""
        query = replace(self, cursor=cursor, **changes)
        params = {
            "q": query.q,
            "mailbox_id": query.mailbox_id,
            "status": "" if query.status == AWAITING else query.status,
            "kind": query.kind.value if query.kind else None,
            "assignee": query.assignee,
            "overdue": "1" if query.overdue else None,
            "received_from": query.received_from.isoformat() if query.received_from else None,
            "received_to": query.received_to.isoformat() if query.received_to else None,
            "sort": "" if query.sort is CaseSort.DUE_DATE else query.sort.value,
            "cursor": query.cursor,
        }
        kept = {name: value for name, value in params.items() if value not in (None, "")}
        return f"/dossiers?{urlencode(kept)}" if kept else "/dossiers"

    @property
    def refined(self) -> bool:
        """Whether a filter beyond the search text is set (the filters then show open)."""
        return self != InboxQuery(q=self.q, sort=self.sort, cursor=self.cursor)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a bulk assignment did to each case chosen."""

    assigned: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The alert's DSFR kind."""
        if not self.refused:
            return "success"
        return "warning" if self.assigned else "error"


@router.get("/dossiers", response_class=HTMLResponse)
def inbox(
    request: Request, session: SessionDep, settings: SettingsDep, page: PageUserDep
) -> Response:
    """The cases the user may see, the most urgent first."""
    query = InboxQuery.from_params(request.query_params)
    return _inbox_response(request, session=session, settings=settings, page=page, query=query)


async def _versions(request: Request) -> dict[int, int]:
    """The version of each listed case the form was read at (hidden inputs version_<id>)."""
    versions: dict[int, int] = {}
    for name, value in (await request.form()).multi_items():
        case_id = row_id(name.removeprefix("version_")) if name.startswith("version_") else None
        if case_id is not None and isinstance(value, str) and value.isdigit():
            versions[case_id] = int(value)
    return versions


@router.post("/dossiers/attribution", response_class=HTMLResponse)
def assign_cases(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    page: PageUserDep,
    versions: Annotated[dict[int, int], Depends(_versions)],
    dossier: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies the default)
    service_id: Annotated[str, Form()] = "",
    assignee_id: Annotated[str, Form()] = "",
    filtres: Annotated[str, Form()] = "",
) -> Response:
    """Give the chosen cases to a service and, optionally, one of its agents, case by case."""
    query = InboxQuery.from_params(dict(parse_qsl(filtres)))
    chosen = [case_id for case_id in map(row_id, dossier) if case_id is not None]
    outcome = Outcome()
    target_service = row_id(service_id)
    if not chosen:
        outcome.refused.append(("", "Cochez au moins un dossier à attribuer."))
    elif target_service is None:
        outcome.refused.append(("", "Choisissez le service à qui attribuer les dossiers."))
    else:
        agent = page.user.id if assignee_id == ME else row_id(assignee_id)
        for case_id in dict.fromkeys(chosen):
            _assign_one(
                session,
                page=page,
                case_id=case_id,
                version=versions.get(case_id),
                service_id=target_service,
                assignee_id=agent,
                outcome=outcome,
            )
        session.flush()
    return _inbox_response(
        request, session=session, settings=settings, page=page, query=query, outcome=outcome
    )


def _assign_one(
    session: Session,
    *,
    page: PageUser,
    case_id: int,
    version: int | None,
    service_id: int,
    assignee_id: int | None,
    outcome: Outcome,
) -> None:
    """Assign one case, or say why not: the others go on."""
    try:
        case = service.load_case(
            session, case_id=case_id, viewer=page.viewer, expected_version=version
        )
    except CaseNotFoundError:
        outcome.refused.append((f"n° {case_id}", "dossier introuvable."))
        return
    except StaleCaseError:
        case = service.load_case(session, case_id=case_id, viewer=page.viewer)
        outcome.refused.append(
            (case.reference, "modifié entre-temps par quelqu'un d'autre : rechargez la liste.")
        )
        return
    if version is None:
        outcome.refused.append((case.reference, "version lue inconnue : rechargez la liste."))
        return
    try:
        service.assign(
            session, case=case, service_id=service_id, assignee_id=assignee_id, actor=page.user
        )
    except REFUSALS as error:
        outcome.refused.append((case.reference, str(error)))
        return
    outcome.assigned.append(case.reference)


@router.get("/dossiers/attribution/agents", response_class=HTMLResponse)
def service_agents(
    request: Request, session: SessionDep, page: PageUserDep, service_id: str = ""
) -> Response:
    """The agent choices of the bulk assignment for one service (htmx dependent select)."""
    choices = _assignment_choices(session, page=page)
    chosen = row_id(service_id)
    return render(
        request,
        "inbox/_agents.html",
        page_user=page,
        context={"assignment": choices, "only_service_id": chosen},
    )


def _inbox_response(
    request: Request,
    *,
    session: Session,
    settings: Settings,
    page: PageUser,
    query: InboxQuery,
    outcome: Outcome | None = None,
) -> Response:
    """The whole page, or for htmx only the results (a history restore needs the page)."""
    context = _results_context(session, settings=settings, page=page, query=query)
    context["outcome"] = outcome
    fragment = request.headers.get("HX-Request") == "true" and (
        request.headers.get("HX-History-Restore-Request") != "true"
    )
    if fragment:
        return render(request, "inbox/_results.html", page_user=page, context=context)
    context.update(_form_context(session, page=page))
    return render(request, "inbox/inbox.html", page_user=page, context=context)


def _results_context(
    session: Session, *, settings: Settings, page: PageUser, query: InboxQuery
) -> dict[str, Any]:
    """The cases of the page, the counts per status, the links to the other pages."""
    filters = query.filters(user=page.user, settings=settings)
    cursor_error = search_error = None
    listing, counts = CasePage(cases=[], next_cursor=None), {}
    try:
        # A word found in most of a million cases must not hold a server process for a minute.
        with time_limited(session, seconds=SEARCH_SECONDS if query.q else WHOLE_REQUEST):
            try:
                listing = _page(session, page=page, filters=filters, query=query)
            except InvalidCursorError as error:
                cursor_error = str(error)
                query = replace(query, cursor=None)
                listing = _page(session, page=page, filters=filters, query=query)
            # Only the statuses still owed an answer are counted: counting years of closed
            # cases would cost more than the page.
            counts = count_by_status(
                session, viewer=page.viewer, filters=filters, statuses=AWAITING_ANSWER
            )
    except QueryTooLongError:
        search_error = (
            f"La recherche « {query.q} » porte sur trop de dossiers pour aboutir en moins de "
            f"{SEARCH_SECONDS:.0f} secondes : ajoutez un mot, choisissez un statut ou une période."
        )
    cases = public_cases(session, listing.cases, settings=settings)
    return {
        "query": query,
        "cases": cases,
        "assignees": user_names(session, {c.assignee_id for c in cases if c.assignee_id}),
        "counts": counts,
        "statuses": list(CaseStatus),
        "next_url": query.url(cursor=listing.next_cursor) if listing.next_cursor else None,
        "first_url": query.url() if query.cursor else None,
        "filters_query": query.url().partition("?")[2],
        "cursor_error": cursor_error or search_error,
        "assignment": _assignment_choices(session, page=page),
        "ME": ME,
    }


def _page(session: Session, *, page: PageUser, filters: CaseFilters, query: InboxQuery) -> CasePage:
    """One page of the cases, after the query's cursor."""
    return list_cases(
        session,
        viewer=page.viewer,
        filters=filters,
        sort=query.sort,
        cursor=query.cursor,
        limit=PAGE_SIZE,
    )


def _form_context(session: Session, *, page: PageUser) -> dict[str, Any]:
    """The choices of the filter form."""
    services = page.viewer.service_ids
    colleagues = session.exec(
        select(User)
        .join(ServiceMembership, col(ServiceMembership.user_id) == col(User.id))
        .where(col(ServiceMembership.service_id).in_(sorted(services)))
        .where(col(User.is_active))
        .order_by(col(User.last_name), col(User.first_name))
        .distinct()
    ).all()
    return {
        "mailboxes": list_mailboxes(session),
        "kinds": list(CaseKind),
        "colleagues": [(u.id, full_name(u)) for u in colleagues if u.id != page.user.id],
        "AWAITING": AWAITING,
        "ANY_STATUS": ANY_STATUS,
        "NOBODY": NOBODY,
        "sorts": {
            CaseSort.DUE_DATE: "Échéance la plus proche",
            CaseSort.RECEIVED_AT: "Plus récents",
        },
    }


@dataclass(frozen=True, slots=True)
class AssignmentChoices:
    """The services the user may give cases to, and who in each may receive them."""

    services: Sequence[Service]
    members: dict[int, list[tuple[int, str]]]
    only_self: bool  # an agent assigns to themselves only


def _assignment_choices(session: Session, *, page: PageUser) -> AssignmentChoices:
    """An agent gives cases to their services, to themselves; the others to anyone."""
    only_self = page.has_role(UserRole.AGENT)
    query = select(Service).order_by(col(Service.name))
    if only_self:
        query = query.where(col(Service.id).in_(sorted(page.viewer.service_ids)))
    services = session.exec(query).all()
    members = service_members(
        session,
        service_ids=[s.id for s in services if s.id is not None],
        only_user_id=page.user.id if only_self else None,
    )
    return AssignmentChoices(services=services, members=members, only_self=only_self)
