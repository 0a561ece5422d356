"""The key holder's money: its ledger, and card top-ups where the deployment takes cards."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from handler.api.deps import ApiKeyDep, EntriesDep
from handler.api.errors import ERROR_RESPONSES
from handler.core.ledger import EntryKind, EntryPage, LedgerEntry, entry_place

router = APIRouter(tags=["billing"])
MAX_PAGE = 100


class Transaction(BaseModel):
    id: Annotated[str, Field(description="The entry's id; a page's `after` cursor.")]
    object: Literal["billing.transaction"] = "billing.transaction"
    type: EntryKind
    amount: Annotated[int, Field(description="What it changed the balance by, in micro-units.")]
    created: Annotated[int, Field(description="Unix seconds.")]
    created_ms: Annotated[int, Field(description="Unix milliseconds.")]
    reference: Annotated[
        str, Field(description="The request, payment, refund or dispute it is about.")
    ]
    actor: Annotated[str, Field(description="Who made the change.")]
    source: Annotated[str | None, Field(description="A top-up's: card, admin or cli.")] = None
    reason: str | None = None
    model: Annotated[str | None, Field(description="A settled request's model.")] = None
    reserved: Annotated[int | None, Field(description="A settled request's hold.")] = None
    refunded: Annotated[int | None, Field(description="What of the hold came back.")] = None

    @classmethod
    def of(cls, entry: LedgerEntry) -> "Transaction":
        return cls(
            id=entry.entry_id,
            type=entry.kind,
            amount=entry.amount,
            created=entry.at // 1000,
            created_ms=entry.at,
            reference=entry.reference,
            actor=entry.actor,
            source=entry.source,
            reason=entry.reason,
            model=entry.model,
            reserved=entry.reserved,
            refunded=entry.refunded,
        )


class TransactionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Transaction]
    first_id: str | None
    last_id: str | None
    has_more: bool

    @classmethod
    def of(cls, page: EntryPage) -> "TransactionList":
        data = [Transaction.of(entry) for entry in page.entries]
        first, last = (data[0].id, data[-1].id) if data else (None, None)
        return cls(data=data, first_id=first, last_id=last, has_more=page.has_more)


@router.get("/billing/transactions", responses=ERROR_RESPONSES)
def list_transactions(
    key: ApiKeyDep,
    entries: EntriesDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Entries per page.")] = 20,
    after: Annotated[str | None, Query(description="The last id of the previous page.")] = None,
) -> TransactionList:
    """The calling key's ledger, newest first: every top-up, adjustment, charge, refund and
    reversal of its balance."""
    before = None if after is None else entry_place(after)
    return TransactionList.of(entries.page(key.key_id, limit=limit, before=before))
