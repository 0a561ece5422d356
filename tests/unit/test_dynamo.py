"""What the DynamoDB adapters share: items read as Python values, transactions whose writes
have names."""

from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from handler.aws.dynamo import Transaction, TransactionRefused, plain
from handler.core.errors import StorageError


def test_items_read_as_python_values() -> None:
    item: Any = {
        "n": {"N": "12"},
        "s": {"S": "x"},
        "m": {"M": {"inner": {"N": "3"}}},
        "ss": {"SS": ["a", "b"]},
        "l": {"L": [{"N": "1"}, {"S": "y"}]},
        "b": {"BOOL": True},
    }
    assert plain(item) == {
        "n": 12,
        "s": "x",
        "m": {"inner": 3},
        "ss": frozenset({"a", "b"}),
        "l": [1, "y"],
        "b": True,
    }


def test_numbers_and_sets_read_as_boto3_reads_them_then_truncated_to_ints() -> None:
    item: Any = {
        "big": {"N": "123456789012345678901234567890123456"},
        "negative": {"N": "-40"},
        "fraction": {"N": "2.75"},
        "exponent": {"N": "1E+3"},
        "ns": {"NS": ["1", "20", "-3"]},
        "null": {"NULL": True},
        "deep": {"M": {"l": {"L": [{"M": {"n": {"N": "7"}}}, {"NULL": True}]}}},
    }
    boto3_read = {name: TypeDeserializer().deserialize(value) for name, value in item.items()}
    assert plain(item) == {
        "big": int(boto3_read["big"]),
        "negative": -40,
        "fraction": 2,
        "exponent": 1000,
        "ns": frozenset({1, 20, -3}),
        "null": None,
        "deep": {"l": [{"n": 7}, None]},
    }


def test_an_attribute_of_a_type_dynamodb_does_not_have_is_a_storage_error() -> None:
    item: Any = {"x": {"Q": "1"}}
    with pytest.raises(StorageError, match="unknown type"):
        plain(item)


class Cancelling:
    """A client whose transaction is cancelled with these reasons, one per write."""

    def __init__(self, *reasons: str):
        self.reasons = reasons

    def transact_write_items(self, TransactItems: list[Any]) -> None:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": reason} for reason in self.reasons],
            },
            "TransactWriteItems",
        )


def test_a_refusal_names_the_writes_whose_conditions_failed() -> None:
    transaction = Transaction().add({"reservation": {}, "usage": {}}).add({"result": {}})
    with pytest.raises(TransactionRefused) as refused:
        transaction.commit(Cancelling("None", "None", "ConditionalCheckFailed"), "x")  # type: ignore[arg-type]
    assert refused.value.failed == {"result"}


def test_a_cancellation_that_is_no_condition_is_a_storage_error() -> None:
    with pytest.raises(StorageError):
        Transaction().add({"a": {}}).commit(Cancelling("ValidationError"), "x")  # type: ignore[arg-type]


def test_a_write_name_used_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="named twice: a"):
        Transaction().add({"a": {}}).add({"a": {}})
