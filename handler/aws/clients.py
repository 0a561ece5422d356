"""Cached boto3 clients with explicit timeouts and retries.

boto3 finds region, credentials and endpoint (``AWS_ENDPOINT_URL``, set by the local stack)
in the standard places. Clients are built on first use, never at import; ``forget_sessions``
makes the next use build them again.
"""

import threading
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient


def client_config(read_timeout: int, **options: Any) -> Config:
    return Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        **options,
    )


@cache
def dynamodb_client() -> "DynamoDBClient":
    return boto3.client("dynamodb", config=client_config(read_timeout=5))


@cache
def s3_client() -> "S3Client":
    # Presigned URLs must be SigV4: X-Amz-Expires is honoured, SigV2 URLs are refused in most
    # regions.
    return boto3.client("s3", config=client_config(read_timeout=10, signature_version="s3v4"))


@cache
def sqs_client() -> "SQSClient":
    return boto3.client("sqs", config=client_config(read_timeout=10))


@cache
def cognito_client(region: str) -> Any:
    """The members' user pool's service, in the pool's region (its id starts with it)."""
    return boto3.client("cognito-idp", region_name=region, config=client_config(read_timeout=5))


@cache
def cognito_identity_client(region: str) -> Any:
    """The identity pool's service (operators' console credentials), in the pool's region."""
    return boto3.client(
        "cognito-identity", region_name=region, config=client_config(read_timeout=5)
    )


@cache
def events_client() -> "EventBridgeClient":
    return boto3.client("events", config=client_config(read_timeout=5))


def session_client(session: boto3.Session, service: str, region: str) -> Any:
    """A client of ``session`` (a named profile's, say) rather than the default one, with the
    same timeouts and retries as the cached clients."""
    return session.client(service, region_name=region, config=client_config(read_timeout=10))  # type: ignore[call-overload]


_making = threading.Lock()  # boto3's default session is not safe to make clients on at once


@lru_cache(maxsize=32)  # a few distinct deadlines a process sees at once; not one forever
def invocation_client(service: str, read_timeout: int, region: str | None = None) -> Any:
    """A client for a model runtime (``bedrock-runtime``, ``sagemaker-runtime``) that reads
    no longer than ``read_timeout`` (what is left of a request's deadline), and that botocore
    never retries: a retried invocation is a second run on a GPU, paid for, that nobody
    asked for."""
    config = Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    with _making:
        return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]


def forget_sessions() -> None:
    """Forget boto3's default session (its credentials, resolved when it was made) and every
    client cached in this module, whichever are added, so the next use resolves and connects
    afresh: what a SnapStart copy restored from a snapshot must do (``main/phases.py``),
    copies not sharing connections, credentials or their clocks."""
    with _making:
        boto3.DEFAULT_SESSION = None
        for value in list(globals().values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == __name__:
                clear()
