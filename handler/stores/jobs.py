"""Batches, async jobs and their lines' results in one DynamoDB table.

Partition ``pk`` is the batch (or job) id. Sort key ``batch`` holds the batch itself, with
counters of recorded lines; ``line#<index>`` holds one line's result. A result and its count
on the batch are written in one transaction conditioned on the result being new, so a line is
counted once however often it is retried. ``remaining`` is the lines not yet recorded: results
recorded while the input is still being split take it below zero, and the split adds the
total, once; from then on it reaches zero exactly when the last line lands, which is what
finalization waits for.
"""

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from handler.core.errors import StorageError
from handler.core.work.model import FINISHED, Batch, BatchStatus, LineResult
from handler.stores.aws_errors import aws_errors
from handler.stores.clients import dynamodb_client
from handler.stores.dynamo import (
    ConditionFailed,
    Transaction,
    TransactionRefused,
    conditional,
    plain,
    retry_conflicts,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

    Item = dict[str, AttributeValueTypeDef]

BATCH_SK = "batch"
RESULT = "result"  # the write of a line's result, in a transaction
# Records outlive their batch's files (kept 30 days by default) so status stays answerable.
RETENTION_SECONDS = 45 * 24 * 3600
_OPTIONAL_STRINGS = ("input_key", "output_key", "webhook_url", "error", "response_format")
_OPTIONAL_NUMBERS = ("finished_at", "cancelled_at", "announcing_at", "announced_at")
_BATCH_FIELDS = frozenset(field.name for field in dataclasses.fields(Batch))


class DynamoDBJobStore:
    def __init__(self, table: str, client: "DynamoDBClient | None" = None):
        self._table = table
        self._client = client or dynamodb_client()

    def create(self, batch: Batch) -> bool:
        item: Item = {
            "pk": {"S": batch.id},
            "sk": {"S": BATCH_SK},
            "kind": {"S": batch.kind},
            "key_id": {"S": batch.key_id},
            "status": {"S": batch.status},
            "created_at": {"N": str(batch.created_at)},
            "total": {"N": str(batch.total)},
            "succeeded": {"N": "0"},
            "failed": {"N": "0"},
            "cost": {"N": "0"},
            # Lines not yet recorded; set from the total once the input is split.
            "remaining": {"N": str(batch.total if batch.status == "in_progress" else 0)},
            "metadata": {"M": {k: {"S": v} for k, v in batch.metadata.items()}},
            "expires_at": {"N": str(batch.created_at + RETENTION_SECONDS)},
        }
        item.update(_optional_attributes(batch))
        try:
            with conditional("Could not record the batch."):
                self._client.put_item(
                    TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
                )
        except ConditionFailed:
            return False
        return True

    def get(self, batch_id: str) -> Batch | None:
        item = self._item(batch_id, BATCH_SK)
        return None if item is None else _batch(item)

    def transition(
        self,
        batch_id: str,
        *,
        from_: Sequence[BatchStatus],
        to: BatchStatus,
        changes: Mapping[str, Any] | None = None,
    ) -> Batch | None:
        changes = dict(changes or {})
        names = {"#status": "status"}
        values: Item = {":to": {"S": to}}
        sets = ["#status = :to"]
        conditions = []
        if "total" in changes:  # the input is split: the lines still to record are known
            total = int(changes.pop("total"))
            values |= {":total": {"N": str(total)}, ":zero": {"N": "0"}}
            sets += ["#total = :total", "remaining = remaining + :total"]
            names["#total"] = "total"
            conditions.append("#total = :zero")  # once: a second split must not add it again
        for index, (name, value) in enumerate(changes.items()):
            names[f"#c{index}"] = name
            values[f":c{index}"] = {"N": str(value)} if isinstance(value, int) else {"S": value}
            sets.append(f"#c{index} = :c{index}")
        statuses = ", ".join(f":from{i}" for i in range(len(from_)))
        values.update({f":from{i}": {"S": status} for i, status in enumerate(from_)})
        conditions.append(f"#status IN ({statuses})")
        return self._update(
            batch_id, f"SET {', '.join(sets)}", " AND ".join(conditions), names, values
        )

    def claim_finalization(self, batch_id: str, *, now: int, lease_seconds: int) -> Batch | None:
        return self._update(
            batch_id,
            "SET #status = :finalizing, finalizing_at = :now",
            # total > 0: split, so remaining counts every line (a batch has at least one).
            "#total > :zero AND remaining <= :zero AND (#status IN (:in_progress, :cancelling) "
            "OR (#status = :finalizing AND finalizing_at < :stale))",
            {"#status": "status", "#total": "total"},
            {
                ":finalizing": {"S": "finalizing"},
                ":in_progress": {"S": "in_progress"},
                ":cancelling": {"S": "cancelling"},
                ":now": {"N": str(now)},
                ":stale": {"N": str(now - lease_seconds)},
                ":zero": {"N": "0"},
            },
        )

    def claim_announcement(self, batch_id: str, *, now: int, lease_seconds: int) -> Batch | None:
        finished = sorted(FINISHED)
        return self._update(
            batch_id,
            "SET announcing_at = :now",
            f"#status IN ({', '.join(f':s{i}' for i in range(len(finished)))}) "
            "AND attribute_not_exists(announced_at) AND announcing_at < :stale",
            {"#status": "status"},
            {
                **{f":s{i}": {"S": status} for i, status in enumerate(finished)},
                ":now": {"N": str(now)},
                ":stale": {"N": str(now - lease_seconds)},
            },
        )

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
        item = self._item(batch_id, _line_sk(index))
        return None if item is None else _result(item)

    def note_failure(self, failure: LineResult) -> None:
        item = _result_item(failure, _failure_sk(failure.index))
        with aws_errors("Could not note the line's failure."):
            self._client.put_item(TableName=self._table, Item=item)

    def last_failure(self, batch_id: str, index: int) -> LineResult | None:
        item = self._item(batch_id, _failure_sk(index))
        return None if item is None else _result(item)

    def _item(self, batch_id: str, sk: str) -> "Item | None":
        with aws_errors("Could not read the batch."):
            return self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": batch_id}, "sk": {"S": sk}},
                ConsistentRead=True,  # a line recorded a moment ago is done
            ).get("Item")

    def results(
        self, batch_id: str, *, start: int = 0, limit: int | None = None
    ) -> list[LineResult]:
        found: list[LineResult] = []
        with aws_errors("Could not read the batch's results."):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
                ExpressionAttributeValues={
                    ":pk": {"S": batch_id},
                    ":first": {"S": _line_sk(start)},
                    ":last": {"S": "line#~"},  # '~' sorts after every digit
                },
                ConsistentRead=True,
                PaginationConfig={"MaxItems": limit} if limit is not None else {},
            )
            for page in pages:
                found.extend(_result(item) for item in page["Items"])
        return found

    def _update(
        self,
        batch_id: str,
        update: str,
        condition: str,
        names: dict[str, str],
        values: "Item",
    ) -> Batch | None:
        try:
            with conditional("Could not update the batch."):
                response = retry_conflicts(
                    lambda: self._client.update_item(
                        TableName=self._table,
                        Key={"pk": {"S": batch_id}, "sk": {"S": BATCH_SK}},
                        UpdateExpression=update,
                        ConditionExpression=f"attribute_exists(pk) AND ({condition})",
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues=values,
                        ReturnValues="ALL_NEW",
                    )
                )
        except ConditionFailed:
            return None
        return _batch(response["Attributes"])


