"""Administration: mailboxes, users and services, letter templates, the outbox."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
