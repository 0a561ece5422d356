"""Whether a catalog entry's endpoint is deployed and serving, asked of the SageMaker control
plane (``DescribeEndpoint``) and remembered a few minutes, so ``GET /v1/models`` lists only
what can answer."""

import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.errors import error_code
from handler.observability import logger

LOOK_AGAIN_SECONDS = 300
# Answers that mean this deployment cannot use the endpoint: there is none of that name, or
# the function may not reach it (outside SageMakerEndpointPrefix, or no credentials).
_UNUSABLE = frozenset(
    {
        "ValidationException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
    }
)
# Statuses in which the endpoint answers invocations (an update keeps the old variant up).
SERVING = frozenset(
    {"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"}
)


@cache
def control_client() -> Any:
    return boto3.client(
        "sagemaker",
        # GET /v1/models waits on it: a slow control plane must not take the request's time.
        config=Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1}),
    )


class Endpoints:
    def __init__(
        self, client: Callable[[], Any] = control_client, now: Callable[[], float] = time.time
    ):
        self._client = client
        self._now = now
        self._seen: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def serving(self, name: str) -> bool:
        now = self._now()
        with self._lock:
            seen = self._seen.get(name)
        if seen is not None and now - seen[0] < LOOK_AGAIN_SECONDS:
            return seen[1]
        serving = self._describe(name)
        with self._lock:
            self._seen[name] = (now, serving)
        return serving

    def _describe(self, name: str) -> bool:
        try:
            status = self._client().describe_endpoint(EndpointName=name)["EndpointStatus"]
        except ClientError as exc:
            if error_code(exc) in _UNUSABLE:
                return False
            # Throttled, or SageMaker failing: offer it (it may well answer), and say why.
            logger.warning("endpoint status unknown", endpoint=name, error=error_code(exc))
            return True
        except BotoCoreError as exc:
            logger.warning("endpoint status unknown", endpoint=name, error=repr(exc))
            return True
        return status in SERVING
