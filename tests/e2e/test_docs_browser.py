"""/docs and /redoc in a real browser (Debian's chromium, headless, through selenium),
against a `backoffice serve` process: every operation renders, Authorize signs in, "Try it
out" answers, and the examples shown are the document's real data."""

import importlib.util
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.e2e.conftest import Server, unavailable

if importlib.util.find_spec("selenium") is not None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 60
PASSWORD = "correct-horse-battery-staple"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def missing_browser() -> list[str]:
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (the `browser` dependency group)")
    return missing


@pytest.fixture
def browser(tmp_path: Path) -> Iterator["WebDriver"]:
    """Headless chromium with a fresh profile; skipped, saying why, without it (failed
    under `E2E_REQUIRED`, as in CI, where `.ci/install-e2e-deps` installs it)."""
    missing = missing_browser()
    if missing:
        reason = f"{', '.join(missing)} missing; .ci/install-e2e-deps installs them"
        unavailable(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,2000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(start_server: Callable[..., Server]) -> tuple[str, str]:
    """A server and a signed-up user's email on it."""
    _, base_url = start_server(RATE_LIMIT_ENABLED="false")
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    created = httpx.post(
        f"{base_url}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "full_name": "Ada Lovelace"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return base_url, email


def wait_for(driver: "WebDriver", css: str, count: int = 1) -> list["WebElement"]:
    def enough(d: "WebDriver") -> list["WebElement"] | bool:
        found = d.find_elements(By.CSS_SELECTOR, css)
        return found if len(found) >= count else False

    found: list[WebElement] = WebDriverWait(driver, WAIT_SECONDS).until(enough)
    return found


def console_errors(driver: "WebDriver") -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def operation_count(document: dict[str, Any]) -> int:
    return sum(len(item) for item in document["paths"].values())


def validate(document: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    validator = Draft202012Validator({**schema, "components": document["components"]})
    return [error.message for error in validator.iter_errors(value)]


def shown_examples(operation: "WebElement") -> dict[str, Any]:
    """The "Example Value" of each documented response of an expanded operation."""
    shown = {}
    for row in operation.find_elements(By.CSS_SELECTOR, ".responses-table tr.response"):
        code = row.get_attribute("data-code")
        blocks = row.find_elements(By.CSS_SELECTOR, ".example pre, .highlight-code pre")
        if code and blocks:
            shown[code] = json.loads(blocks[0].text)
    return shown


def sign_in(driver: "WebDriver", email: str) -> None:
    wait_for(driver, ".auth-wrapper .authorize")[0].click()
    wait_for(driver, "#oauth_username")[0].send_keys(email)
    driver.find_element(By.CSS_SELECTOR, "#oauth_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize").click()
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: "Logout" in d.find_element(By.CSS_SELECTOR, ".modal-ux").text
    )
    driver.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()


def test_swagger_ui_signs_in_tries_users_me_and_shows_real_examples(
    browser: "WebDriver", served: tuple[str, str], tmp_path: Path
) -> None:
    base_url, email = served
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    browser.get(f"{base_url}/docs")

    rendered = wait_for(browser, ".opblock", operation_count(document))
    assert len(rendered) == operation_count(document)
    sign_in(browser, email)
    me = wait_for(browser, "#operations-users-users-me")[0]
    me.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait_for(browser, "#operations-users-users-me .try-out__btn")[0].click()
    wait_for(browser, "#operations-users-users-me .execute")[0].click()
    live = "#operations-users-users-me .live-responses-table tbody"
    status = wait_for(browser, f"{live} .response-col_status")
    body = browser.find_element(By.CSS_SELECTOR, f"{live} .microlight")
    examples = shown_examples(me)
    browser.save_screenshot(str(tmp_path / "docs.png"))

    assert status[0].text.strip().startswith("200")
    assert json.loads(body.text)["email"] == email
    responses = document["paths"]["/api/v1/users/me"]["get"]["responses"]
    assert examples["200"]["email"] == "ada@example.com"
    assert examples["401"]["code"] == "not_authenticated"
    assert {
        code: validate(document, responses[code]["content"]["application/json"]["schema"], value)
        for code, value in examples.items()
    } == {code: [] for code in examples}
    assert console_errors(browser) == []


def test_redoc_renders_every_operation(
    browser: "WebDriver", served: tuple[str, str], tmp_path: Path
) -> None:
    base_url, _ = served
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    browser.get(f"{base_url}/redoc")

    operations = wait_for(browser, "[data-section-id^='operation/']", operation_count(document))
    browser.save_screenshot(str(tmp_path / "redoc.png"))

    assert len(operations) == operation_count(document)
    assert "Signing in" in browser.find_element(By.CSS_SELECTOR, ".api-content").text
    assert console_errors(browser) == []
