"""The SageMaker backend: an endpoint's real-time or asynchronous inference, as its catalog
entry says it was deployed."""

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from handler.backends.sagemaker import realtime
from handler.backends.sagemaker.async_inference import AsyncInference
from handler.backends.sagemaker.client import runtime_client
from handler.backends.sagemaker.endpoints import Endpoints
from handler.backends.sagemaker.errors import too_late
from handler.backends.sagemaker.params import SageMakerParams
from handler.core.catalog import CatalogModel
from handler.core.deadline import Deadline
from handler.core.errors import BackendNotConfigured
from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec
from handler.core.storage import AsyncStore

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime.client import SageMakerRuntimeClient


class SageMakerBackend:
    def __init__(
        self,
        client: Callable[[int], "SageMakerRuntimeClient"] = runtime_client,
        store: Callable[[], AsyncStore] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        endpoints: Endpoints | None = None,
    ):
        self._client = client
        self._store = store
        self._sleep = sleep
        self._now = now
        self._endpoints = endpoints or Endpoints(now=now)

    def unserved(self, model: CatalogModel) -> BackendNotConfigured | None:
        """Served while its endpoint is deployed and in service."""
        name = SageMakerParams.model_validate(model.backend_params).endpoint_name
        if self._endpoints.serving(name):
            return None
        return BackendNotConfigured(
            f"{model.name} runs on the SageMaker endpoint {name}, which is not in service."
        )

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        params = SageMakerParams.model_validate(spec.model.backend_params)
        seconds = math.floor(deadline.remaining())
        if seconds < 1:
            raise too_late()
        if params.invocation == "realtime":
            return realtime.generate(self._client(seconds), spec, params)
        if self._store is None:
            raise BackendNotConfigured(
                "This deployment has no S3 location for asynchronous SageMaker inference."
            )
        inference = AsyncInference(self._client, self._store(), self._sleep, self._now)
        return inference.generate(spec, params, deadline)
