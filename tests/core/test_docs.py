"""/docs and /redoc work offline: every asset comes from the service itself."""

import re

import httpx
import pytest

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_reference_no_external_host_and_their_assets_are_served(
    client: httpx.AsyncClient, page: str
) -> None:
    html = await client.get(f"http://test{page}")

    assert html.status_code == 200
    references = [a or b for a, b in ASSET.findall(html.text)]
    assert references
    assert [r for r in references if re.match(r"^(https?:)?//", r)] == []
    assert "https://" not in html.text
    for reference in references:
        assert (await client.get(f"http://test{reference}")).status_code == 200, reference


async def test_swagger_authorize_uses_the_password_flow_and_its_redirect_page(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("http://test/openapi.json")).json()
    flows = [s["flows"] for s in schema["components"]["securitySchemes"].values()]
    assert any(f.get("password", {}).get("tokenUrl") == "/api/v1/auth/token" for f in flows)
    html = (await client.get("http://test/docs")).text
    assert "oauth2RedirectUrl" in html
    assert (await client.get("http://test/docs/oauth2-redirect")).status_code == 200


async def test_redoc_bundle_fetches_its_logo_from_the_service_not_a_cdn(
    client: httpx.AsyncClient,
) -> None:
    bundle = await client.get("http://test/static-offline-docs/redoc.standalone.js")

    assert bundle.status_code == 200
    assert "cdn.redoc.ly" not in bundle.text
    assert "/static-offline-docs/favicon.png" in bundle.text
