"""Rules about users: registration, profiles, and the admin's levers."""

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.db import Database
from backoffice.errors import Conflict, NotFound, Unauthorized
from backoffice.principal import Identity, Principal
from backoffice.security import AccessClaims, PasswordHasher
from backoffice.sql import CallerCheck, ConstraintErrors, integrity_errors
from backoffice.users.models import Role
from backoffice.users.repository import (
    CALLER_ROW,
    UserRepository,
    UserRow,
    caller_params,
)
from backoffice.users.schemas import UserAdminUpdate, UserCreate, UserUpdate


class EmailTaken(Conflict):
    code = "email_taken"
    message = "Email already registered"


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "User not found"


class CannotChangeSelf(Conflict):
    code = "cannot_change_self"
    message = "Admins cannot deactivate or demote themselves"


class CannotDeleteSelf(CannotChangeSelf):
    message = "Admins cannot delete their own user; another admin can, or demote them first"


class SignOut(Protocol):
    """The auth module's sign-out of every device (`AuthService.revoke_refresh_tokens`),
    joined to the caller's transaction; passed in, as auth's service imports this one."""

    async def revoke_refresh_tokens(self, user_id: int) -> None: ...


class AuthRecords(Protocol):
    """What the auth module keeps about a user's address, which a deletion settles
    before the foreign keys cascade (`AuthService.settle_deletion`); passed in, as
    `SignOut` is."""

    async def settle_deletion(self, user_id: int, email: str) -> None: ...


class AddressVerification(Protocol):
    """The auth module's verification links (`AccountLifecycle`), written in the caller's
    transaction (the caller commits); passed in, as auth's services import this module."""

    async def verify_new_user(self, user_id: int, email: str) -> None: ...

    async def verify_email_change(self, user_id: int, old_email: str, new_email: str) -> None: ...


CONSTRAINT_ERRORS: ConstraintErrors = {"uq_users_email": EmailTaken}


def caller_check(claims: AccessClaims) -> CallerCheck:
    """The caller check of a token, for a read to carry, so that a GET is one statement.

    The users module owns the rule (the token's user, active, at the token's version);
    the `sql` helper that runs the read raises the 401 when it fails, exactly as
    `CurrentUser` would.
    """
    return CallerCheck(CALLER_ROW, caller_params(claims), claims.user_id)


class UserReads:
    """The caller's profile read, in a read session of its own (`Database.read`), and no
    password hasher, which only the writes need: `GET /users/me` builds and solves no more."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def read_caller(self, check: CallerCheck) -> UserRow:
        """The caller's own profile, and its caller check in the same statement.

        `GET /users/me` sends this one statement instead of the check and then the read:
        401 when the token's user is gone, deactivated or at another token version.
        """
        async with self.db.read() as session:
            return await UserRepository(session).read_caller(check)


class UserLookup(UserRepository):
    """The users' reads in the session it is given: the admin's list, and what sign-in,
    token refresh and other modules ask about a user, inside their own transaction.

    The repository's questions as they are (`list`, `active_principal`, `credentials`,
    ...), inherited rather than forwarded one by one, and the two whose answer must
    exist, where no row is the users module's 404.
    """

    async def read(self, user_id: int) -> UserRow:
        """A user's profile as a row, for `UserRead` (no entity loaded); 404 if unknown."""
        row = await super().read(user_id)
        if row is None:
            raise UserNotFound()
        return row

    async def email_and_password_hash(self, user_id: int) -> tuple[str, str]:
        """The caller's own: a row gone since the caller check (deleted meanwhile) is
        refused as any deleted user's token is, with 401."""
        row = await super().email_and_password_hash(user_id)
        if row is None:
            raise Unauthorized()
        return row


