"""The key holder's money: its ledger, and card top-ups where the deployment takes cards."""

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from handler.api.deps import ApiKeyDep, CardTermsDep, CardTopUpsDep, CurrencyDep, EntriesDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.pages import CursorPage, Listed, PageAfter, PageLimit
from handler.api.replays import mark_replayed
from handler.core.amounts import EITHER_WAY, PositiveMicros
from handler.core.records.ledger import EntryKind, EntryPage, LedgerEntry
from handler.core.records.payments import CheckoutSession
from handler.money.cards import CardTerms
from handler.money.ledger import entry_place
from handler.ports.ledger import Entries

router = APIRouter(tags=["billing"], route_class=JsonBodyRoute)
ReturnUrl = Annotated[
    str,
    Field(
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        description="Where the payment page sends the payer back ({CHECKOUT_SESSION_ID} is "
        "replaced by the session's id).",
    ),
]


class Transaction(Listed):
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


TransactionList = CursorPage[Transaction]


def transaction_list(page: EntryPage) -> TransactionList:
    return TransactionList.of([Transaction.of(e) for e in page.entries], has_more=page.has_more)


@router.get("/billing/transactions", responses=ERROR_RESPONSES)
def list_transactions(
    key: ApiKeyDep,
    entries: EntriesDep,
    limit: PageLimit = 20,
    after: PageAfter = None,
) -> TransactionList:
    """The calling key's ledger, newest first: every top-up, adjustment, charge, refund and
    reversal of its balance."""
    return transactions(entries, key.account_id, limit=limit, after=after)


def transactions(
    entries: Entries, key_id: str, *, limit: int, after: str | None
) -> TransactionList:
    """A page of a key's ledger after the entry id ``after`` (a previous page's last)."""
    before = None
    if after is not None:
        before = entry_place(after, partial(entries.holds, key_id))
    return transaction_list(entries.page(key_id, limit=limit, before=before))


class CardTopUpTerms(BaseModel):
    currency: Annotated[str, Field(description="ISO 4217, lower case.")]
    minimum: Annotated[int, Field(description="The smallest top-up, in micro-units.")]
    maximum: Annotated[int, Field(description="The largest top-up, in micro-units.")]

    @classmethod
    def of(cls, terms: CardTerms) -> "CardTopUpTerms":
        return cls(currency=terms.currency, minimum=terms.minimum, maximum=terms.maximum)


class BillingAccount(BaseModel):
    object: Literal["billing.account"] = "billing.account"
    balance: Annotated[int, Field(description="What the key has left, in micro-units.")]
    currency: Annotated[
        str,
        Field(
            description="ISO 4217, lower case: the currency of every amount the API answers "
            "(prices, balances, costs, the ledger)."
        ),
    ]
    card_top_ups: Annotated[
        CardTopUpTerms | None,
        Field(description="What POST /v1/billing/checkout takes; null: no cards here."),
    ]


@router.get("/billing", responses=ERROR_RESPONSES)
def get_billing(key: ApiKeyDep, terms: CardTermsDep, currency: CurrencyDep) -> BillingAccount:
    """The calling key's balance and the deployment's currency, and whether (and within
    what) the key can be topped up by card."""
    offered = None if terms is None else CardTopUpTerms.of(terms)
    return BillingAccount(balance=key.funds.balance, currency=currency, card_top_ups=offered)


class CheckoutCreate(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    amount: Annotated[
        PositiveMicros,
        Field(description=f"What to put on the key. {EITHER_WAY}"),
    ]
    success_url: ReturnUrl
    cancel_url: ReturnUrl


class Checkout(BaseModel):
    id: Annotated[str, Field(description="The Checkout Session's id.")]
    object: Literal["billing.checkout_session"] = "billing.checkout_session"
    url: Annotated[str, Field(description="The payment page to send the payer to.")]
    amount: Annotated[int, Field(description="Micro-units, credited once the payment is made.")]
    currency: str
    expires_at: Annotated[int, Field(description="Unix seconds: the page works until then.")]

    @classmethod
    def of(cls, session: CheckoutSession) -> "Checkout":
        return cls(
            id=session.id,
            url=session.url,
            amount=session.amount,
            currency=session.currency,
            expires_at=session.expires_at,
        )


@router.post("/billing/checkout", responses=ERROR_RESPONSES)
def create_checkout(
    request: Request, response: Response, body: CheckoutCreate, key: ApiKeyDep, cards: CardTopUpsDep
) -> Checkout:
    """A card payment page for a top-up of the calling key: the key is credited once the
    payment succeeds (Stripe's signed event). An ``Idempotency-Key`` answers a retry with the
    same page (marked replayed); the key sent with another body is a 409."""
    idempotency_key = request.headers.get("idempotency-key")
    session = cards.checkout(
        key, body.amount, body.success_url, body.cancel_url, idempotency_key=idempotency_key
    )
    mark_replayed(response, session.replayed)
    return Checkout.of(session)
