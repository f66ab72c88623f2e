"""HTTP of the notifications module."""

from fastapi import APIRouter

router = APIRouter(prefix="/notifications", tags=["notifications"])
