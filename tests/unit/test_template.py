import hashlib
import json
from typing import Any

import pytest

from handler.cli.artifacts import functions
from handler.cli.functions import queue_sources
from handler.cli.provision import lifecycle_rule, queue_notification
from handler.cli.template import Template
from tests.support import ROOT, SAMPLE_EVENT_KEY, function_statements, load_event

TEMPLATE = Template.load(ROOT / "template.yaml")
ARN = "arn:aws:sqs:us-east-1:123456789012:local-{}"
QUEUES = (
    "BatchInputQueue",
    "BatchInputDeadLetterQueue",
    "WorkQueue",
    "WorkDeadLetterQueue",
    "WebhookQueue",
    "WebhookDeadLetterQueue",
    "ReloadQueue",
    "ReloadDeadLetterQueue",
)
# What create_resources returns for the template, without making anything.
NAMES = {
    "KeysTable": "local-keys",
    "UsageTable": "local-usage",
    "LedgerTable": "local-ledger",
    "MembersTable": "local-members",
    "IdempotencyTable": "local-idempotency",
    "JobsTable": "local-jobs",
    "ImagesBucket": "local-images",
    "WebhookSigningSecret": "",
    "UserPool": "us-east-1_local",
    "ConsoleClient": "local-console-client",
    "ConsoleIdentityPool": "us-east-1:local-identity-pool",
    "Guardrail": "",
    **{queue: f"http://sqs.local/local-{queue}" for queue in QUEUES},
    **{f"{queue}.Arn": ARN.format(queue) for queue in QUEUES},
}


def test_function_environment_resolves_refs_to_local_names_and_defaults() -> None:
    env = TEMPLATE.function_environment("ApiFunction", NAMES)
    assert env["IMAGEGATE_KEYS_TABLE"] == "local-keys"
    assert env["IMAGEGATE_USAGE_TABLE"] == "local-usage"
    assert env["IMAGEGATE_IMAGES_BUCKET"] == "local-images"
    assert env["IMAGEGATE_URL_TTL_SECONDS"] == "300"
    assert env["IMAGEGATE_WORK_TABLE"] == "local-jobs"
    assert env["IMAGEGATE_WORK_QUEUE_URL"] == "http://sqs.local/local-WorkQueue"
    assert env["IMAGEGATE_WEBHOOK_SECRET_NAME"] == ""
    assert env["IMAGEGATE_EVENT_BUS_NAME"] == "default"
    assert env["IMAGEGATE_GUARDRAIL_ID"] == ""  # not played locally: no moderation here


@pytest.mark.parametrize(
    "function",
    [
        "SplitterFunction",
        "WorkerFunction",
        "DeadLetterFunction",
        "WebhookFunction",
        "ReloadFunction",
    ],
)
def test_every_function_shares_the_apis_environment(function: str) -> None:
    # The local runtime runs them all in one process, with the API function's environment.
    env = TEMPLATE.function_environment(function, NAMES)
    assert env == TEMPLATE.function_environment("ApiFunction", NAMES)


def test_queue_sources_read_each_functions_sqs_event() -> None:
    sources = {source.function: source for source in queue_sources(TEMPLATE, NAMES)}
    assert set(sources) == {
        "SplitterFunction",
        "WorkerFunction",
        "DeadLetterFunction",
        "WebhookFunction",
        "ReloadFunction",
    }
    webhooks = sources["WebhookFunction"]
    assert (webhooks.batch_size, webhooks.timeout_seconds) == (1, 10)
    splitter, worker, dead = (
        sources["SplitterFunction"],
        sources["WorkerFunction"],
        sources["DeadLetterFunction"],
    )
    assert (splitter.queue_url, splitter.batch_size, splitter.timeout_seconds) == (
        "http://sqs.local/local-BatchInputQueue",
        1,
        900,
    )
    # Parameters resolve to their defaults
    assert (worker.queue_arn, worker.batch_size, worker.timeout_seconds) == (
        ARN.format("WorkQueue"),
        4,
        300,
    )
    assert (dead.batch_size, dead.timeout_seconds, dead.memory_mb) == (10, 300, 1024)
    assert dead.handler == "handler.main.dead_letter.lambda_handler"
    assert all(source.report_failures for source in sources.values())
    assert worker.function_arn == "arn:aws:lambda:us-east-1:123456789012:function:WorkerFunction"


