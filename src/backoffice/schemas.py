"""Base classes shared by every module's request and response models."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator


def reject_nul(value: Any) -> Any:
    """PostgreSQL cannot store NUL in text: refuse it here, before it can become a 500."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


SafeStr = Annotated[str, AfterValidator(reject_nul)]


class RequestModel(BaseModel):
    """Request bodies and query models: unknown fields and NUL characters are 422."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _reject_nul(cls, value: Any) -> Any:
        return reject_nul(value)


class ReadModel(BaseModel):
    """Response models, built straight from ORM rows or Core result rows."""

    model_config = ConfigDict(from_attributes=True)
