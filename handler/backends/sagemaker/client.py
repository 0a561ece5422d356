"""The ``sagemaker-runtime`` client for a read timeout (``stores.clients.invocation_client``:
botocore's retries off)."""

from typing import TYPE_CHECKING, cast

from handler.aws.clients import invocation_client

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime.client import SageMakerRuntimeClient

REAL_TIME_LIMIT_SECONDS = 60  # SageMaker ends a real-time invocation after this long


def runtime_client(read_timeout: int) -> "SageMakerRuntimeClient":
    seconds = max(1, min(read_timeout, REAL_TIME_LIMIT_SECONDS + 5))
    return cast("SageMakerRuntimeClient", invocation_client("sagemaker-runtime", seconds))
