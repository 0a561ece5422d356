"""Accounts as stored (``money/stored/accounts.py``)."""

from typing import Protocol

from handler.core.records.accounts import Account
from handler.core.records.keys import ApiKeyRecord, TopUpSource
from handler.core.records.members import Membership


class Accounts(Protocol):
    def open(
        self,
        account_id: str,
        name: str,
        owner: Membership | None,
        *,
        balance: int,
        pending: bool,
        source: TopUpSource,
        actor: str | None = None,
        now: int | None = None,
    ) -> Account:
        """A new account with its first owner (None: an operator's, by ``actor`` at ``now``,
        its owner invited), in one write; ``pending``: suspended until an operator approves
        it. ``AccountRefused`` names what stood in the way."""
        ...

    def get(self, account_id: str) -> Account:
        """Raises NotFound for an id that names no account."""
        ...

    def all(self) -> list[Account]: ...

    def keys(self, account_id: str) -> list[ApiKeyRecord]:
        """The account's keys, oldest first."""
        ...

    def suspend(self, account_id: str, *, reason: str, actor: str, now: int) -> Account: ...

    def reinstate(self, account_id: str, *, actor: str, now: int) -> Account: ...
