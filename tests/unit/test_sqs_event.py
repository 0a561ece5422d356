"""What the local runtime hands a handler and how it reads the answer, as Lambda does."""

import base64

import pytest

from handler.cli.sqs_event import LambdaContext, sqs_event, succeeded

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:imagegate-WorkQueue"
IDS = ["m1", "m2", "m3"]


def test_binary_attributes_are_base64_and_names_camel_case() -> None:
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "Body": "hello",
        "MD5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "MD5OfMessageAttributes": "0123",
        "Attributes": {"ApproximateReceiveCount": "2", "SenderId": "AIDA", "Unrelated": "x"},
        "MessageAttributes": {"raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    }
    [record] = sqs_event(QUEUE_ARN, [message])["Records"]  # type: ignore[list-item]
    assert record["attributes"] == {"ApproximateReceiveCount": "2", "SenderId": "AIDA"}
    assert record["messageAttributes"]["raw"] == {
        "binaryValue": base64.b64encode(b"\x00\x01").decode(),
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }
    assert record["md5OfMessageAttributes"] == "0123"
    assert (record["eventSourceARN"], record["awsRegion"]) == (QUEUE_ARN, "eu-west-1")


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}],
    ids=["null", "empty", "null-list", "empty-list"],
)
def test_responses_lambda_reads_as_complete_success(response: object) -> None:
    assert succeeded(response, IDS) == IDS


def test_reported_failures_are_kept() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert succeeded(response, IDS) == ["m1", "m3"]


@pytest.mark.parametrize(
    "response",
    [
        "ok",
        {"batchItemFailures": "m2"},
        {"batchItemFailures": [{"itemIdentifier": "elsewhere"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"id": "m2"}]},
        {"batchItemFailures": ["m2"]},
    ],
    ids=["not-an-object", "not-a-list", "unknown-id", "empty-id", "null-id", "bad-key", "bare"],
)
def test_malformed_responses_are_complete_failure(response: object) -> None:
    assert succeeded(response, IDS) == []


def test_the_context_counts_down_from_the_timeout_and_stops_at_zero() -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:WorkerFunction"
    context = LambdaContext(arn, memory_mb=512, timeout_seconds=300)
    assert context.function_name == "WorkerFunction"
    assert context.log_group_name == "/aws/lambda/WorkerFunction"
    assert 299_000 < context.get_remaining_time_in_millis() <= 300_000
    assert LambdaContext(arn, memory_mb=512, timeout_seconds=0).get_remaining_time_in_millis() == 0
