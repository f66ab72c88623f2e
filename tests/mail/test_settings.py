"""Mail settings are checked at start-up, one named line each."""

import pytest
from pydantic import ValidationError

from backoffice.settings import Settings, settings_errors


@pytest.mark.parametrize(
    "template",
    ["https://app.example.com/reset", "app.example.com/reset?token={token}"],
    ids=["no-token", "no-scheme"],
)
def test_a_link_template_without_a_token_or_a_scheme_is_refused(template: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(password_reset_url=template)

    [line] = settings_errors(refused.value)
    assert line.startswith("PASSWORD_RESET_URL: ")


def test_an_app_deep_link_template_is_accepted() -> None:
    settings = Settings(email_verify_url="myapp://verify?token={token}")

    assert settings.email_verify_url == "myapp://verify?token={token}"


def test_a_sender_that_is_no_address_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(email_from="backoffice")

    [line] = settings_errors(refused.value)
    assert line.startswith("EMAIL_FROM: ")


def test_outside_prod_mails_go_to_the_console_by_default() -> None:
    assert Settings(app_env="dev").email_backend == "console"
