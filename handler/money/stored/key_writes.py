"""The conditional writes on a key's item that spend from it (see ``money/stored/charges.py``): each
checks everything its refusal could be about in its condition, in one write."""

from handler.money.spend import day_window, month_window, previous_windows
from handler.money.stored.keys import IMAGES_LEFT, REQUESTS_LEFT, SPEND_LEFT

# The day's and the month's spend windows: each starts at its cap and takes the price.
_SPEND = (
    "#day_left = if_not_exists(#day_left, daily_cap) - :price, "
    "#month_left = if_not_exists(#month_left, monthly_cap) - :price "
)
_SPEND_IF = (
    "AND attribute_exists(daily_cap) AND attribute_exists(monthly_cap) "
    "AND ((attribute_not_exists(#day_left) AND daily_cap >= :price) OR #day_left >= :price) "
    "AND ((attribute_not_exists(#month_left) AND monthly_cap >= :price) "
    "OR #month_left >= :price) "
)
RESERVE = (
    "SET balance = balance - :price, reservations.#request = :reservation, "
    "#requests = if_not_exists(#requests, rpm) - :one, "
    "#images = if_not_exists(#images, ipm) - :n, " + _SPEND + ""
    "REMOVE #past_requests, #past_images, #past_day, #past_month"
)
# The key's secret, or a rotated one's old secret in its grace period.
PRESENTED_HASH_IF = (
    "(secret_hash = :hash OR (previous_secret_hash = :hash AND previous_until > :now)) "
)
RESERVE_IF = (
    PRESENTED_HASH_IF + "AND #status = :active "
    # Written already: botocore resent a write that had committed. Never take it twice.
    "AND attribute_not_exists(reservations.#request) "
    # A later minute has begun on another clock: this one's window is closed (and may have
    # been cleared away, which must not reopen it).
    "AND attribute_not_exists(#next_requests) "
    "AND (attribute_not_exists(expires_at) OR expires_at > :now) "
    "AND (attribute_not_exists(models) OR contains(models, :model)) "
    "AND ((attribute_not_exists(#requests) AND rpm >= :one) OR #requests >= :one) "
    "AND ((attribute_not_exists(#images) AND ipm >= :n) OR #images >= :n) "
    + _SPEND_IF
    + "AND balance >= :price"
)
# An owner's standing instruction (a batch line, an async job): no secret, no minute windows.
RESERVE_FOR_OWNER = (
    "SET balance = balance - :price, reservations.#request = :reservation, "
    + _SPEND
    + "REMOVE #past_day, #past_month"
)
RESERVE_FOR_OWNER_IF = (
    "#status = :active "
    "AND attribute_not_exists(reservations.#request) "
    "AND (attribute_not_exists(expires_at) OR expires_at > :now) "
    "AND (attribute_not_exists(models) OR contains(models, :model)) "
    + _SPEND_IF
    + "AND balance >= :price"
)

# A submission (an async job, a batch): one request of the window, and the balance checked.
ADMIT = "SET #requests = if_not_exists(#requests, rpm) - :one REMOVE #past_requests, #past_images"
ADMIT_IF = (
    PRESENTED_HASH_IF + "AND #status = :active "
    "AND attribute_not_exists(#next_requests) "
    "AND (attribute_not_exists(expires_at) OR expires_at > :now) "
    "AND ((attribute_not_exists(#requests) AND rpm >= :one) OR #requests >= :one) "
    "AND balance >= :balance"
)
ADMIT_MODEL_IF = " AND (attribute_not_exists(models) OR contains(models, :model))"


def window_names(minute: int) -> dict[str, str]:
    """The key item's attributes of the minute's window, and of the minutes around it."""
    return {
        "#requests": f"{REQUESTS_LEFT}{minute}",
        "#images": f"{IMAGES_LEFT}{minute}",
        "#past_requests": f"{REQUESTS_LEFT}{minute - 1}",
        "#past_images": f"{IMAGES_LEFT}{minute - 1}",
        "#next_requests": f"{REQUESTS_LEFT}{minute + 1}",
    }


def spend_names(now: float) -> dict[str, str]:
    """The key item's spend windows now (``money/spend.py``), and the ones before them."""
    yesterday, last_month = previous_windows(now)
    return {
        "#day_left": f"{SPEND_LEFT}{day_window(now)}",
        "#month_left": f"{SPEND_LEFT}{month_window(now)}",
        "#past_day": f"{SPEND_LEFT}{yesterday}",
        "#past_month": f"{SPEND_LEFT}{last_month}",
    }
