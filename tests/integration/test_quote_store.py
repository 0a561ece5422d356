"""Quotes as DynamoDB keeps them (moto, the template's table): one conditional write claims a
quote, and a refused one answers the quote as it stood, so the caller can say why."""

from dataclasses import replace
from typing import Any

import pytest

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import ConditionFailed, plain
from handler.config import get_settings
from handler.core.records.quotes import PricedTerms, Quote
from handler.money.stored.quotes import KEPT_AFTER_EXPIRY, DynamoDBQuotes, quote_key

NOW = 1_800_000_000
TERMS = PricedTerms("imagegate-preview", "512x512", "standard", 4, 2, False)
QUOTE = Quote("quote_" + "a" * 24, "0123456789abcdef", TERMS, 1_000, NOW, NOW + 300)


@pytest.fixture
def store(aws: None) -> DynamoDBQuotes:
    quotes = DynamoDBQuotes(get_settings().idempotency_table)
    quotes.put(QUOTE)
    return quotes


def _claim(
    store: DynamoDBQuotes,
    *,
    key_id: str = QUOTE.key_id,
    terms: PricedTerms = TERMS,
    request_id: str = "req_1",
    now: int = NOW,
) -> Quote | None:
    return store.claim(QUOTE.id, key_id=key_id, terms=terms, request_id=request_id, now=now)


def test_a_quote_is_kept_with_its_terms_and_an_expiration(store: DynamoDBQuotes) -> None:
    table = get_settings().idempotency_table
    item = plain(dynamodb_client().get_item(TableName=table, Key=_key())["Item"])
    assert item["expiration"] == QUOTE.expires_at + KEPT_AFTER_EXPIRY  # the table's TTL
    assert (item["fingerprint"], item["unit_price"], item["n"]) == (TERMS.fingerprint, 1_000, 2)
    assert "prompt" not in item


def _key() -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in quote_key(QUOTE.id).items()}


def test_a_claim_holds_the_quote_for_one_request(store: DynamoDBQuotes) -> None:
    held = replace(QUOTE, used_by="req_1")
    assert _claim(store) == held
    assert _claim(store) == held  # its retry
    assert _claim(store, request_id="req_2") == held  # refused: as it stood
    store.release(QUOTE.id, "req_2")  # not the holder: nothing
    assert _claim(store, request_id="req_2") == held
    store.release(QUOTE.id, "req_1")
    assert _claim(store, request_id="req_2") == replace(QUOTE, used_by="req_2")


@pytest.mark.parametrize(
    "changes",
    [
        {"key_id": "fedcba9876543210"},
        {"terms": replace(TERMS, n=1)},
        {"now": NOW + 300},
    ],
    ids=["another key", "other terms", "expired"],
)
def test_a_refused_claim_answers_the_quote_unclaimed(
    store: DynamoDBQuotes, changes: dict[str, Any]
) -> None:
    assert _claim(store, **changes) == QUOTE
    assert _claim(store) == replace(QUOTE, used_by="req_1")  # untaken by the refusal


def test_no_such_quote_is_none_and_creates_nothing(store: DynamoDBQuotes) -> None:
    unknown = "quote_" + "b" * 24
    assert store.claim(unknown, key_id="k", terms=TERMS, request_id="r", now=NOW) is None
    store.release(unknown, "r")
    table = get_settings().idempotency_table
    key = {"id": {"S": f"quote#{unknown}"}}
    assert "Item" not in dynamodb_client().get_item(TableName=table, Key=key)


def test_a_quote_id_is_kept_once(store: DynamoDBQuotes) -> None:
    with pytest.raises(ConditionFailed):
        store.put(replace(QUOTE, unit_price=1))
