"""The conditional writes on a key's item that spend from it (see ``money/stored/charges.py``): each
checks everything its refusal could be about in its condition, in one write."""

from handler.aws.expressions import Condition, Update, attr, if_not_exists
from handler.core.records.charges import Admission, Charge
from handler.core.records.keys import Credentials, Owner, Payer
from handler.money.spend import day_window, month_window, previous_windows
from handler.money.stored.keys import IMAGES_LEFT, REQUESTS_LEFT, SPEND_LEFT, charge_attributes


def reserving(table: str, payer: Payer, charge: Charge, *, minute: int) -> Update:
    """Take the charge's price from the balance and the spend windows, and record it as an
    open reservation; for a presented key, take the request and its images from the minute's
    windows too. An owner's standing instruction (a batch line, an async job) has no secret
    and no minute windows."""
    now, price = charge.reserved_at // 1000, charge.amount
    reserved = attr("reservations", charge.request_id)
    update = (
        Update(table, {"key_id": payer.key_id})
        .set("balance", attr("balance") - price)
        .set(reserved, charge_attributes(charge))
        .require(_usable(now))
        # Written already: botocore resent a write that had committed. Never take it twice.
        .require(reserved.not_exists())
        .require(_allows(charge.model))
        .require(attr("balance").gte(price))
    )
    _spend(update, price, charge.reserved_at / 1000)
    if not isinstance(payer, Owner):
        update.require(_presented(payer.secret_hash, now))
        _take_minute(update, minute, images=charge.n)
    return update


def admitting(
    table: str, credentials: Credentials, admission: Admission, *, minute: int, now: int
) -> Update:
    """A submission (an async job, a batch): one request of the minute's window, and the
    balance it must hold checked (and the model, if it names one)."""
    update = (
        Update(table, {"key_id": credentials.key_id})
        .require(_presented(credentials.secret_hash, now))
        .require(_usable(now))
        .require(attr("balance").gte(admission.balance))
    )
    _take_minute(update, minute, images=None)
    if admission.model is not None:
        update.require(_allows(admission.model))
    return update


def _usable(now: int) -> Condition:
    """Active, and not expired."""
    expires_at = attr("expires_at")
    return attr("status").eq("active") & (expires_at.not_exists() | expires_at.gt(now))


def _allows(model: str) -> Condition:
    models = attr("models")
    return models.not_exists() | models.contains(model)


def _presented(secret_hash: str, now: int) -> Condition:
    """The key's secret, or a rotated one's old secret in its grace period."""
    return attr("secret_hash").eq(secret_hash) | (
        attr("previous_secret_hash").eq(secret_hash) & attr("previous_until").gt(now)
    )


def _take_minute(update: Update, minute: int, *, images: int | None) -> None:
    """One request (and ``images``, unless None) from the minute's windows; the minute
    before's cleared away."""
    # A later minute has begun on another clock: this one's window is closed (and may have
    # been cleared away, which must not reopen it).
    update.require(attr(f"{REQUESTS_LEFT}{minute + 1}").not_exists())
    update.remove(f"{REQUESTS_LEFT}{minute - 1}", f"{IMAGES_LEFT}{minute - 1}")
    _take(update, f"{REQUESTS_LEFT}{minute}", "rpm", 1)
    if images is not None:
        _take(update, f"{IMAGES_LEFT}{minute}", "ipm", images)


def _spend(update: Update, price: int, now: float) -> None:
    """``price`` from the day's and the month's spend windows (``money/spend.py``); the ones
    before them cleared away."""
    yesterday, last_month = previous_windows(now)
    update.require(attr("daily_cap").exists() & attr("monthly_cap").exists())
    update.remove(f"{SPEND_LEFT}{yesterday}", f"{SPEND_LEFT}{last_month}")
    _take(update, f"{SPEND_LEFT}{day_window(now)}", "daily_cap", price)
    _take(update, f"{SPEND_LEFT}{month_window(now)}", "monthly_cap", price)


def _take(update: Update, window: str, limit: str, amount: int) -> None:
    """``amount`` from a window that begins, when first taken from, at the key's ``limit``:
    the window must hold it."""
    left, start = attr(window), attr(limit)
    update.set(left, if_not_exists(left, start) - amount)
    update.require((left.not_exists() & start.gte(amount)) | left.gte(amount))
