"""Settings: safe production values, and errors that name each variable at once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from backoffice import cli
from backoffice.settings import DEFAULT_JWT_SECRET, Settings, get_settings, settings_errors

GOOD_SECRET = "p" * 40
GOOD_DB = "postgresql://app:s3cr3t-pw@db:5432/backoffice"


def prod(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "app_env": "prod",
        "jwt_secret": GOOD_SECRET,
        "database_url": GOOD_DB,
        "cors_origins": "https://app.example.com",
        "email_backend": "smtp",
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


def test_prod_accepts_safe_settings() -> None:
    assert prod().cors_origins == ["https://app.example.com"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"jwt_secret": "short"}, "at least 32 bytes", id="short-secret"),
        pytest.param({"jwt_secret": DEFAULT_JWT_SECRET}, "default", id="default-secret"),
        pytest.param({"cors_origins": "*"}, "CORS_ORIGINS", id="cors-star"),
        pytest.param(
            {"database_url": "postgresql://app:postgres@db/backoffice"},
            "default password",
            id="default-db-password",
        ),
        pytest.param({"forwarded_allow_ips": "*"}, "FORWARDED_ALLOW_IPS", id="forwarded-star"),
        pytest.param({"email_backend": "console"}, "EMAIL_BACKEND=console", id="console-mail"),
    ],
)
def test_prod_refuses_unsafe_settings(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        prod(**overrides)


def test_dev_tolerates_the_default_secret() -> None:
    assert Settings(app_env="dev").jwt_secret == DEFAULT_JWT_SECRET


@pytest.mark.parametrize(
    ("unsafe", "named"),
    [
        pytest.param({"JWT_SECRET": "short"}, "JWT_SECRET", id="short-secret"),
        pytest.param({"EMAIL_BACKEND": "console"}, "EMAIL_BACKEND=console", id="console-mail"),
    ],
)
def test_serve_refuses_to_start_in_prod_with_one_clear_line(
    unsafe: dict[str, str], named: str
) -> None:
    env = {
        **os.environ,
        "APP_ENV": "prod",
        "JWT_SECRET": GOOD_SECRET,
        "DATABASE_URL": GOOD_DB,
        "EMAIL_BACKEND": "smtp",
        **unsafe,
    }
    result = subprocess.run(
        [sys.executable, "-m", "backoffice", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert named in lines[0]


def test_every_invalid_variable_is_reported_at_once_one_named_line_each(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "DB_POOL_SIZE": "abc",
        "PORT": "99999",
        "DATABASE_URL": "mysql://app:pw@db/backoffice",
        "LOG_LEVEL": "loud",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()

    with pytest.raises(SystemExit) as exited:
        cli.main(["migrate"])

    get_settings.cache_clear()
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "DATABASE_URL",
        "DB_POOL_SIZE",
        "PORT",
        "LOG_LEVEL",
    ]
    assert "mysql:// is not supported" in lines[0]
    assert "Value error" not in "".join(lines)


@pytest.mark.parametrize(
    "url",
    ["not-a-url", "postgresql://app:pw@db:port/backoffice", "sqlite:///app.db"],
)
def test_database_url_must_be_a_postgres_url(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(database_url=url)
    [line] = settings_errors(refused.value)
    assert line.startswith("DATABASE_URL: ")


@pytest.mark.parametrize(
    "url", ["postgres://a@h/db", "postgresql://a@h/db", "postgresql+psycopg://a@h/db"]
)
def test_any_postgres_scheme_becomes_asyncpg(url: str) -> None:
    assert Settings(database_url=url).async_database_url == "postgresql+asyncpg://a@h/db"


def test_log_level_is_case_insensitive() -> None:
    assert Settings(log_level="warning").log_level == "WARNING"  # type: ignore[arg-type]


@pytest.mark.parametrize(("app_env", "read"), [(None, True), ("dev", True), ("prod", False)])
def test_dotenv_is_read_only_in_dev(
    app_env: str | None, read: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("DB_POOL_SIZE=3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DB_POOL_SIZE", raising=False)
    if app_env is None:
        monkeypatch.delenv("APP_ENV", raising=False)
    else:
        monkeypatch.setenv("APP_ENV", app_env)
        monkeypatch.setenv("JWT_SECRET", GOOD_SECRET)
        monkeypatch.setenv("DATABASE_URL", GOOD_DB)
        monkeypatch.setenv("EMAIL_BACKEND", "smtp")
    get_settings.cache_clear()
    try:
        assert (get_settings().db_pool_size == 3) is read
    finally:
        get_settings.cache_clear()
