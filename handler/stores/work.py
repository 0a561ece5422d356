"""Batches, async jobs and their lines' results in one DynamoDB table.

Partition ``pk`` is the batch (or job) id. Sort key ``batch`` holds the batch itself, with
counters of recorded lines; ``line#<index>`` holds one line's result. A result and its count
on the batch are written in one transaction conditioned on the result being new, so a line is
counted once however often it is retried. ``remaining`` is the lines not yet recorded: results
recorded while the input is still being split take it below zero, and the split adds the
total, once; from then on it reaches zero exactly when the last line lands, which is what
finalization waits for.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import (
    ConditionFailed,
    Transaction,
    TransactionRefused,
    conditional,
    queried,
    retry_conflicts,
)
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr
from handler.aws.writes import Put, Update
from handler.core.errors import StorageError
from handler.core.records.work import FINISHED, BatchStatus, LineResult, Work
from handler.stores.work_items import (
    BATCH_SK,
    RESULT,
    batch_item,
    batch_of,
    failure_sk,
    line_sk,
    result_item,
    result_of,
    result_writes,
    transition,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]

# Results read per query when all of them are wanted (finalization): a few hundred KB.
RESULTS_PAGE = 1000


class DynamoDBWorkStore:
    def __init__(self, table: str, client: "DynamoDBClient | None" = None):
        self._table = table
        self._client = client or dynamodb_client()

    def create(self, batch: Work) -> bool:
        put = Put(self._table, batch_item(batch)).require(attr("pk").not_exists())
        try:
            with conditional("Could not record the batch."):
                self._client.put_item(**put.request())
        except ConditionFailed:
            return False
        return True

    def get(self, batch_id: str) -> Work | None:
        item = self._item(batch_id, BATCH_SK)
        return None if item is None else batch_of(item)

    def transition(
        self,
        batch_id: str,
        *,
        from_: Sequence[BatchStatus],
        to: BatchStatus,
        changes: Mapping[str, Any] | None = None,
        absent: Sequence[str] = (),
    ) -> Work | None:
        return self._apply(transition(self._batch(batch_id), from_, to, changes or {}, absent))

    def note_split(self, batch_id: str, through: int) -> None:
        split = attr("split_through")
        noted = self._batch(batch_id).set(split, through)
        self._apply(noted.require(split.not_exists() | split.lt(through)))  # never backwards

    def claim_finalization(self, batch_id: str, *, now: int, lease_seconds: int) -> Work | None:
        status = attr("status")
        claim = (
            self._batch(batch_id)
            .set(status, "finalizing")
            .set("finalizing_at", now)
            # total > 0: split, so remaining counts every line (a batch has at least one).
            .require(attr("total").gt(0) & attr("remaining").lte(0))
            .require(
                status.is_in("in_progress", "cancelling")
                | (status.eq("finalizing") & attr("finalizing_at").lt(now - lease_seconds))
            )
        )
        return self._apply(claim)

    def claim_announcement(self, batch_id: str, *, now: int, lease_seconds: int) -> Work | None:
        claim = (
            self._batch(batch_id)
            .set("announcing_at", now)
            .require(attr("status").is_in(*sorted(FINISHED)))
            .require(attr("announced_at").not_exists())
            .require(attr("announcing_at").lt(now - lease_seconds))
        )
        return self._apply(claim)

    def record(self, result: LineResult) -> bool:
        transaction = Transaction().add(result_writes(self._table, result))
        try:
            transaction.commit(self._client, "Could not record the line's result.")
        except TransactionRefused as refused:
            if RESULT in refused.failed:
                return False
            raise StorageError("Could not record the line's result: its batch is gone.") from None
        return True

    def result(self, batch_id: str, index: int) -> LineResult | None:
        item = self._item(batch_id, line_sk(index))
        return None if item is None else result_of(item)

    def note_failure(self, failure: LineResult) -> None:
        item = result_item(failure, failure_sk(failure.index))
        with aws_errors("Could not note the line's failure."):
            self._client.put_item(TableName=self._table, Item=item)

    def last_failure(self, batch_id: str, index: int) -> LineResult | None:
        item = self._item(batch_id, failure_sk(index))
        return None if item is None else result_of(item)

    def _item(self, batch_id: str, sk: str) -> "Item | None":
        with aws_errors("Could not read the batch."):
            return self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": batch_id}, "sk": {"S": sk}},
                ConsistentRead=True,  # a line recorded a moment ago is done
            ).get("Item")

    def results(
        self, batch_id: str, *, start: int = 0, limit: int | None = None
    ) -> Iterator[LineResult]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": batch_id},
                ":first": {"S": line_sk(start)},
                ":last": {"S": "line#~"},  # '~' sorts after every digit
            },
            "ConsistentRead": True,
        }
        with aws_errors("Could not read the batch's results."):
            for item in queried(self._client, query, limit=limit, page=RESULTS_PAGE):
                yield result_of(item)

    def _batch(self, batch_id: str) -> Update:
        """A change of the batch's item, which must be there."""
        return Update(self._table, {"pk": batch_id, "sk": BATCH_SK}).require(attr("pk").exists())

    def _apply(self, update: Update) -> Work | None:
        """The batch after ``update``, or None if its conditions did not hold."""
        request = update.request(ReturnValues="ALL_NEW")
        try:
            with conditional("Could not update the batch."):
                response = retry_conflicts(lambda: self._client.update_item(**request))
        except ConditionFailed:
            return None
        return batch_of(response["Attributes"])
