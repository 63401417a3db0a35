"""Registering paper mail and suggestion-box slips."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
