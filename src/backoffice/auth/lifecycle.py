"""The account's mailed links: forgotten password, address verification, email change.

Every link carries a one-time token (`secrets.token_urlsafe(32)`, 256 random bits, of
which only the SHA-256 digest is stored: a plain digest suffices for a secret that long,
no guess list exists to slow down). A token is spent by one `UPDATE ... RETURNING`, so
of two requests racing with it exactly one gets it. Each address gets at most
`ACCOUNT_MAILS_PER_HOUR` links of a kind per hour, counted in PostgreSQL, so the limit
holds across replicas and a link request cannot be turned into a mail flood.
"""

import re
import secrets
from contextlib import suppress
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.auth.repository import (
    LoginAttemptRepository,
    OneTimeTokenRepository,
    RefreshTokenRepository,
)
from backoffice.errors import BadRequest, Conflict, Throttled, Unauthorized
from backoffice.principal import Principal
from backoffice.security import PasswordHasher, digest_refresh_token
from backoffice.settings import Settings
from backoffice.sql import integrity_errors
from backoffice.users.repository import UserRepository
from backoffice.users.service import CONSTRAINT_ERRORS

PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a secret
VERIFY_EMAIL = "verify_email"
THROTTLE_WINDOW_SECONDS = 3600
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
"""What `secrets.token_urlsafe(32)` makes; anything else is refused before the database."""


class InvalidLinkToken(BadRequest):
    code = "invalid_token"
    message = "This link is invalid, expired or already used; ask for a new one"


class NothingToVerify(Conflict):
    code = "email_already_verified"
    message = "The email address is verified and no change is pending"


class AccountMails(Protocol):
    """The mail module's outbox (`MailOutbox`): each call writes one mail in the caller's
    transaction, sent after the response. Passed in, so this module imports no mail."""

    async def password_reset(self, to: str, token: str, *, user_id: int | None) -> int: ...

    async def password_reset_unsent(self, to: str, token: str) -> int: ...

    async def password_changed(self, to: str, *, user_id: int | None) -> int: ...

    async def verify_email(self, to: str, token: str, *, user_id: int | None) -> int: ...

    async def email_change_notice(self, to: str, new_email: str, *, user_id: int | None) -> int: ...


def digest_of(token: str) -> str:
    """The stored form of a link token; 400 for a string no link ever carried."""
    if not TOKEN_SHAPE.fullmatch(token):
        raise InvalidLinkToken()
    return digest_refresh_token(token)


