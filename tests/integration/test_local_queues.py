"""template.yaml's queues and bucket notifications, made on moto by the local stack's code.

Also pins the moto behaviours the local batch flow relies on: S3 notifications land in SQS,
and a queue's redrive policy moves a message to its dead-letter queue.
"""

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

import pytest
from moto import mock_aws

from handler.aws.clients import dynamodb_client, s3_client, sqs_client
from handler.cli.template import Template, create_resources
from tests.support import ROOT

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

TEMPLATE = Template.load(ROOT / "template.yaml")
BATCH_INPUT = "batches/input/5a3b1e0000000001/products.jsonl"


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    with mock_aws():
        yield create_resources(TEMPLATE, dynamodb_client(), s3_client(), sqs_client(), "test")


def _receive_all(url: str) -> list["MessageTypeDef"]:
    messages: list[MessageTypeDef] = []
    while (
        batch := sqs_client()
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        .get("Messages", [])
    ):
        messages += batch
    return messages


def _queue(url: str) -> dict[str, str]:
    attributes = sqs_client().get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return {str(name): value for name, value in attributes["Attributes"].items()}


@pytest.mark.parametrize(
    ("queue", "dead_letters", "visibility"),
    [
        ("BatchInputQueue", "BatchInputDeadLetterQueue", "5400"),
        ("WorkQueue", "WorkDeadLetterQueue", "1800"),
    ],
)
def test_queues_redrive_to_their_dead_letter_queue(
    names: dict[str, str], queue: str, dead_letters: str, visibility: str
) -> None:
    attributes = _queue(names[queue])
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": names[f"{dead_letters}.Arn"],
        "maxReceiveCount": 5,
    }
    assert attributes["VisibilityTimeout"] == visibility
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert _queue(names[dead_letters])["MessageRetentionPeriod"] == "1209600"
    # A message keeps its first arrival time when dead-lettered: it must get there in time
    assert int(attributes["MessageRetentionPeriod"]) < 1209600


def test_the_functions_environment_names_the_local_queue(names: dict[str, str]) -> None:
    # Given the API function's environment, resolved against the local resources
    env = TEMPLATE.function_environment("ApiFunction", names)
    # Then the work queue is the local one, and the secret the stand-in lacks resolves empty
    assert env["IMAGEGATE_WORK_QUEUE_URL"] == names["WorkQueue"]
    assert env["IMAGEGATE_WORK_TABLE"] == "test-jobstable"
    assert env["IMAGEGATE_WEBHOOK_SECRET_NAME"] == ""
    sent = sqs_client().send_message(QueueUrl=env["IMAGEGATE_WORK_QUEUE_URL"], MessageBody="{}")
    assert [m["MessageId"] for m in _receive_all(names["WorkQueue"])] == [sent["MessageId"]]


def test_only_jsonl_files_under_batches_input_notify_the_batch_input_queue(
    names: dict[str, str],
) -> None:
    queue = names["BatchInputQueue"]
    # Given the bucket's notification, which S3 (and moto) confirm with a test event
    assert [json.loads(m["Body"])["Event"] for m in _receive_all(queue)] == ["s3:TestEvent"]
    # When files are put in and out of the notified prefix and suffix
    bucket = names["ImagesBucket"]
    for key in ("images/a.png", "batches/input/k/notes.txt", "batches/out.jsonl", BATCH_INPUT):
        s3_client().put_object(Bucket=bucket, Key=key, Body=b'{"custom_id": "1"}\n')
    # Then only the batch input file lands, as an S3 event notification
    [message] = _receive_all(queue)
    [record] = json.loads(message["Body"])["Records"]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == bucket
    # S3 URL-encodes the key (form encoding: a space is "+"); moto encodes its "/" too.
    assert unquote_plus(record["s3"]["object"]["key"]) == BATCH_INPUT
    assert record["s3"]["object"]["size"] == len(b'{"custom_id": "1"}\n')


def test_moto_moves_a_message_to_the_dead_letter_queue_after_max_receives(
    names: dict[str, str],
) -> None:
    sqs = sqs_client()
    sent = sqs.send_message(QueueUrl=names["WorkQueue"], MessageBody="poison")
    # Given a message received maxReceiveCount (5) times and never deleted
    for _ in range(5):
        [message] = sqs.receive_message(QueueUrl=names["WorkQueue"], VisibilityTimeout=0)[
            "Messages"
        ]
        assert message["MessageId"] == sent["MessageId"]
    # When it is due a sixth time, the receive moves it instead of returning it
    assert "Messages" not in sqs.receive_message(QueueUrl=names["WorkQueue"])
    # Then it waits in the dead-letter queue, same id and body
    [dead] = _receive_all(names["WorkDeadLetterQueue"])
    assert (dead["MessageId"], dead["Body"]) == (sent["MessageId"], "poison")
