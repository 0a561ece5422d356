"""The SageMaker backend: an endpoint's real-time or asynchronous inference, as its catalog
entry says it was deployed."""

import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from handler.backends.sagemaker import realtime, streamed
from handler.backends.sagemaker.async_inference import AsyncInference
from handler.backends.sagemaker.client import runtime_client
from handler.backends.sagemaker.endpoints import Endpoints
from handler.backends.sagemaker.errors import too_late
from handler.backends.sagemaker.params import SageMakerParams
from handler.core.catalog import CatalogModel
from handler.core.deadline import Deadline
from handler.core.errors import BackendNotConfigured
from handler.core.inference import GeneratedImage, PartialImage
from handler.core.spec import GenerationSpec
from handler.ports.staging import AsyncStore

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
        seconds = _seconds_left(deadline)
        if params.invocation == "realtime":
            return realtime.generate(self._client(seconds), spec, params)
        if self._store is None:
            raise BackendNotConfigured(
                "This deployment has no S3 location for asynchronous SageMaker inference."
            )
        inference = AsyncInference(self._client, self._store(), self._sleep, self._now)
        return inference.generate(spec, params, deadline)

    def stream(
        self, spec: GenerationSpec, deadline: Deadline
    ) -> Iterator[PartialImage | list[GeneratedImage]]:
        """Previews where the endpoint streams them (``"streaming": true``); elsewhere the
        images alone, as ``generate`` makes them."""
        params = SageMakerParams.model_validate(spec.model.backend_params)
        if not params.streaming:
            yield self.generate(spec, deadline)
            return
        client = self._client(_seconds_left(deadline))
        yield from streamed.stream(client, spec, params, deadline)


def _seconds_left(deadline: Deadline) -> int:
    """The whole seconds a call may read for; none left is a timeout before any call."""
    seconds = math.floor(deadline.remaining())
    if seconds < 1:
        raise too_late()
    return seconds
