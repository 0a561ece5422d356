"""Batches, their lines' results and failed attempts as items of the jobs table."""

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from handler.aws.dynamo import plain
from handler.core.records.work import Batch, BatchStatus, Job, LineResult, QueuedWork, Work

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

    Item = dict[str, AttributeValueTypeDef]

BATCH_SK = "batch"
RESULT = "result"  # the write of a line's result, in a transaction
# Records outlive their batch's files (kept 30 days by default) so status stays answerable.
RETENTION_SECONDS = 45 * 24 * 3600
_OPTIONAL_STRINGS = ("input_key", "output_key", "webhook_url", "error", "response_format")
_OPTIONAL_NUMBERS = (
    "created_ms",
    "finished_at",
    "cancelled_at",
    "started_at",
    "announcing_at",
    "announced_at",
)
_FIELDS = frozenset(field.name for field in dataclasses.fields(QueuedWork))
# The ``kind`` each type is stored with, and the type each stored ``kind`` is read back as:
# the one place that tells them apart by a name.
KINDS: Mapping[type[Work], str] = {Batch: "batch", Job: "job"}
_TYPES: Mapping[str, type[Work]] = {kind: type_ for type_, kind in KINDS.items()}


def batch_item(batch: Work) -> "Item":
    """A batch as its item: counters at zero, the lines to record from its total if known."""
    item: Item = {
        "pk": {"S": batch.id},
        "sk": {"S": BATCH_SK},
        "kind": {"S": KINDS[type(batch)]},
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
        **listing_attributes(batch),
    }
    item.update(_optional_attributes(batch))
    return item


def listing_attributes(batch: Work) -> "Item":
    """What puts a batch in its key's list (``by_owner``)."""
    return {"owner": {"S": owner(batch.key_id, type(batch))}, "listed": {"S": listed(batch)}}


def owner(key_id: str, of: type[Work]) -> str:
    """The list of the key's batches, or of its jobs: ``<key id>#<stored kind>``."""
    return f"{key_id}#{KINDS[of]}"


def listed(batch: Work) -> str:
    """Its place in its key's list: milliseconds, then the id (one list, one order)."""
    at = batch.created_ms if batch.created_ms is not None else batch.created_at * 1000
    return f"{at:013d}#{batch.id}"


def result_writes(table: str, result: LineResult) -> "dict[str, TransactWriteItemTypeDef]":
    """The writes that record a line's result: the result itself (``RESULT``), new, and its
    count on the batch. ``money/stored/charges.py`` adds them to a settlement's transaction."""
    item = result_item(result, line_sk(result.index))
    counted: Item = {":cost": {"N": str(result.cost)}, ":minus_one": {"N": "-1"}}
    adds = "cost :cost, remaining :minus_one"
    # As OpenAI's request_counts: a line its batch's cancel stopped is neither of the two.
    if not result.cancelled:
        counted[":one"] = {"N": "1"}
        adds = f"{'succeeded' if result.succeeded else 'failed'} :one, {adds}"
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
                "UpdateExpression": f"ADD {adds}",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": counted,
            }
        },
    }


def result_item(result: LineResult, sk: str) -> "Item":
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


def line_sk(index: int) -> str:
    return f"line#{index:06d}"


def failure_sk(index: int) -> str:
    """Apart from ``line#``: a failed attempt is not a result, and paging never sees it."""
    return f"failure#{index:06d}"


def _optional_attributes(batch: Work) -> "Item":
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


def batch_of(item: "Item") -> Work:
    """A batch's item as a ``Batch``, an async job's as a ``Job``, by its stored ``kind``."""
    values = plain(item)
    values["id"] = values.pop("pk")
    return _TYPES[values["kind"]](**{name: values[name] for name in _FIELDS if name in values})


def result_of(item: "Item") -> LineResult:
    values = plain(item)
    return LineResult(
        batch_id=values["pk"],
        index=values["index"],
        custom_id=values.get("custom_id"),
        status_code=values.get("status_code"),
        body=json.loads(values["body"]),
        cost=values["cost"],
    )


def transition_update(
    from_: Sequence[BatchStatus],
    to: BatchStatus,
    changes: Mapping[str, Any],
    absent: Sequence[str] = (),
) -> "tuple[str, str, dict[str, str], Item]":
    """The update that moves a batch from one of ``from_`` to ``to``, setting ``changes``
    (Batch fields), if it has none of ``absent``: its expression, condition, names and
    values."""
    changes = dict(changes)
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
    conditions += [f"attribute_not_exists({name})" for name in absent]
    return f"SET {', '.join(sets)}", " AND ".join(conditions), names, values
