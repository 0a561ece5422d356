"""Accounts as records: who owns a balance and the keys that spend it (``core/keys.py``)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    name: str
    created_at: int  # unix seconds
    balance: int  # micro-units, open reservations already taken out
    held: int  # micro-units the open reservations hold
    spent: int  # micro-units charged over the account's life
    suspended_at: int | None = None  # unix seconds; None: in good standing
    suspended_because: str | None = None

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None
