"""What every DynamoDB adapter here shares: conditional writes, transactions whose writes
have names, the retry of transaction conflicts, and items read as Python values and made of
them (their expressions: ``aws/expressions.py``)."""

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from botocore.exceptions import ClientError

from handler.aws.errors import Refused, aws_errors, error_code
from handler.core.errors import Outcome, StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

    Item = dict[str, AttributeValueTypeDef]

T = TypeVar("T")
# Concurrent writes to one item (a key's, a batch's) can collide with a transaction on it;
# DynamoDB then refuses one of them outright, and botocore does not retry that.
_CONFLICT_ATTEMPTS = 6
_CONDITION_FAILED = "ConditionalCheckFailedException"


class ConditionFailed(Outcome):
    """A write's condition did not hold. ``item``: the item as it stood, if the write asked
    for it (``ReturnValuesOnConditionCheckFailure``)."""

    def __init__(self, item: "Item | None"):
        super().__init__("condition failed")
        self.item = item


class TransactionRefused(Outcome):
    """A transaction's conditions did not hold: ``failed`` names the writes whose did not."""

    def __init__(self, failed: frozenset[str]):
        super().__init__(", ".join(sorted(failed)))
        self.failed = failed


@contextmanager
def conditional(message: str) -> Iterator[None]:
    """A conditional write: its condition failing raises ``ConditionFailed``, any other
    failure ``StorageError(message)``."""
    try:
        with aws_errors(message, expected={_CONDITION_FAILED}):
            yield
    except Refused as refused:
        raise ConditionFailed(cast("Item | None", refused.response.get("Item"))) from None


class Transaction:
    """Writes made at once (``TransactWriteItems``), each under a name, so a refusal says
    which write's condition failed, whatever order or company it was written in."""

    def __init__(self) -> None:
        self._writes: dict[str, TransactWriteItemTypeDef] = {}

    def add(self, writes: "Mapping[str, TransactWriteItemTypeDef]") -> "Transaction":
        taken = self._writes.keys() & writes.keys()
        if taken:  # a name must say which write it is
            raise ValueError(f"writes named twice: {', '.join(sorted(taken))}")
        self._writes.update(writes)
        return self

    def commit(self, client: "DynamoDBClient", message: str) -> None:
        """All the writes or none: ``TransactionRefused`` if conditions failed,
        ``StorageError(message)`` for any other failure."""
        names, items = list(self._writes), list(self._writes.values())
        try:
            with aws_errors(message, expected={"TransactionCanceledException"}):
                retry_conflicts(lambda: client.transact_write_items(TransactItems=items))
        except Refused as refused:
            reasons = [str(reason.get("Code")) for reason in _reasons(refused.response)]
            failed = frozenset(
                name
                for name, reason in zip(names, reasons, strict=False)
                if reason == "ConditionalCheckFailed"
            )
            if not failed:
                raise StorageError(message) from refused
            raise TransactionRefused(failed) from None


def retry_conflicts(call: Callable[[], T]) -> T:
    for attempt in range(_CONFLICT_ATTEMPTS):
        try:
            return call()
        except ClientError as exc:
            reasons = [str(reason.get("Code")) for reason in _reasons(exc.response)]
            conflict = error_code(exc) == "TransactionConflictException" or (
                "TransactionConflict" in reasons and "ConditionalCheckFailed" not in reasons
            )
            if not conflict or attempt == _CONFLICT_ATTEMPTS - 1:
                raise
        time.sleep(random.uniform(0, 0.025 * 2**attempt))  # noqa: S311 - jitter, not secrecy
    raise AssertionError("unreachable")


def plain(item: "Mapping[str, AttributeValueTypeDef]") -> dict[str, Any]:
    """An item's attributes as Python values; numbers as ints (nothing here stores a
    fraction), sets as frozensets, NULL as None.

    Read here rather than by boto3's ``TypeDeserializer``: every request reads its key's
    item, and boto3's reading, through ``Decimal`` and back for each number, took about
    three times as long under cProfile."""
    return {name: _value(value) for name, value in item.items()}


