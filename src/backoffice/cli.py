"""The `backoffice` console script: dev, serve, migrate, create-admin."""

import argparse
import asyncio
import getpass
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import uvicorn
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from pydantic import ValidationError

from backoffice.db import create_engine, create_sessionmaker
from backoffice.log import configure_logging
from backoffice.main import create_app
from backoffice.server_limits import header_limited_protocol
from backoffice.settings import Settings, get_settings
from backoffice.users.models import Role
from backoffice.users.schemas import UserCreate
from backoffice.users.service import EmailTaken, UserService

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEV_PGDATA = PROJECT_ROOT / ".data" / "postgres"


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's config, found from the project root or the working directory (containers)."""
    ini = PROJECT_ROOT / "alembic.ini"
    config = Config(str(ini if ini.exists() else Path("alembic.ini")))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def migrate(settings: Settings) -> None:
    command.upgrade(alembic_config(settings.async_database_url), "head")


class DrainingServer(uvicorn.Server):
    """On SIGTERM, report not-ready for `DRAIN_SECONDS` while still serving, then stop.

    uvicorn alone closes its listener at once, and the load balancer would see refused
    connections before its health check noticed anything.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI, drain_seconds: float) -> None:
        super().__init__(config)
        self.app = app
        self.drain_seconds = drain_seconds
        self.draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.draining or self.drain_seconds <= 0 or sig != signal.SIGTERM:
            super().handle_exit(sig, frame)
            return
        self.draining = True
        self.app.state.draining = True
        timer = threading.Timer(self.drain_seconds, super().handle_exit, args=(sig, frame))
        timer.daemon = True
        timer.start()


def serve(settings: Settings, reload: bool = False) -> None:
    options = {
        "host": settings.host,
        "port": settings.port,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_graceful_shutdown": int(settings.graceful_shutdown_seconds),
        "log_config": None,
        "access_log": False,
        "http": header_limited_protocol(settings),
    }
    if reload:
        uvicorn.run("backoffice.main:create_app", factory=True, reload=True, **options)  # type: ignore[arg-type]
        return
    if settings.web_concurrency > 1:
        uvicorn.run(
            "backoffice.main:create_app",
            factory=True,
            workers=settings.web_concurrency,
            **options,  # type: ignore[arg-type]
        )
        return
    app = create_app(settings)
    config = uvicorn.Config(app, **options)  # type: ignore[arg-type]
    DrainingServer(config, app, settings.drain_seconds).run()


def dev_settings() -> Settings:
    """Dev settings; with no `DATABASE_URL`, an embedded PostgreSQL under `.data/postgres`."""
    settings = get_settings()
    if settings.database_url:
        return settings
    from backoffice import embedded_db  # a dev-only dependency, imported only here

    url, _ = embedded_db.start(DEV_PGDATA)
    # The reloader's worker process reads its settings from the environment.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return get_settings()


async def create_admin(settings: Settings, email: str, full_name: str, password: str) -> int:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            data = UserCreate(email=email, password=password, full_name=full_name)
            user = await UserService(session, settings).register(data, role=Role.ADMIN)
            return user.id
    finally:
        await engine.dispose()


def admin_password(settings: Settings) -> str:
    if settings.admin_password is not None:
        return settings.admin_password.get_secret_value()
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise SystemExit("passwords do not match")
    return first


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="backoffice", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "dev", help="embedded PostgreSQL when DATABASE_URL is unset, migrate, serve with reload"
    )
    sub.add_parser("serve", help="serve for containers (no reload, proxy headers, graceful drain)")
    sub.add_parser("migrate", help="alembic upgrade head")
    admin = sub.add_parser(
        "create-admin", help="create an admin user (password from ADMIN_PASSWORD or a prompt)"
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--full-name", default="Administrator")
    args = parser.parse_args(argv)

    try:
        settings = dev_settings() if args.command == "dev" else get_settings()
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        print(f"backoffice: invalid settings: {message}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings)

    if args.command == "dev":
        migrate(settings)
        serve(settings, reload=True)
    elif args.command == "serve":
        serve(settings)
    elif args.command == "migrate":
        migrate(settings)
    else:
        password = admin_password(settings)
        try:
            data_ok = UserCreate(email=args.email, password=password, full_name=args.full_name)
        except ValidationError as exc:
            raise SystemExit(f"backoffice: {exc.errors()[0]['msg']}") from None
        try:
            user_id = asyncio.run(
                create_admin(settings, data_ok.email, data_ok.full_name, password)
            )
        except EmailTaken:
            raise SystemExit(f"backoffice: {args.email} is already registered") from None
        print(f"admin {data_ok.email} created with id {user_id}")
