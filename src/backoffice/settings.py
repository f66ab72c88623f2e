"""One `Settings` object, read once from the environment (and `.env` in dev)."""

import ipaddress
import os
from email.utils import parseaddr
from functools import lru_cache
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from fastapi import Depends, Request
from limits import parse_many
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.functional_validators import AfterValidator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_JWT_SECRET = "change-me-in-production-this-is-not-a-secret"  # noqa: S105
DEFAULT_DATABASE_URL = ""
DEFAULT_PASSWORDS = frozenset({"postgres", "password", "changeme", "change-me", "secret", "admin"})

DOTENV = ".env"
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})
ASYNC_SCHEME = "postgresql+asyncpg"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
AppEnv = Literal["dev", "test", "prod"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def link_template(value: str) -> str:
    """A link a mail can carry: a scheme (`https`, or an app's own) and `{token}`."""
    if "{token}" not in value or not urlsplit(value).scheme:
        raise ValueError(f"{value!r} is not a link like https://app.example.com/x?token={{token}}")
    return value


def mail_address(value: str) -> str:
    """`Name <address>` or a bare address, checked at start-up, not at the first mail."""
    if "@" in parseaddr(value)[1]:
        return value
    raise ValueError(f"{value!r} is not an address like 'Name <no-reply@example.com>'")


LinkTemplate = Annotated[str, AfterValidator(link_template)]
MailAddress = Annotated[str, AfterValidator(mail_address)]


def default_hash_threads() -> int:
    """All cores but one: bcrypt releases the GIL, so this many sign-ins hash at once
    while one core stays for the event loop (a login storm that took every core held
    the reads beside it at a p99 of 818 ms in `make bench`)."""
    return max(1, (os.cpu_count() or 1) - 1)


class Settings(BaseSettings):
    """Every knob of the service; `.env.example` lists each one."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

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
    # How long a sign-in waits for a bcrypt slot before a 503 `busy` with Retry-After.
    bcrypt_queue_seconds: float = Field(default=5.0, gt=0, le=60)
    # How many sign-ins hash at once; default all cores but one (reads keep a core).
    bcrypt_threads: int = Field(default_factory=default_hash_threads, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    max_header_count: int = Field(default=100, ge=8)
    body_read_timeout_seconds: float = Field(default=30.0, gt=0)
    header_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    # uvicorn's idle keep-alive; keep it above nginx's upstream keepalive_timeout (2 s).
    keepalive_timeout_seconds: int = Field(default=5, ge=1, le=300)
    max_connections_per_worker: int = Field(default=1000, ge=1)
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
    readiness_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    graceful_shutdown_seconds: float = Field(default=20.0, ge=0)
    log_level: LogLevel = "INFO"
    log_json: bool = True
    admin_password: SecretStr | None = None

    rate_limit_enabled: bool = True
    rate_limit_user: str = "600/minute;40/second"
    # Per address, for everything sent without a valid access token: a flood guard sized
    # for a carrier NAT or an office behind one address, not a per-person budget.
    rate_limit_anon: str = "3000/minute;100/second"
    rate_limit_sign_in: str = "10/minute"
    rate_limit_refresh: str = "20/minute"
    rate_limit_refresh_unproven: str = "120/minute;20/second"
    rate_limit_register: str = "40/minute"
    rate_limit_account_links: str = "40/minute"
    rate_limit_exempt_paths: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["/health/*", "/metrics", "/", "/docs*", "/redoc", "/openapi.json"]
    )
    rate_limit_exempt_cidrs: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_max_keys: int = Field(default=100_000, ge=1)
    rate_limit_replicas: int = Field(default=1, ge=1)

    # Mail: how mails leave (console: logged, for development; smtp: sent), and the links
    # they carry. Each link template holds `{token}` (a web page or an app's deep link).
    email_backend: Literal["console", "smtp"] = "console"
    email_from: MailAddress = "backoffice <no-reply@example.com>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    # Each step of an SMTP conversation; a whole send is cut at three times this.
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    mail_sweep_seconds: float = Field(default=10.0, gt=0)
    password_reset_url: LinkTemplate = "http://localhost:8000/reset?token={token}"  # noqa: S105
    email_verify_url: LinkTemplate = "http://localhost:8000/verify?token={token}"
    password_reset_minutes: int = Field(default=30, ge=1, le=24 * 60)
    email_verify_hours: int = Field(default=48, ge=1, le=24 * 30)

    # Account lifecycle: sign-in of an unverified address is refused (403) when true;
    # reset and verification links per address and kind per hour, across replicas.
    require_verified_email: bool = False
    account_mails_per_hour: int = Field(default=3, ge=1)

    @field_validator(
        "cors_origins",
        "allowed_upload_types",
        "rate_limit_exempt_paths",
        "rate_limit_exempt_cidrs",
        mode="before",
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        """Lists come from the environment as comma-separated strings."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("rate_limit_exempt_cidrs")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        """Each an address or a network (`10.0.0.0/8`, `2001:db8::/32`), checked at start-up."""
        for text in value:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(f"{text!r} is not an address or a CIDR network") from None
        return value

    @field_validator(
        "rate_limit_user",
        "rate_limit_anon",
        "rate_limit_sign_in",
        "rate_limit_refresh",
        "rate_limit_refresh_unproven",
        "rate_limit_register",
        "rate_limit_account_links",
    )
    @classmethod
    def _parse_budget(cls, value: str) -> str:
        """A typo in a budget fails at start-up, not on the first request."""
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a budget like '600/minute;40/second'") from exc
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        """`warning` as uvicorn writes it is `WARNING` as logging names it."""
        return value.upper() if isinstance(value, str) else value

    @field_validator("admin_password", mode="before")
    @classmethod
    def _empty_means_prompt(cls, value: object) -> object:
        """`ADMIN_PASSWORD=` (as `.env.example` has it) means "ask", not an empty password."""
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        """Parseable, and PostgreSQL: any postgres driver in the scheme becomes asyncpg."""
        if not value:
            return value
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError(
                "not a database URL; expected postgresql://user:password@host:5432/name"
            ) from None
        if url.get_backend_name() not in POSTGRES_SCHEMES:
            raise ValueError(
                f"{url.get_backend_name()}:// is not supported; backoffice runs on PostgreSQL "
                "(postgresql://user:password@host:5432/name)"
            )
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        """Production must never run with a guessable secret or an open CORS policy.

        Every problem is reported at once, one line each, so one restart fixes them all.
        """
        if self.app_env != "prod":
            return self
        problems = []
        if len(self.jwt_secret.encode()) < 32:
            problems.append("JWT_SECRET must be at least 32 bytes in prod")
        if self.jwt_secret == DEFAULT_JWT_SECRET:
            problems.append("JWT_SECRET is the default value; set a real secret in prod")
        if "*" in self.cors_origins:
            problems.append("CORS_ORIGINS=* is not allowed in prod")
        if not self.database_url:
            problems.append("DATABASE_URL must be set in prod")
        elif make_url(self.database_url).password in DEFAULT_PASSWORDS:
            problems.append("DATABASE_URL uses a default password; set a real one in prod")
        if "*" in self.forwarded_allow_ips.split(","):
            problems.append("FORWARDED_ALLOW_IPS=* is not allowed in prod")
        if self.email_backend == "console":
            problems.append(
                "EMAIL_BACKEND=console is not allowed in prod: it writes every mail to the log, "
                "and a reset link there is a credential; set EMAIL_BACKEND=smtp and SMTP_HOST"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def rate_limit_exempt_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(
            ipaddress.ip_network(text, strict=False) for text in self.rate_limit_exempt_cidrs
        )

    @property
    def async_database_url(self) -> str:
        """The URL with the asyncpg driver, whatever postgres scheme the operator wrote."""
        if not self.database_url:
            return ""
        return f"{ASYNC_SCHEME}://{self.database_url.split('://', 1)[1]}"


def reads_dotenv() -> bool:
    """`.env` is a developer's file: read when `APP_ENV` is unset or `dev`, never in test
    or prod, where the process environment alone decides (a stray file cannot change
    what a container runs)."""
    return os.environ.get("APP_ENV", "dev").strip().lower() == "dev"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings(_env_file=DOTENV if reads_dotenv() else None)


def settings_errors(exc: ValidationError) -> list[str]:
    """One line per problem, named by its environment variable (`DB_POOL_SIZE: ...`)."""
    lines: list[str] = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"]:
            name = str(error["loc"][0]).upper()
            lines.append(f"{name}: {message[:1].lower()}{message[1:]}")
        else:
            lines.extend(message.splitlines())
    return lines


async def settings_of(request: Request) -> Settings:
    """The settings the app was built with (async: a sync dependency would take a thread)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]
