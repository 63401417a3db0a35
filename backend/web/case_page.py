"""A case's page: its thread, timeline and delays, and what an agent does to it."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
