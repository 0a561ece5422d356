"""Batches, their lines' results and failed attempts as items of the jobs table."""

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from handler.aws.dynamo import item_of, plain
from handler.aws.expressions import attr
from handler.aws.writes import Put, Update
from handler.core.records.work import Batch, BatchStatus, Job, LineResult, QueuedWork, Work

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

    Item = dict[str, AttributeValueTypeDef]

BATCH_SK = "batch"
RESULT = "result"  # the write of a line's result, in a transaction
# Records outlive their batch's files (kept 30 days by default) so status stays answerable.
RETENTION_SECONDS = 45 * 24 * 3600
_OPTIONAL = (
    *("input_key", "output_key", "webhook_url", "error", "response_format"),
    *("created_ms", "finished_at", "cancelled_at", "started_at", "announcing_at", "announced_at"),
)
_FIELDS = frozenset(field.name for field in dataclasses.fields(QueuedWork))
# The ``kind`` each type is stored with, and the type each stored ``kind`` is read back as:
# the one place that tells them apart by a name.
KINDS: Mapping[type[Work], str] = {Batch: "batch", Job: "job"}
_TYPES: Mapping[str, type[Work]] = {kind: type_ for type_, kind in KINDS.items()}


def batch_item(batch: Work) -> "Item":
    """A batch as its item: counters at zero, the lines to record from its total if known."""
    return item_of(
        {
            "pk": batch.id,
            "sk": BATCH_SK,
            "kind": KINDS[type(batch)],
            "key_id": batch.key_id,
            "status": batch.status,
            "created_at": batch.created_at,
            "total": batch.total,
            "succeeded": 0,
            "failed": 0,
            "cost": 0,
            # Lines not yet recorded; set from the total once the input is split.
            "remaining": batch.total if batch.status == "in_progress" else 0,
            "metadata": dict(batch.metadata),
            "expires_at": batch.created_at + RETENTION_SECONDS,
            "owner": owner(batch.key_id, type(batch)),  # what puts it in its key's list
            "listed": listed(batch),
            **{name: getattr(batch, name) for name in _OPTIONAL},
        }
    )


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
    count = (
        Update(table, {"pk": result.batch_id, "sk": BATCH_SK})
        .add("cost", result.cost)
        .add("remaining", -1)
        .require(attr("pk").exists())
    )
    # As OpenAI's request_counts: a line its batch's cancel stopped is neither of the two.
    if not result.cancelled:
        count.add("succeeded" if result.succeeded else "failed", 1)
    return {
        RESULT: Put(table, item).require(attr("sk").not_exists()).write(),
        "result_count": count.write(),
    }


def result_item(result: LineResult, sk: str) -> "Item":
    return item_of(
        {
            "pk": result.batch_id,
            "sk": sk,
            "index": result.index,
            "body": json.dumps(result.body, separators=(",", ":")),
            "cost": result.cost,
            "expires_at": int(time.time()) + RETENTION_SECONDS,
            "custom_id": result.custom_id,
            "status_code": result.status_code,
        }
    )


def line_sk(index: int) -> str:
    return f"line#{index:06d}"


def failure_sk(index: int) -> str:
    """Apart from ``line#``: a failed attempt is not a result, and paging never sees it."""
    return f"failure#{index:06d}"


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


def transition(
    batch: Update,
    from_: Sequence[BatchStatus],
    to: BatchStatus,
    changes: Mapping[str, Any],
    absent: Sequence[str] = (),
) -> Update:
    """The update that moves a batch from one of ``from_`` to ``to``, setting ``changes``
    (Batch fields), if it has none of ``absent``."""
    changes = dict(changes)
    batch.set("status", to).require(attr("status").is_in(*from_))
    if "total" in changes:  # the input is split: the lines still to record are known
        total = int(changes.pop("total"))
        batch.set("total", total).set("remaining", attr("remaining") + total)
        batch.require(attr("total").eq(0))  # once: a second split must not add it again
    for name, value in changes.items():
        batch.set(name, value)
    for name in absent:
        batch.require(attr(name).not_exists())
    return batch
