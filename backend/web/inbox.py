"""The agent's inbox: the cases they may see, filtered, searched, sorted by due date, assigned
in bulk."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backend.cases.presentation import public_cases
from backend.cases.repository import CaseFilters, CaseSort, list_cases
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.web.dependencies import PageUserDep
from backend.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/dossiers", response_class=HTMLResponse)
def inbox(
    request: Request, session: SessionDep, settings: SettingsDep, page: PageUserDep
) -> Response:
    """The cases the user may see, the most urgent first."""
    listing = list_cases(
        session,
        viewer=page.viewer,
        filters=CaseFilters(),
        sort=CaseSort.DUE_DATE,
        cursor=None,
        limit=50,
    )
    return render(
        request,
        "inbox/inbox.html",
        page_user=page,
        context={"cases": public_cases(session, listing.cases, settings=settings)},
    )
