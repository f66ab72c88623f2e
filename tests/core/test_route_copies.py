"""The app's routes are copies of the modules' routes (`main.add_copy`): nothing is lost."""

import inspect
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute

from backoffice.accounts.router import router as accounts_router
from backoffice.auth.router import router as auth_router
from backoffice.employees.router import router as employees_router
from backoffice.files.router import router as files_router
from backoffice.health.router import router as health_router
from backoffice.items.router import router as items_router
from backoffice.notifications.router import router as notifications_router
from backoffice.users.router import router as users_router

ROUTERS = [
    accounts_router,
    auth_router,
    employees_router,
    files_router,
    health_router,
    items_router,
    notifications_router,
    users_router,
]
SET_BY_THE_COPY = {"path", "responses"}
SET_BY_THE_APP = {"self", "dependency_overrides_provider"}
FIELDS = set(inspect.signature(APIRoute.__init__).parameters) - SET_BY_THE_APP - SET_BY_THE_COPY
"""Read off the installed FastAPI: a field it adds is checked without editing this file."""


def resolved(value: Any) -> Any:
    """A module router leaves some fields to the app's defaults; the app fills them in."""
    return value.value if isinstance(value, DefaultPlaceholder) else value


def module_routes() -> list[APIRoute]:
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def served_copy(app: FastAPI, original: APIRoute) -> APIRoute:
    (copy,) = [
        route
        for route in app.router.routes
        if isinstance(route, APIRoute)
        and route.endpoint is original.endpoint
        and route.methods == original.methods
    ]
    return copy


@pytest.mark.parametrize("original", module_routes(), ids=lambda route: route.name)
def test_a_served_route_keeps_every_field_of_its_module_route(
    app: FastAPI, original: APIRoute
) -> None:
    copy = served_copy(app, original)
    assert copy.path.endswith(original.path)
    assert original.responses.keys() <= copy.responses.keys()
    for field in FIELDS:
        assert resolved(getattr(copy, field)) == resolved(getattr(original, field)), field
