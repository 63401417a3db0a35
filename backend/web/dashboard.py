"""The quality dashboard: the monthly table, charts against the targets, backlog per service,
exports and the manual indicators."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
