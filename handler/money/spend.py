"""Spend caps: what a key may spend per UTC day and per UTC month, counted down in windows on
the key's item (one per day, one per month) in the same conditional write as the
reservation, so concurrent requests never spend past a cap. A window starts at the cap;
a reservation takes its price, a settlement gives back the part refunded (while the window is
still the current one). A key without a cap has one of ``NO_CAP``, so the write is the same
for every key."""

import calendar
import time

from handler.core.amounts import format_micros
from handler.core.errors import InsufficientQuota
from handler.core.records.keys import ApiKeyRecord

NO_CAP = 10**18  # micro-units: a cap no key reaches (a trillion currency units)


def day_window(now: float) -> str:
    return time.strftime("d%Y%m%d", time.gmtime(now))


def month_window(now: float) -> str:
    return time.strftime("m%Y%m", time.gmtime(now))


def previous_windows(now: float) -> tuple[str, str]:
    """Yesterday's window, and last month's: the reservation clears them away."""
    day = time.gmtime(now)
    year, month = (day.tm_year, day.tm_mon - 1) if day.tm_mon > 1 else (day.tm_year - 1, 12)
    return day_window(now - 86_400), f"m{year:04d}{month:02d}"


def resets_at(window: str) -> int:
    """When ``window`` ends (unix seconds): the next UTC midnight, or the next month."""
    year, month = int(window[1:5]), int(window[5:7])
    if window.startswith("d"):
        day = int(window[7:9])
        return calendar.timegm((year, month, day, 0, 0, 0)) + 86_400
    year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return calendar.timegm((year, month, 1, 0, 0, 0))


def spend_refusal(record: ApiKeyRecord, amount: int, now: float) -> InsufficientQuota | None:
    """Why ``record`` cannot spend ``amount`` more now under its caps (its own budget, then
    its account's where that is another item), or None."""
    for holder, whose in ((record, "this key's"), (record.account, "the account's")):
        if holder is not None:
            refused = _capped(holder, amount, now, whose)
            if refused is not None:
                return refused
    return None


def _capped(record: ApiKeyRecord, amount: int, now: float, whose: str) -> InsufficientQuota | None:
    policy = record.policy
    for window, cap, per in (
        (day_window(now), policy.daily_spend_cap, "daily"),
        (month_window(now), policy.monthly_spend_cap, "monthly"),
    ):
        if cap is None:
            continue
        left = record.spend_left.get(window, cap)
        if left < amount:
            reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(resets_at(window)))
            return InsufficientQuota(
                f"This request costs {format_micros(amount)} and {whose} {per} spend limit "
                f"of {format_micros(cap)} has {format_micros(max(left, 0))} left; it resets "
                f"at {reset}.",
                code="spend_limit_reached",
            )
    return None


def refund_windows(reserved_at_ms: int, now: float) -> tuple[str, ...]:
    """The spend windows a reservation took from that are still the current ones: where a
    settlement now gives its refund back."""
    at = reserved_at_ms / 1000
    taken_from = (day_window(at), month_window(at))
    current = (day_window(now), month_window(now))
    return tuple(w for w, c in zip(taken_from, current, strict=True) if w == c)


def stale_windows(record: ApiKeyRecord, now: float) -> tuple[str, ...]:
    """Spend windows on the record (and its account's) that are not the current day's or
    month's."""
    current = {day_window(now), month_window(now)}
    held = {*record.spend_left, *(record.account.spend_left if record.account else ())}
    return tuple(sorted(window for window in held if window not in current))
