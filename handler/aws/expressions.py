"""The expressions of DynamoDB writes: paths, values and conditions, each rendered with a
placeholder (``#n0``, ``:v0``) for every name and value it uses, and for nothing else
(DynamoDB refuses one declared but unused). ``handler/aws/writes.py`` puts them together.

Conditions read as boto3's ``Attr`` (``attr("balance").gte(price)``, ``&``, ``|``, ``~``);
boto3's own (``boto3.dynamodb.conditions``) makes no update expressions, and its values are
the resource layer's, not the client's attribute values. ``given`` values and ``named``
attributes are supplied with each request of a template.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from handler.aws.dynamo import attribute_value

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
    )

    Item = dict[str, AttributeValueTypeDef]


class Placeholders:
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


class Part:
    """A piece of an expression: ``template`` with its parts rendered into its ``{}``."""

    def __init__(self, template: str, *parts: "Part"):
        self._template = template
        self._parts = parts

    def render(self, placeholders: Placeholders) -> str:
        return self._template.format(*[part.render(placeholders) for part in self._parts])


def _comparison(symbol: str) -> "Callable[[Operand, object], Condition]":
    def compare(self: "Operand", other: object) -> "Condition":
        return Condition(f"{{}} {symbol} {{}}", self, operand(other))

    return compare


class Operand(Part):
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


class Value(Operand):
    def __init__(self, value: object):
        super().__init__("")
        self._value = attribute_value(value)  # refused here, where it was given

    def render(self, placeholders: Placeholders) -> str:
        return placeholders.value(self._value)


class Named(str):
    """An attribute name given with each request of a ``Template`` (``#request``)."""


class Path(Operand):
    """An attribute, or one inside a map (``attr("reservations", request_id)``): each name is
    taken whole, dots and all; a ``named`` one is given with each request of a template."""

    def __init__(self, *names: str):
        if not names:
            raise ValueError("a path names at least one attribute")
        super().__init__("")
        self._names = names

    def render(self, placeholders: Placeholders) -> str:
        return ".".join(
            f"#{name}" if isinstance(name, Named) else placeholders.name(name)
            for name in self._names
        )

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


class _Given(Operand):
    def __init__(self, name: str):
        super().__init__(f":{name}")


def given(name: str) -> Operand:
    """A value given with each request of a ``Template`` (``given("price")`` is ``:price``)."""
    return _Given(name)


def named(name: str) -> Path:
    """An attribute whose name is given with each request of a ``Template``."""
    return Path(Named(name))


class Condition(Part):
    """What a write requires: ``&``, ``|`` and ``~`` make AND, OR and NOT of them, grouped as
    written (``a & (b | c)`` stays so)."""

    def __init__(self, template: str, *parts: Part, joined_by: str | None = None):
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
        if word == "AND":
            return all_of(self, other)
        parts = [
            part
            for condition in (self, other)
            for part in (condition._parts if condition._joined_by == word else (condition,))
        ]
        slots = [part._slot if isinstance(part, Condition) else "{}" for part in parts]
        return Condition(f" {word} ".join(slots), *parts, joined_by=word)


attr = Path  # attr("balance"), as boto3's Attr


def all_of(*conditions: Condition) -> Condition:
    """Every one of ``conditions`` (an AND of them all, in one step)."""
    parts = [
        part
        for condition in conditions
        for part in (condition._parts if condition._joined_by == "AND" else (condition,))
    ]
    slots = [part._slot if isinstance(part, Condition) else "{}" for part in parts]
    return Condition(" AND ".join(slots), *parts, joined_by="AND")


def operand(value: object) -> Operand:
    """``value`` as it stands if it is already an operand (a path, say), else as a value."""
    return value if isinstance(value, Operand) else Value(value)


def if_not_exists(path: "str | Path", default: object) -> Operand:
    """The attribute at ``path``, or ``default`` (a value or another path) where it has none."""
    return Operand("if_not_exists({}, {})", path_of(path), operand(default))


def path_of(path: "str | Path") -> Path:
    return path if isinstance(path, Path) else Path(path)
