"""HTTP of the items module."""

from fastapi import APIRouter

router = APIRouter(prefix="/items", tags=["items"])
