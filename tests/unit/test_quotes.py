"""A quote's rules: what it holds for (its key, its priced terms, five minutes, one request),
what a refusal names, and ``max_cost``, whether a quote prices the request or the catalog."""

from dataclasses import replace
from typing import Any

import pytest

from handler.core.catalog import load_catalog
from handler.core.errors import InvalidRequest, PermissionDenied
from handler.core.image_input import data_url, from_request
from handler.core.records.keys import ApiKeyRecord, KeyPolicy
from handler.core.records.quotes import PricedTerms, Quote
from handler.core.schemas import GenerationRequest
from handler.core.spec import GenerationSpec
from handler.core.spec_rules import build_spec
from handler.money.quotes import QUOTE_SECONDS, MaxCostExceeded, Quotes, priced_terms
from tests.image_samples import picture
from tests.support import ROOT

CATALOG = load_catalog(ROOT / "infra" / "catalog.json")
NOW = 1_800_000_000
PRICE = 1_000  # the preview's 512x512 image
KEY = "0123456789abcdef"


class Kept:
    """The store's contract, in memory: a claim holds if every condition does."""

    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}

    def put(self, quote: Quote) -> None:
        self.quotes[quote.id] = quote

    def claim(
        self, quote_id: str, *, key_id: str, terms: PricedTerms, request_id: str, now: int
    ) -> Quote | None:
        quote = self.quotes.get(quote_id)
        if (
            quote is not None
            and quote.key_id == key_id
            and quote.terms.fingerprint == terms.fingerprint
            and quote.expires_at > now
            and quote.used_by in (None, request_id)
        ):
            quote = self.quotes[quote_id] = replace(quote, used_by=request_id)
        return quote

    def release(self, quote_id: str, request_id: str) -> None:
        quote = self.quotes.get(quote_id)
        if quote is not None and quote.used_by == request_id:
            self.quotes[quote_id] = replace(quote, used_by=None)


def _spec(request_id: str = "req_1", **fields: Any) -> GenerationSpec:
    request = GenerationRequest.model_validate({"prompt": "a fox", "size": "512x512", **fields})
    return build_spec(CATALOG.get(request.model), request, request_id, from_request(request))


def _key(**policy: Any) -> ApiKeyRecord:
    limits = KeyPolicy(requests_per_minute=5, images_per_minute=8, **policy)
    return ApiKeyRecord(KEY, "k", "a" * 64, "active", 0, limits)


@pytest.fixture
def kept() -> Kept:
    return Kept()


def _quotes(kept: Kept, at: int = NOW) -> Quotes:
    return Quotes(kept, "usd", clock=lambda: at)


def test_a_quote_is_kept_for_its_key_and_terms_for_five_minutes(kept: Kept) -> None:
    quote = _quotes(kept).make(_key(), _spec(n=2))
    assert kept.quotes == {quote.id: quote}
    assert (quote.key_id, quote.unit_price, quote.amount) == (KEY, PRICE, 2 * PRICE)
    assert (quote.created_at, quote.expires_at) == (NOW, NOW + QUOTE_SECONDS)
    assert quote.terms == PricedTerms("imagegate-preview", "512x512", "standard", 4, 2, False)


def test_the_terms_are_resolved_as_they_are_priced() -> None:
    # "auto" is the size it makes, an alias its model, the default steps the model's
    assert priced_terms(_spec(size="auto", model="gpt-image-1")) == priced_terms(
        _spec(size="1024x1024", steps=4)
    )
    # and what is drawn is no term of its price
    assert priced_terms(_spec(seed=7, negative_prompt="fog", output_format="webp")) == (
        priced_terms(_spec())
    )


def test_each_priced_term_changes_the_fingerprint() -> None:
    terms = PricedTerms("m", "512x512", "low", 4, 1, False)
    variants = [
        replace(terms, model="n"),
        replace(terms, size="256x256"),
        replace(terms, quality="high"),
        replace(terms, steps=None),
        replace(terms, n=2),
        replace(terms, edit=True),
    ]
    prints = {terms.fingerprint, *(variant.fingerprint for variant in variants)}
    assert len(prints) == 7
    assert terms.fingerprint == PricedTerms("m", "512x512", "low", 4, 1, False).fingerprint


