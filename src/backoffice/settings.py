"""One `Settings` object, read once from the environment (and `.env` in dev)."""

from functools import lru_cache
from typing import Annotated, Literal, Self

from fastapi import Depends, Request
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_JWT_SECRET = "change-me-in-production-this-is-not-a-secret"  # noqa: S105
DEFAULT_DATABASE_URL = ""
DEFAULT_PASSWORDS = frozenset({"postgres", "password", "changeme", "change-me", "secret", "admin"})

AppEnv = Literal["dev", "test", "prod"]


class Settings(BaseSettings):
    """Every knob of the service; `.env.example` lists each one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    app_env: AppEnv = "dev"

    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    db_pool_timeout: float = Field(default=5.0, gt=0)
    db_statement_cache_size: int = Field(default=100, ge=0)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_command_timeout: float = Field(default=30.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)

    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "backoffice"
    jwt_audience: str = "backoffice-api"
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)

    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    max_header_count: int = Field(default=100, ge=8)
    body_read_timeout_seconds: float = Field(default=30.0, gt=0)
    allowed_upload_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "application/pdf",
            "text/plain",
            "text/csv",
        ]
    )
    notification_sweep_seconds: float = Field(default=30.0, gt=0)

    forwarded_allow_ips: str = "127.0.0.1"
    web_concurrency: int = Field(default=1, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    drain_seconds: float = Field(default=5.0, ge=0)
    graceful_shutdown_seconds: float = Field(default=20.0, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    admin_password: SecretStr | None = None

    @field_validator("cors_origins", "allowed_upload_types", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        """Lists come from the environment as comma-separated strings."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        """Production must never run with a guessable secret or an open CORS policy."""
        if self.app_env != "prod":
            return self
        if len(self.jwt_secret.encode()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 bytes in prod")
        if self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ValueError("JWT_SECRET is the default value; set a real secret in prod")
        if "*" in self.cors_origins:
            raise ValueError("CORS_ORIGINS=* is not allowed in prod")
        if not self.database_url:
            raise ValueError("DATABASE_URL must be set in prod")
        if make_url(self.database_url).password in DEFAULT_PASSWORDS:
            raise ValueError("DATABASE_URL uses a default password; set a real one in prod")
        if "*" in self.forwarded_allow_ips.split(","):
            raise ValueError("FORWARDED_ALLOW_IPS=* is not allowed in prod")
        return self

    @property
    def async_database_url(self) -> str:
        """The URL with the asyncpg driver, whatever scheme the operator wrote."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()


async def settings_of(request: Request) -> Settings:
    """The settings the app was built with (async: a sync dependency would take a thread)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]
