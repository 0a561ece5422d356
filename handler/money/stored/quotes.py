"""Quotes in the short-lived state table (the idempotency table): the item ``quote#<id>``
holds the quote's priced terms, their fingerprint, its price and key, and once a generation
claims it, that request's id (``used_by``). Claiming is one conditional ``UpdateItem`` that
answers the item as it stood when refused, so saying why costs no second read. DynamoDB's
TTL (``expiration``) removes a quote an hour after it expires; until then an expired quote
is told apart from one that never was."""

from typing import TYPE_CHECKING, Any

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import ConditionFailed, conditional, item_of, plain
from handler.aws.expressions import attr
from handler.aws.writes import Put, Update
from handler.core.errors import StorageError
from handler.core.records.quotes import PricedTerms, Quote
from handler.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

KEPT_AFTER_EXPIRY = 3600  # seconds: an expired quote still reads as expired, not unknown


def quote_key(quote_id: str) -> dict[str, str]:
    return {"id": f"quote#{quote_id}"}


class DynamoDBQuotes:
    def __init__(self, table: str, client: "DynamoDBClient | None" = None):
        self._table = table
        self._client = client or dynamodb_client()

    def put(self, quote: Quote) -> None:
        terms = quote.terms
        item = {
            **quote_key(quote.id),
            "key_id": quote.key_id,
            "model": terms.model,
            "size": terms.size,
            "quality": terms.quality,
            "steps": terms.steps,
            "n": terms.n,
            "edit": terms.edit,
            "fingerprint": terms.fingerprint,
            "unit_price": quote.unit_price,
            "created_at": quote.created_at,
            "expires_at": quote.expires_at,
            "expiration": quote.expires_at + KEPT_AFTER_EXPIRY,
        }
        put = Put(self._table, item_of(item)).require(attr("id").not_exists())
        with conditional("Could not keep the quote."):
            self._client.put_item(**put.request())

    def claim(
        self, quote_id: str, *, key_id: str, terms: PricedTerms, request_id: str, now: int
    ) -> Quote | None:
        used_by = attr("used_by")
        claim = (
            Update(self._table, quote_key(quote_id))
            .set(used_by, request_id)
            .require(attr("id").exists())
            .require(attr("key_id").eq(key_id))
            .require(attr("fingerprint").eq(terms.fingerprint))
            .require(attr("expires_at").gt(now))
            .require(used_by.not_exists() | used_by.eq(request_id))
        )
        request = claim.request(
            ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD"
        )
        try:
            with conditional("Could not claim the quote."):
                answer = self._client.update_item(**request)
        except ConditionFailed as refused:
            return None if refused.item is None else _quote(quote_id, plain(refused.item))
        return _quote(quote_id, plain(answer["Attributes"]))

    def release(self, quote_id: str, request_id: str) -> None:
        release = (
            Update(self._table, quote_key(quote_id))
            .remove("used_by")
            .require(attr("used_by").eq(request_id))
        )
        try:
            with conditional("Could not release the quote."):
                self._client.update_item(**release.request())
        except ConditionFailed:
            return  # another request holds it, or it is gone: nothing to give back
        except StorageError:
            # It stays held: a retry quotes again. Its generation was refunded either way.
            logger.exception("quote not released", quote_id=quote_id, request_id=request_id)


def _quote(quote_id: str, values: dict[str, Any]) -> Quote:
    terms = PricedTerms(
        model=values["model"],
        size=values["size"],
        quality=values["quality"],
        steps=values.get("steps"),
        n=values["n"],
        edit=values["edit"],
    )
    return Quote(
        id=quote_id,
        key_id=values["key_id"],
        terms=terms,
        unit_price=values["unit_price"],
        created_at=values["created_at"],
        expires_at=values["expires_at"],
        used_by=values.get("used_by"),
    )
