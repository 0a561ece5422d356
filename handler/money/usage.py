"""Usage over a period: what ``GET /v1/usage`` and ``imagegate usage`` report."""

import time
from collections.abc import Iterable
from dataclasses import dataclass

from handler.core.errors import InvalidRequest
from handler.core.records.charges import UsageRecord

DEFAULT_PERIOD_SECONDS = 30 * 86_400
MAX_PERIOD_SECONDS = 366 * 86_400


@dataclass(frozen=True, slots=True)
class UsageTotals:
    requests: int = 0
    images: int = 0  # delivered
    charged: int = 0  # micro-units
    refunded: int = 0  # micro-units reserved, then given back
    failed: int = 0  # requests that delivered nothing

    def with_record(self, record: UsageRecord) -> "UsageTotals":
        return UsageTotals(
            requests=self.requests + 1,
            images=self.images + record.delivered,
            charged=self.charged + record.charged,
            refunded=self.refunded + record.refunded,
            failed=self.failed + (record.delivered == 0),
        )


def totals(records: Iterable[UsageRecord]) -> UsageTotals:
    result = UsageTotals()
    for record in records:
        result = result.with_record(record)
    return result


def by_day(records: Iterable[UsageRecord]) -> dict[tuple[str, str], UsageTotals]:
    """Totals per (UTC day, key id), in day then key order."""
    days: dict[tuple[str, str], UsageTotals] = {}
    for record in records:
        day = _day(record)
        days[day, record.key_id] = days.get((day, record.key_id), UsageTotals()).with_record(record)
    return dict(sorted(days.items()))


def by_day_and_model(
    records: Iterable[UsageRecord],
) -> dict[str, dict[str, UsageTotals]]:
    """One key's totals per UTC day, and within it per model, both in order."""
    days: dict[str, dict[str, UsageTotals]] = {}
    for record in sorted(records, key=lambda r: (r.charge.reserved_at, r.charge.model)):
        models = days.setdefault(_day(record), {})
        model = record.charge.model
        models[model] = models.get(model, UsageTotals()).with_record(record)
    return {day: dict(sorted(models.items())) for day, models in days.items()}


def _day(record: UsageRecord) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(record.charge.reserved_at / 1000))


def period(start: int | None, end: int | None, *, now: float) -> tuple[int, int]:
    """``[start, end)`` in unix seconds: the last 30 days by default, at most 366."""
    end = int(now) + 1 if end is None else end  # the current second included
    start = end - DEFAULT_PERIOD_SECONDS if start is None else start
    if start >= end:
        raise InvalidRequest("start_time must be before end_time.", param="start_time")
    if end - start > MAX_PERIOD_SECONDS:
        raise InvalidRequest("A usage period covers at most 366 days.", param="start_time")
    return start, end
