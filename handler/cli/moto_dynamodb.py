"""The local stack's DynamoDB is moto's, changed so that every request is atomic, as
DynamoDB's are, and a long batch runs in bounded memory at a flat cost per write
(``install()``):

- Each request runs alone, in this process and in the local stack's server alike: moto
  checks a write's condition and then applies it with nothing in between held, so two
  threads' conditional writes to one item could both pass (two reservations both taking the
  last of a spend cap); and a read copies the item a write is changing, which fails
  ("dictionary changed size during iteration") where DynamoDB would answer.

- ``TransactWriteItems`` keeps, to roll back, a copy of each item it writes, not of every
  table it touches: moto's copies whole tables, once per transaction, so each write cost
  grows with what the stack holds (a batch line's settlement copied the jobs table twice).
- A query of a table's own key reads only its page (``moto_query.py``).
- DynamoDB's models are tracked weakly: moto keeps every model instance it ever made (for
  its dashboard), and each copy above made one per item, so nothing was ever freed.

The transaction keeps DynamoDB's semantics as moto plays them (``tests/integration/
test_moto_dynamodb.py`` holds the two equal): every write is checked and applied in order;
a failed condition cancels the whole transaction with a reason per write (the item, with
``ReturnValuesOnConditionCheckFailure: ALL_OLD``); two writes to one item, or an invalid
one, fail it with a ValidationException. Nothing written survives a cancelled transaction,
its stream records included.
"""

import copy
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.core.model_instances import model_data
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from handler.cli import moto_query

MAX_WRITES = 100
MOTO_TRANSACT = DynamoDBBackend.transact_write_items  # moto's own, for comparison
_WRITES = ("ConditionCheck", "Put", "Delete", "Update")


class WeakInstances:
    """What moto's ``instances_tracked`` lists are used as (appended to, iterated), holding
    no instance alive."""

    def __init__(self) -> None:
        self._instances: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()

    def append(self, instance: Any) -> None:
        self._instances[id(instance)] = instance

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._instances.values()))

    def __len__(self) -> int:
        return len(self._instances)


@dataclass
class _Undo:
    """The items a transaction wrote as they were before it, and how long each table's
    stream was: enough to put everything back."""

    backend: DynamoDBBackend
    items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = field(
        default_factory=list
    )
    streams: dict[str, int] = field(default_factory=dict)

    def keep(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        before = table.get_item(hash_key, range_key)
        self.items.append((table, hash_key, range_key, copy.deepcopy(before)))
        if table.stream_shard is not None:
            self.streams.setdefault(table.name, len(table.stream_shard.items))

    def roll_back(self) -> None:
        for table, hash_key, range_key, before in reversed(self.items):
            if before is None:
                table.delete_item(hash_key, range_key)
                if range_key is not None and not table.items.get(hash_key):
                    table.items.pop(hash_key, None)
            elif range_key is not None:
                table.items[hash_key][range_key] = before
            else:
                table.items[hash_key] = before  # type: ignore[assignment]  # moto's union
        for name, length in self.streams.items():
            shard = self.backend.get_table(name).stream_shard
            if shard is not None:
                del shard.items[length:]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > MAX_WRITES:
        raise TooManyTransactionsException()
    undo = _Undo(self)
    targets: set[tuple[str, str]] = set()
    reasons: list[tuple[str, str, Any] | tuple[None, None, None]] = []
    try:
        for entry in transact_items:
            if len(entry) != 1:
                raise TransactWriteSingleOpException
            kind, write = next(iter(entry.items()))
            if kind not in _WRITES:
                raise MockValidationException(f"Unsupported transaction operation: {kind}")
            reasons.append(_write(self, kind, write, undo, targets))
    except MockValidationException:
        undo.roll_back()
        raise
    if any(code is not None for code, _, _ in reasons):
        undo.roll_back()
        raise TransactionCanceledException(reasons)


def _write(
    backend: DynamoDBBackend,
    kind: str,
    write: dict[str, Any],
    undo: _Undo,
    targets: set[tuple[str, str]],
) -> tuple[str, str, Any] | tuple[None, None, None]:
    """Check and apply one write: (None, None, None), or why it failed."""
    name = write["TableName"]
    table = backend.get_table(name)
    if kind == "Put":
        attributes = write["Item"]
        key_names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        key = {n: attributes[n] for n in key_names if n in attributes}
    else:
        key = write["Key"]
    target = (name, str(dict(sorted(key.items()))))
    if target in targets:
        raise MultipleTransactionsException()
    targets.add(target)
    condition = write.get("ConditionExpression")
    names = write.get("ExpressionAttributeNames")
    values = write.get("ExpressionAttributeValues")
    try:
        hash_key, range_key = backend.get_keys_value(table, key)
        current = table.get_item(hash_key, range_key)
        if condition is not None and not get_filter_expression(condition, names, values).expr(
            current
        ):
            old = write.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
            item = current.to_json()["Attributes"] if old and current is not None else None
            return ("ConditionalCheckFailed", str(ConditionalCheckFailed().message), item)
        if kind != "ConditionCheck":
            undo.keep(table, hash_key, range_key)
        checked: dict[str, Any] = {
            "condition_expression": condition,
            "expression_attribute_names": names,
            "expression_attribute_values": values,
        }
        if kind == "Put":
            backend.put_item(name, write["Item"], **checked)
        elif kind == "Delete":
            backend.delete_item(name, key, **checked)
        elif kind == "Update":
            backend.update_item(name, key, update_expression=write["UpdateExpression"], **checked)
    except MockValidationException:
        raise
    except ConditionalCheckFailed as failed:
        return ("ConditionalCheckFailed", str(failed.message), None)
    except Exception as error:  # noqa: BLE001 - DynamoDB names any other failure its reason
        return (type(error).__name__, str(error), None)
    return (None, None, None)


def _tracked_weakly(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``__new__`` of DynamoDB's models. A list moto's reset put back is replaced."""
    instance: Any = object.__new__(cls)
    tracked = cls.__dict__.get("instances_tracked")
    if not isinstance(tracked, WeakInstances):
        tracked = WeakInstances()
        cls.instances_tracked = tracked  # type: ignore[attr-defined]
    tracked.append(instance)
    return instance


REQUESTS_LOCK = threading.RLock()


def _alone(call_action: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(call_action, "alone", False):
        return call_action

    def alone(*args: Any, **kwargs: Any) -> Any:
        with REQUESTS_LOCK:
            return call_action(*args, **kwargs)

    alone.alone = True  # type: ignore[attr-defined]
    return alone


def install() -> None:
    """Change moto's DynamoDB in this process (idempotent)."""
    moto_query.install()
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoHandler.call_action = _alone(DynamoHandler.call_action)  # type: ignore[method-assign]
    models: list[Any] = list(model_data["dynamodb"].values())
    for model in models:
        model.__new__ = staticmethod(_tracked_weakly)
