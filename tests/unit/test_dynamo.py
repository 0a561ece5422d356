"""What the DynamoDB adapters share: items read as Python values, transactions whose writes
have names."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from handler.core.errors import StorageError
from handler.stores.dynamo import Transaction, TransactionRefused, plain


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