class AccountLifecycle:
    """Also the users module's `AddressVerification`: registration and an email change
    send their links through here, in the transaction of the change."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        hasher: PasswordHasher,
        mails: AccountMails,
    ) -> None:
        self.session = session
        self.settings = settings
        self.hasher = hasher
        self.mails = mails
        self.users = UserRepository(session)
        self.links = OneTimeTokenRepository(session)
        self.refresh_tokens = RefreshTokenRepository(session)
        self.attempts = LoginAttemptRepository(session)

    async def forgot_password(self, email: str) -> None:
        """Mail a reset link if `email` is an active account's; the caller cannot tell.

        An address with no active account costs the same statements, its token row
        and a mail row included, both never sent (`password_reset_unsent`); the mail
        itself goes after the response. A throttled address gets nothing, whoever it
        belongs to.
        """
        user_id = await self.users.active_id(email)
        try:
            await self._throttle(PASSWORD_RESET, email)
        except Throttled:
            await self.session.rollback()
            return
        # Whoever asked: the address's earlier links are void (a new request replaces them).
        await self.links.void_for_email(PASSWORD_RESET, email)
        token = await self._add_link(PASSWORD_RESET, email, user_id)
        if user_id is None:
            await self.mails.password_reset_unsent(email, token)
        else:
            await self.mails.password_reset(email, token, user_id=user_id)
        await self.session.commit()

    async def reset_password(self, token: str, new_password: str) -> None:
        """Set the password, end every sign-in, and tell the address.

        The token is looked up before bcrypt runs, so a flood of wrong tokens costs no
        hash, and outside any transaction, so the hash holds no pooled connection; it is
        spent afterwards, and only then does anything change.
        """
        digest = digest_of(token)
        if not await self.links.usable(PASSWORD_RESET, digest):
            raise InvalidLinkToken()
        await self.session.commit()
        hashed = await self.hasher.hash(new_password)
        spent = await self.links.consume(PASSWORD_RESET, digest)
        # A link of an address that is no longer the account's, or of a deactivated
        # account, is dead: its user must still be active at that address.
        if (
            spent is None
            or spent.user_id is None
            or not await self.users.reset_password(spent.user_id, spent.email, hashed)
        ):
            await self.session.rollback()
            raise InvalidLinkToken()
        await self.refresh_tokens.revoke_all(spent.user_id)
        await self.attempts.clear(spent.email)
        await self.mails.password_changed(spent.email, user_id=spent.user_id)
        await self.session.commit()

    async def verify_email(self, token: str) -> None:
        """Confirm the address the link went to: the account's own, or the pending one,
        which then replaces it (409 `email_taken` if another account took it since; the
        link stays good until it expires)."""
        spent = await self.links.consume(VERIFY_EMAIL, digest_of(token))
        if spent is None or spent.user_id is None:
            raise InvalidLinkToken()
        async with integrity_errors(self.session, CONSTRAINT_ERRORS):
            if not await self.users.confirm_email(spent.user_id, spent.email):
                # The user has since moved on to another pending address.
                await self.session.rollback()
                raise InvalidLinkToken()
            await self.session.commit()

    async def resend_verification(self, user: Principal) -> None:
        """A new link for the pending address, or else the unverified current one.

        Past the address's links for the hour it sends nothing and answers the same: the
        count includes links others asked for (a sign-up, someone else's pending change),
        so a refusal would tell whether anyone else wants that address. A user deleted
        since the caller check is refused as any deleted user's token is.
        """
        addresses = await self.users.addresses(user.id)
        if addresses is None:
            raise Unauthorized()
        address = addresses.pending_email
        if address is None and not addresses.email_verified:
            address = addresses.email
        if address is None:
            raise NothingToVerify()
        with suppress(Throttled):
            await self._verification_link(user.id, address)
        await self.session.commit()

    async def verify_new_user(self, user_id: int, email: str) -> None:
        """Part of the registration's transaction; a throttled address gets no link (the
        user may ask again within the hour: `resend`)."""
        with suppress(Throttled):
            await self._verification_link(user_id, email)

    async def verify_email_change(self, user_id: int, old_email: str, new_email: str) -> None:
        """The link to the new address, and a notice to the old one, which may not be
        the one asking; nothing to either when the new address is throttled."""
        with suppress(Throttled):
            await self._verification_link(user_id, new_email)
            await self.mails.email_change_notice(old_email, new_email, user_id=user_id)

    async def _verification_link(self, user_id: int, email: str) -> None:
        """Mail a verification link to `email`, voiding the user's earlier ones (not those
        of another user with a pending change to the same address)."""
        await self._throttle(VERIFY_EMAIL, email)
        await self.links.void_for_user(VERIFY_EMAIL, user_id)
        token = await self._add_link(VERIFY_EMAIL, email, user_id)
        await self.mails.verify_email(email, token, user_id=user_id)

    async def _throttle(self, purpose: str, email: str) -> None:
        """`Throttled` once the address had its links of this kind for the hour; until
        the transaction ends, other requests for the address wait here."""
        count, wait = await self.links.recent(purpose, email, THROTTLE_WINDOW_SECONDS)
        if count >= self.settings.account_mails_per_hour:
            raise Throttled(wait)

    async def _add_link(self, purpose: str, email: str, user_id: int | None) -> str:
        token = secrets.token_urlsafe(32)
        lifetime = (
            self.settings.password_reset_minutes * 60
            if purpose == PASSWORD_RESET
            else self.settings.email_verify_hours * 3600
        )
        await self.links.add(
            purpose=purpose,
            token_hash=digest_refresh_token(token),
            email=email,
            user_id=user_id,
            lifetime_seconds=lifetime,
        )
        return token
