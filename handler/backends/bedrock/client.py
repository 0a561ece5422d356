"""The ``bedrock-runtime`` clients: one per region and read timeout, with botocore's retries
off (a retried invocation is a second image, paid for, that nobody asked for)."""

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.client import BedrockRuntimeClient

MAX_READ_SECONDS = 900  # past a Lambda's longest life: the deadline bounds it first


def runtime_client(region: str, read_timeout: int) -> "BedrockRuntimeClient":
    return _runtime_client(region, max(1, min(read_timeout, MAX_READ_SECONDS)))


@cache
def _runtime_client(region: str, read_timeout: int) -> "BedrockRuntimeClient":
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        config=Config(
            connect_timeout=2,
            read_timeout=read_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
        ),
    )
