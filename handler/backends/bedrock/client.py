"""The ``bedrock-runtime`` client of a region, for a read timeout
(``stores.clients.invocation_client``: botocore's retries off)."""

from typing import TYPE_CHECKING, cast

from handler.aws.clients import invocation_client

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.client import BedrockRuntimeClient

MAX_READ_SECONDS = 900  # past a Lambda's longest life: the deadline bounds it first


def runtime_client(region: str, read_timeout: int) -> "BedrockRuntimeClient":
    seconds = max(1, min(read_timeout, MAX_READ_SECONDS))
    return cast("BedrockRuntimeClient", invocation_client("bedrock-runtime", seconds, region))
