"""Creates tables, queues and buckets from CloudFormation resource properties.

Used by the local stack and the tests to build, on a stand-in, what ``template.yaml``
declares. A deployed stack is made by CloudFormation, never by this.
"""

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.core.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

Properties = Mapping[str, Any]
Resolve = Callable[[Any], str]

# The queue properties that are SQS attributes of the same name (the rest have no local use).
_QUEUE_ATTRIBUTES: tuple["QueueAttributeNameType", ...] = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def create_table(client: "DynamoDBClient", name: str, props: Properties) -> None:
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        arguments["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    try:
        client.create_table(**arguments)
        if "TimeToLiveSpecification" in props:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
            )
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"Could not create table {name}: {exc}") from exc


def create_bucket(client: "S3Client", name: str, props: Properties, resolve: Resolve) -> None:
    try:
        client.create_bucket(Bucket=name)
        if "PublicAccessBlockConfiguration" in props:
            client.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "BucketEncryption" in props:
            client.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration=_encryption(props)
            )
        rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
        if rules:
            client.put_bucket_lifecycle_configuration(
                Bucket=name,
                LifecycleConfiguration={"Rules": [lifecycle_rule(r, resolve) for r in rules]},
            )
        queues = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        if queues:
            client.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={
                    "QueueConfigurations": [queue_notification(q, resolve) for q in queues]
                },
            )
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"Could not create bucket {name}: {exc}") from exc


def _encryption(props: Properties) -> Any:
    # CloudFormation and the S3 API spell the default-encryption key differently.
    return {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                "BucketKeyEnabled": rule.get("BucketKeyEnabled", False),
            }
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
    }


def lifecycle_rule(rule: Properties, resolve: Resolve) -> Any:
    """CloudFormation's lifecycle rule shape, in the S3 API's shape."""
    converted: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(resolve(rule["ExpirationInDays"]))}
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return converted


def queue_notification(notification: Properties, resolve: Resolve) -> Any:
    """CloudFormation's bucket-to-queue notification, in the S3 API's shape."""
    converted: dict[str, Any] = {
        "QueueArn": resolve(notification["Queue"]),
        "Events": [notification["Event"]],
    }
    rules = notification.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    if rules:
        converted["Filter"] = {
            "Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}
        }
    return converted


def create_queue(client: "SQSClient", name: str, props: Properties, resolve: Resolve) -> str:
    """Create the queue; return its URL. A dead-letter target must exist already."""
    attributes: dict[QueueAttributeNameType, str] = {
        key: resolve(props[key]) for key in _QUEUE_ATTRIBUTES if key in props
    }
    if "RedrivePolicy" in props:
        policy = props["RedrivePolicy"]
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": resolve(policy["deadLetterTargetArn"]),
                "maxReceiveCount": int(resolve(policy["maxReceiveCount"])),
            }
        )
    try:
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"Could not create queue {name}: {exc}") from exc
    return url


def queue_arn(client: "SQSClient", url: str) -> str:
    try:
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"Could not read queue {url}: {exc}") from exc
    return attributes["Attributes"]["QueueArn"]
