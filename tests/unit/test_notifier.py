"""A finished batch or job is announced on the bus and its webhook queued, never sent inline."""

from typing import Any

from handler.core.records.work import Batch
from handler.core.webhooks import WebhookMessage
from handler.stores.notifier import EventNotifier

BATCH = Batch("batch_1", "key1", "completed", 1_795_256_000, webhook_url="https://hooks.example/x")


class Events:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}


class Queue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **call: Any) -> dict[str, Any]:
        self.sent.append(call)
        return {"MessageId": "m1"}


def _notifier() -> tuple[EventNotifier, Events, Queue]:
    events, queue = Events(), Queue()
    notifier = EventNotifier(
        "default",
        "https://sqs.local/webhooks",
        client=events,  # type: ignore[arg-type]
        sqs=queue,  # type: ignore[arg-type]
    )
    return notifier, events, queue


def test_the_webhook_is_queued_with_its_id_key_and_body() -> None:
    notifier, events, queue = _notifier()
    notifier.finished(BATCH, {"id": "batch_1"}, {"id": "batch_1", "status": "completed"})
    assert [entry["DetailType"] for entry in events.entries] == ["Batch Finished"]
    [sent] = queue.sent
    assert sent["QueueUrl"] == "https://sqs.local/webhooks"
    message = WebhookMessage.decode(sent["MessageBody"])
    assert (message.url, message.key_id, message.message_id) == (
        "https://hooks.example/x",
        "key1",
        "msg_batch_1",
    )
    assert message.body == '{"type":"batch.completed","data":{"id":"batch_1","status":"completed"}}'


def test_without_a_webhook_url_only_the_event_goes_out() -> None:
    notifier, events, queue = _notifier()
    quiet = Batch("batch_2", "key1", "completed", 1_795_256_000)
    notifier.finished(quiet, {"id": "batch_2"}, {"id": "batch_2", "status": "completed"})
    assert len(events.entries) == 1
    assert queue.sent == []
