"""Sign-in, token rotation with reuse detection, sign-out and password changes."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.auth.repository import (
    LoginAttemptRepository,
    OneTimeTokenRepository,
    RefreshTokenRepository,
    SessionRow,
)
from backoffice.auth.schemas import TokenPair
from backoffice.errors import BadRequest, Forbidden, NotFound, Throttled, Unauthorized
from backoffice.pagination import ListQuery
from backoffice.principal import Identity, Principal
from backoffice.schemas import normalize_email
from backoffice.security import (
    AccessClaims,
    HashingBusy,
    InvalidToken,
    PasswordHasher,
    VerifiedTokens,
    create_access_token,
    digest_refresh_token,
    new_refresh_token,
)
from backoffice.settings import Settings
from backoffice.users.models import Role
from backoffice.users.service import CannotDeleteSelf, UserLookup, UserService

MAX_EMAIL_CHARS = 320
SIGNED_OUT_EVERYWHERE_MESSAGE = "Your password was changed; every device was signed out"
REUSE_DETECTED_MESSAGE = (
    "A spent sign-in token was presented again; that sign-in was revoked on every device. "
    "If this was not you, change your password."
)


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "Incorrect email or password"


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"
    message = "Invalid or expired refresh token"


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    message = "Refresh token already used; every session of that sign-in was revoked"


class WrongCurrentPassword(BadRequest):
    code = "wrong_password"
    message = "Current password is incorrect"


class PasswordRefused(Unauthorized):
    """A wrong password where the signed-in user confirms a deletion: 401, as sign-in's."""

    code = "wrong_password"
    message = "Password is incorrect"


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    message = "Confirm your email address first: follow the link mailed to it"


class SessionNotFound(NotFound):
    code = "session_not_found"
    message = "Session not found"


class Notifier(Protocol):
    """The notifications module's outbox (`Outbox.notify`), passed in, so that this module
    imports nothing of notifications, whose routes import this one's caller check."""

    async def notify(
        self, user_id: int, kind: str, message: str, *, data: Mapping[str, Any] | None = None
    ) -> int: ...


def bearer_claims(settings: Settings, tokens: VerifiedTokens, token: str) -> AccessClaims:
    """A bearer token's verified claims, before the database is asked about its user.

    `tokens` is the app's, where the rate limiter may have verified the token already.
    """
    try:
        return tokens.claims(settings, token)
    except InvalidToken as exc:
        raise Unauthorized() from exc


async def authenticate(
    settings: Settings, users: UserLookup, tokens: VerifiedTokens, token: str
) -> Principal:
    """The caller behind a bearer token; deactivation takes effect at once."""
    principal = await users.active_principal(bearer_claims(settings, tokens, token))
    if principal is None:
        raise Unauthorized()
    return principal


class SessionReads:
    """The caller's signed-in devices, in the request's session: no outbox, no users."""

    def __init__(self, session: AsyncSession) -> None:
        self.tokens = RefreshTokenRepository(session)

    async def list(self, user: Principal, query: ListQuery) -> tuple[list[SessionRow], int]:
        return await self.tokens.sessions(user.id, query)


