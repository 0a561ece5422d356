"""A person signed in to the console, as their verified Cognito token names them."""

from dataclasses import dataclass
from typing import Literal

OPERATORS_GROUP = "operators"  # template.yaml: OperatorsGroup


@dataclass(frozen=True, slots=True)
class Member:
    sub: str  # the user pool's id of the person: stable, never reused
    email: str | None  # an ID token's; an access token carries none
    groups: tuple[str, ...]

    @property
    def is_operator(self) -> bool:
        return OPERATORS_GROUP in self.groups


Role = Literal["owner", "developer", "billing"]
ROLES: tuple[Role, ...] = ("owner", "developer", "billing")
# What each role may do in its account: owners everything; developers its keys and usage;
# billing its cards and ledger. Every member sees the account itself.
Permission = Literal["account", "keys", "usage", "billing", "members"]
GRANTS: dict[Role, frozenset[Permission]] = {
    "owner": frozenset({"account", "keys", "usage", "billing", "members"}),
    "developer": frozenset({"account", "keys", "usage"}),
    "billing": frozenset({"account", "billing"}),
}


@dataclass(frozen=True, slots=True)
class Membership:
    """A person's place in an account: one account per person."""

    sub: str
    account_id: str
    role: Role
    email: str
    joined_at: int  # unix seconds

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


@dataclass(frozen=True, slots=True)
class Invitation:
    """An account's offer of a role to whoever signs in with ``email``, until it expires."""

    email: str  # as the invitee will sign in with it: lower case
    account_id: str
    role: Role
    invited_by: str  # the inviting member's email
    expires_at: int  # unix seconds
