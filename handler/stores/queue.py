"""The work queue in SQS: one message per batch line or async job, and its wire format."""

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from handler.aws.clients import sqs_client
from handler.aws.errors import aws_errors
from handler.core.errors import StorageError
from handler.core.records.work import WorkItem

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

# SendMessageBatch: ten messages, 256 KiB in all (one message may take the whole of it).
MAX_MESSAGE_BYTES = 256 * 1024
_MAX_ENTRIES = 10
_ATTEMPTS = 3


class SQSWorkQueue:
    def __init__(self, queue_url: str, client: "SQSClient | None" = None):
        self._url = queue_url
        self._client = client or sqs_client()

    def send(self, items: Sequence[WorkItem], *, delay_seconds: int = 0) -> None:
        for chunk in _chunks([to_message(item) for item in items]):
            self._send_chunk(chunk, delay_seconds)

    def _send_chunk(self, bodies: list[str], delay_seconds: int) -> None:
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(index), "MessageBody": body, "DelaySeconds": delay_seconds}
            for index, body in enumerate(bodies)
        ]
        for _ in range(_ATTEMPTS):  # a batch call can fail some entries and pass the rest
            with aws_errors("Could not queue the work."):
                response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            failed = {entry["Id"] for entry in response.get("Failed", [])}
            entries = [entry for entry in entries if entry["Id"] in failed]
            if not entries:
                return
        raise StorageError(f"Could not queue {len(entries)} line(s) of work.")


def to_message(item: WorkItem) -> str:
    """A work item as its queue message (the wire format the worker reads)."""
    body: dict[str, Any] = {
        "batch_id": item.batch_id,
        "index": item.index,
        "custom_id": item.custom_id,
        "body": item.body,
    }
    if item.pending_since is not None:
        body["pending_since"] = item.pending_since
    return json.dumps(body, separators=(",", ":"))


def from_message(message: str) -> WorkItem:
    """The work item a queue message carries."""
    body = json.loads(message)
    return WorkItem(
        body["batch_id"],
        int(body["index"]),
        body.get("custom_id"),
        body["body"],
        body.get("pending_since"),
    )


def _chunks(bodies: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if not chunks or len(chunks[-1]) == _MAX_ENTRIES or size + length > MAX_MESSAGE_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(body)
        size += length
    return chunks
