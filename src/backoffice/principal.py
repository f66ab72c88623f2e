"""The authenticated caller, as every module's services see it."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: what every request needs to know about it, and no more."""

    id: int
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class Identity:
    """A user as a new access token describes it: id, role and current token version."""

    id: int
    role: str
    token_version: int
