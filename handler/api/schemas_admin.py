"""The admin API's bodies and answers (``routes/admin.py``)."""

import time
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from handler.core.amounts import EITHER_WAY, Micros, PositiveMicros, UnsignedMicros
from handler.core.records.keys import ApiKeyRecord, AuditEntry, IssuedKey, KeyPage, KeyPolicy
from handler.keys.admin import MAX_GRACE_SECONDS
from handler.money.policy import ExpiresAt, PerMinute
from handler.money.spend import NO_CAP, day_window, month_window

Cap = PositiveMicros
ModelIds = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class Body(BaseModel):
    # strict, as the generation bodies: "60" is not a number, and a typo is not a default.
    model_config = ConfigDict(strict=True, extra="forbid")


class KeyCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    account_id: Annotated[
        str | None, Field(description="One more key of this account; none: a new account.")
    ] = None
    balance: Annotated[UnsignedMicros, Field(description=EITHER_WAY)] = 0
    requests_per_minute: PerMinute = 60
    images_per_minute: PerMinute = 240
    models: Annotated[ModelIds | None, Field(description="None: every model.")] = None
    expires_at: Annotated[ExpiresAt | None, Field(description="Unix seconds.")] = None
    daily_spend_cap: Annotated[Cap | None, Field(description=f"Per UTC day. {EITHER_WAY}")] = None
    monthly_spend_cap: Annotated[Cap | None, Field(description=f"Per UTC month. {EITHER_WAY}")] = (
        None
    )
    low_balance_threshold: Annotated[
        Cap | None, Field(description="balance.low when a charge takes it below this.")
    ] = None
    webhook_url: Annotated[str | None, Field(description="Where balance.low goes.")] = None
    reload_below: Annotated[
        Cap | None, Field(description="Auto-reload: charge the saved card below this.")
    ] = None
    reload_amount: Annotated[Cap | None, Field(description="What one reload puts on.")] = None
    reload_monthly_cap: Annotated[
        Cap | None, Field(description="The most reloads put on in a UTC month.")
    ] = None

    def policy(self) -> KeyPolicy:
        return KeyPolicy(
            **self.model_dump(exclude={"name", "balance", "models", "account_id"}),
            models=frozenset(self.models) if self.models else None,
        )


class KeyUpdate(Body):
    """Only the fields given change; ``null`` lifts a limit (every model, no expiry)."""

    name: Annotated[str | None, Field(min_length=1, max_length=128)] = None
    requests_per_minute: PerMinute | None = None
    images_per_minute: PerMinute | None = None
    models: ModelIds | None = None
    expires_at: ExpiresAt | None = None
    daily_spend_cap: Cap | None = None
    monthly_spend_cap: Cap | None = None
    low_balance_threshold: Cap | None = None
    webhook_url: str | None = None
    reload_below: Cap | None = None
    reload_amount: Cap | None = None
    reload_monthly_cap: Cap | None = None

    def changes(self) -> dict[str, Any]:
        given = self.model_dump(include=self.model_fields_set)
        if "models" in given and given["models"] is not None:
            given["models"] = frozenset(given["models"])
        return given


class Movement(Body):
    amount: Annotated[Micros, Field(description=f"Signed for an adjustment. {EITHER_WAY}")]
    reason: Annotated[str | None, Field(max_length=500)] = None


class Rotation(Body):
    grace_seconds: Annotated[
        int, Field(ge=0, le=MAX_GRACE_SECONDS, description="How long the old secret still works.")
    ] = 86_400


class KeyView(BaseModel):
    """A key as a member of its account sees it; the admin API's shows its money too."""

    id: str
    object: Literal["account.key"] = "account.key"
    name: str
    status: str
    models: list[str] | None
    expires_at: int | None
    daily_spend_cap: int | None
    monthly_spend_cap: int | None
    spent_today: Annotated[int, Field(description="Charged so far this UTC day (capped keys).")]
    spent_this_month: int
    spent: int
    created_at: int
    revoked_at: int | None
    previous_secret_valid_until: int | None

    @classmethod
    def of(cls, record: ApiKeyRecord) -> "Self":
        return cls(**cls.fields_of(record))

    @staticmethod
    def fields_of(record: ApiKeyRecord) -> dict[str, Any]:
        policy, now = record.policy, time.time()
        return {
            "id": record.key_id,
            "name": record.name,
            "status": record.status,
            "models": sorted(policy.models) if policy.models is not None else None,
            "expires_at": policy.expires_at,
            "daily_spend_cap": policy.daily_spend_cap,
            "monthly_spend_cap": policy.monthly_spend_cap,
            "spent_today": spent_in(record, policy.daily_spend_cap, day_window(now)),
            "spent_this_month": spent_in(record, policy.monthly_spend_cap, month_window(now)),
            "spent": record.spent,
            "created_at": record.created_at,
            "revoked_at": record.revoked_at,
            "previous_secret_valid_until": record.previous_until,
        }


class AdminKey(KeyView):
    object: Literal["admin.key"] = "admin.key"  # type: ignore[assignment]
    balance: Annotated[int, Field(description="Its account's.")]
    requests_per_minute: int
    images_per_minute: int
    low_balance_threshold: int | None
    webhook_url: str | None
    reload_below: int | None
    reload_amount: int | None
    reload_monthly_cap: int | None
    open_reservations: int

    @staticmethod
    def fields_of(record: ApiKeyRecord) -> dict[str, Any]:
        policy = record.policy
        return {
            **KeyView.fields_of(record),
            "balance": record.funds.balance,
            "requests_per_minute": policy.requests_per_minute,
            "images_per_minute": policy.images_per_minute,
            "low_balance_threshold": policy.low_balance_threshold,
            "webhook_url": policy.webhook_url,
            "reload_below": policy.reload_below,
            "reload_amount": policy.reload_amount,
            "reload_monthly_cap": policy.reload_monthly_cap,
            "open_reservations": len(record.funds.open_reservations),
        }


def spent_in(record: ApiKeyRecord, cap: int | None, window: str) -> int:
    """What the window took of the cap (of NO_CAP, uncapped)."""
    left = record.spend_left.get(window)
    return 0 if left is None else (cap or NO_CAP) - left


class AdminKeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[AdminKey]
    has_more: bool
    next_after: Annotated[str | None, Field(description="The next page's `after`.")]

    @classmethod
    def of(cls, page: KeyPage) -> "AdminKeyList":
        data = [AdminKey.of(record) for record in page.keys]
        return cls(data=data, has_more=page.next_key_id is not None, next_after=page.next_key_id)


class IssuedKeyView(BaseModel):
    key: AdminKey
    api_key: Annotated[str, Field(description="The key's plaintext: shown this once only.")]

    @classmethod
    def of(cls, issued: IssuedKey) -> "IssuedKeyView":
        return cls(key=AdminKey.of(issued.record), api_key=issued.plaintext)


class AuditView(BaseModel):
    action: str
    actor: str
    created_ms: int
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> "AuditView":
        return cls(
            action=entry.action, actor=entry.actor, created_ms=entry.at, details=dict(entry.details)
        )


class AuditList(BaseModel):
    object: Literal["list"] = "list"
    data: list[AuditView]
