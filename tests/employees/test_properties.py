"""Hypothesis: whatever a client sends as an employee, the answer is never a 500."""

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SignedInUser
from tests.factories import AccountFactory

# Text a JSON client can send: no lone surrogates, but NUL and the rest of Unicode.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=400)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
valid_payloads = st.fixed_dictionaries(
    {
        "full_name": st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200),
        "email": st.emails(),
    },
    optional={
        "title": st.none() | texts,
        "department": st.none() | texts,
        "hired_on": st.none() | st.dates().map(str) | texts,
        "is_active": st.booleans() | json_scalars,
    },
)
field_names = st.sampled_from(
    ["full_name", "email", "title", "department", "hired_on", "is_active", "id", "account_id"]
)
random_payloads = st.dictionaries(field_names | texts, json_scalars, max_size=8)
payloads = valid_payloads | random_payloads

ACCEPTABLE = {200, 201, 404, 409, 422}
HYPOTHESIS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@HYPOTHESIS
@given(body=payloads)
async def test_random_employee_payloads_never_give_a_server_error(
    client: httpx.AsyncClient,
    user: SignedInUser,
    body: dict[str, Any],
    make_account: AccountFactory,
) -> None:
    account = await make_account(user)
    path = f"/accounts/{account['id']}/employees"

    created = await client.post(path, json=body, headers=user.headers)
    assert created.status_code in ACCEPTABLE, created.text

    if created.status_code == 201:
        employee_path = f"{path}/{created.json()['id']}"
        patched = await client.patch(employee_path, json=body, headers=user.headers)
        assert patched.status_code in ACCEPTABLE, patched.text
