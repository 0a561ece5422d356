"""Cached boto3 clients with explicit timeouts and retries.

boto3 finds region, credentials and endpoint (``AWS_ENDPOINT_URL``, set by the local stack)
in the standard places. Clients are built on first use, never at import.
"""

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.client import CloudFormationClient
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient


def _config(read_timeout: int, **options: Any) -> Config:
    return Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        **options,
    )


@cache
def dynamodb_client() -> "DynamoDBClient":
    return boto3.client("dynamodb", config=_config(read_timeout=5))


@cache
def s3_client() -> "S3Client":
    # Presigned URLs must be SigV4: X-Amz-Expires is honoured, SigV2 URLs are refused in most
    # regions.
    return boto3.client("s3", config=_config(read_timeout=10, signature_version="s3v4"))


@cache
def cloudformation_client() -> "CloudFormationClient":
    return boto3.client("cloudformation", config=_config(read_timeout=10))


@cache
def sqs_client() -> "SQSClient":
    return boto3.client("sqs", config=_config(read_timeout=10))


@cache
def events_client() -> "EventBridgeClient":
    return boto3.client("events", config=_config(read_timeout=5))
