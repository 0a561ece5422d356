"""What Lambda's SQS event source hands a function, and how it reads the function's answer.

The local runtime (``runtime.py``) builds these from the messages it receives, so handlers see
locally the event, the context and the deletion rules they get in Lambda.
"""

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# The system attributes Lambda copies into a record, when SQS has them.
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "DeadLetterQueueSourceArn",
)


class LambdaContext:
    """The context object Lambda's Python runtime passes a handler."""

    def __init__(self, function_arn: str, memory_mb: int, timeout_seconds: int):
        _, _, _, _, _, _, name = function_arn.split(":", 6)
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = str(memory_mb)  # a string, as the runtime has it
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        day = datetime.now(UTC).strftime("%Y/%m/%d")
        self.log_stream_name = f"{day}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_event(queue_arn: str, messages: list["MessageTypeDef"]) -> dict[str, Any]:
    """The event Lambda builds from messages received with all their attributes."""
    records = []
    for message in messages:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                name: value
                for name, value in message.get("Attributes", {}).items()
                if name in _RECORD_ATTRIBUTES
            },
            "messageAttributes": {
                name: _message_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        record["eventSource"] = "aws:sqs"
        record["eventSourceARN"] = queue_arn
        record["awsRegion"] = queue_arn.split(":")[3]
        records.append(record)
    return {"Records": records}


def _message_attribute(value: Any) -> dict[str, Any]:
    # Lambda spells SQS's fields in camelCase, base64-encodes binary values and always lists
    # the two (unused) list fields.
    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    converted["stringListValues"] = list(value.get("StringListValues", []))
    converted["binaryListValues"] = [
        base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
    ]
    converted["dataType"] = value["DataType"]
    return converted


def succeeded(response: Any, message_ids: list[str]) -> list[str]:
    """The messages a ReportBatchItemFailures response lets Lambda delete.

    No response or no failure list is complete success; anything malformed (an identifier
    that is not in the batch, say) is complete failure, as Lambda reads it.
    """
    if response is None:
        return message_ids
    if not isinstance(response, dict):
        return []
    failures = response.get("batchItemFailures")
    if failures is None:
        return message_ids
    if not isinstance(failures, list):
        return []
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in message_ids:
            return []
        failed.add(identifier)
    return [message_id for message_id in message_ids if message_id not in failed]
