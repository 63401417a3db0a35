"""The public indicators page (no sign-in), its embeddable version and its open-data CSV."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
