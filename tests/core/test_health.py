import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice.health.service import Readiness
from backoffice.metrics import READINESS_CHANGES


async def test_live_answers_200(client: httpx.AsyncClient) -> None:
    response = await client.get("http://test/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("http://test/health/ready")
    assert response.status_code == 200


async def test_root_links_to_the_docs(client: httpx.AsyncClient) -> None:
    body = (await client.get("http://test/")).json()
    assert body["name"] == "backoffice"
    assert body["docs"] == "/docs"
    assert body["redoc"] == "/redoc"


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/users/12345")
    response = await client.get("http://test/metrics")
    assert response.status_code == 200
    assert 'route="/api/v1/users/{user_id}"' in response.text
    assert "backoffice_db_pool_size" in response.text
    assert "backoffice_request_duration_seconds_bucket" in response.text


async def test_each_change_of_the_readiness_answer_is_counted(engine: AsyncEngine) -> None:
    """Ready, unready, unready, ready: two changes (the flapping alert counts them)."""
    unreachable = create_async_engine("postgresql+asyncpg://u:p@127.0.0.1:1/db")
    readiness = Readiness(engine, interval_seconds=0)
    before = READINESS_CHANGES._value.get()
    try:
        answers = []
        for probed in (engine, unreachable, unreachable, engine):
            readiness.engine = probed
            answers.append(await readiness.database_answers())
    finally:
        await unreachable.dispose()
    assert answers == [True, False, False, True]
    assert READINESS_CHANGES._value.get() - before == 2