def test_a_quote_is_refused_as_its_generation_would_be(kept: Kept) -> None:
    with pytest.raises(PermissionDenied):
        _quotes(kept).make(_key(models=frozenset({"flux-schnell"})), _spec())
    with pytest.raises(MaxCostExceeded):
        _quotes(kept).make(_key(), _spec(n=2, max_cost=2 * PRICE - 1))
    with pytest.raises(InvalidRequest) as quoted:
        _quotes(kept).make(_key(), _spec(quote_id="quote_" + "0" * 24))
    assert quoted.value.param == "quote_id"
    assert kept.quotes == {}


def test_a_generation_without_a_quote_pays_the_catalog_within_its_max_cost(kept: Kept) -> None:
    quotes = _quotes(kept)
    assert quotes.unit_price(KEY, _spec(n=2, max_cost=2 * PRICE)) == PRICE
    with pytest.raises(MaxCostExceeded) as refused:
        quotes.unit_price(KEY, _spec(n=2, max_cost=2 * PRICE - 1))
    assert (refused.value.code, refused.value.param) == ("max_cost_exceeded", "max_cost")
    assert refused.value.message == (
        "This request costs 0.002 USD (2000 micro-units), more than its max_cost of 0.001999 "
        "USD (1999 micro-units). Nothing was charged."
    )


def test_a_quoted_generation_pays_the_quote_once(kept: Kept) -> None:
    quote = _quotes(kept).make(_key(), _spec(n=2))
    kept.quotes[quote.id] = replace(quote, unit_price=123)  # as quoted, whatever now
    quotes = _quotes(kept, NOW + 60)
    assert quotes.unit_price(KEY, _spec("req_1", n=2, quote_id=quote.id)) == 123
    # its own retry holds it still; another request does not
    assert quotes.unit_price(KEY, _spec("req_1", n=2, quote_id=quote.id)) == 123
    assert _refusal(quotes, _spec("req_2", n=2, quote_id=quote.id)) == ("quote_used", "quote_id")
    # until the first gives it back, having delivered nothing
    quotes.release(quote.id, "req_1")
    assert quotes.unit_price(KEY, _spec("req_2", n=2, quote_id=quote.id)) == 123


def _refusal(quotes: Quotes, spec: GenerationSpec, key_id: str = KEY) -> tuple[str, str]:
    with pytest.raises(InvalidRequest) as refused:
        quotes.unit_price(key_id, spec)
    return str(refused.value.code), str(refused.value.param)


def test_a_quote_holds_for_its_key_its_time_and_its_terms(kept: Kept) -> None:
    quote = _quotes(kept).make(_key(), _spec(n=2))
    quotes = _quotes(kept, NOW + QUOTE_SECONDS - 1)
    unknown = ("quote_not_found", "quote_id")
    assert _refusal(quotes, _spec(n=2, quote_id=quote.id), key_id="f" * 16) == unknown
    assert _refusal(quotes, _spec(n=2, quote_id="quote_" + "1" * 24)) == unknown
    assert _refusal(quotes, _spec(n=2, quote_id="not a quote")) == unknown
    expired = _quotes(kept, NOW + QUOTE_SECONDS)
    assert _refusal(expired, _spec(n=2, quote_id=quote.id)) == ("quote_expired", "quote_id")
    changes: list[tuple[dict[str, Any], str]] = [
        ({"n": 1}, "n"),
        ({"size": "256x256"}, "size"),
        ({"quality": "high"}, "quality"),
        ({"steps": 8}, "steps"),
        ({"model": "flux-schnell"}, "model"),
        ({"image": data_url(picture((512, 512)))}, "image"),
    ]
    for fields, param in changes:
        asked: dict[str, Any] = {"n": 2, "quote_id": quote.id, **fields}
        spec = _spec(**asked)
        assert _refusal(quotes, spec) == ("quote_mismatch", param)
    # and none of those took it
    assert kept.quotes[quote.id].used_by is None


def test_a_mismatch_says_what_was_quoted(kept: Kept) -> None:
    quote = _quotes(kept).make(_key(), _spec(n=2))
    with pytest.raises(InvalidRequest) as refused:
        _quotes(kept).unit_price(KEY, _spec(n=1, quote_id=quote.id))
    assert refused.value.message == (
        f"Quote '{quote.id}' was made for n 2, and this request is for n 1. Send the request "
        "as it was quoted, or ask for a new quote."
    )


def test_a_quote_dearer_than_max_cost_is_given_back(kept: Kept) -> None:
    quote = _quotes(kept).make(_key(), _spec(n=2))
    with pytest.raises(MaxCostExceeded):
        _quotes(kept).unit_price(KEY, _spec(n=2, quote_id=quote.id, max_cost=PRICE))
    assert kept.quotes[quote.id].used_by is None
