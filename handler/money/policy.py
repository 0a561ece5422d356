"""What a key may do now: whether it is in force, and its per-minute rate window.

``check_key`` and the refusals read a key record as the ledger returned it (with a refused
write, the key as it stood), so the reason given is the one the write was refused for.
"""

import hmac
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from handler.core.amounts import format_micros
from handler.core.errors import (
    ApiError,
    AuthenticationFailed,
    InsufficientQuota,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
)
from handler.core.records.charges import Admission, Charge
from handler.core.records.keys import ApiKeyRecord, Owner, Payer
from handler.money.spend import spend_refusal

_UNKNOWN_KEY = "Incorrect API key provided. Check the key, or ask the operator for a new one."
# The bounds of the numbers a key's policy keeps: past any real use, and far inside what a
# DynamoDB number holds (38 digits), so a number too large is a 400 naming it, not a failed write.
MAX_PER_MINUTE = 1_000_000
MAX_EXPIRES_AT = 253_402_300_800  # unix seconds: the end of 9999-12-31, the last day a date names
PerMinute = Annotated[int, Field(ge=1, le=MAX_PER_MINUTE)]
ExpiresAt = Annotated[int, Field(ge=1, le=MAX_EXPIRES_AT)]


@dataclass(frozen=True, slots=True)
class RateWindow:
    """The key's current per-minute window, as the ``x-ratelimit-*`` headers report it."""

    requests_limit: int
    requests_left: int
    images_limit: int
    images_left: int
    reset_seconds: int


def rate_window(record: ApiKeyRecord, now: float) -> RateWindow:
    minute = int(now // 60)
    policy = record.policy
    return RateWindow(
        requests_limit=policy.requests_per_minute,
        requests_left=record.requests_left.get(minute, policy.requests_per_minute),
        images_limit=policy.images_per_minute,
        images_left=record.images_left.get(minute, policy.images_per_minute),
        reset_seconds=60 - int(now % 60),
    )


def check_key(record: ApiKeyRecord | None, payer: Payer, now: float) -> ApiKeyRecord:
    """The key if ``payer`` may spend from it now; AuthenticationFailed if not."""
    # An unknown id and a wrong secret read the same, so a caller cannot probe for key ids.
    if isinstance(payer, Owner):
        if record is None:
            raise AuthenticationFailed("The API key that submitted this work no longer exists.")
    elif record is None or not _secret_matches(record, payer.secret_hash, now):
        raise AuthenticationFailed(_UNKNOWN_KEY)
    if record.funds.suspended_at is not None:
        raise AuthenticationFailed(
            "This API key's account is suspended. Its owner can ask the operator why.",
            code="account_suspended",
        )
    if record.status != "active":
        raise AuthenticationFailed("This API key has been revoked.")
    if record.policy.expires_at is not None and record.policy.expires_at <= now:
        raise AuthenticationFailed("This API key has expired.", code="expired_api_key")
    return record


def _secret_matches(record: ApiKeyRecord, secret_hash: str, now: float) -> bool:
    """The key's secret, or, after a rotation, its old one until the grace period ends."""
    if hmac.compare_digest(record.secret_hash, secret_hash):
        return True
    previous, until = record.previous_secret_hash, record.previous_until
    return (
        previous is not None
        and until is not None
        and until > now
        and hmac.compare_digest(previous, secret_hash)
    )


def refusal(
    record: ApiKeyRecord, charge: Charge, now: float, *, windows: bool = True
) -> ApiError | None:
    """Why ``record`` (a key that passed ``check_key``) cannot pay for ``charge``, or None if
    it can; ``windows``: whether the per-minute limits apply."""
    not_allowed = model_refusal(record, charge.model)
    if not_allowed is not None:
        return not_allowed
    over_limit = _window_refusal(rate_window(record, now), charge) if windows else None
    if over_limit is not None:
        return over_limit
    capped = spend_refusal(record, charge.amount, now)
    if capped is not None:
        return capped
    balance = record.funds.balance
    if balance < charge.amount:
        return InsufficientQuota(
            f"This request costs {format_micros(charge.amount)} and the key's balance is "
            f"{format_micros(balance)}. Top up the key to continue.",
        )
    return None


def model_refusal(record: ApiKeyRecord, model: str) -> ApiError | None:
    """Why ``record`` may not use ``model`` (the catalog's id), or None if it may."""
    models = record.policy.models
    if models is not None and model not in models:
        return PermissionDenied(
            f"This API key may not use {model} (allowed: {', '.join(sorted(models))}).",
            param="model",
        )
    return None


def admission_refusal(record: ApiKeyRecord, admission: Admission, now: float) -> ApiError | None:
    """Why ``record`` (a key that passed ``check_key``) cannot submit ``admission``."""
    not_allowed = None if admission.model is None else model_refusal(record, admission.model)
    if not_allowed is not None:
        return not_allowed
    window = rate_window(record, now)
    if window.requests_left < 1:
        return RateLimited(
            f"Rate limit reached for this API key: {window.requests_limit} requests per "
            f"minute. Try again in {window.reset_seconds}s.",
            retry_after=window.reset_seconds,
        )
    balance = record.funds.balance
    if balance < admission.balance:
        return InsufficientQuota(
            f"This work needs a balance of at least {format_micros(admission.balance)} to run "
            f"and the key's balance is {format_micros(balance)}. Top up the key first.",
        )
    return None


def _window_refusal(window: RateWindow, charge: Charge) -> ApiError | None:
    if charge.n > window.images_limit:
        return InvalidRequest(
            f"n={charge.n} is over this key's limit of {window.images_limit} images per minute.",
            param="n",
        )
    if window.requests_left < 1 or window.images_left < charge.n:
        return RateLimited(
            f"Rate limit reached for this API key: {window.requests_limit} requests and "
            f"{window.images_limit} images per minute. Try again in {window.reset_seconds}s.",
            retry_after=window.reset_seconds,
        )
    return None


@dataclass
class Meter:
    """Where the request's rate window is left for the HTTP layer, success or failure, and
    the placement that ran it and why (a response header)."""

    window: RateWindow | None = None
    placement: str | None = None
