"""balance.low: one webhook and one event when a charge takes a key below its threshold; not
again while it stays there, however it hovers; again after a top-up and a new crossing."""

import json
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handler import accounts_container
from handler.aws.clients import sqs_client
from handler.config import get_settings
from handler.core.records.keys import KeyPolicy
from handler.core.webhooks import WebhookMessage
from handler.stores.notifier import EventNotifier
from tests.support import top_up

URL = "/v1/images/generations"
PRICE_1024 = 4000
HOOK = "https://hooks.example.com/imagegate"


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def record(self: EventNotifier, kind: str, detail: Any, *, about: str) -> None:
        seen.append({"type": kind, **detail})

    monkeypatch.setattr(EventNotifier, "announce", record)
    return seen


def _webhooks() -> list[dict[str, Any]]:
    answer = sqs_client().receive_message(
        QueueUrl=get_settings().webhook_queue_url, MaxNumberOfMessages=10
    )
    messages = [WebhookMessage.decode(m["Body"]) for m in answer.get("Messages", [])]
    return [{"url": m.url, **json.loads(m.body)} for m in messages]


def _key(balance: int) -> tuple[str, dict[str, str]]:
    policy = KeyPolicy(1000, 1000, low_balance_threshold=10_000, webhook_url=HOOK)
    issued = accounts_container.key_admin().create("test", "alerting", policy, balance=balance)
    return issued.record.key_id, {"Authorization": f"Bearer {issued.plaintext}"}


def test_the_crossing_is_told_once_until_a_top_up(
    client: TestClient, announced: list[dict[str, Any]]
) -> None:
    key_id, auth = _key(20_000)
    assert client.post(URL, headers=auth, json={"prompt": "a", "n": 2}).status_code == 200
    assert announced == []  # 12,000 left: above 10,000
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
    # Then one event and one webhook, saying where the balance is
    [event] = announced
    assert (event["type"], event["key_id"], event["balance"], event["threshold"]) == (
        "Balance Low",
        key_id,
        8_000,
        10_000,
    )
    [hook] = _webhooks()
    assert (hook["url"], hook["type"], hook["data"]["balance"]) == (HOOK, "balance.low", 8_000)
    # And not again while it stays low
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
    assert len(announced) == 1
    # When it is topped up and crosses again, it is told again
    top_up(key_id, 10_000)  # 14,000
    assert client.post(URL, headers=auth, json={"prompt": "a", "n": 2}).status_code == 200
    assert [e["balance"] for e in announced] == [8_000, 6_000]


def test_requests_crossing_at_once_tell_of_it_once(
    client: TestClient, announced: list[dict[str, Any]]
) -> None:
    _, auth = _key(12_000)
    threads = [
        threading.Thread(
            target=client.post, args=(URL,), kwargs={"headers": auth, "json": {"prompt": "a"}}
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(announced) == 1


def test_an_adjustment_that_takes_it_low_tells_of_it(
    client: TestClient, announced: list[dict[str, Any]]
) -> None:
    key_id, _ = _key(12_000)
    accounts_container.key_admin().move("adjustment", "test", key_id, -5_000, "fix")
    assert [(e["key_id"], e["balance"]) for e in announced] == [(key_id, 7_000)]


def test_a_key_without_a_threshold_is_never_told(
    client: TestClient, announced: list[dict[str, Any]]
) -> None:
    issued = accounts_container.key_admin().create("test", "quiet", KeyPolicy(10, 10), balance=4000)
    auth = {"Authorization": f"Bearer {issued.plaintext}"}
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
    assert announced == []
