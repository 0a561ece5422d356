"""How a request is paid for: its price, the reservation before the backend runs, and the
settlement after it.

The reservation is one conditional write on the key's record (secret, status, expiry, model,
rate window and balance all checked at once), so concurrent requests can never take a balance
below zero or a window past its limit. When the write is refused, the key as it stood comes
back with the refusal and says why. Settlement refunds what was not delivered and writes the
usage record in one transaction; a reservation that no request settled (its process died) is
settled by ``reconcile`` as a full refund once no request can still be running.
"""

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from handler.core.errors import ApiError, StorageError
from handler.core.outcomes import ReservationClosed, ReservationRefused
from handler.core.records.charges import (
    Admission,
    Charge,
    Trail,
    UsageRecord,
    UsageStatus,
    WindowUpkeep,
)
from handler.core.records.keys import ApiKeyRecord, Credentials, Owner, Payer
from handler.core.records.moderation import Verdict
from handler.core.records.work import LineResult
from handler.core.spec import GenerationSpec
from handler.money.alerts import alert_if_crossed
from handler.money.policy import Meter, admission_refusal, check_key, rate_window, refusal
from handler.money.pricing import charge_for
from handler.money.reloads import reload_if_due
from handler.money.spend import refund_windows, stale_windows
from handler.observability import record_spend
from handler.ports.balance_alerts import BalanceAlerts
from handler.ports.charges import ChargeStore
from handler.ports.reload_claims import ReloadClaims


def settlement_status(asked: int, delivered: int) -> UsageStatus:
    if delivered == 0:
        return "failed"
    return "succeeded" if delivered >= asked else "partial"


@dataclass(frozen=True, slots=True)
class Reservation:
    key_id: str
    charge: Charge
    balance: int  # the account's balance once this reservation was taken out
    stale: WindowUpkeep  # past windows on the record, for settlement to clear
    backend: str = "unknown"  # the model's, for the spend metrics
    quote_id: str | None = None  # the quote it holds, given back if nothing is delivered

    def upkeep(self, now: float) -> WindowUpkeep:
        """The settlement's: clear the past windows; give the refund back to the spend
        windows the reservation took it from, if they are still the current ones."""
        return replace(self.stale, refund_to=refund_windows(self.charge.reserved_at, now))


