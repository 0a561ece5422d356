import time
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from handler.api.deps import ApiKeyDep, ChargeStoreDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.pages import CursorPage, Listed, PageAfter, PageLimit
from handler.core.cursors import place_id, place_of
from handler.core.records.charges import UsageRecord
from handler.core.records.keys import ApiKeyRecord
from handler.core.records.moderation import Verdict
from handler.money.usage import UsageTotals, by_day, by_day_and_model, period, totals
from handler.ports.charges import ChargeStore

router = APIRouter(tags=["usage"])


class UsageCounts(BaseModel):
    requests: Annotated[int, Field(description="Priced requests, whatever their outcome.")]
    images: Annotated[int, Field(description="Images delivered.")]
    spend: Annotated[int, Field(description="Charged, in micro-units.")]
    refunded: Annotated[int, Field(description="Reserved, then refunded, in micro-units.")]
    failed_requests: Annotated[int, Field(description="Requests that delivered nothing.")]

    @classmethod
    def of(cls, counts: UsageTotals) -> "UsageCounts":
        return cls(
            requests=counts.requests,
            images=counts.images,
            spend=counts.charged,
            refunded=counts.refunded,
            failed_requests=counts.failed,
        )


class ModelUsage(UsageCounts):
    model: str


class DailyUsage(UsageCounts):
    date: Annotated[str, Field(description="UTC day, YYYY-MM-DD.")]
    models: Annotated[list[ModelUsage], Field(description="The day's counts, per model.")]

    @classmethod
    def of_day(cls, day: str, counts: UsageTotals, models: dict[str, UsageTotals]) -> "DailyUsage":
        per_model = [
            ModelUsage(model=m, **UsageCounts.of(t).model_dump()) for m, t in models.items()
        ]
        return cls(date=day, models=per_model, **UsageCounts.of(counts).model_dump())


class Usage(UsageCounts):
    object: Literal["usage"] = "usage"
    key_id: str
    balance: Annotated[int, Field(description="What the key has left now, in micro-units.")]
    start_time: int
    end_time: int
    daily: list[DailyUsage]

    @classmethod
    def report(cls, key: ApiKeyRecord, start: int, end: int, records: list[UsageRecord]) -> "Usage":
        days = by_day(records)  # the key's own: one row a day
        daily = [
            DailyUsage.of_day(day, days[day, key.key_id], models)
            for day, models in by_day_and_model(records).items()
        ]
        return cls(
            key_id=key.key_id,
            balance=key.funds.balance,
            start_time=start,
            end_time=end,
            daily=daily,
            **UsageCounts.of(totals(records)).model_dump(),
        )


@router.get("/usage", responses=ERROR_RESPONSES)
def get_usage(
    key: ApiKeyDep,
    ledger: ChargeStoreDep,
    start_time: Annotated[
        int | None, Query(ge=0, description="Unix seconds, inclusive (default: 30 days ago).")
    ] = None,
    end_time: Annotated[
        int | None, Query(ge=1, description="Unix seconds, exclusive (default: now).")
    ] = None,
) -> Usage:
    """The calling key's balance, and its spend, requests and images over a period."""
    start, end = period(start_time, end_time, now=time.time())
    records = ledger.usage(key.key_id, start_ms=start * 1000, end_ms=end * 1000 - 1)
    return Usage.report(key, start, end, records)


_RECORD_PREFIX = "ureq_"


class ModerationVerdict(BaseModel):
    subject: Annotated[Literal["prompt", "output"], Field(description="With its input images.")]
    action: Literal["allowed", "blocked"]
    category: Annotated[
        str | None, Field(description="What blocked it, or what was most likely seen in it.")
    ] = None
    confidence: Literal["none", "low", "medium", "high"] | None = None
    index: Annotated[int | None, Field(description="An output image's place.")] = None

    @classmethod
    def of(cls, verdict: Verdict) -> "ModerationVerdict":
        return cls(
            subject=verdict.subject,
            action=verdict.action,
            category=verdict.category,
            confidence=verdict.confidence,
            index=verdict.index,
        )


class UsageRequest(Listed):
    id: Annotated[str, Field(description="The record's id; a page's `after` cursor.")]
    object: Literal["usage.request"] = "usage.request"
    request_id: Annotated[str, Field(description="The request's x-request-id.")]
    created: Annotated[int, Field(description="Unix seconds, when it was charged.")]
    model: str
    size: str
    n: Annotated[int, Field(description="Images asked for.")]
    images: Annotated[int, Field(description="Images delivered.")]
    status: str
    cost: Annotated[int, Field(description="Charged, in micro-units.")]
    refunded: Annotated[int, Field(description="Reserved, then refunded, in micro-units.")]
    error_code: str | None = None
    user: Annotated[
        str | None, Field(description="The end user the request named (safety_identifier or user).")
    ] = None
    moderation: Annotated[
        list[ModerationVerdict] | None,
        Field(description="Moderation's verdicts: its prompt's, and each image's checked."),
    ] = None

    @classmethod
    def of(cls, record: UsageRecord) -> "UsageRequest":
        charge = record.charge
        return cls(
            id=place_id(_RECORD_PREFIX, charge.reserved_at, charge.request_id),
            request_id=charge.request_id,
            created=charge.reserved_at // 1000,
            model=charge.model,
            size=charge.size,
            n=charge.n,
            images=record.delivered,
            status=record.status,
            cost=record.charged,
            refunded=record.refunded,
            error_code=record.error_code,
            user=charge.end_user,
            moderation=[ModerationVerdict.of(v) for v in record.verdicts] or None,
        )


@router.get("/usage/requests", responses=ERROR_RESPONSES)
def list_usage_requests(
    key: ApiKeyDep,
    ledger: ChargeStoreDep,
    limit: PageLimit = 20,
    after: PageAfter = None,
) -> CursorPage[UsageRequest]:
    """The calling key's priced requests, newest first: model, size, images, status, cost."""
    return usage_page(ledger, key.key_id, limit, after)


def usage_page(
    charges: ChargeStore, key_id: str, limit: int, after: str | None
) -> CursorPage[UsageRequest]:
    """A page of ``key_id``'s requests, newest first, after the record ``after`` names."""
    held = partial(charges.holds_usage, key_id)
    before = None if after is None else place_of(_RECORD_PREFIX, after, "a usage record", held)
    records, more = charges.recent_usage(key_id, limit=limit, before=before)
    data = [UsageRequest.of(record) for record in records]
    return CursorPage[UsageRequest].of(data, has_more=more)
