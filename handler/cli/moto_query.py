"""moto's ``Query`` on a table's own key, made to read only its page, as DynamoDB does.

moto's own reads every item of the table to find the partition, sorts the partition, and sizes
each item it passes over on its way to the page asked for, so a page of a long batch's results
cost as much as the whole table and more the further in it started. Here each partition's sort
keys are kept sorted (sorted again only after a write adds or removes one), and a page is found
by bisection: it reads the items it returns and no other. What it answers is moto's own
(``tests/integration/test_moto_query.py`` holds the two equal); a query of an index, with a
legacy ``QueryFilter``, or with a condition bisection cannot bound (``begins_with``) is left to
moto.
"""

import bisect
import copy
import threading
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

MOTO_QUERY = Table.query  # moto's own, for what is not bounded here and for comparison
_MOTO_PUT = Table.put_item
_MOTO_DELETE = Table.delete_item
_LOCK = threading.RLock()
_SORTED = "_imagegate_sorted_keys"  # on each table: {hash key: (partition, size, sort keys)}


def query(self: Table, *args: Any, **kwargs: Any) -> tuple[list[Item], int, dict[str, Any] | None]:
    (hash_key, comparison, values, limit, start_key, forward, projections, *rest) = args
    index_name = rest[0] if rest else kwargs.get("index_name")
    filter_expression = rest[2] if len(rest) > 2 else kwargs.get("filter_expression")
    legacy_filters = set(kwargs) - {
        "index_name",
        "consistent_read",
        "filter_expression",
        "hash_key_conditions",
        "range_key_conditions",
    }
    if (
        index_name
        or legacy_filters
        or not self.range_key_attr
        or hash_key is None
        or comparison not in _BOUNDED
        or len(kwargs.get("range_key_conditions") or ()) > 1
    ):
        return MOTO_QUERY(self, *args, **kwargs)
    with _LOCK:
        page, last_key = _page(self, hash_key, comparison, values, limit, start_key, forward)
        results = copy.deepcopy(page)  # as moto answers: the caller's changes stay its own
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projections:
        results = [item.project(projections) for item in results]
    return results, len(page), last_key


def _page(
    table: Table,
    hash_key: DynamoType,
    comparison: str | None,
    values: list[DynamoType],
    limit: int | None,
    start_key: dict[str, Any] | None,
    forward: bool,
) -> tuple[list[Item], dict[str, Any] | None]:
    partition = table.items.get(hash_key)
    if not partition:
        return [], None
    keys = _sorted_keys(table, hash_key, partition)
    low, high = _BOUNDED[comparison](keys, values)
    if start_key:  # after the previous page's last item, in the query's direction
        start = DynamoType(start_key[str(table.range_key_attr)])
        if forward:
            low = max(low, bisect.bisect_right(keys, start))
        else:
            high = min(high, bisect.bisect_left(keys, start))
    order = range(low, high) if forward else range(high - 1, low - 1, -1)
    page: list[Item] = []
    size = 0
    for position in order:
        item = partition[keys[position]]
        if len(page) == limit or size + item.size() > RESULT_SIZE_LIMIT:
            return page, table._get_last_evaluated_key(page[-1], None)
        page.append(item)
        size += item.size()
    # As moto: a full page goes on while the partition does, past the condition or not.
    following = high < len(keys) if forward else low > 0
    if page and len(page) == limit and following:
        return page, table._get_last_evaluated_key(page[-1], None)
    return page, None


def _sorted_keys(table: Table, hash_key: DynamoType, partition: dict[Any, Item]) -> list[Any]:
    known: dict[Any, tuple[dict[Any, Item], int, list[Any]]] = table.__dict__.setdefault(
        _SORTED, {}
    )
    kept = known.get(hash_key)
    # A write through moto's put or delete forgets the partition's keys; the size and the
    # object catch one made around them (a rolled-back transaction puts items back).
    if kept is None or kept[0] is not partition or kept[1] != len(partition):
        kept = (partition, len(partition), sorted(partition))
        known[hash_key] = kept
    return kept[2]


def _all(keys: list[Any], values: list[DynamoType]) -> tuple[int, int]:
    return 0, len(keys)


def _equal(keys: list[Any], values: list[DynamoType]) -> tuple[int, int]:
    return bisect.bisect_left(keys, values[0]), bisect.bisect_right(keys, values[0])


def _between(keys: list[Any], values: list[DynamoType]) -> tuple[int, int]:
    return bisect.bisect_left(keys, values[0]), bisect.bisect_right(keys, values[1])


_BOUNDED: dict[str | None, Any] = {
    None: _all,
    "=": _equal,
    "EQ": _equal,
    "BETWEEN": _between,
    "<": lambda keys, values: (0, bisect.bisect_left(keys, values[0])),
    "LT": lambda keys, values: (0, bisect.bisect_left(keys, values[0])),
    "<=": lambda keys, values: (0, bisect.bisect_right(keys, values[0])),
    "LE": lambda keys, values: (0, bisect.bisect_right(keys, values[0])),
    ">": lambda keys, values: (bisect.bisect_right(keys, values[0]), len(keys)),
    "GT": lambda keys, values: (bisect.bisect_right(keys, values[0]), len(keys)),
    ">=": lambda keys, values: (bisect.bisect_left(keys, values[0]), len(keys)),
    "GE": lambda keys, values: (bisect.bisect_left(keys, values[0]), len(keys)),
}


def put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        item = _MOTO_PUT(self, *args, **kwargs)
        self.__dict__.get(_SORTED, {}).pop(item.hash_key, None)
    return item


def delete_item(self: Table, hash_key: DynamoType, *args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        self.__dict__.get(_SORTED, {}).pop(hash_key, None)
        return _MOTO_DELETE(self, hash_key, *args, **kwargs)


def install() -> None:
    """Change moto's Query in this process (idempotent)."""
    Table.query = query  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
