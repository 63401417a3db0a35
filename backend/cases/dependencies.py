"""The case a request names by its id: found only if the caller may see it."""

from typing import Annotated

from fastapi import Depends, Header, HTTPException, status

from backend.cases import service
from backend.database import SessionDep
from backend.models import Case
from backend.users.access import ViewerDep
from backend.validation import RowId


def expected_version(if_match: str | None) -> int:
    """The version the caller read, from If-Match; a change without one is refused."""
    if if_match is None:
        raise HTTPException(
            status.HTTP_428_PRECONDITION_REQUIRED,
            detail="En-tête If-Match requis : indiquez la version du dossier que vous modifiez.",
        )
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"If-Match illisible : {if_match!r}."
        ) from error


def visible_case(session: SessionDep, viewer: ViewerDep, case_id: RowId) -> Case:
    """The case of the path, if the caller may see it; else 404."""
    return service.load_case(session, case_id=case_id, viewer=viewer)


VisibleCaseDep = Annotated[Case, Depends(visible_case)]


def case_for_change(
    case: VisibleCaseDep,
    if_match: Annotated[
        str | None,
        Header(description="L'ETag du dossier lu, par exemple \"3\" : refus 412 s'il a changé."),
    ] = None,
) -> Case:
    """The case of the path, visible to the caller (else 404 first) and at the version read."""
    service.check_version(case, expected_version=expected_version(if_match))
    return case


CaseForChangeDep = Annotated[Case, Depends(case_for_change)]
