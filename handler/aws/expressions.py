"""DynamoDB writes said as what they write and what they require: an ``Update``'s actions
(``set``, ``add``, ``remove``, ``delete``) or a ``Put``'s item, and their conditions
(``require``). Each renders its request for the client (``request()``) or a transaction
(``write()``) with a placeholder (``#n0``, ``:v0``) for every name and value its expressions
use, and for nothing else: DynamoDB refuses one declared but unused.

Conditions read as boto3's ``Attr`` (``attr("balance").gte(price)``, ``&``, ``|``, ``~``);
boto3's own (``boto3.dynamodb.conditions``) makes no update expressions, and its values are
the resource layer's, not the client's attribute values.
"""

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, cast

from handler.aws.dynamo import attribute_value, item_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        PutItemInputTypeDef,
        TransactWriteItemTypeDef,
        UpdateItemInputTypeDef,
    )

    Item = dict[str, AttributeValueTypeDef]


class _Placeholders:
    """The names and values one request's expressions use, each under one placeholder."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}  # name: its placeholder
        self._values: dict[str, tuple[str, AttributeValueTypeDef]] = {}  # by repr

    def name(self, name: str) -> str:
        return self._names.setdefault(name, f"#n{len(self._names)}")

    def value(self, value: "AttributeValueTypeDef") -> str:
        placeholder = f":v{len(self._values)}"
        return self._values.setdefault(repr(value), (placeholder, value))[0]

    def declared(self) -> dict[str, Any]:
        """``ExpressionAttributeNames`` and ``ExpressionAttributeValues``, those that have any."""
        declared: dict[str, Any] = {}
        if self._names:
            declared["ExpressionAttributeNames"] = {p: name for name, p in self._names.items()}
        if self._values:
            declared["ExpressionAttributeValues"] = dict(self._values.values())
        return declared


class _Part:
    """A piece of an expression: ``template`` with its parts rendered into its ``{}``."""

    def __init__(self, template: str, *parts: "_Part"):
        self._template = template
        self._parts = parts

    def render(self, placeholders: _Placeholders) -> str:
        return self._template.format(*(part.render(placeholders) for part in self._parts))


def _comparison(symbol: str) -> "Callable[[Operand, object], Condition]":
    def compare(self: "Operand", other: object) -> "Condition":
        return Condition(f"{{}} {symbol} {{}}", self, operand(other))

    return compare


class Operand(_Part):
    """What an expression reads: a path, a value, ``if_not_exists``, or two of them added."""

    def __add__(self, other: object) -> "Operand":  # DynamoDB adds two, no more
        return Operand("{} + {}", self, operand(other))

    def __sub__(self, other: object) -> "Operand":
        return Operand("{} - {}", self, operand(other))

    eq = _comparison("=")
    ne = _comparison("<>")
    lt = _comparison("<")
    lte = _comparison("<=")
    gt = _comparison(">")
    gte = _comparison(">=")


class _Value(Operand):
    def __init__(self, value: object):
        super().__init__("")
        self._value = attribute_value(value)  # refused here, where it was given

    def render(self, placeholders: _Placeholders) -> str:
        return placeholders.value(self._value)


class Path(Operand):
    """An attribute, or one inside a map (``attr("reservations", request_id)``): each name is
    taken whole, dots and all."""

    def __init__(self, *names: str):
        if not names:
            raise ValueError("a path names at least one attribute")
        super().__init__("")
        self._names = names

    def render(self, placeholders: _Placeholders) -> str:
        return ".".join(placeholders.name(name) for name in self._names)

    def exists(self) -> "Condition":
        return Condition("attribute_exists({})", self)

    def not_exists(self) -> "Condition":
        return Condition("attribute_not_exists({})", self)

    def contains(self, member: object) -> "Condition":
        """A string attribute holds ``member`` as a substring, or a set holds it."""
        return Condition("contains({}, {})", self, operand(member))

    def is_in(self, *values: object) -> "Condition":
        listed = ", ".join(["{}"] * len(values))
        return Condition(f"{{}} IN ({listed})", self, *(operand(value) for value in values))


class Condition(_Part):
    """What a write requires: ``&``, ``|`` and ``~`` make AND, OR and NOT of them, grouped as
    written (``a & (b | c)`` stays so)."""

    def __init__(self, template: str, *parts: _Part, joined_by: str | None = None):
        super().__init__(template, *parts)
        self._joined_by = joined_by  # AND or OR
        self._slot = "({})" if joined_by else "{}"  # its place inside another condition

    def __and__(self, other: "Condition") -> "Condition":
        return self._join("AND", other)

    def __or__(self, other: "Condition") -> "Condition":
        return self._join("OR", other)

    def __invert__(self) -> "Condition":
        return Condition(f"NOT {self._slot}", self)

    def _join(self, word: str, other: "Condition") -> "Condition":
        parts = [
            part
            for condition in (self, other)
            for part in (condition._parts if condition._joined_by == word else (condition,))
        ]
        slots = [part._slot if isinstance(part, Condition) else "{}" for part in parts]
        return Condition(f" {word} ".join(slots), *parts, joined_by=word)


attr = Path  # attr("balance"), as boto3's Attr


def operand(value: object) -> Operand:
    """``value`` as it stands if it is already an operand (a path, say), else as a value."""
    return value if isinstance(value, Operand) else _Value(value)


def if_not_exists(path: "str | Path", default: object) -> Operand:
    """The attribute at ``path``, or ``default`` (a value or another path) where it has none."""
    return Operand("if_not_exists({}, {})", _path(path), operand(default))


def _path(path: "str | Path") -> Path:
    return path if isinstance(path, Path) else Path(path)


class _Write:
    """A write of one item, and what it requires."""

    def __init__(self, kind: str, **fields: Any):
        self._kind = kind  # its name as one of a transaction's writes
        self._fields = fields
        self._condition: Condition | None = None

    def require(self, condition: Condition) -> Self:
        """Add ``condition`` to what the write requires: all of them must hold."""
        self._condition = condition if self._condition is None else self._condition & condition
        return self

    def write(self) -> "TransactWriteItemTypeDef":
        """The write as one of a transaction's (``TransactWriteItems``)."""
        return cast("TransactWriteItemTypeDef", {self._kind: self._request()})

    def _request(self) -> dict[str, Any]:
        placeholders = _Placeholders()
        request = self._fields | self._expressions(placeholders)
        if self._condition is not None:
            request["ConditionExpression"] = self._condition.render(placeholders)
        return request | placeholders.declared()

    def _expressions(self, placeholders: _Placeholders) -> dict[str, str]:
        return {}