def test_queue_visibility_covers_six_times_the_consumers_timeout() -> None:
    # Lambda's advice; and Lambda refuses a queue whose visibility is under the timeout.
    queues = TEMPLATE.resources("AWS::SQS::Queue")
    worker_max = TEMPLATE.body["Parameters"]["WorkerFunctionTimeout"]["MaxValue"]
    for source in queue_sources(TEMPLATE, NAMES):
        queue = source.queue_url.rsplit("local-", 1)[1]
        visibility = int(queues[queue]["VisibilityTimeout"])
        assert visibility >= 6 * source.timeout_seconds, queue
        if source.function == "WorkerFunction":  # its timeout is a parameter
            assert visibility >= worker_max, queue


def test_bucket_notifications_convert_to_the_s3_api_shape() -> None:
    bucket = TEMPLATE.resources("AWS::S3::Bucket")["ImagesBucket"]
    [notification] = bucket["NotificationConfiguration"]["QueueConfigurations"]
    assert queue_notification(notification, lambda value: TEMPLATE.resolve(value, NAMES)) == {
        "QueueArn": ARN.format("BatchInputQueue"),
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {
            "Key": {
                "FilterRules": [
                    {"Name": "prefix", "Value": "batches/input/"},
                    {"Name": "suffix", "Value": ".jsonl"},
                ]
            }
        },
    }


def test_lifecycle_rules_convert_to_the_s3_api_shape() -> None:
    rules = TEMPLATE.resources("AWS::S3::Bucket")["ImagesBucket"]["LifecycleConfiguration"]
    expire = lifecycle_rule(rules["Rules"][0], lambda value: TEMPLATE.resolve(value, {}))
    assert expire == {
        "ID": "ExpireGeneratedImages",
        "Status": "Enabled",
        "Filter": {"Prefix": "images/"},
        "Expiration": {"Days": 7},
    }


def test_gateway_responses_are_openai_errors() -> None:
    # API Gateway substitutes $context.error.messageString with a quoted JSON string.
    api = TEMPLATE.resources("AWS::Serverless::Api")["Api"]
    for name, response in api["GatewayResponses"].items():
        template = response["ResponseTemplates"]["application/json"]
        body = json.loads(template.replace("$context.error.messageString", '"Forbidden"'))
        assert set(body["error"]) == {"message", "type", "param", "code"}, name
        # Set types replace the defaults whole: each names the request as every answer does
        assert response["ResponseParameters"]["Headers"]["x-request-id"] == "context.requestId"
        if name.endswith("5XX") or response.get("StatusCode", "").startswith("5"):
            assert response["ResponseParameters"]["Headers"]["x-should-retry"] == "'false'"


def test_the_batch_input_sample_is_a_notification_the_bucket_would_send() -> None:
    # events/s3_batch_input.json: one SQS record carrying S3's event for a batch input file
    [record] = load_event("s3_batch_input")["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert (
        record["md5OfBody"]
        == hashlib.md5(record["body"].encode(), usedforsecurity=False).hexdigest()
    )
    [s3_event] = json.loads(record["body"])["Records"]
    assert s3_event["eventName"] == "ObjectCreated:Put"
    key = s3_event["s3"]["object"]["key"]
    bucket = TEMPLATE.resources("AWS::S3::Bucket")["ImagesBucket"]
    [notification] = bucket["NotificationConfiguration"]["QueueConfigurations"]
    rules = {rule["Name"]: rule["Value"] for rule in notification["Filter"]["S3Key"]["Rules"]}
    assert key.startswith(rules["prefix"])
    assert key.endswith(rules["suffix"])
    # The path segment after the prefix names the paying key: the sample events' key
    assert key.split("/")[2] == SAMPLE_EVENT_KEY.split("_")[1]


