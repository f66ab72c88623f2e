"""The wording of every mail: a subject, and parts that make both the text body and
its HTML alternative, so the two never say different things.

No template engine: four short mails are four functions. A link stands on a line of
its own in the text part, exactly as its template made it (a mail client turns it into
a link; an app's deep link such as `myapp://reset?token=...` stays whole).
"""

from html import escape
from typing import NamedTuple
from urllib.parse import quote

SIGNATURE = "— backoffice"


class Link(NamedTuple):
    url: str


Part = str | Link


class MailContent(NamedTuple):
    subject: str
    text: str
    html: str


def link(template: str, token: str) -> str:
    """The template with the token in place of `{token}` (quoted, should it need it)."""
    return template.replace("{token}", quote(token, safe=""))


def compose(subject: str, *parts: Part) -> MailContent:
    text = "\n\n".join(part.url if isinstance(part, Link) else part for part in (*parts, SIGNATURE))
    paragraphs = "\n".join(html_paragraph(part) for part in (*parts, SIGNATURE))
    html = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head>\n<body>\n{paragraphs}\n</body></html>\n"
    )
    return MailContent(subject, text + "\n", html)


def html_paragraph(part: Part) -> str:
    if isinstance(part, Link):
        return f'<p><a href="{escape(part.url)}">{escape(part.url)}</a></p>'
    return f"<p>{escape(part)}</p>"


def password_reset(to: str, url: str, minutes: int) -> MailContent:
    return compose(
        "Reset your password",
        f"Someone, hopefully you, asked to reset the password of the account {to}.",
        f"To choose a new password, open this link within {minutes} minutes:",
        Link(url),
        "If it was not you, ignore this mail: your password stays as it is.",
    )


def password_changed(to: str) -> MailContent:
    return compose(
        "Your password was changed",
        f"The password of the account {to} was just changed, and every device signed in "
        "with the old one was signed out.",
        "If it was not you, ask for a password reset from the app now, and tell us.",
    )


def verify_email(to: str, url: str, hours: int) -> MailContent:
    return compose(
        "Confirm your email address",
        f"To confirm that {to} is your address, open this link within {hours} hours:",
        Link(url),
        "If you did not sign up or change your address, ignore this mail.",
    )


def email_change_notice(to: str, new_email: str) -> MailContent:
    return compose(
        "A change of your email address was requested",
        f"Someone asked to change the address of the account {to} to {new_email}. "
        "The change happens only once the new address is confirmed from a link sent there.",
        "If it was not you, change your password now: someone else may be signed in.",
    )
