"""Money under concurrency, on the running local stack (uvicorn + moto), as clients fire."""

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import Stack

PRICE = 500  # imagegate-preview 256x256 (infra/catalog.json)
BODY = {"prompt": "a lighthouse", "size": "256x256"}
BURST = 50


def _new_key(stack: Stack, balance: str, rpm: int = 1000, ipm: int = 1000) -> tuple[str, str]:
    created = json.loads(
        stack.imagegate(
            "keys", "create", "--name", "burst", "--balance", balance,
            "--rpm", str(rpm), "--ipm", str(ipm), "--json",
        )
    )  # fmt: skip
    return created["key_id"], created["api_key"]


def _show(stack: Stack, key_id: str) -> dict[str, int]:
    shown: dict[str, int] = json.loads(stack.imagegate("keys", "show", key_id, "--json"))
    return shown


def _spend(stack: Stack, key_id: str) -> int:
    days = json.loads(stack.imagegate("usage", "--key", key_id, "--json"))
    return sum(day["spend"] for day in days)


def _burst(stack: Stack, api_key: str, count: int = BURST) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count)
    with (
        httpx.Client(base_url=stack.base_url, timeout=60, limits=limits) as client,
        ThreadPoolExecutor(max_workers=count) as pool,
    ):
        headers = {"Authorization": f"Bearer {api_key}"}
        return list(
            pool.map(
                lambda _: client.post("/images/generations", headers=headers, json=BODY),
                range(count),
            )
        )


def _statuses(responses: list[httpx.Response]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for response in responses:
        counted[response.status_code] = counted.get(response.status_code, 0) + 1
    return counted


def test_fifty_at_once_on_a_balance_for_ten(local_stack: Stack) -> None:
    # Given a key funded for exactly ten images
    key_id, api_key = _new_key(local_stack, balance=f"{10 * PRICE / 1e6:.4f}")
    assert _show(local_stack, key_id)["balance"] == 10 * PRICE
    # When fifty requests arrive at once
    responses = _burst(local_stack, api_key)
    # Then exactly ten succeed and forty are refused for quota, before any work
    assert _statuses(responses) == {200: 10, 402: 40}
    assert all(
        r.json()["error"]["code"] == "insufficient_quota" for r in responses if r.status_code == 402
    )
    # And the balance is exactly spent, the records sum to the change, nothing is left open
    shown = _show(local_stack, key_id)
    assert (shown["balance"], shown["spent"], shown["open_reservations"]) == (0, 10 * PRICE, 0)
    assert _spend(local_stack, key_id) == 10 * PRICE
    assert sum(r.json()["cost"] for r in responses if r.status_code == 200) == 10 * PRICE


def _wait_for_a_fresh_window() -> None:
    """Rate windows are calendar minutes: start a burst early in one, so it ends in it."""
    if time.time() % 60 > 30:
        time.sleep(60 - time.time() % 60 + 0.5)


@pytest.mark.parametrize("limit", ["rpm", "ipm"])
def test_fifty_at_once_on_a_limit_of_ten_a_minute(local_stack: Stack, limit: str) -> None:
    # Given a funded key allowed ten requests (or ten images) a minute
    limits = {"rpm": 1000, "ipm": 1000, limit: 10}
    key_id, api_key = _new_key(local_stack, balance="1.00", **limits)
    # When fifty requests arrive at once, within one minute
    _wait_for_a_fresh_window()
    minute = int(time.time() // 60)
    responses = _burst(local_stack, api_key)
    assert int(time.time() // 60) == minute, "the burst outlasted its minute: too slow a machine"
    # Then exactly ten pass; forty get 429 with when to come back and what is left
    assert _statuses(responses) == {200: 10, 429: 40}
    for response in responses:
        assert (
            response.headers[f"x-ratelimit-limit-{'requests' if limit == 'rpm' else 'images'}"]
            == "10"
        )
        if response.status_code == 429:
            assert 1 <= int(response.headers["retry-after"]) <= 60
            assert response.json()["error"]["code"] == "rate_limit_exceeded"
    # And only the ten were charged, as the records say
    shown = _show(local_stack, key_id)
    assert (shown["balance"], shown["open_reservations"]) == (1_000_000 - 10 * PRICE, 0)
    assert _spend(local_stack, key_id) == 10 * PRICE


def test_the_sdk_sends_one_request_five_times_and_pays_once(local_stack: Stack) -> None:
    from openai import OpenAI

    key_id, api_key = _new_key(local_stack, balance="1.00")
    # The SDK's own retries (on 409 "still running") make the concurrent duplicates wait
    with OpenAI(base_url=local_stack.base_url, api_key=api_key, max_retries=5) as client:

        def send(_: int) -> bytes:
            result = client.images.generate(
                prompt="a lighthouse",
                size="256x256",
                response_format="b64_json",
                extra_headers={"Idempotency-Key": "catalogue-item-7"},
            )
            assert result.data is not None
            return base64.b64decode(result.data[0].b64_json or "")

        images = [send(0)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            images += pool.map(send, range(2))
        images += [send(3), send(4)]
    assert len(images) == 5
    assert len(set(images)) == 1
    shown = _show(local_stack, key_id)
    assert (shown["balance"], shown["spent"]) == (1_000_000 - PRICE, PRICE)
    assert _spend(local_stack, key_id) == PRICE