@pytest.mark.parametrize("function", ["ApiFunction", "WorkerFunction"])
def test_functions_that_run_sagemaker_may_use_its_asynchronous_prefix(function: str) -> None:
    from handler.stores.staging import ASYNC_PREFIX

    statements = _statements(function)
    invoke = statements["InvokeCatalogEndpoints"]["Action"]
    assert {"sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync"} <= set(invoke)
    objects = statements["AsyncInferenceObjects"]
    assert objects["Resource"] == {"Fn::Sub": f"${{ImagesBucket.Arn}}/{ASYNC_PREFIX}*"}
    assert set(objects["Action"]) == {"s3:PutObject", "s3:GetObject"}
    # without listing, a result not written yet reads as AccessDenied instead of NoSuchKey
    listing = statements["AsyncInferenceListing"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": f"{ASYNC_PREFIX}*"}}


def test_the_asynchronous_prefix_expires_and_is_the_endpoints() -> None:
    from handler.stores.staging import ASYNC_PREFIX

    bucket = TEMPLATE.resources("AWS::S3::Bucket")["ImagesBucket"]
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireAsyncInference"]["Prefix"] == ASYNC_PREFIX
    output = TEMPLATE.body["Outputs"]["SageMakerAsyncS3Uri"]["Value"]
    assert output == {"Fn::Sub": f"s3://${{ImagesBucket}}/{ASYNC_PREFIX}"}
    endpoint = Template.load(ROOT / "infra" / "sagemaker" / "endpoint.yaml")
    config = endpoint.resources("AWS::SageMaker::EndpointConfig")["EndpointConfig"]
    paths = config["AsyncInferenceConfig"]["Fn::If"][1]["OutputConfig"]
    assert paths == {
        "S3OutputPath": {"Fn::Sub": "${AsyncS3Uri}output"},
        "S3FailurePath": {"Fn::Sub": "${AsyncS3Uri}failure"},
    }


def test_the_worker_may_queue_a_pending_line_again() -> None:
    statements = _statements("WorkerFunction")
    requeue = statements["RequeuePendingLines"]
    assert (requeue["Action"], requeue["Resource"]) == (
        "sqs:SendMessage",
        {"Fn::GetAtt": ["WorkQueue", "Arn"]},
    )


@pytest.mark.parametrize(
    "function", ["ApiFunction", "SplitterFunction", "WorkerFunction", "DeadLetterFunction"]
)
def test_every_function_that_announces_may_queue_its_webhook(function: str) -> None:
    # Whatever finishes a job or batch (the API: a cancel before upload) queues its webhook.
    statements = _statements(function)
    assert "PublishBatchEvents" in statements
    queue = statements["QueueWebhooks"]
    assert (queue["Action"], queue["Resource"]) == (
        "sqs:SendMessage",
        {"Fn::GetAtt": ["WebhookQueue", "Arn"]},
    )


def test_the_webhook_function_only_signs() -> None:
    assert set(_statements("WebhookFunction")) == {"ConsumeOwnQueue", "SignWebhooks"}
    queue = TEMPLATE.resources("AWS::SQS::Queue")["WebhookQueue"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]
    }


@pytest.mark.parametrize("function", ["ApiFunction", "WorkerFunction"])
def test_every_function_that_charges_may_queue_a_reload(function: str) -> None:
    queue = _statements(function)["QueueReloads"]
    assert (queue["Action"], queue["Resource"]) == (
        "sqs:SendMessage",
        {"Fn::GetAtt": ["ReloadQueue", "Arn"]},
    )


def test_the_reload_function_reads_keys_and_stripe_only() -> None:
    statements = _statements("ReloadFunction")
    assert set(statements) == {"ConsumeOwnQueue", "ReadAndUpdateApiKeys", "ReadStripeSecrets"}
    assert statements["ReadStripeSecrets"]["If"] == "TakesCards"
    reloads = TEMPLATE.resources("AWS::SQS::Queue")["ReloadQueue"]
    assert reloads["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["ReloadDeadLetterQueue", "Arn"]
    }


def _statements(function: str) -> dict[str, dict[str, Any]]:
    """The function's policy statements by Sid."""
    return {s["Sid"]: s for s in function_statements(TEMPLATE.body["Resources"], function)}


def test_every_function_has_its_build_target() -> None:
    # sam build runs `make build-<function>` for each (BuildMethod: makefile): the Makefile has
    # one for every function pyproject.toml says what it ships for, and that is every function
    makefile = (ROOT / "Makefile").read_text()
    assert "FUNCTIONS := $(shell $(PYTHON) -m handler.cli.artifacts functions)" in makefile
    assert "$(addprefix build-,$(FUNCTIONS)): build-%:" in makefile
    assert set(functions()) == set(TEMPLATE.resources("AWS::Serverless::Function"))
