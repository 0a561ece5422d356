"""The local runtime plays Lambda's SQS event sources for the template's queue-fed functions.

The functions' handlers are swapped for ``tests.fakes.queue_handlers.handle``, steered by the
message bodies; queues, batch sizes, timeouts and redrive come from template.yaml on moto.
No test sleeps to pass: each waits, with a generous timeout, until the runtime is idle.
"""

import copy
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from handler.aws.clients import dynamodb_client, s3_client, sqs_client
from handler.cli.runtime import LocalRuntime
from handler.cli.template import Template, create_resources
from tests.fakes import queue_handlers
from tests.fakes.queue_handlers import invocations
from tests.support import ROOT

TEMPLATE = Template.load(ROOT / "template.yaml")
FAKE_HANDLER = "tests.fakes.queue_handlers.handle"
LAMBDA_RECORD_KEYS = {
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
}


def _template(**worker: Any) -> Template:
    """template.yaml with every queue-fed function on the fake handler, the worker's props
    overridden by ``worker``."""
    body = copy.deepcopy(TEMPLATE.body)
    for function in ("SplitterFunction", "WorkerFunction", "DeadLetterFunction"):
        body["Resources"][function]["Properties"]["Handler"] = FAKE_HANDLER
    body["Resources"]["WorkerFunction"]["Properties"].update(worker)
    return Template(body)


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    queue_handlers.reset()
    with mock_aws():
        yield create_resources(TEMPLATE, dynamodb_client(), s3_client(), sqs_client(), "test")
    queue_handlers.reset()


def _run(template: Template, names: dict[str, str], *bodies: dict[str, Any]) -> list[str]:
    """Queue the bodies on the work queue, run until idle; return their message ids."""
    ids = [
        sqs_client().send_message(QueueUrl=names["WorkQueue"], MessageBody=json.dumps(body))[
            "MessageId"
        ]
        for body in bodies
    ]
    # A one-second visibility timeout: what fails shows again a second later.
    with LocalRuntime(template, names, sqs_client(), visibility_timeout=1) as runtime:
        runtime.wait_until_idle(timeout=60)
    return ids


def _receive_counts(function: str, message_id: str) -> list[str]:
    return [
        record["attributes"]["ApproximateReceiveCount"]
        for invocation in invocations(function)
        for record in invocation.event["Records"]
        if record["messageId"] == message_id
    ]