def _value(attribute: Any) -> Any:
    [(kind, value)] = attribute.items()
    if kind == "S" or kind == "BOOL" or kind == "B":
        return value
    if kind == "N":
        return _number(value)
    if kind == "M":
        return {name: _value(inner) for name, inner in value.items()}
    if kind == "L":
        return [_value(inner) for inner in value]
    if kind == "NULL":
        return None
    if kind == "SS" or kind == "BS":
        return frozenset(value)
    if kind == "NS":
        return frozenset(_number(number) for number in value)
    raise StorageError(f"DynamoDB answered an attribute of unknown type {kind}.")


def _number(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # a fraction or an exponent: what Decimal reads, truncated
        return int(Decimal(text))


def attribute_value(value: object) -> "AttributeValueTypeDef":
    """A Python value as DynamoDB's: ``bool`` BOOL, ``int`` N, ``str`` S, ``bytes`` B, a
    mapping M (its None values left out, as an item's), a set of strings SS or of ints NS, a
    list or tuple L. None and floats (never money) are refused: say what is meant."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, Mapping):
        return {"M": item_of(value)}
    if isinstance(value, set | frozenset):
        if not value:
            raise ValueError("DynamoDB has no empty set")
        if all(isinstance(member, str) for member in value):
            return {"SS": sorted(value)}
        if all(isinstance(member, int) and not isinstance(member, bool) for member in value):
            return {"NS": [str(member) for member in sorted(value)]}
    if isinstance(value, list | tuple):
        return {"L": [attribute_value(inner) for inner in value]}
    raise TypeError(f"no DynamoDB attribute value for {value!r}")


def item_of(values: Mapping[str, object]) -> "Item":
    """An item (or a map's attributes) of Python values, as DynamoDB's; None values left out."""
    return {name: attribute_value(value) for name, value in values.items() if value is not None}


def _reasons(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A cancelled transaction's reason per write, in order (``"None"`` for those that passed)."""
    return cast("list[dict[str, Any]]", response.get("CancellationReasons", []))


def queried(client: Any, query: dict[str, Any], *, limit: int | None, page: int) -> Iterator[Any]:
    """The items of ``query``, a page at a time as they are consumed, at most ``limit``:
    each call's ``Limit`` is what is still wanted (or ``page``), so DynamoDB reads (and
    bills) nothing past what is returned."""
    left = limit
    while left is None or left > 0:
        page_query = {**query, "Limit": page if left is None else min(left, page)}
        answer = client.query(**page_query)
        items = answer["Items"]
        yield from items
        if left is not None:
            left -= len(items)
        if "LastEvaluatedKey" not in answer:
            return
        query = {**query, "ExclusiveStartKey": answer["LastEvaluatedKey"]}


_BATCH_GET = 100  # BatchGetItem's most keys a call
_BATCH_ROUNDS = 5  # calls for what DynamoDB left unprocessed (throttled), backing off


def batch_items(
    client: Any, table: str, keys: Sequence[Mapping[str, Any]], message: str
) -> "list[dict[str, Any]]":
    """The items of ``keys`` that exist, read consistently in as few ``BatchGetItem`` calls
    as they take (in no particular order); ``StorageError(message)`` if DynamoDB keeps
    leaving some unread."""
    found: list[dict[str, Any]] = []
    with aws_errors(message):
        for start in range(0, len(keys), _BATCH_GET):
            wanted: dict[str, Any] = {
                table: {"Keys": list(keys[start : start + _BATCH_GET]), "ConsistentRead": True}
            }
            for round_ in range(_BATCH_ROUNDS):
                answer = client.batch_get_item(RequestItems=wanted)
                found.extend(answer["Responses"].get(table, []))
                wanted = answer.get("UnprocessedKeys") or {}
                if not wanted:
                    break
                time.sleep(0.05 * 2**round_)
            else:
                raise StorageError(f"{message.rstrip('.')}: DynamoDB is throttling.")
    return found


def holds(client: Any, table: str, key_id: str, sort_key: str, message: str) -> bool:
    """Whether the key's partition of ``table`` has an item of ``sort_key`` (a list's cursor
    is one of the caller's own). A query of that one item: what a list may already do."""
    with aws_errors(message):
        answer = client.query(
            TableName=table,
            KeyConditionExpression="key_id = :key AND sk = :sk",
            ExpressionAttributeValues={":key": {"S": key_id}, ":sk": {"S": sort_key}},
            Select="COUNT",
        )
    return bool(answer["Count"])
