"""The local stack's SQS (``handler/cli/moto_sqs.py``): the same messages visible, in flight
and delayed as moto's own, with its clock read once per look, whatever the backlog."""

from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.utils import unix_time_millis
from moto.sqs.models import Queue, sqs_backends

from handler.cli import moto_sqs

NAMES = (
    "messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)


def _queue(url: str) -> Queue:
    return sqs_backends["123456789012"]["us-east-1"].get_queue(url.rsplit("/", 1)[1])


def _state(queue_url: str) -> dict[str, Any]:
    queue = _queue(queue_url)
    return {
        "visible": sorted(m.body for m in queue.messages),
        "delayed": queue.approximate_number_of_messages_delayed,
        "in flight": queue.approximate_number_of_messages_not_visible,
    }


def _scenario() -> dict[str, Any]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="work")["QueueUrl"]
        for index in range(6):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)
        return _state(url)


def test_the_same_messages_as_motos_own(monkeypatch: pytest.MonkeyPatch) -> None:
    moto_sqs.install()
    ours = _scenario()
    for name, original in moto_sqs.MOTO_QUEUE.items():
        monkeypatch.setattr(Queue, name, original)
    assert ours == _scenario()
    assert (len(ours["visible"]), ours["delayed"], ours["in flight"]) == (4, 1, 2)


def test_a_look_reads_the_clock_once_whatever_the_backlog(monkeypatch: pytest.MonkeyPatch) -> None:
    moto_sqs.install()
    reads = []
    clock = unix_time_millis

    def counted(*args: Any) -> float:
        reads.append(1)
        return clock(*args)

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="backlog")["QueueUrl"]
        for start in range(0, 500, 10):
            sqs.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(start, start + 10)],
            )
        monkeypatch.setattr(moto_sqs, "unix_time_millis", counted)
        for name in NAMES:
            reads.clear()
            getattr(_queue(url), name)
            assert len(reads) == 1, name
