"""The conditional writes that spend from a key and its account (see
``money/stored/charges.py``): each checks everything its refusal could be about in its
condition.

Where the key is its account's first, one item is both (``core/keys.py``) and the write is one
``UpdateItem``. Otherwise it is a transaction of two writes: on the key's item, its secret,
status, expiry, models, minute windows and its own budget; on the account's, that it is not
suspended, its balance and caps, and the open reservation.
"""

from enum import Enum
from functools import cache
from typing import TYPE_CHECKING

from handler.aws.expressions import (
    Condition,
    Named,
    Operand,
    Path,
    attr,
    given,
    if_not_exists,
    named,
    operand,
)
from handler.aws.writes import Check, Template, Update
from handler.core.keys import account_of
from handler.core.records.charges import Admission, Charge
from handler.core.records.keys import Credentials, Payer
from handler.money.spend import day_window, month_window, previous_windows
from handler.money.stored.keys import IMAGES_LEFT, REQUESTS_LEFT, SPEND_LEFT, charge_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class Part(Enum):
    """Which item a write is on: the one that is both the key and its account, or one of
    the two."""

    BOTH = "both"
    KEY = "key"
    ACCOUNT = "account"


def reserving(
    table: str, payer: Payer, charge: Charge, *, minute: int
) -> "list[TransactWriteItemTypeDef]":
    """Take the charge's price from the balance and the spend windows (the account's, and
    the key's own budget), and record it as an open reservation on the account; for a
    presented key, take the request and its images from the minute's windows too. An owner's
    standing instruction (a batch line, an async job) has no secret and no minute windows.
    One write, or the key's and the account's."""
    presented = isinstance(payer, Credentials)
    names = {"request": charge.request_id, **_spend_names(charge.reserved_at / 1000)}
    reservation = charge_attributes(charge)
    values: dict[str, object] = {"price": charge.amount, "now": charge.reserved_at // 1000}
    values |= {"model": charge.model, "reservation": reservation}
    if isinstance(payer, Credentials):
        names |= _minute_names(minute, images=True)
        values |= {"hash": payer.secret_hash, "n": charge.n}
    account_id = account_of(payer.key_id)
    if account_id == payer.key_id:
        template = _reserve(presented=presented, part=Part.BOTH)
        return [template.write(table, {"key_id": payer.key_id}, names=names, values=values)]
    values["reservation"] = {**reservation, "key_id": payer.key_id}
    key = _reserve(presented=presented, part=Part.KEY)
    account = _reserve(presented=presented, part=Part.ACCOUNT)
    return [
        key.write(table, {"key_id": payer.key_id}, names=names, values=values),
        account.write(table, {"key_id": account_id}, names=names, values=values),
    ]


def admitting(
    table: str, credentials: Credentials, admission: Admission, *, minute: int, now: int
) -> "list[TransactWriteItemTypeDef]":
    """A submission (an async job, a batch): one request of the minute's window, and the
    balance it must hold checked (and the model, if it names one)."""
    values: dict[str, object] = {"hash": credentials.secret_hash, "now": now}
    values |= {"balance": admission.balance}
    if admission.model is not None:
        values["model"] = admission.model
    names = _minute_names(minute, images=False)
    model = admission.model is not None
    key_id, account_id = credentials.key_id, account_of(credentials.key_id)
    if key_id == account_id:
        template = _admit(model=model, part=Part.BOTH)
        return [template.write(table, {"key_id": key_id}, names=names, values=values)]
    return [
        _admit(model=model, part=Part.KEY).write(
            table, {"key_id": key_id}, names=names, values=values
        ),
        _admit(model=model, part=Part.ACCOUNT).write(
            table, {"key_id": account_id}, names=names, values=values
        ),
    ]


@cache
def _reserve(*, presented: bool, part: Part) -> Template:
    price, reserved = given("price"), attr("reservations", Named("request"))
    update = Update.template()
    if part is not Part.ACCOUNT:
        update.require(_usable(given("now"))).require(_allows(given("model")))
        if presented:
            update.require(_presented(given("hash"), given("now")))
            _take_minute(update, images=given("n"))
    if part is not Part.KEY:
        update.set("balance", attr("balance") - price).set(reserved, given("reservation"))
        update.require(_in_good_standing())
        # Written already: botocore resent a write that had committed. Never take it twice.
        update.require(reserved.not_exists()).require(attr("balance").gte(price))
    _spend(update, price)  # the one item's caps, the key's budget, or the account's caps
    return Template(update)


@cache
def _admit(*, model: bool, part: Part) -> Template:
    if part is Part.ACCOUNT:
        check = Check.template().require(_in_good_standing())
        return Template(check.require(attr("balance").gte(given("balance"))))
    update = (
        Update.template()
        .require(_presented(given("hash"), given("now")))
        .require(_usable(given("now")))
    )
    _take_minute(update, images=None)
    if model:
        update.require(_allows(given("model")))
    if part is Part.BOTH:
        update.require(_in_good_standing()).require(attr("balance").gte(given("balance")))
    return Template(update)


def _minute_names(minute: int, *, images: bool) -> dict[str, str]:
    """The key item's attributes of the minute's windows (the images' one too, if it is
    taken from), and of the minutes around it."""
    names = {
        "requests": f"{REQUESTS_LEFT}{minute}",
        "past_requests": f"{REQUESTS_LEFT}{minute - 1}",
        "past_images": f"{IMAGES_LEFT}{minute - 1}",
        "next_requests": f"{REQUESTS_LEFT}{minute + 1}",
    }
    return names | {"images": f"{IMAGES_LEFT}{minute}"} if images else names


def _spend_names(now: float) -> dict[str, str]:
    """The key item's spend windows now (``money/spend.py``), and the ones before them."""
    yesterday, last_month = previous_windows(now)
    return {
        "day_left": f"{SPEND_LEFT}{day_window(now)}",
        "month_left": f"{SPEND_LEFT}{month_window(now)}",
        "past_day": f"{SPEND_LEFT}{yesterday}",
        "past_month": f"{SPEND_LEFT}{last_month}",
    }


def _in_good_standing() -> Condition:
    """The account: not suspended."""
    return attr("suspended_at").not_exists()


def _usable(now: Operand) -> Condition:
    """Active, and not expired."""
    expires_at = attr("expires_at")
    return attr("status").eq("active") & (expires_at.not_exists() | expires_at.gt(now))


def _allows(model: Operand) -> Condition:
    models = attr("models")
    return models.not_exists() | models.contains(model)


def _presented(secret_hash: Operand, now: Operand) -> Condition:
    """The key's secret, or a rotated one's old secret in its grace period."""
    return attr("secret_hash").eq(secret_hash) | (
        attr("previous_secret_hash").eq(secret_hash) & attr("previous_until").gt(now)
    )


def _take_minute(update: Update, *, images: Operand | None) -> None:
    """One request (and ``images``, unless None) from the minute's windows; the minute
    before's cleared away."""
    # A later minute has begun on another clock: this one's window is closed (and may have
    # been cleared away, which must not reopen it).
    update.require(named("next_requests").not_exists())
    update.remove(named("past_requests"), named("past_images"))
    _take(update, named("requests"), "rpm", operand(1))
    if images is not None:
        _take(update, named("images"), "ipm", images)


def _spend(update: Update, price: Operand) -> None:
    """``price`` from the day's and the month's spend windows (``money/spend.py``); the ones
    before them cleared away."""
    update.require(attr("daily_cap").exists() & attr("monthly_cap").exists())
    update.remove(named("past_day"), named("past_month"))
    _take(update, named("day_left"), "daily_cap", price)
    _take(update, named("month_left"), "monthly_cap", price)


def _take(update: Update, left: Path, limit: str, amount: Operand) -> None:
    """``amount`` from a window that begins, when first taken from, at the key's ``limit``:
    the window must hold it."""
    start = attr(limit)
    update.set(left, if_not_exists(left, start) - amount)
    update.require((left.not_exists() & start.gte(amount)) | left.gte(amount))
