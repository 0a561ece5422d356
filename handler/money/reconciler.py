"""What the scheduled reconciliation does (``main/reconcile.py``, every few minutes):
refund the reservations no request can settle any more (its process died between reserving and
settling), then hold every key's balance against its credit ledger and report any that is off.
"""

import time

from handler.core.errors import StorageError
from handler.core.outcomes import ReservationClosed
from handler.core.records.charges import UsageRecord, WindowUpkeep
from handler.core.records.work import PENDING_LIMIT_SECONDS, is_queued_request
from handler.money.ledger import off_ledger
from handler.money.spend import refund_windows
from handler.observability import count, logger
from handler.ports.charges import ChargeStore
from handler.ports.ledger import Entries

# A reservation older than Lambda's longest run (15 minutes), plus a margin, has no request
# left that could settle it.
RESERVATION_HOLD_MS = 16 * 60 * 1000
# A queued line's reservation stays open while its backend work is pending (up to
# PENDING_LIMIT_SECONDS), and through the worker run that collects it. One whose line died
# is refunded sooner by the dead-letter path; reconciliation is its backstop.
QUEUED_HOLD_MS = (PENDING_LIMIT_SECONDS + 16 * 60) * 1000


def reconcile(store: ChargeStore, entries: Entries, *, now_ms: int | None = None) -> dict[str, int]:
    """Both passes; how many reservations were refunded and how many balances are off."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    refunded = refund_abandoned(store, now_ms=now_ms)
    wrong = off_ledger(entries, now_ms=now_ms)
    return {"reconciled": len(refunded), "off_ledger": len(wrong)}


def refund_abandoned(store: ChargeStore, *, now_ms: int) -> list[UsageRecord]:
    """Refund every reservation no request can still settle."""
    settled = []
    for key_id, charge in store.open_reservations():
        hold = QUEUED_HOLD_MS if is_queued_request(charge.request_id) else RESERVATION_HOLD_MS
        if now_ms - charge.reserved_at < hold:
            continue
        usage = UsageRecord(key_id, charge, 0, "reconciled", now_ms, "reservation_abandoned")
        upkeep = WindowUpkeep(refund_to=refund_windows(charge.reserved_at, now_ms / 1000))
        try:
            store.settle(usage, windows=upkeep)
        except ReservationClosed:
            continue  # its request settled it after all, between our read and our write
        except StorageError:
            logger.exception("reconciliation failed", key_id=key_id, request_id=charge.request_id)
            count("ReconciliationsFailed")
            continue  # the next run tries again
        logger.warning(
            "reservation reconciled",
            key_id=key_id,
            request_id=charge.request_id,
            refunded=charge.amount,
        )
        settled.append(usage)
    return settled
