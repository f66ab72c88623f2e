"""The Python client `make clients` generates from openapi.json drives a live server:
a contract change that breaks generated code fails here, not in a mobile team's build."""

import importlib
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import project_root
from tests.e2e.conftest import Server, unavailable

PACKAGE = "backoffice_client"
PASSWORD = "correct-horse-battery-staple"


def clients_dir() -> Path:
    return Path(os.environ.get("CLIENTS_DIR") or project_root() / ".clients")


@pytest.fixture
def generated() -> Iterator[Callable[[str], Any]]:
    """Imports from the generated package; skipped without it (failed under E2E_REQUIRED,
    as in CI, where `make test` runs `make clients` first)."""
    root = clients_dir() / "python"
    if not (root / PACKAGE).is_dir():
        reason = f"no generated client under {root}: run `make clients`"
        unavailable(reason)
    sys.path.insert(0, str(root))
    try:
        yield lambda module: importlib.import_module(f"{PACKAGE}.{module}")
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_generated_python_client_signs_up_signs_in_creates_and_lists_items(
    start_server: Callable[..., Server], generated: Callable[[str], Any]
) -> None:
    _, base_url = start_server(RATE_LIMIT_ENABLED="false")
    client, models = generated("client"), generated("models")
    anonymous = client.Client(base_url=base_url, raise_on_unexpected_status=True)
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    name = f"Espresso cup {uuid.uuid4().hex[:8]}"

    user = generated("api.auth.auth_register").sync(
        client=anonymous,
        body=models.UserCreate(email=email, password=PASSWORD, full_name="Ada Lovelace"),
    )
    tokens = generated("api.auth.auth_login").sync(
        client=anonymous, body=models.LoginRequest(email=email, password=PASSWORD)
    )
    signed_in = client.AuthenticatedClient(
        base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True
    )
    created = generated("api.items.items_create").sync(
        client=signed_in, body=models.ItemCreate(name=name, price="12.50", tax="2.38")
    )
    page = generated("api.items.items_list").sync(client=signed_in, q=name)
    refused = generated("api.users.users_me").sync(
        client=client.AuthenticatedClient(base_url=base_url, token="not-a-token")
    )

    assert isinstance(user, models.UserRead)
    assert user.email == email
    assert isinstance(created, models.ItemRead)
    assert [item.id for item in page.items] == [created.id]
    assert page.items[0].price_with_tax == "14.88"
    assert refused.code == models.UsersMeResponse401Code.NOT_AUTHENTICATED


def test_generated_python_client_deletes_the_signed_in_user_with_a_delete_body(
    start_server: Callable[..., Server], generated: Callable[[str], Any]
) -> None:
    _, base_url = start_server(RATE_LIMIT_ENABLED="false")
    client, models = generated("client"), generated("models")
    anonymous = client.Client(base_url=base_url, raise_on_unexpected_status=True)
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    generated("api.auth.auth_register").sync(
        client=anonymous,
        body=models.UserCreate(email=email, password=PASSWORD, full_name="Ada Lovelace"),
    )
    tokens = generated("api.auth.auth_login").sync(
        client=anonymous, body=models.LoginRequest(email=email, password=PASSWORD)
    )
    signed_in = client.AuthenticatedClient(base_url=base_url, token=tokens.access_token)
    delete_me = generated("api.users.users_delete_me")

    wrong = delete_me.sync_detailed(
        client=signed_in, body=models.UserDeletion(password="not the password")
    )
    deleted = delete_me.sync_detailed(client=signed_in, body=models.UserDeletion(password=PASSWORD))
    me = generated("api.users.users_me").sync(client=signed_in)

    assert wrong.status_code == 401
    assert wrong.parsed.code == models.UsersDeleteMeResponse401Code.WRONG_PASSWORD
    assert deleted.status_code == 204
    assert me.code == models.UsersMeResponse401Code.NOT_AUTHENTICATED
