"""DynamoDB writes said as what they write and what they require: an ``Update``'s actions
(``set``, ``add``, ``remove``, ``delete``) or a ``Put``'s item, and their conditions
(``require``, ``handler/aws/expressions.py``). Each renders its request for the client
(``request()``) or a transaction (``write()``). A write on the hot path is rendered once as a
``Template``, the values and names of each request given to it."""

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, cast

from handler.aws.dynamo import attribute_value, item_of
from handler.aws.expressions import (
    Condition,
    Part,
    Path,
    Placeholders,
    all_of,
    operand,
    path_of,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        PutItemInputTypeDef,
        TransactWriteItemTypeDef,
        UpdateItemInputTypeDef,
    )

    from handler.aws.expressions import Item


class _Write:
    """A write of one item, and what it requires."""

    def __init__(self, kind: str, **fields: Any):
        self._kind = kind  # its name as one of a transaction's writes
        self._fields = fields
        self._conditions: list[Condition] = []  # all of them must hold

    def require(self, condition: Condition) -> Self:
        """Add ``condition`` to what the write requires: all of them must hold."""
        self._conditions.append(condition)
        return self

    def write(self) -> "TransactWriteItemTypeDef":
        """The write as one of a transaction's (``TransactWriteItems``)."""
        return cast("TransactWriteItemTypeDef", {self._kind: self._request()})

    def _request(self) -> dict[str, Any]:
        placeholders = Placeholders()
        request = self._fields | self._expressions(placeholders)
        if self._conditions:
            conditions = self._conditions
            condition = conditions[0] if len(conditions) == 1 else all_of(*conditions)
            request["ConditionExpression"] = condition.render(placeholders)
        return request | placeholders.declared()

    def _expressions(self, placeholders: Placeholders) -> dict[str, str]:
        return {}


class Update(_Write):
    """An update of the item at ``key`` of ``table``: what it sets, adds, removes and
    deletes, and what it requires. Each method returns the update, to chain."""

    def __init__(self, table: str, key: Mapping[str, object]):
        super().__init__("Update", TableName=table, Key=item_of(key))
        self._actions: dict[str, list[Part]] = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}

    def set(self, path: "str | Path", value: object) -> "Update":
        """``path`` becomes ``value``: a Python value, a path, ``if_not_exists``, or a sum."""
        return self._act("SET", "{} = {}", path_of(path), operand(value))

    def add(self, path: "str | Path", value: object) -> "Update":
        """A number added to ``path`` (from 0 if it has none), or a set's members to its set."""
        return self._act("ADD", "{} {}", path_of(path), operand(value))

    def remove(self, *paths: "str | Path") -> "Update":
        for path in paths:
            self._act("REMOVE", "{}", path_of(path))
        return self

    def delete(self, path: "str | Path", members: object) -> "Update":
        """A set's members taken out of the set at ``path``."""
        return self._act("DELETE", "{} {}", path_of(path), operand(members))

    def request(self, **options: Any) -> "UpdateItemInputTypeDef":
        """The ``UpdateItem`` request, with ``options`` (``ReturnValues``, say)."""
        return cast("UpdateItemInputTypeDef", self._request() | options)

    @classmethod
    def template(cls) -> "Update":
        """An update of no item yet, to render once as a ``Template``."""
        return cls("", {})

    def _act(self, action: str, template: str, *parts: Part) -> "Update":
        self._actions[action].append(Part(template, *parts))
        return self

    def _expressions(self, placeholders: Placeholders) -> dict[str, str]:
        clauses = [
            f"{action} {', '.join(part.render(placeholders) for part in parts)}"
            for action, parts in self._actions.items()
            if parts
        ]
        if not clauses:
            raise ValueError("an update changes something")
        return {"UpdateExpression": " ".join(clauses)}


class Check(_Write):
    """What the item at ``key`` of ``table`` must be for a transaction to go through; it
    writes nothing (``ConditionCheck``)."""

    def __init__(self, table: str, key: Mapping[str, object]):
        super().__init__("ConditionCheck", TableName=table, Key=item_of(key))

    @classmethod
    def template(cls) -> "Check":
        return cls("", {})


class Delete(_Write):
    """A delete of the item at ``key`` of ``table``, and what it requires."""

    def __init__(self, table: str, key: Mapping[str, object]):
        super().__init__("Delete", TableName=table, Key=item_of(key))


_GIVEN = re.compile(r"([#:])([A-Za-z_]\w*)")


class Template:
    """An update (or a check) rendered once, its ``given`` values and ``named`` attributes
    supplied with each request: the shape of a write on the hot path is not built again for
    every request. Of what a request supplies, only what the template uses is sent (DynamoDB
    refuses a placeholder an expression does not use), so writes that share a request's
    values can each be given all of them."""

    def __init__(self, write: "Update | Check"):
        self._kind = write._kind
        self._rendered = write._request()
        del self._rendered["TableName"], self._rendered["Key"]
        expressions = " ".join(
            text for field, text in self._rendered.items() if field.endswith("Expression")
        )
        used = {(sign, name) for sign, name in _GIVEN.findall(expressions)}
        self._names = frozenset(name for sign, name in used if sign == "#")
        self._values = frozenset(name for sign, name in used if sign == ":")

    def request(
        self,
        table: str,
        key: Mapping[str, object],
        *,
        names: Mapping[str, str],
        values: Mapping[str, object],
        **options: Any,
    ) -> "UpdateItemInputTypeDef":
        request = {**self._rendered, "TableName": table, "Key": item_of(key), **options}
        request["ExpressionAttributeNames"] = {
            **self._rendered.get("ExpressionAttributeNames", {}),
            **{f"#{name}": value for name, value in names.items() if name in self._names},
        }
        request["ExpressionAttributeValues"] = {
            **self._rendered.get("ExpressionAttributeValues", {}),
            **{
                f":{name}": attribute_value(value)
                for name, value in values.items()
                if name in self._values
            },
        }
        for field in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
            if not request[field]:  # DynamoDB refuses an empty one
                del request[field]
        return cast("UpdateItemInputTypeDef", request)

    def write(
        self,
        table: str,
        key: Mapping[str, object],
        *,
        names: Mapping[str, str],
        values: Mapping[str, object],
    ) -> "TransactWriteItemTypeDef":
        """The write as one of a transaction's."""
        write = self.request(table, key, names=names, values=values)
        return cast("TransactWriteItemTypeDef", {self._kind: write})


class Put(_Write):
    """A put of ``item`` (``item_of`` makes one) in ``table``, and what it requires."""

    def __init__(self, table: str, item: "Item"):
        super().__init__("Put", TableName=table, Item=item)

    def request(self) -> "PutItemInputTypeDef":
        return cast("PutItemInputTypeDef", self._request())
