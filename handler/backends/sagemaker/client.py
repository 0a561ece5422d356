"""The ``sagemaker-runtime`` client: one per read timeout, with botocore's retries off (a
retried invocation is a second GPU run that nobody asked for)."""

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime.client import SageMakerRuntimeClient

REAL_TIME_LIMIT_SECONDS = 60  # SageMaker ends a real-time invocation after this long


def runtime_client(read_timeout: int) -> "SageMakerRuntimeClient":
    return _runtime_client(max(1, min(read_timeout, REAL_TIME_LIMIT_SECONDS + 5)))


@cache
def _runtime_client(read_timeout: int) -> "SageMakerRuntimeClient":
    return boto3.client(
        "sagemaker-runtime",
        config=Config(
            connect_timeout=2,
            read_timeout=read_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
        ),
    )
