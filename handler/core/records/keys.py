"""API keys as records: a key, its policy, the credentials a request presents, who pays for
queued work, and the audit of changes operators make."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from handler.core.keys import account_of
from handler.core.records.charges import Charge

KeyStatus = Literal["active", "revoked"]
AuditAction = Literal[
    "created", "updated", "revoked", "rotated", "suspended", "reinstated", "moderation_changed"
]


TopUpSource = Literal["card", "admin", "cli"]


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    requests_per_minute: int
    images_per_minute: int
    models: frozenset[str] | None = None  # None: every model in the catalog
    expires_at: int | None = None  # unix seconds; None: never
    daily_spend_cap: int | None = None  # micro-units per UTC day; None: none
    monthly_spend_cap: int | None = None  # micro-units per UTC month; None: none
    low_balance_threshold: int | None = None  # micro-units: balance.low below it
    webhook_url: str | None = None  # the key's own webhooks (balance.low)
    # Auto-reload: below reload_below, the saved card is charged reload_amount, at most
    # reload_monthly_cap a UTC month (money/reloads.py). All three, or none.
    reload_below: int | None = None
    reload_amount: int | None = None
    reload_monthly_cap: int | None = None


# A key's limits where none are given.
DEFAULT_POLICY = KeyPolicy(requests_per_minute=60, images_per_minute=240)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    name: str
    secret_hash: str
    status: KeyStatus
    created_at: int
    policy: KeyPolicy
    balance: int = 0  # micro-units, reservations already taken out
    spent: int = 0  # micro-units charged over the key's life
    revoked_at: int | None = None
    # What is left of each per-minute window this key has used, by unix minute.
    requests_left: Mapping[int, int] = field(default_factory=dict)
    images_left: Mapping[int, int] = field(default_factory=dict)
    open_reservations: Mapping[str, "Charge"] = field(default_factory=dict)
    # What is left of each spend window the key has used ("d20261201", "m202612").
    spend_left: Mapping[str, int] = field(default_factory=dict)
    caps_stored: bool = True  # False: a key from before spend caps, to be completed
    low_balance_alerted: bool = False  # told of its low balance; a top-up takes it away
    reload_pending: bool = False  # a reload was started; a top-up takes it away
    stripe_customer: str | None = None  # its customer at the card processor, once it paid
    # A rotated key's old secret, in force until previous_until (unix seconds).
    previous_secret_hash: str | None = None
    previous_until: int | None = None
    suspended_at: int | None = None  # its account's: an operator suspended it (unix seconds)
    # The account's item, where the key is not its account's first key (``core/keys.py``):
    # the balance, reservations, caps and card are the account's, the windows the key's own.
    account: "ApiKeyRecord | None" = None

    @property
    def account_id(self) -> str:
        return account_of(self.key_id)

    @property
    def funds(self) -> "ApiKeyRecord":
        """The record that holds the money the key spends: its account's."""
        return self.account or self

    def __repr__(self) -> str:  # keep the hash out of any log line that prints a record
        return f"ApiKeyRecord(key_id={self.key_id!r}, name={self.name!r}, status={self.status!r})"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A presented key as the stores see it: its id and the hash of its secret."""

    key_id: str
    secret_hash: str

    def __repr__(self) -> str:
        return f"Credentials(key_id={self.key_id!r})"


@dataclass(frozen=True, slots=True)
class Owner:
    """A key paying for work it submitted earlier (a batch line, an async job).

    Its secret was checked at submission. The key's status, expiry, models and balance still
    apply when the work runs; its per-minute windows do not: the workers' concurrency paces
    queued work, and a batch must not fail for having many lines."""

    key_id: str


Payer = Credentials | Owner


@dataclass(frozen=True, slots=True)
class AuditEntry:
    key_id: str
    action: AuditAction
    actor: str
    at: int  # unix milliseconds
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KeyPage:
    keys: Sequence[ApiKeyRecord]
    next_key_id: str | None  # where the next page starts; None: this was the last


@dataclass(frozen=True, slots=True)
class IssuedKey:
    record: ApiKeyRecord
    plaintext: str  # its only copy

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.record.key_id!r}, plaintext=<redacted>)"