class UserService:
    def __init__(self, session: AsyncSession, hasher: PasswordHasher) -> None:
        self.session = session
        self.hasher = hasher
        self.repo = UserRepository(session)

    async def register(
        self,
        data: UserCreate,
        role: Role = Role.USER,
        *,
        verification: AddressVerification | None = None,
    ) -> UserRow:
        """`verification` mails the new address a link to confirm it, in the same
        transaction; without it (`create-admin`: the operator vouches for the address)
        the address counts as verified at once."""
        hashed = await self.hasher.hash(data.password)
        async with integrity_errors(self.session, CONSTRAINT_ERRORS):
            user = await self.repo.add(
                email=data.email,
                hashed_password=hashed,
                full_name=data.full_name,
                role=role,
                email_verified=verification is None,
            )
            if verification is not None:
                await verification.verify_new_user(user.id, user.email)
            await self.session.commit()
        return user

    async def confirm_password(
        self, user_id: int, checked_hash: str, rehashed: str | None
    ) -> Identity | None:
        """Part of the caller's transaction: the row stays locked until it commits.

        A password checked outside a transaction (bcrypt is slow) is only good if the
        hash it was checked against is still the stored one; `rehashed` (the same
        password at the configured rounds) then replaces it.
        """
        identity = await self.repo.lock_unchanged(user_id, checked_hash)
        if identity is not None and rehashed is not None:
            await self.repo.replace_password(user_id, checked_hash, rehashed)
        return identity

    async def replace_password(self, user_id: int, expected: str, new: str) -> bool:
        """Part of the caller's transaction (the caller commits): the hash changes only if
        it still is `expected`, and the token version with it, so that every access token
        issued before stops working at once."""
        if not await self.repo.replace_password(user_id, expected, new):
            return False
        await self.repo.bump_token_version(user_id)
        return True

    async def update_profile(
        self, user_id: int, data: UserUpdate, verification: AddressVerification
    ) -> UserRow:
        """A new name applies at once; a new address only once a link mailed to it is
        followed (`pending_email` until then), and the current address hears of it.

        An address another account holds is answered exactly as any other (its link
        then fails for whoever follows it), so this is no oracle of who has an account.
        Sending the current address again cancels a pending change. A caller deleted
        since its caller check is refused as any deleted user's token is.
        """
        user = await self.repo.update_profile(user_id, data.full_name, data.email)
        if user is None:
            raise Unauthorized()
        if data.email is not None and user.pending_email == data.email:
            await verification.verify_email_change(user_id, user.email, data.email)
        await self.session.commit()
        return user

    async def admin_update(
        self, admin: Principal, user_id: int, data: UserAdminUpdate, sign_out: SignOut
    ) -> UserRow:
        """Locks the caller's row and the user's first, then decides on what they hold.

        The token version is bumped on what the role and activity were, not on a copy a
        concurrent change made stale; and the caller must still be an active admin once
        its row is locked. Two admins demoting each other at once are then served one
        after the other: the second finds itself demoted, its token already refused
        (401), and the first stays admin. As an admin cannot demote or deactivate
        themself, every change leaves at least one active admin: the caller.
        """
        user = await self._lock_for_admin(admin, user_id)
        if user_id == admin.id and (
            data.is_active is False or (data.role or Role.ADMIN) != Role.ADMIN
        ):
            raise CannotChangeSelf()
        updated = await self.repo.update(user_id, data.model_dump(exclude_none=True))
        if updated is None:  # pragma: no cover - locked above
            raise UserNotFound()
        if data.is_active is False or (data.role or user.role) != user.role:
            # A deactivated, demoted or promoted user's access tokens stop working at once.
            await self.repo.bump_token_version(user_id)
        if data.is_active is False:
            # As a password change does: no refresh token outlives the deactivation
            # (a reactivated user signs in again).
            await sign_out.revoke_refresh_tokens(user_id)
        await self.session.commit()
        return updated

    async def delete(self, user_id: int, email: str, records: AuthRecords) -> None:
        """Part of the caller's transaction (the caller commits; the user's row locked):
        the auth module's records of the address settled, then the user and everything
        the foreign keys cascade to (`UserRepository.delete`)."""
        await records.settle_deletion(user_id, email)
        await self.repo.delete(user_id)

    async def admin_delete(self, admin: Principal, user_id: int, records: AuthRecords) -> None:
        """Locks as `admin_update` does: the caller must still be an active admin once its
        row is locked, and no admin deletes themself here, so at least one active admin
        (the caller) always remains."""
        user = await self._lock_for_admin(admin, user_id)
        if user_id == admin.id:
            raise CannotDeleteSelf()
        await self.delete(user_id, user.email, records)
        await self.session.commit()

    async def sign_out_everywhere(self, user_id: int, sign_out: SignOut) -> None:
        """Part of the caller's transaction: from its commit on, no access token issued
        to the user so far passes the caller check (the token version moves on), and no
        refresh token is redeemable."""
        await self.repo.bump_token_version(user_id)
        await sign_out.revoke_refresh_tokens(user_id)

    async def _lock_for_admin(self, admin: Principal, user_id: int) -> UserRow:
        """The user's row, locked with the caller's (`lock_in_order`): 401 unless the
        caller is still an active admin once its row is locked, 404 for an unknown user."""
        rows = await self.repo.lock_in_order(admin.id, user_id)
        caller, user = rows.get(admin.id), rows.get(user_id)
        if caller is None or not caller.is_active or caller.role != Role.ADMIN:
            raise Unauthorized()
        if user is None:
            raise UserNotFound()
        return user
