"""HTTP of the files module."""

from fastapi import APIRouter

router = APIRouter(prefix="/files", tags=["files"])
