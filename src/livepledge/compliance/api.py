"""Compliance HTTP API (issue #3)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/compliance", tags=["compliance"])
