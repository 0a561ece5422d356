"""The client's terms on a price: a quote, that holds the price of a request for a few
minutes, and ``max_cost``, above which a request is refused before anything is reserved.

A quote is made for a key and the terms its price depends on (``PricedTerms``: model, size,
quality tier, steps, n, and whether input images are given), not for a prompt: it prices the
request, whatever it draws. It pays for one generation: the first to claim it holds it, and
gives it back if it delivers nothing (refunded in full), so that a retry can use it again.
"""

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from handler.core.amounts import format_micros
from handler.core.errors import InsufficientQuota, InvalidRequest
from handler.core.records.keys import ApiKeyRecord
from handler.core.records.quotes import PricedTerms, Quote
from handler.core.spec import GenerationSpec
from handler.money.policy import model_refusal
from handler.money.pricing import unit_price
from handler.ports.quotes import QuoteStore

QUOTE_SECONDS = 300  # how long a quote holds its price
_QUOTE_ID = re.compile(r"quote_[0-9a-f]{24}")
# The priced terms a request sets by parameters of the same names.
_TERMS = ("model", "size", "quality", "steps", "n")


class MaxCostExceeded(InsufficientQuota):
    """The request costs more than the ``max_cost`` its client set: nothing is reserved."""

    default_code = "max_cost_exceeded"


def priced_terms(spec: GenerationSpec) -> PricedTerms:
    edit = bool(spec.inputs.images)
    return PricedTerms(spec.model.id, spec.size, spec.quality, spec.steps, spec.n, edit)


@dataclass(frozen=True, slots=True)
class Quotes:
    store: QuoteStore
    currency: str  # the deployment's, as amounts are named to the client
    clock: Callable[[], float] = field(default=time.time)

    def make(self, key: ApiKeyRecord, spec: GenerationSpec) -> Quote:
        """A quote of ``spec`` for ``key``, kept: refused as the generation would be if the
        key may not use the model, or the price is over the request's ``max_cost``."""
        if spec.quote_id is not None:
            raise InvalidRequest("quote_id is for a generation, not a quote.", param="quote_id")
        refused = model_refusal(key, spec.model.id)
        if refused is not None:
            raise refused
        now = int(self.clock())
        quote = Quote(
            id=f"quote_{secrets.token_hex(12)}",
            key_id=key.key_id,
            terms=priced_terms(spec),
            unit_price=unit_price(spec),
            created_at=now,
            expires_at=now + QUOTE_SECONDS,
        )
        self.check_max_cost(spec, quote.amount)
        self.store.put(quote)
        return quote

    def unit_price(self, key_id: str, spec: GenerationSpec) -> int:
        """What ``spec`` is charged per image: its quote's price, the quote now held for it
        (``release`` gives it back), or the catalog's now; refused above its ``max_cost``."""
        if spec.quote_id is None:
            price = unit_price(spec)
            self.check_max_cost(spec, spec.n * price)
            return price
        quote = self._claim(spec.quote_id, key_id, spec)
        try:
            self.check_max_cost(spec, quote.amount)
        except MaxCostExceeded:
            self.release(spec.quote_id, spec.request_id)
            raise
        return quote.unit_price

    def release(self, quote_id: str | None, request_id: str) -> None:
        """Give the quote ``request_id`` holds back (None: it holds none): it delivered
        nothing."""
        if quote_id is not None:
            self.store.release(quote_id, request_id)

    def check_max_cost(self, spec: GenerationSpec, amount: int) -> None:
        if spec.max_cost is not None and amount > spec.max_cost:
            raise MaxCostExceeded(
                f"This request costs {self._named(amount)}, more than its max_cost of "
                f"{self._named(spec.max_cost)}. Nothing was charged.",
                param="max_cost",
            )

    def _named(self, amount: int) -> str:
        return f"{format_micros(amount)} {self.currency.upper()} ({amount} micro-units)"

    def _claim(self, quote_id: str, key_id: str, spec: GenerationSpec) -> Quote:
        terms = priced_terms(spec)
        now = int(self.clock())
        quote = None
        if _QUOTE_ID.fullmatch(quote_id):  # else not one of ours: no need to ask
            quote = self.store.claim(
                quote_id, key_id=key_id, terms=terms, request_id=spec.request_id, now=now
            )
        if quote is None or quote.key_id != key_id:  # another key's reads as unknown
            raise InvalidRequest(
                f"No quote '{quote_id}'. POST /v1/images/quotes makes one.",
                param="quote_id",
                code="quote_not_found",
            )
        if quote.expires_at <= now:
            raise InvalidRequest(
                f"Quote '{quote_id}' expired; its price held for {QUOTE_SECONDS // 60} "
                "minutes. Ask for a new quote.",
                param="quote_id",
                code="quote_expired",
            )
        if quote.terms != terms:
            raise _mismatch(quote, terms)
        if quote.used_by != spec.request_id:
            raise InvalidRequest(
                f"Quote '{quote_id}' has paid for another request; a quote pays for one. Ask "
                "for a new quote.",
                param="quote_id",
                code="quote_used",
            )
        return quote


def _mismatch(quote: Quote, terms: PricedTerms) -> InvalidRequest:
    """A refusal naming the first term of the request its quote was not made for."""
    for name in _TERMS:
        quoted, asked = getattr(quote.terms, name), getattr(terms, name)
        if quoted != asked:
            what = f"{name} {quoted}, and this request is for {name} {asked}"
            return _quote_mismatch(quote, what, name)
    what = "a request with" if quote.terms.edit else "a request without"
    this = "has none" if quote.terms.edit else "has some"
    return _quote_mismatch(quote, f"{what} input images, and this one {this}", "image")


def _quote_mismatch(quote: Quote, what: str, param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Quote '{quote.id}' was made for {what}. Send the request as it was quoted, or ask "
        "for a new quote.",
        param=param,
        code="quote_mismatch",
    )
