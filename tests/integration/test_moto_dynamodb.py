"""The local stack's DynamoDB (``handler/cli/moto_dynamodb.py``): its transactions end as
moto's own do, item for item and reason for reason, while copying only what they write; and
the items it no longer holds are freed."""

import gc
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import Item

from handler.cli import moto_dynamodb

# moto's own, whatever this process installed since (conftest installs the local one).
MOTO_TRANSACT = moto_dynamodb.MOTO_TRANSACT
ACCOUNT = "123456789012"  # moto's


def _tables(client: Any) -> None:
    client.create_table(
        TableName="keys",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    client.create_table(
        TableName="usage",
        KeySchema=[
            {"AttributeName": "id", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName="keys", Item={"id": {"S": "a"}, "balance": {"N": "10"}})
    client.put_item(TableName="keys", Item={"id": {"S": "b"}, "balance": {"N": "0"}})
    client.put_item(TableName="usage", Item={"id": {"S": "a"}, "sk": {"S": "1"}})


def _state(client: Any) -> dict[str, Any]:
    """Every item, and how many stream records the keys table has."""
    items = {
        name: sorted((item for item in client.scan(TableName=name)["Items"]), key=lambda i: str(i))
        for name in ("keys", "usage")
    }
    shard = dynamodb_backends[ACCOUNT]["us-east-1"].get_table("keys").stream_shard
    assert shard is not None
    return {**items, "stream": len(shard.items)}


SPEND = {
    "Update": {
        "TableName": "keys",
        "Key": {"id": {"S": "a"}},
        "UpdateExpression": "SET balance = balance - :p",
        "ConditionExpression": "balance >= :p",
        "ExpressionAttributeValues": {":p": {"N": "4"}},
    }
}
RECORD = {"Put": {"TableName": "usage", "Item": {"id": {"S": "a"}, "sk": {"S": "2"}}}}
RECORDED = {"id": {"S": "a"}, "sk": {"S": "2"}}
RECORD_ONCE = {"Put": {**RECORD["Put"], "ConditionExpression": "attribute_not_exists(sk)"}}
UNRECORD = {"Delete": {"TableName": "usage", "Key": RECORDED}}
GONE = {"Delete": {"TableName": "usage", "Key": {"id": {"S": "a"}, "sk": {"S": "1"}}}}
BROKE = {
    "ConditionCheck": {
        "TableName": "keys",
        "Key": {"id": {"S": "b"}},
        "ConditionExpression": "balance > :z",
        "ExpressionAttributeValues": {":z": {"N": "0"}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
}
BAD_EXPRESSION = {
    "Update": {
        "TableName": "keys",
        "Key": {"id": {"S": "b"}},
        "UpdateExpression": "SET balance = balance +",
    }
}
# name: (the writes, whether the usage table holds RECORDED before)
CASES = {
    "committed": ([SPEND, RECORD, GONE], False),
    "a failed condition after writes": ([SPEND, RECORD, GONE, BROKE], False),
    "a failed condition first": ([BROKE, SPEND, RECORD], False),
    "two failed conditions": ([SPEND, GONE, BROKE, RECORD_ONCE], True),
    "an item replaced, then a failed condition": ([RECORD, SPEND, BROKE], True),
    "two writes to one item": ([SPEND, RECORD, UNRECORD], False),
    "an invalid write after writes": ([SPEND, RECORD, BAD_EXPRESSION], False),
}


def _outcome(transact: Callable[..., Any], case: str) -> dict[str, Any]:
    writes, recorded = CASES[case]
    saved = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
    try:
        with mock_aws():
            client: Any = boto3.client("dynamodb", region_name="us-east-1")
            _tables(client)
            if recorded:
                client.put_item(TableName="usage", Item=RECORDED)
            before = _state(client)
            try:
                client.transact_write_items(TransactItems=writes)
                answer: Any = "committed"
            except ClientError as error:
                answer = {
                    "code": error.response["Error"]["Code"],
                    "reasons": error.response.get("CancellationReasons"),
                }
            return {"answer": answer, "state": _state(client), "before": before}
    finally:
        DynamoDBBackend.transact_write_items = saved  # type: ignore[method-assign]


@pytest.mark.parametrize("case", CASES)
def test_a_transaction_ends_as_motos_own(case: str) -> None:
    ours = _outcome(moto_dynamodb.transact_write_items, case)
    assert ours == _outcome(MOTO_TRANSACT, case)
    if ours["answer"] != "committed":
        assert ours["state"] == ours["before"], "a cancelled transaction left a write behind"
    else:
        assert ours["state"] != ours["before"]


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[Item]:
    """Every item moto deep-copies."""
    copied: list[Item] = []
    original = Item.__deepcopy__

    def counting(self: Item, memo: dict[int, Any]) -> Item:
        copied.append(self)
        return original(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting)
    return copied


def test_a_transaction_copies_what_it_writes_not_the_tables(copies: list[Item]) -> None:
    moto_dynamodb.install()
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        for index in range(500):
            client.put_item(TableName="usage", Item={"id": {"S": "a"}, "sk": {"S": f"x{index}"}})
        copies.clear()
        client.transact_write_items(TransactItems=[SPEND, RECORD])
        assert len(copies) <= 2 + 1  # each written item once, and the update's own old image
        copies.clear()
        with pytest.raises(ClientError):
            client.transact_write_items(TransactItems=[SPEND, GONE, BROKE])
        assert len(copies) <= 3 + 1
        assert client.get_item(TableName="keys", Key={"id": {"S": "a"}})["Item"]["balance"] == {
            "N": "6"
        }


def test_items_no_longer_held_are_freed() -> None:
    moto_dynamodb.install()
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        for index in range(200):
            key = {"id": {"S": "a"}, "sk": {"S": f"x{index}"}}
            client.put_item(TableName="usage", Item=key)
            client.transact_write_items(TransactItems=[SPEND, UNRECORD])
            client.update_item(
                TableName="keys",
                Key={"id": {"S": "a"}},
                UpdateExpression="ADD balance :p",
                ExpressionAttributeValues={":p": {"N": "4"}},
            )
            client.delete_item(TableName="usage", Key=key)
        gc.collect()
        # The three items the tables hold, and no more than a few moto still refers to.
        assert len(Item.instances_tracked) < 20  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "request_name", ["put_item", "update_item", "delete_item", "transact", "get_item", "query"]
)
def test_a_request_waits_for_the_one_before_it(request_name: str) -> None:
    """A conditional write is checked and applied with no other request in between, and a
    read never copies an item a write is changing: while one request holds the stand-in's
    DynamoDB, another does not run."""
    import threading

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        key = {"id": {"S": "a"}}
        calls: dict[str, Callable[[], object]] = {
            "put_item": lambda: client.put_item(TableName="keys", Item=key),
            "update_item": lambda: client.update_item(
                TableName="keys",
                Key=key,
                UpdateExpression="SET n = :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            ),
            "delete_item": lambda: client.delete_item(TableName="keys", Key=key),
            "transact": lambda: client.transact_write_items(
                TransactItems=[{"Put": {"TableName": "keys", "Item": key}}]
            ),
            "get_item": lambda: client.get_item(TableName="keys", Key=key),
            "query": lambda: client.query(
                TableName="keys",
                KeyConditionExpression="id = :a",
                ExpressionAttributeValues={":a": {"S": "a"}},
            ),
        }
        done = threading.Event()

        def run() -> None:
            calls[request_name]()
            done.set()

        writer = threading.Thread(target=run)
        with moto_dynamodb.REQUESTS_LOCK:
            writer.start()
            # Then it has not run while another request holds the tables
            assert not done.wait(0.5)
        writer.join(10)
        assert done.is_set()
