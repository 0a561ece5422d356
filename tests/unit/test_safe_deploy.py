"""What a first deploy of template.yaml is, asked as AWS will ask it: can an alarm reach its
topic through the topic's key, can a bucket other than the stack's start a batch."""

from typing import Any

import pytest

from handler.cli.template import Template
from tests.policies import ACCOUNT, REGION, STACK, STACK_UUID, Request, allows, written_out
from tests.support import ROOT

TEMPLATE = Template.load(ROOT / "template.yaml")
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE.body["Resources"]
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-AlarmTopic-1A2B3C"
NAMES = {"AlarmTopic": TOPIC_ARN}


def _alarm_arn(logical_id: str) -> str:
    """The ARN CloudFormation gives an alarm it names: <stack>-<logical id>-<suffix>."""
    name = RESOURCES[logical_id]["Properties"].get("AlarmName")
    assert name is None, f"{logical_id}: a name of its own would fall outside the grants"
    return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{STACK}-{logical_id}-9Z8Y7X6W"


def _published(alarm_arn: str, action: str, document: dict[str, Any]) -> bool:
    context = {"aws:SourceArn": alarm_arn, "aws:SourceAccount": ACCOUNT}
    return allows(document, Request("cloudwatch.amazonaws.com", action, context), NAMES)


@pytest.mark.parametrize("alarm", sorted(TEMPLATE.resources("AWS::CloudWatch::Alarm")))
def test_every_alarm_can_publish_to_the_stacks_topic(alarm: str) -> None:
    topic = RESOURCES["AlarmTopic"]["Properties"]
    # Not SNS's AWS-managed key, whose policy cannot let CloudWatch in
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key_policy = RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]
    topic_policy = RESOURCES["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]
    assert RESOURCES["AlarmTopicPolicy"]["Properties"]["Topics"] == [{"Ref": "AlarmTopic"}]
    arn = _alarm_arn(alarm)
    # What SNS asks KMS on CloudWatch's behalf, and what CloudWatch asks SNS
    assert _published(arn, "kms:GenerateDataKey", key_policy)
    assert _published(arn, "kms:Decrypt", key_policy)
    assert _published(arn, "sns:Publish", {**topic_policy, "Statement": _secure(topic_policy)})


def _secure(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements as a TLS request meets them (the topic denies plain HTTP)."""
    return [s for s in document["Statement"] if "aws:SecureTransport" not in str(s)]


def test_another_stacks_or_accounts_alarms_cannot_use_the_key() -> None:
    key_policy = RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]
    elsewhere = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:other-stack-Alarm-1"
    assert not _published(elsewhere, "kms:Decrypt", key_policy)
    assert RESOURCES["AlarmTopicKey"]["Properties"]["EnableKeyRotation"] is True


def _s3_delivery(bucket: str) -> bool:
    policy = RESOURCES["BatchInputQueuePolicy"]["Properties"]["PolicyDocument"]
    context = {"aws:SourceArn": f"arn:aws:s3:::{bucket}", "aws:SourceAccount": ACCOUNT}
    return allows(policy, Request("s3.amazonaws.com", "sqs:SendMessage", context), {})


def test_only_the_stacks_own_bucket_can_start_a_batch() -> None:
    bucket = written_out(RESOURCES["ImagesBucket"]["Properties"]["BucketName"])
    assert bucket == f"imagegate-{STACK_UUID}"
    assert len(bucket) <= 63
    assert bucket == bucket.lower()
    assert _s3_delivery(bucket)
    assert not _s3_delivery("another-bucket-of-the-account")
    assert not _s3_delivery(f"{bucket}-copy")