@dataclass(frozen=True, slots=True)
class Charging:
    store: ChargeStore
    clock: Callable[[], float] = field(default=time.time)
    alerts: BalanceAlerts | None = None
    reloads: ReloadClaims | None = None

    def reserve(
        self, payer: Payer, spec: GenerationSpec, meter: Meter, *, price: int | None = None
    ) -> Reservation:
        """``price``: per image, if not the catalog's now (a quote's)."""
        now = self.clock()
        charge = charge_for(spec, now_ms=int(now * 1000), price=price)
        record, now = self._in_window(
            payer,
            meter,
            lambda minute, now: self.store.reserve(payer, charge, minute=minute),
            lambda known, now: refusal(known, charge, now, windows=isinstance(payer, Credentials)),
            now,
        )
        # A retry that found its own reservation settles that one, as it was priced.
        funds = record.funds  # the account's
        charge = funds.open_reservations.get(charge.request_id, charge)
        alert_if_crossed(self.alerts, funds, charge.amount)
        reload_if_due(self.reloads, funds, charge.amount, now)
        return Reservation(
            record.key_id, charge, funds.balance, _stale(record, now), spec.model.backend
        )

    def admit(self, credentials: Credentials, admission: Admission, meter: Meter) -> ApiKeyRecord:
        """Let in a submission that costs nothing yet (an async job, a batch): one request of
        the key's window, and a balance that holds ``admission.balance``; nothing is taken."""
        record, _ = self._in_window(
            credentials,
            meter,
            lambda minute, now: self.store.admit(
                credentials, admission, minute=minute, now=int(now)
            ),
            lambda known, now: admission_refusal(known, admission, now),
            self.clock(),
        )
        return record

    def _in_window(
        self,
        payer: Payer,
        meter: Meter,
        write: Callable[[int, float], ApiKeyRecord],
        refused_by: Callable[[ApiKeyRecord, float], ApiError | None],
        now: float,
    ) -> tuple[ApiKeyRecord, float]:
        """``write`` in the key's minute window; the key after it, and the time it was in."""
        minute = int(now // 60)
        completed = False
        while True:
            try:
                record = write(minute, now)
            except ReservationRefused as refused:
                known = check_key(refused.record, payer, now)
                if not known.caps_stored and not completed:  # a key from before spend caps
                    self.store.complete_caps(known.key_id)
                    completed = True
                    continue
                later = max((*known.requests_left, *known.images_left), default=0)
                if isinstance(payer, Owner) or later <= minute:
                    meter.window = rate_window(known, now)
                    # None: everything passes on the record as it stood; it changed under
                    # us (a rare race).
                    raise refused_by(known, now) or StorageError(
                        "The request could not be charged; try again.", should_retry=True
                    ) from None
                # Another clock has begun a later minute: ours is behind; join that window.
                minute, now = later, later * 60.0
                continue
            meter.window = rate_window(record, now)
            return record, now

    def settle(
        self,
        reservation: Reservation,
        delivered: int,
        *,
        error_code: str | None = None,
        result: LineResult | None = None,
        trail: Trail | None = None,
    ) -> UsageRecord:
        """Charge what was delivered, refund the rest, and record the line's ``result`` and
        what the request's ``trail`` says (its attempts' cost to the operator, moderation's
        verdicts) with it. Raises StorageError if the
        ledger cannot be written: the reservation then stays open, for ``reconcile`` to refund;
        ``ResultRecorded`` if another attempt recorded the line first (nothing was written:
        ``release`` the reservation)."""
        usage = self._usage(reservation, delivered, error_code, trail or Trail())
        try:
            upkeep = reservation.upkeep(self.clock())
            self.store.settle(usage, windows=upkeep, result=result)
        except ReservationClosed as exc:
            raise StorageError(
                "The request outlived its reservation and was refunded.", should_retry=False
            ) from exc
        record_spend(
            usage.charge.model,
            reservation.backend,
            usage.delivered,
            usage.charged,
            usage.operator_cost,
        )
        return usage

    def refused(self, key_id: str, spec: GenerationSpec, verdict: Verdict) -> None:
        """Record a request refused before anything was reserved (its prompt blocked): in
        the key's request list, charged nothing, with the verdict that refused it."""
        now_ms = int(self.clock() * 1000)
        charge = charge_for(spec, now_ms=now_ms, price=0)
        error = "content_policy_violation"
        self.store.record(
            UsageRecord(key_id, charge, 0, "failed", now_ms, error, verdicts=(verdict,))
        )

    def release(self, reservation: Reservation, *, error_code: str) -> None:
        """Refund a reservation in full, if no one has settled it yet (a duplicate attempt
        of a line shares its reservation with the attempt that recorded the line)."""
        with contextlib.suppress(ReservationClosed):
            upkeep = reservation.upkeep(self.clock())
            self.store.settle(self._usage(reservation, 0, error_code), windows=upkeep)

    def _usage(
        self,
        reservation: Reservation,
        delivered: int,
        error_code: str | None,
        trail: Trail | None = None,
    ) -> UsageRecord:
        attempts = trail.attempts if trail else []
        charge = reservation.charge
        return UsageRecord(
            placement=attempts[-1].placement if attempts else None,
            operator_cost=sum(attempt.cost for attempt in attempts),
            verdicts=tuple(trail.verdicts) if trail else (),
            key_id=reservation.key_id,
            charge=charge,
            delivered=delivered,
            status=settlement_status(charge.n, delivered),
            settled_at=int(self.clock() * 1000),
            error_code=error_code,
        )


def _stale(record: ApiKeyRecord, now: float) -> WindowUpkeep:
    """Windows of past minutes, days and months still on the record, for the settlement to
    clear away."""
    minute = int(now // 60)
    minutes = tuple(sorted(m for m in {*record.requests_left, *record.images_left} if m < minute))
    return WindowUpkeep(stale_minutes=minutes, stale_spend=stale_windows(record, now))