class Update(_Write):
    """An update of the item at ``key`` of ``table``: what it sets, adds, removes and
    deletes, and what it requires. Each method returns the update, to chain."""

    def __init__(self, table: str, key: Mapping[str, object]):
        super().__init__("Update", TableName=table, Key=item_of(key))
        self._actions: dict[str, list[_Part]] = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}

    def set(self, path: "str | Path", value: object) -> "Update":
        """``path`` becomes ``value``: a Python value, a path, ``if_not_exists``, or a sum."""
        return self._act("SET", "{} = {}", _path(path), operand(value))

    def add(self, path: "str | Path", value: object) -> "Update":
        """A number added to ``path`` (from 0 if it has none), or a set's members to its set."""
        return self._act("ADD", "{} {}", _path(path), _Value(value))

    def remove(self, *paths: "str | Path") -> "Update":
        for path in paths:
            self._act("REMOVE", "{}", _path(path))
        return self

    def delete(self, path: "str | Path", members: object) -> "Update":
        """A set's members taken out of the set at ``path``."""
        return self._act("DELETE", "{} {}", _path(path), _Value(members))

    def request(self, **options: Any) -> "UpdateItemInputTypeDef":
        """The ``UpdateItem`` request, with ``options`` (``ReturnValues``, say)."""
        return cast("UpdateItemInputTypeDef", self._request() | options)

    def _act(self, action: str, template: str, *parts: _Part) -> "Update":
        self._actions[action].append(_Part(template, *parts))
        return self

    def _expressions(self, placeholders: _Placeholders) -> dict[str, str]:
        clauses = [
            f"{action} {', '.join(part.render(placeholders) for part in parts)}"
            for action, parts in self._actions.items()
            if parts
        ]
        if not clauses:
            raise ValueError("an update changes something")
        return {"UpdateExpression": " ".join(clauses)}


class Put(_Write):
    """A put of ``item`` (``item_of`` makes one) in ``table``, and what it requires."""

    def __init__(self, table: str, item: "Item"):
        super().__init__("Put", TableName=table, Item=item)

    def request(self) -> "PutItemInputTypeDef":
        return cast("PutItemInputTypeDef", self._request())
