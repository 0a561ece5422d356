"""Spend caps: a key's daily and monthly limits hold in the reservation's own write, come back
with refunds, and apply from the moment an operator sets them, to what the day spent so far."""

import threading
import time

import pytest
from fastapi.testclient import TestClient

from handler import accounts_container
from handler.aws.clients import dynamodb_client
from handler.core.records.keys import KeyPolicy
from tests.support import assert_error, balance_of

URL = "/v1/images/generations"
PRICE_1024 = 4000  # imagegate-preview, 1024x1024 (infra/catalog.json)


def _capped(daily: int | None = None, monthly: int | None = None) -> tuple[str, dict[str, str]]:
    policy = KeyPolicy(1000, 1000, daily_spend_cap=daily, monthly_spend_cap=monthly)
    issued = accounts_container.key_admin().create("test", "capped", policy, balance=10**9)
    return issued.record.key_id, {"Authorization": f"Bearer {issued.plaintext}"}


def test_a_daily_cap_refuses_what_would_pass_it_and_says_when_it_resets(
    client: TestClient,
) -> None:
    key_id, auth = _capped(daily=10_000)
    assert client.post(URL, headers=auth, json={"prompt": "a", "n": 2}).status_code == 200
    # 8,000 of 10,000 spent: one more image (4,000) would pass the cap
    refused = client.post(URL, headers=auth, json={"prompt": "a"})
    assert refused.status_code == 402
    assert_error(refused.json(), type_="insufficient_quota", param=None, code="spend_limit_reached")
    message = refused.json()["error"]["message"]
    tomorrow = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() + 86_400))
    assert "daily spend limit of 0.01" in message
    assert tomorrow in message
    assert balance_of(key_id) == 10**9 - 8000  # refused at no cost


def test_a_failed_request_gives_its_hold_back_to_the_cap(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handler.backends.preview import PreviewBackend
    from handler.core.errors import BackendError

    _, auth = _capped(daily=8_000)

    def down(*_: object) -> object:
        raise BackendError("down")

    with monkeypatch.context() as patched:
        patched.setattr(PreviewBackend, "generate", down)
        assert client.post(URL, headers=auth, json={"prompt": "a", "n": 2}).status_code == 502
    # The whole cap is there again
    assert client.post(URL, headers=auth, json={"prompt": "a", "n": 2}).status_code == 200


def test_concurrent_requests_never_spend_past_the_cap(client: TestClient) -> None:
    key_id, auth = _capped(monthly=5 * PRICE_1024)
    codes: list[int] = []

    def one() -> None:
        codes.append(client.post(URL, headers=auth, json={"prompt": "a"}).status_code)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] * 5 + [402] * 7
    assert balance_of(key_id) == 10**9 - 5 * PRICE_1024


def test_a_cap_set_midday_counts_what_the_day_spent(client: TestClient) -> None:
    key_id, auth = _capped()
    for _ in range(2):
        assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
    # When the operator caps the day at three images' worth, two spent already
    admin = accounts_container.key_admin()
    updated = admin.update("test", key_id, {"daily_spend_cap": 3 * PRICE_1024})
    assert updated.policy.daily_spend_cap == 3 * PRICE_1024
    # Then one more image fits, and no more
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 402
    # And lifting the cap lets it spend again
    admin.update("test", key_id, {"daily_spend_cap": None})
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200


def test_a_key_from_before_caps_is_completed_on_its_first_request(client: TestClient) -> None:
    key_id, auth = _capped()
    dynamodb_client().update_item(
        TableName="test-keystable",
        Key={"key_id": {"S": key_id}},
        UpdateExpression="REMOVE daily_cap, monthly_cap",
    )
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
    item = dynamodb_client().get_item(TableName="test-keystable", Key={"key_id": {"S": key_id}})
    assert {"daily_cap", "monthly_cap"} <= set(item["Item"])


def test_a_crashed_request_refunded_by_the_reconciler_gives_the_cap_back(
    client: TestClient,
) -> None:
    from handler import container
    from handler.core.schemas import GenerationRequest
    from handler.core.spec_rules import build_spec
    from handler.keys.auth import credentials_of
    from handler.money.charging import Charging
    from handler.money.policy import Meter
    from handler.money.reconciler import RESERVATION_HOLD_MS, refund_abandoned

    _, auth = _capped(daily=2 * PRICE_1024)
    now = [time.time()]
    billing = Charging(container.charge_store(), clock=lambda: now[0])
    spec = build_spec(container.catalog().get(None), GenerationRequest(prompt="a", n=2), "req_x")
    billing.reserve(credentials_of(auth["Authorization"]), spec, Meter())  # then it died
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 402
    now[0] += RESERVATION_HOLD_MS / 1000
    [refunded] = refund_abandoned(container.charge_store(), now_ms=int(billing.clock() * 1000))
    assert refunded.refunded == 2 * PRICE_1024
    if time.gmtime(now[0]).tm_mday == time.gmtime().tm_mday:  # the same day's window
        assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