class AuthService:
    def __init__(
        self, session: AsyncSession, settings: Settings, hasher: PasswordHasher, outbox: Notifier
    ) -> None:
        self.session = session
        self.settings = settings
        self.hasher = hasher
        self.outbox = outbox
        self.users = UserLookup(session)
        self.passwords = UserService(session, hasher)
        self.tokens = RefreshTokenRepository(session)
        self.attempts = LoginAttemptRepository(session)

    async def login(self, email: str, password: str, device: str | None) -> TokenPair:
        """Check the password at the same cost whether or not the email exists.

        The attempt is counted (and committed) before bcrypt runs, so the throttle holds
        under parallel guesses and a slow hash never holds a pooled connection; a
        successful login clears the count. With `REQUIRE_VERIFIED_EMAIL`, an unverified
        address is refused only after the password check, so it tells nothing to anyone
        without the password.
        """
        email = normalize_email(email)
        if "\x00" in email or len(email) > MAX_EMAIL_CHARS:
            await self.hasher.burn_dummy_verify(password)
            raise InvalidCredentials()
        attempt_id = await self._count_attempt(email)
        user = await self.users.credentials(email)
        await self.session.commit()

        async with self._uncounted_if_busy(attempt_id):
            if user is None:
                await self.hasher.burn_dummy_verify(password)
                verified = False
            else:
                verified = await self.hasher.verify(password, user.hashed_password)
        if user is None or not verified or not user.is_active:
            raise InvalidCredentials()

        rehashed = None
        if not self.hasher.is_current(user.hashed_password):
            rehashed = await self.hasher.hash(password)
        # The password was checked outside any transaction: it counts only if the hash
        # is still the stored one (a password change or deactivation meanwhile wins).
        identity = await self.passwords.confirm_password(user.id, user.hashed_password, rehashed)
        if identity is None:
            await self.session.rollback()
            raise InvalidCredentials()
        await self.attempts.clear(email)
        if self.settings.require_verified_email and not user.email_verified:
            await self.session.commit()
            raise EmailNotVerified()
        pair, _ = await self._issue(identity, None, device)
        await self.session.commit()
        return pair

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Spend a refresh token for a new pair; a spent one revokes its whole family."""
        token = await self.tokens.lock_unexpired(digest_refresh_token(refresh_token))
        if token is None:
            raise InvalidRefreshToken()
        if token.replaced_by_id is not None:
            if await self.tokens.revoke_family(token.family_id):
                await self.outbox.notify(
                    token.user_id, "refresh_token_reused", REUSE_DETECTED_MESSAGE
                )
            await self.session.commit()
            raise RefreshTokenReused()
        if token.revoked_at is not None:
            raise InvalidRefreshToken()
        identity = await self.users.active_identity(token.user_id)
        if identity is None:
            raise InvalidRefreshToken()
        pair, new_id = await self._issue(identity, token.family_id, token.device_name)
        await self.tokens.mark_replaced(token.id, new_id)
        await self.session.commit()
        return pair

    async def logout(self, refresh_token: str) -> None:
        """Revoke the family of a token; an unknown token is already signed out."""
        token = await self.tokens.lock_unexpired(digest_refresh_token(refresh_token))
        if token is not None:
            await self.tokens.revoke_family(token.family_id)
        await self.session.commit()

    async def revoke_session(self, user: Principal, session_id: int) -> None:
        if await self.tokens.revoke_family(session_id, user_id=user.id) == 0:
            raise SessionNotFound()
        await self.session.commit()

    async def change_password(self, user: Principal, current: str, new: str) -> None:
        """A new password signs out every device, this one included.

        A wrong current password counts toward the sign-in throttle of the account's
        email: a stolen access token is no password oracle.
        """
        email, stored = await self.users.email_and_password_hash(user.id)
        attempt_id = await self._count_attempt(email)
        await self.session.commit()
        async with self._uncounted_if_busy(attempt_id):
            verified = await self.hasher.verify(current, stored)
        if not verified:
            raise WrongCurrentPassword()
        hashed = await self.hasher.hash(new)
        if not await self.passwords.replace_password(user.id, stored, hashed):
            await self.session.rollback()
            raise WrongCurrentPassword()
        await self.revoke_refresh_tokens(user.id)
        await self.attempts.clear(email)
        await self.outbox.notify(user.id, "password_changed", SIGNED_OUT_EVERYWHERE_MESSAGE)
        await self.session.commit()

    async def revoke_refresh_tokens(self, user_id: int) -> None:
        """Revoke every refresh family of the user: a password change, a deactivation
        (`UserService.admin_update`) and a sign-out everywhere
        (`UserService.sign_out_everywhere`), which also end the access tokens (token
        version).
        Part of the caller's transaction: the caller commits."""
        await self.tokens.revoke_all(user_id)

    async def logout_all(self, user: Principal) -> None:
        """Every device signed out, this one included: no refresh token is redeemable and
        no access token passes the caller check from the commit on."""
        await self.passwords.sign_out_everywhere(user.id, self)
        await self.session.commit()

    async def delete_account(self, user: Principal, password: str) -> None:
        """The caller deletes their own user, confirming with their password.

        The password is checked as `change_password` checks it: a wrong one counts toward
        the sign-in throttle of the email, and bcrypt runs outside any transaction. The
        deletion then counts only if the row is still there, active, with the hash that
        was checked (locked until the commit); else the token the request came with is
        refused too (a password change or deactivation bumped its version, a deletion
        removed its user). An admin is refused first (409): another admin deletes them,
        so at least one active admin always remains.
        """
        if user.is_admin:
            raise CannotDeleteSelf()
        email, stored = await self.users.email_and_password_hash(user.id)
        attempt_id = await self._count_attempt(email)
        await self.session.commit()
        async with self._uncounted_if_busy(attempt_id):
            verified = await self.hasher.verify(password, stored)
        if not verified:
            raise PasswordRefused()
        identity = await self.passwords.confirm_password(user.id, stored, None)
        if identity is None:
            await self.session.rollback()
            raise Unauthorized()
        if identity.role == Role.ADMIN:  # promoted since the caller check
            await self.session.rollback()
            raise CannotDeleteSelf()
        await self.passwords.delete(user.id, email, self)
        await self.session.commit()

    async def settle_deletion(self, user_id: int, email: str) -> None:
        """Before a user is deleted, in the deletion's transaction. The failed sign-ins of
        the email go (kept by email, no foreign key cascades to them): the address may
        register again with a clean slate. The user's mailed links are expired and kept
        without the user, as links to an address with no account are, so they still
        count toward the address's `ACCOUNT_MAILS_PER_HOUR` until pruned: else signing
        up and deleting in a loop would mail any address without limit."""
        await self.attempts.clear(email)
        await OneTimeTokenRepository(self.session).disown(user_id)

    async def _count_attempt(self, email: str) -> int:
        """Count a password check of `email` (committed by the caller); 429 past the limit."""
        attempt_id, retry_after = await self.attempts.reserve(
            email, self.settings.login_max_failures, self.settings.login_window_seconds
        )
        if attempt_id is None:
            await self.session.rollback()
            raise Throttled(retry_after or 0)
        return attempt_id

    @asynccontextmanager
    async def _uncounted_if_busy(self, attempt_id: int) -> AsyncIterator[None]:
        """A sign-in refused as `busy` checked no password: it is no failed attempt.

        Counted, a login storm would throttle the very users it turned away (429 after
        `LOGIN_MAX_FAILURES` busy answers).
        """
        try:
            yield
        except HashingBusy:
            await self.attempts.forget(attempt_id)
            await self.session.commit()
            raise

    async def _issue(
        self, user: Identity, family_id: int | None, device: str | None
    ) -> tuple[TokenPair, int]:
        """A new access token and refresh token; the refresh token's id for chaining."""
        token_id = await self.tokens.next_id()
        refresh = new_refresh_token(self.settings, family_id or token_id)
        await self.tokens.add(
            token_id=token_id,
            user_id=user.id,
            family_id=family_id or token_id,
            token_hash=digest_refresh_token(refresh),
            device_name=device,
            lifetime_days=self.settings.refresh_token_days,
        )
        access, expires_in = create_access_token(
            self.settings, user.id, user.role, user.token_version
        )
        return TokenPair(
            access_token=access, refresh_token=refresh, expires_in=expires_in
        ), token_id
