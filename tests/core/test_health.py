import httpx


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
