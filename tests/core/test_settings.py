import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from backoffice.settings import DEFAULT_JWT_SECRET, Settings

GOOD_SECRET = "p" * 40
GOOD_DB = "postgresql://app:s3cr3t-pw@db:5432/backoffice"


def prod(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "app_env": "prod",
        "jwt_secret": GOOD_SECRET,
        "database_url": GOOD_DB,
        "cors_origins": "https://app.example.com",
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
    ],
)
def test_prod_refuses_unsafe_settings(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        prod(**overrides)


def test_dev_tolerates_the_default_secret() -> None:
    assert Settings(app_env="dev").jwt_secret == DEFAULT_JWT_SECRET


def test_serve_refuses_to_start_in_prod_with_one_clear_line() -> None:
    env = {
        **os.environ,
        "APP_ENV": "prod",
        "JWT_SECRET": "short",
        "DATABASE_URL": GOOD_DB,
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
    assert "JWT_SECRET" in lines[0]
