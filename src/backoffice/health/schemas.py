"""Response models of the operational endpoints."""

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    status: Literal["ok", "unavailable", "draining"]


class ServiceInfo(BaseModel):
    name: str
    version: str
    docs: str
    redoc: str
