"""HTTP of the employees module."""

from fastapi import APIRouter

router = APIRouter(prefix="/employees", tags=["employees"])
