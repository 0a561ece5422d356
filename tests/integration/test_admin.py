"""The operator's commands, as `aws lambda invoke` of AdminFunction runs them: a first key
made and funded in a deployed stack with nothing installed but the AWS CLI."""

from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi.testclient import TestClient

from handler import container
from handler.core.amounts import format_micros
from handler.main.admin import lambda_handler as admin_handler
from tests.support import FakeLambdaContext, assert_error, balance_of

pytestmark = pytest.mark.usefixtures("aws")


def _invoke(event: Any) -> dict[str, Any]:
    result: dict[str, Any] = admin_handler(event, cast(LambdaContext, FakeLambdaContext()))
    return result


def test_a_first_key_is_made_funded_and_works(client: TestClient) -> None:
    made = _invoke({"action": "create_key", "name": "first", "balance": "10.00"})
    assert made["balance"] == "10.00"
    assert made["api_key"].startswith("ig_")
    assert balance_of(made["key_id"]) == 10_000_000
    auth = {"Authorization": f"Bearer {made['api_key']}"}
    image = client.post("/v1/images/generations", headers=auth, json={"prompt": "a fox"})
    assert image.status_code == 200
    # Funded again, then revoked: the key stops working at once
    topped = _invoke({"action": "top_up", "key_id": made["key_id"], "amount": 5_000_000})
    assert topped["balance"] == format_micros(15_000_000 - image.json()["cost"])
    revoked = _invoke({"action": "revoke_key", "key_id": made["key_id"]})
    assert revoked["status"] == "revoked"
    assert client.get("/v1/models", headers=auth).status_code == 401


def test_a_key_can_be_limited_to_models_of_the_catalog() -> None:
    made = _invoke(
        {"action": "create_key", "name": "one", "models": ["imagegate-preview"], "rpm": 5}
    )
    record = container.key_store().get(made["key_id"])
    assert record is not None
    assert record.policy.models == frozenset({"imagegate-preview"})
    assert record.policy.requests_per_minute == 5
    unknown = _invoke({"action": "create_key", "name": "x", "models": ["nope"]})
    assert_error(unknown, type_="invalid_request_error", param="models", code="invalid_value")


@pytest.mark.parametrize(
    ("event", "param", "code"),
    [
        ({"action": "launch"}, "action", None),
        ({}, "action", None),
        ("create_key", "action", None),
        ({"action": "create_key"}, "name", "missing_required_parameter"),
        ({"action": "create_key", "name": "x", "balance": "ten"}, "balance", None),
        ({"action": "create_key", "name": "x", "balance": "-1"}, "balance", None),
        ({"action": "create_key", "name": "x", "owner": "me"}, "owner", "unknown_parameter"),
        ({"action": "top_up", "key_id": "ig_nope", "amount": "1.00"}, "key_id", None),
        ({"action": "top_up", "key_id": "k", "amount": "0.00"}, "amount", None),
        # Neither a decimal string nor an integer of micro-units: never guessed at
        ({"action": "top_up", "key_id": "k", "amount": "10"}, "amount", "invalid_type"),
        ({"action": "top_up", "key_id": "k", "amount": 10.0}, "amount", "invalid_type"),
        ({"action": "top_up", "key_id": "k", "amount": "1.0000001"}, "amount", "invalid_type"),
        ({"action": "create_key", "name": "x", "balance": True}, "balance", "invalid_type"),
    ],
)
def test_a_command_that_cannot_run_says_why(
    event: Any, param: str | None, code: str | None
) -> None:
    answer = _invoke(event)
    assert set(answer) == {"error"}
    assert answer["error"]["param"] == param
    if code is not None:
        assert answer["error"]["code"] == code
    assert answer["error"]["message"]


def test_an_amount_is_a_decimal_string_or_whole_micro_units_and_nothing_in_between() -> None:
    # Given the same ten units written both ways
    by_units = _invoke({"action": "create_key", "name": "units", "balance": "10.00"})
    by_micros = _invoke({"action": "create_key", "name": "micros", "balance": 10_000_000})
    # Then both hold ten units, not ten micro-units
    assert balance_of(by_units["key_id"]) == balance_of(by_micros["key_id"]) == 10_000_000
    # And a whole number as a string, which could be either, is refused saying both ways
    refused = _invoke({"action": "top_up", "key_id": by_units["key_id"], "amount": "10"})
    assert '"10.00"' in refused["error"]["message"]
    assert "micro-units (10000000)" in refused["error"]["message"]
    assert balance_of(by_units["key_id"]) == 10_000_000
