"""Webhook delivery: retried with the same id, given up after three tries, never raising."""

from typing import Any

import httpx

from handler.core.batches import Batch
from handler.stores.notifier import WEBHOOK_ATTEMPTS, EventNotifier

BATCH = Batch(
    "batch_1", "batch", "key1", "completed", 1_795_256_000, webhook_url="https://hooks.example/x"
)


class Events:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}


def notifier(answers: list[int]) -> tuple[EventNotifier, list[httpx.Request], list[float]]:
    requests: list[httpx.Request] = []
    slept: list[float] = []

    def receive(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(answers[len(requests) - 1])

    return (
        EventNotifier(
            "default",
            lambda: "master",
            client=Events(),  # type: ignore[arg-type]
            transport=httpx.MockTransport(receive),
            sleep=slept.append,
        ),
        requests,
        slept,
    )


def test_a_failing_webhook_is_retried_with_the_same_id_then_delivered() -> None:
    sender, requests, slept = notifier([503, 500, 204])
    sender.finished(BATCH, {"id": "batch_1"}, {"id": "batch_1", "status": "completed"})
    assert len(requests) == 3
    assert {request.headers["webhook-id"] for request in requests} == {"msg_batch_1"}
    assert slept == [1.0, 2.0]


def test_a_webhook_that_keeps_failing_is_given_up_quietly() -> None:
    sender, requests, _ = notifier([500] * WEBHOOK_ATTEMPTS)
    sender.finished(BATCH, {"id": "batch_1"}, {"id": "batch_1", "status": "completed"})
    assert len(requests) == WEBHOOK_ATTEMPTS
