"""What the core needs from the outside world; ``stores/`` and ``backends/`` implement it."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from handler.core.deadline import Deadline
from handler.work.model import LineResult

KeyStatus = Literal["active", "revoked"]
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
class Charge:
    """The price of one request, reserved before the backend runs."""

    request_id: str
    model: str
    size: str
    n: int
    unit_price: int  # micro-units per image
    reserved_at: int  # unix milliseconds
    end_user: str | None = None  # the request's safety_identifier (or user), kept for abuse review

    @property
    def amount(self) -> int:
        return self.n * self.unit_price


UsageStatus = Literal["succeeded", "partial", "failed", "reconciled"]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    key_id: str
    charge: Charge
    delivered: int
    status: UsageStatus
    settled_at: int  # unix milliseconds
    error_code: str | None = None

    @property
    def charged(self) -> int:
        return self.delivered * self.charge.unit_price

    @property
    def refunded(self) -> int:
        return self.charge.amount - self.charged


@dataclass(frozen=True, slots=True)
class Admission:
    """What a submission that costs nothing yet (an async job, a batch) must show: the
    balance its key must hold for the work to run, and the model it asks for (None: any)."""

    balance: int
    model: str | None = None


@dataclass(frozen=True, slots=True)
class WindowUpkeep:
    """What a settlement does to the key's windows besides closing its reservation."""

    stale_minutes: tuple[int, ...] = ()  # past rate windows, cleared away
    stale_spend: tuple[str, ...] = ()  # past spend windows, cleared away
    refund_to: tuple[str, ...] = ()  # the current spend windows the refund goes back into


class ReservationRefused(Exception):
    """The conditional write did not pass; ``record`` is the key as it stood (None: no key)."""

    def __init__(self, record: ApiKeyRecord | None):
        super().__init__("reservation refused")
        self.record = record


class KeyStore(Protocol):
    def get(self, key_id: str) -> ApiKeyRecord | None: ...

    def create(self, record: ApiKeyRecord, *, actor: str, source: TopUpSource) -> None:
        """Store a new key; its balance, if any, is its ledger's opening top-up."""
        ...

    def list(self) -> list[ApiKeyRecord]: ...


class Ledger(Protocol):
    """Balances, rate windows and usage records: the money side of a request."""

    def reserve(self, payer: Payer, charge: Charge, *, minute: int) -> ApiKeyRecord:
        """In one conditional write: check the key (secret, status, expiry, model), spend one
        request and ``charge.n`` images of the minute's window (``Credentials`` only) and
        take ``charge.amount`` off the balance. Returns the key after the write; raises
        ``ReservationRefused``. A reservation open under the charge's request id is taken
        as this one (a retry of a write that had committed)."""
        ...

    def admit(
        self, credentials: Credentials, admission: Admission, *, minute: int, now: int
    ) -> ApiKeyRecord:
        """In one conditional write: check the key (secret, status, expiry, the admission's
        model) and that its balance holds ``admission.balance`` (nothing is taken), and spend
        one request of the minute's window. Returns the key after the write; raises
        ``ReservationRefused``."""
        ...

    def settle(
        self,
        usage: UsageRecord,
        *,
        windows: WindowUpkeep | None = None,
        result: LineResult | None = None,
    ) -> None:
        """Close the reservation, refund what was not delivered, write the usage record and
        the line's ``result``, all or nothing. A reservation already closed raises
        ``ReservationClosed``; a line with a result already, ``ResultRecorded``."""
        ...

    def complete_caps(self, key_id: str) -> None:
        """Give a key from before spend caps the caps' attributes (none: ``NO_CAP``)."""
        ...

    def usage(self, key_id: str, *, start_ms: int, end_ms: int) -> list[UsageRecord]: ...

    def recent_usage(
        self, key_id: str, *, limit: int, before: tuple[int, str] | None
    ) -> tuple[list[UsageRecord], bool]:
        """The key's records newest first, before ``before`` (reserved at, request id)."""
        ...

    def holds_usage(self, key_id: str, reserved_at: int, request_id: str) -> bool:
        """Whether the key has the record of that place (a page's ``after``)."""
        ...

    def open_reservations(self) -> list[tuple[str, Charge]]:
        """Every reservation not yet settled, with its key id."""
        ...


class ReservationClosed(Exception):
    """Settled already (by the request itself, or by reconciliation)."""


class Idempotency(Protocol):
    def once(
        self, key: str, fingerprint: str, work: Callable[[], dict[str, Any]], deadline: Deadline
    ) -> dict[str, Any]:
        """``work()``'s result, run once per ``key`` for 24 hours and replayed after that.

        ``Conflict`` if ``key`` was used with another ``fingerprint``, or its first run is
        still going (until ``deadline``, after which a crashed run no longer blocks). A run
        that raises leaves nothing behind: the next one runs again.
        """
        ...
