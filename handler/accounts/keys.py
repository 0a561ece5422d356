"""An account's keys as its members manage them in the console: made (the secret shown
once), named, budgeted, rotated and revoked, by owners and developers; and the account's usage
per key and model. A key is acted on only through the account it belongs to (its id names it:
``core/keys.py``), so no member reaches another account's key."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handler.accounts.membership import AccountMembers
from handler.core.errors import InvalidRequest, NotFound
from handler.core.keys import account_of
from handler.core.records.charges import UsageRecord
from handler.core.records.keys import DEFAULT_POLICY, ApiKeyRecord, IssuedKey, KeyPolicy
from handler.core.records.members import Member, Membership
from handler.keys.admin import KeyAdmin
from handler.ports.accounts import Accounts
from handler.ports.charges import ChargeStore

# What a member may set on a key; its rate limits are the operator's.
MEMBER_FIELDS = ("name", "models", "expires_at", "daily_spend_cap", "monthly_spend_cap")


@dataclass(frozen=True, slots=True)
class AccountKeys:
    members: AccountMembers
    accounts: Accounts
    admin: KeyAdmin
    charges: ChargeStore

    def all(self, member: Member) -> "list[ApiKeyRecord]":
        return self.accounts.keys(self.members.of(member, "keys").account_id)

    def create(self, member: Member, name: str, changes: Mapping[str, Any]) -> IssuedKey:
        """A key of the member's account: the account's balance, the operator's rate
        limits, and what the member set of ``MEMBER_FIELDS``."""
        membership = self.members.of(member, "keys")
        _only_member_fields(changes)
        policy = KeyPolicy(
            requests_per_minute=DEFAULT_POLICY.requests_per_minute,
            images_per_minute=DEFAULT_POLICY.images_per_minute,
            models=None if changes.get("models") is None else frozenset(changes["models"]),
            expires_at=changes.get("expires_at"),
            daily_spend_cap=changes.get("daily_spend_cap"),
            monthly_spend_cap=changes.get("monthly_spend_cap"),
        )
        return self.admin.create(_actor(membership), name, policy, account_id=membership.account_id)

    def update(self, member: Member, key_id: str, changes: Mapping[str, Any]) -> ApiKeyRecord:
        membership = self._owning(member, key_id)
        _only_member_fields(changes)
        return self.admin.update(_actor(membership), key_id, changes)

    def rotate(self, member: Member, key_id: str, grace_seconds: int) -> IssuedKey:
        membership = self._owning(member, key_id)
        return self.admin.rotate(_actor(membership), key_id, grace_seconds)

    def revoke(self, member: Member, key_id: str) -> ApiKeyRecord:
        membership = self._owning(member, key_id)
        return self.admin.revoke(_actor(membership), key_id)

    def usage(
        self, member: Member, *, start_ms: int, end_ms: int
    ) -> "list[tuple[ApiKeyRecord, list[UsageRecord]]]":
        """Each of the account's keys with its usage records over the period."""
        account_id = self.members.of(member, "usage").account_id
        return [
            (key, self.charges.usage(key.key_id, start_ms=start_ms, end_ms=end_ms))
            for key in self.accounts.keys(account_id)
        ]

    def _owning(self, member: Member, key_id: str) -> Membership:
        """The member's membership, if the key is one of their account's (404 if not)."""
        membership = self.members.of(member, "keys")
        if account_of(key_id) != membership.account_id:
            raise NotFound(f"No key {key_id} in this account.", param="key_id")
        return membership


def _only_member_fields(changes: Mapping[str, Any]) -> None:
    others = sorted(set(changes) - set(MEMBER_FIELDS))
    if others:
        raise InvalidRequest(
            f"{others[0]} is set by the operator, not in the console.", param=others[0]
        )


def _actor(membership: Membership) -> str:
    return f"member:{membership.email}"
