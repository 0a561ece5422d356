"""Where a request's charge is kept: the key's balance and windows, its reservations and
usage records (``money/stored/charges.py``)."""

from typing import Protocol

from handler.core.records.charges import Admission, Charge, UsageRecord, WindowUpkeep
from handler.core.records.keys import ApiKeyRecord, Credentials, Payer
from handler.core.records.work import LineResult


class ChargeStore(Protocol):
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

    def record(self, usage: UsageRecord) -> None:
        """Keep the record of a request that reserved nothing (refused before it ran)."""
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
