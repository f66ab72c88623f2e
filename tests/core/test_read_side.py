"""Each module's read side: a GET builds no outbox, no delivery and no module's writer."""

import inspect
import subprocess
import sys
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from backoffice.outbox import Pending


def built_by(dependant: Dependant) -> Iterator[type]:
    """The types a route's dependencies return, sub-dependencies included."""
    for sub in dependant.dependencies:
        returned = inspect.signature(sub.call).return_annotation if sub.call else None
        if isinstance(returned, type):
            yield returned
        yield from built_by(sub)


def writers_built(route: APIRoute) -> list[str]:
    """A module's writer (`...Service`) or an outbox (notifications', mails'), which
    schedules delivery."""
    return sorted(
        {
            built.__name__
            for built in built_by(route.dependant)
            if built.__name__.endswith("Service") or issubclass(built, Pending)
        }
    )


def test_no_get_builds_an_outbox_or_a_writer(app: FastAPI) -> None:
    gets = [r for r in app.routes if isinstance(r, APIRoute) and r.methods == {"GET"}]
    assert len(gets) > 10
    built = {r.path: writers_built(r) for r in gets}
    assert {path: names for path, names in built.items() if names} == {}


def test_the_caller_check_imports_nothing_of_notifications() -> None:
    """Every route imports the caller check, the notifications module's too: a check
    that imported notifications would tie the two modules into a loop."""
    probe = (
        "import sys, backoffice.auth.dependencies, backoffice.auth.service; "
        "print(sorted(m for m in sys.modules if m.startswith('backoffice.notifications')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