def test_an_event_reads_like_lambdas_and_a_success_deletes_it(names: dict[str, str]) -> None:
    # Given a message with an attribute on the work queue
    sent = sqs_client().send_message(
        QueueUrl=names["WorkQueue"],
        MessageBody='{"line": 1}',
        MessageAttributes={"batch": {"DataType": "String", "StringValue": "b1"}},
    )
    # When the runtime runs until the queues are empty
    with LocalRuntime(_template(), names, sqs_client(), visibility_timeout=1) as runtime:
        runtime.wait_until_idle(timeout=60)
    # Then the worker got it once, in Lambda's shape, and it is gone
    [invocation] = invocations("WorkerFunction")
    [record] = invocation.event["Records"]
    assert set(record) == LAMBDA_RECORD_KEYS | {"md5OfMessageAttributes"}
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"line": 1}'
    assert record["md5OfBody"] == hashlib.md5(b'{"line": 1}', usedforsecurity=False).hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == names["WorkQueue.Arn"]
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"] == {
        "batch": {
            "stringValue": "b1",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    context = invocation.context
    assert context.function_name == "WorkerFunction"
    assert context.invoked_function_arn.endswith(":function:WorkerFunction")
    assert context.memory_limit_in_mb == "1024"
    assert 0 < context.get_remaining_time_in_millis() <= 300_000
    attributes = sqs_client().get_queue_attributes(
        QueueUrl=names["WorkQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert set(attributes.values()) == {"0"}


def test_only_reported_failures_come_back(names: dict[str, str]) -> None:
    failing, *fine = _run(_template(), names, {"fail": 1}, {}, {})
    # The reported message came back once more; the others were deleted the first time
    assert _receive_counts("WorkerFunction", failing) == ["1", "2"]
    for message_id in fine:
        assert _receive_counts("WorkerFunction", message_id) == ["1"]


def test_without_report_batch_item_failures_a_return_deletes_the_whole_batch(
    names: dict[str, str],
) -> None:
    events = copy.deepcopy(TEMPLATE.body["Resources"]["WorkerFunction"]["Properties"]["Events"])
    del events["Work"]["Properties"]["FunctionResponseTypes"]
    [failing] = _run(_template(Events=events), names, {"fail": 1})
    assert _receive_counts("WorkerFunction", failing) == ["1"]


@pytest.mark.parametrize("exit_", [False, True], ids=["exception", "system-exit"])
def test_a_raising_handler_leaves_its_whole_batch(names: dict[str, str], exit_: bool) -> None:
    _run(_template(), names, {"crash": 1, "exit": exit_}, {}, {})
    # Every message of the invocation that raised was received again
    [crashed] = [i for i in invocations("WorkerFunction") if i.outcome == "raised"]
    for message_id in crashed.message_ids:
        assert _receive_counts("WorkerFunction", message_id)[-2:] == ["1", "2"]


def test_a_handler_past_its_timeout_leaves_its_batch(names: dict[str, str]) -> None:
    # Lambda would have stopped it: nothing it returned counts
    [slow] = _run(_template(Timeout=1), names, {"slow": 1})
    assert _receive_counts("WorkerFunction", slow) == ["1", "2"]


def test_a_message_failing_every_receive_reaches_the_dead_letter_function(
    names: dict[str, str],
) -> None:
    [poison] = _run(_template(), names, {"fail": 99})
    # The worker had it maxReceiveCount (5) times, then the dead-letter function once
    assert _receive_counts("WorkerFunction", poison) == ["1", "2", "3", "4", "5"]
    [dead] = [
        record
        for invocation in invocations("DeadLetterFunction")
        for record in invocation.event["Records"]
    ]
    assert dead["messageId"] == poison
    assert dead["eventSourceARN"] == names["WorkDeadLetterQueue.Arn"]


def test_the_batch_input_queue_feeds_the_splitter_one_notification_at_a_time(
    names: dict[str, str],
) -> None:
    key = "batches/input/5a3b1e0000000001/products.jsonl"
    s3_client().put_object(Bucket=names["ImagesBucket"], Key=key, Body=b"{}\n")
    _run(_template(), names)
    # S3's test event (sent when the notification was set) and the file's event, one each
    splits = invocations("SplitterFunction")
    assert [len(i.event["Records"]) for i in splits] == [1, 1]
    bodies = [json.loads(i.event["Records"][0]["body"]) for i in splits]
    assert bodies[0]["Event"] == "s3:TestEvent"
    assert bodies[1]["Records"][0]["eventName"] == "ObjectCreated:Put"


def test_a_handler_that_cannot_be_imported_fails_the_start(names: dict[str, str]) -> None:
    body = copy.deepcopy(TEMPLATE.body)
    body["Resources"]["WorkerFunction"]["Properties"]["Handler"] = "tests.fakes.nowhere.handle"
    with pytest.raises(ModuleNotFoundError):
        LocalRuntime(Template(body), names, sqs_client()).start()


def test_a_failed_message_stays_hidden_for_its_queues_own_visibility_timeout(
    names: dict[str, str],
) -> None:
    # Given a runtime on the template's visibility timeouts (the work queue's: 30 minutes)
    assert TEMPLATE.body["Resources"]["WorkQueue"]["Properties"]["VisibilityTimeout"] == 1800
    sqs_client().send_message(QueueUrl=names["WorkQueue"], MessageBody='{"fail": 1}')
    # When the worker reports it failed, and the runtime polls on for seven seconds
    with LocalRuntime(_template(), names, sqs_client()) as runtime, pytest.raises(TimeoutError):
        runtime.wait_until_idle(timeout=7)
    # Then it was not given to the worker again: it is still in flight, as in Lambda
    assert len(invocations("WorkerFunction")) == 1
    attributes = sqs_client().get_queue_attributes(
        QueueUrl=names["WorkQueue"], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
