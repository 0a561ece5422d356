"""The local stack's Query (handler/cli/moto_query.py) answers what moto's own does, page by
page, for every key condition it bounds, in both directions, and after writes."""

import random
from collections.abc import Iterator
from typing import Any, Literal

import boto3
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from handler.cli import moto_query

REGION = "us-east-1"
CONDITIONS = [None, "=", "<", "<=", ">", ">=", "BETWEEN"]


@pytest.fixture
def tables() -> Iterator[tuple[Any, dict[str, Table]]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        kinds: tuple[tuple[str, Literal["S", "N"]], ...] = (("strings", "S"), ("numbers", "N"))
        for name, kind in kinds:
            client.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": kind},
                ],
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
            )
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        moto_query.install()
        try:
            yield client, {name: backend.get_table(name) for name in ("strings", "numbers")}
        finally:
            Table.query = moto_query.MOTO_QUERY  # type: ignore[method-assign]


def _fill(client: Any, rng: random.Random) -> list[tuple[str, str]]:
    keys = []
    for partition in ("a", "b", "c"):
        for n in rng.sample(range(400), 60):  # inserted out of order, with gaps
            sk = f"line#{n:06d}"
            item = {"pk": {"S": partition}, "sk": {"S": sk}, "n": {"N": str(n)}}
            client.put_item(TableName="strings", Item=item)
            client.put_item(
                TableName="numbers", Item={**item, "sk": {"N": str(n - 200)}, "pad": {"S": "x"}}
            )
            keys.append((partition, sk))
    return keys


def _both(table: Table, *args: Any) -> tuple[Any, Any]:
    none = get_filter_expression(None, {}, {})
    ours = moto_query.query(table, *args, None, False, none)
    theirs = moto_query.MOTO_QUERY(table, *args, None, False, none)  # type: ignore[call-arg]
    shown = [([i.to_json() for i in r[0]], r[1], r[2]) for r in (ours, theirs)]
    return shown[0], shown[1]


def _bounds(
    kind: str, rng: random.Random, condition: str | None, stored: list[int]
) -> list[DynamoType]:
    def value() -> DynamoType:  # half the time a key that is there: the edges are tried
        n = rng.choice(stored) if rng.random() < 0.5 else rng.randrange(-10, 410)
        return DynamoType({"S": f"line#{n:06d}"} if kind == "S" else {"N": str(n - 200)})

    if condition is None:
        return []
    if condition == "BETWEEN":
        return sorted([value(), value()])
    return [value()]


@pytest.mark.parametrize("seed", range(4))
def test_every_page_is_moto_s_own(tables: tuple[Any, dict[str, Table]], seed: int) -> None:
    client, by_name = tables
    rng = random.Random(seed)
    stored = [int(sk.removeprefix("line#")) for _, sk in _fill(client, rng)]
    for _ in range(30):
        name = rng.choice(["strings", "numbers"])
        table = by_name[name]
        condition = rng.choice(CONDITIONS)
        values = _bounds("S" if name == "strings" else "N", rng, condition, stored)
        limit = rng.choice([None, 1, 3, 17, 100])
        forward = rng.random() < 0.5
        hash_key = DynamoType({"S": rng.choice(["a", "b", "c", "missing"])})
        start: dict[str, Any] | None = None
        pages = 0
        while True:  # every page, each going on from the last one's LastEvaluatedKey
            ours, theirs = _both(table, hash_key, condition, values, limit, start, forward, None)
            assert ours == theirs, (name, condition, values, limit, forward, start)
            start = ours[2]
            pages += 1
            if start is None or pages > 500:
                break
            start = {k: v.to_json() if isinstance(v, DynamoType) else v for k, v in start.items()}


def test_a_write_is_seen_by_the_next_query(tables: tuple[Any, dict[str, Table]]) -> None:
    client, _ = tables
    _fill(client, random.Random(7))

    def listed() -> list[str]:
        answer = client.query(
            TableName="strings",
            KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={
                ":p": {"S": "a"},
                ":a": {"S": "line#000000"},
                ":b": {"S": "line#~"},
            },
        )
        return [item["sk"]["S"] for item in answer["Items"]]

    before = listed()
    assert before == sorted(before)
    client.put_item(TableName="strings", Item={"pk": {"S": "a"}, "sk": {"S": "line#999999"}})
    assert listed() == [*before, "line#999999"]
    client.delete_item(TableName="strings", Key={"pk": {"S": "a"}, "sk": {"S": before[0]}})
    assert listed() == [*before[1:], "line#999999"]
    # An item changed in place is answered as it is now
    key = {"pk": {"S": "a"}, "sk": {"S": before[1]}}
    client.update_item(
        TableName="strings",
        Key=key,
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "-1"}},
    )
    page = client.query(
        TableName="strings",
        KeyConditionExpression="pk = :p AND sk = :s",
        ExpressionAttributeValues={":p": key["pk"], ":s": key["sk"]},
    )
    assert page["Items"][0]["n"] == {"N": "-1"}


def test_an_answer_is_a_copy(tables: tuple[Any, dict[str, Table]]) -> None:
    client, by_name = tables
    _fill(client, random.Random(3))
    table = by_name["strings"]
    none = get_filter_expression(None, {}, {})
    [item] = moto_query.query(
        table, DynamoType({"S": "a"}), None, [], 1, None, True, None, None, False, none
    )[0]
    item.attrs["n"] = DynamoType({"N": "123456"})
    [again] = moto_query.query(
        table, DynamoType({"S": "a"}), None, [], 1, None, True, None, None, False, none
    )[0]
    assert again.attrs["n"] != DynamoType({"N": "123456"})