def result_writes(table: str, result: LineResult) -> "dict[str, TransactWriteItemTypeDef]":
    """The writes that record a line's result: the result itself (``RESULT``), new, and its
    count on the batch. ``stores/ledger.py`` adds them to a settlement's transaction."""
    item = _result_item(result, _line_sk(result.index))
    counter = "succeeded" if result.succeeded else "failed"
    return {
        RESULT: {
            "Put": {
                "TableName": table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        },
        "result_count": {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": result.batch_id}, "sk": {"S": BATCH_SK}},
                "UpdateExpression": f"ADD {counter} :one, cost :cost, remaining :minus_one",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":minus_one": {"N": "-1"},
                    ":cost": {"N": str(result.cost)},
                },
            }
        },
    }


def _result_item(result: LineResult, sk: str) -> "Item":
    item: Item = {
        "pk": {"S": result.batch_id},
        "sk": {"S": sk},
        "index": {"N": str(result.index)},
        "body": {"S": json.dumps(result.body, separators=(",", ":"))},
        "cost": {"N": str(result.cost)},
        "expires_at": {"N": str(int(time.time()) + RETENTION_SECONDS)},
    }
    if result.custom_id is not None:
        item["custom_id"] = {"S": result.custom_id}
    if result.status_code is not None:
        item["status_code"] = {"N": str(result.status_code)}
    return item


def _line_sk(index: int) -> str:
    return f"line#{index:06d}"


def _failure_sk(index: int) -> str:
    """Apart from ``line#``: a failed attempt is not a result, and paging never sees it."""
    return f"failure#{index:06d}"


def _optional_attributes(batch: Batch) -> "Item":
    item: Item = {}
    for name in _OPTIONAL_STRINGS:
        value = getattr(batch, name)
        if value is not None:
            item[name] = {"S": value}
    for name in _OPTIONAL_NUMBERS:
        value = getattr(batch, name)
        if value is not None:
            item[name] = {"N": str(value)}
    return item


def _batch(item: "Item") -> Batch:
    values = plain(item)
    values["id"] = values.pop("pk")
    return Batch(**{name: values[name] for name in _BATCH_FIELDS if name in values})


def _result(item: "Item") -> LineResult:
    values = plain(item)
    return LineResult(
        batch_id=values["pk"],
        index=values["index"],
        custom_id=values.get("custom_id"),
        status_code=values.get("status_code"),
        body=json.loads(values["body"]),
        cost=values["cost"],
    )
