"""Response models of the operational endpoints."""

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Health(BaseModel):
    status: Literal["ok", "unavailable", "draining"]


class ServiceInfo(BaseModel):
    name: str
    version: str
    docs: str
    redoc: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "backoffice", "version": "0.1.0", "docs": "/docs", "redoc": "/redoc"}
            ]
        }
    )
