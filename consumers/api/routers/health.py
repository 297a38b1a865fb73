"""``GET /health``: the process answers (the local stack's health check)."""

from __future__ import annotations

from fastapi import APIRouter

from consumers.api.models import Health

router = APIRouter(tags=["meta"])


@router.get("/health")
def health() -> Health:
    return Health(status="ok")
