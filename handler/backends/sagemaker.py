"""SageMaker endpoints through boto3's ``sagemaker-runtime``.

Real-time invocations are split into calls of at most the contract's (or the catalog
entry's) images per call and run in parallel. Each call's read timeout is what is left of the
request's deadline, and botocore's retries are off: a retried invocation is a second GPU run
that nobody asked for. SageMaker cannot cancel a real-time invocation; the endpoint stops on
its own 60-second limit. Work that needs longer goes through ``invoke_endpoint_async``.
"""

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from pydantic import BaseModel, ConfigDict, Field

from handler.backends.encoding import conform
from handler.backends.parallel import gather, worst
from handler.backends.sagemaker_contracts import CONTRACTS, ContractName, EndpointImage
from handler.core.deadline import Deadline
from handler.core.errors import BackendError, BackendTimeout, BackendUnavailable, ContentFiltered
from handler.core.ports import GeneratedImage, GenerationJob

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime.client import SageMakerRuntimeClient

REAL_TIME_LIMIT_SECONDS = 60  # SageMaker ends a real-time invocation after this long
ASYNC_SUBMIT_TIMEOUT = 10  # queuing an asynchronous invocation answers at once


class SageMakerParams(BaseModel):
    """A catalog entry's ``backend_params`` for SageMaker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint_name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    contract: ContractName
    images_per_call: int = Field(default=1, ge=1, le=16)
    inference_component: str | None = None


@dataclass(frozen=True, slots=True)
class AsyncRequest:
    seeds: Sequence[int]
    body: bytes


@dataclass(frozen=True, slots=True)
class AsyncInvocation:
    inference_id: str
    output_location: str
    failure_location: str | None


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


def forget_clients() -> None:
    """Drop the cached clients (their credentials and region are read when made)."""
    _runtime_client.cache_clear()


class SageMakerBackend:
    def __init__(self, client: Callable[[int], "SageMakerRuntimeClient"] = runtime_client):
        self._client = client

    def generate(self, job: GenerationJob, deadline: Deadline) -> list[GeneratedImage]:
        params = SageMakerParams.model_validate(job.model.backend_params)
        seconds = math.floor(deadline.remaining())
        if seconds < 1:
            raise _too_late()
        client = self._client(seconds)
        calls = _calls(job, params)
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            batches, errors = gather(
                [pool.submit(self._invoke, client, params, job, seeds) for seeds in calls]
            )
        found = [image for batch in batches for image in batch]
        if not found and errors:
            raise worst(errors)
        return _images(job, found)  # partial when some calls failed: charged as delivered

    # -- asynchronous inference: requests and results through S3, up to an hour each --------

    def async_requests(self, job: GenerationJob) -> list[AsyncRequest]:
        """The bodies to put in S3, one per invocation, before ``submit_async``."""
        params = SageMakerParams.model_validate(job.model.backend_params)
        contract = CONTRACTS[params.contract]
        return [AsyncRequest(seeds, contract.request(job, seeds)) for seeds in _calls(job, params)]

    def submit_async(
        self, job: GenerationJob, input_location: str, *, timeout_seconds: int = 3600
    ) -> AsyncInvocation:
        """Queue one request already in S3; SageMaker writes the result to S3 later."""
        params = SageMakerParams.model_validate(job.model.backend_params)
        contract = CONTRACTS[params.contract]
        try:
            response = self._client(ASYNC_SUBMIT_TIMEOUT).invoke_endpoint_async(
                EndpointName=params.endpoint_name,
                ContentType=contract.content_type,
                Accept=contract.accept,
                InputLocation=input_location,
                InvocationTimeoutSeconds=timeout_seconds,
            )
        except ClientError as exc:
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise BackendError("Could not reach the SageMaker endpoint.") from exc
        return AsyncInvocation(
            response["InferenceId"], response["OutputLocation"], response.get("FailureLocation")
        )

    def async_images(
        self, job: GenerationJob, request: AsyncRequest, output: bytes
    ) -> list[GeneratedImage]:
        """The images in an asynchronous invocation's S3 output."""
        params = SageMakerParams.model_validate(job.model.backend_params)
        return _images(job, CONTRACTS[params.contract].images(output, request.seeds))

    def _invoke(
        self,
        client: "SageMakerRuntimeClient",
        params: SageMakerParams,
        job: GenerationJob,
        seeds: Sequence[int],
    ) -> list[EndpointImage]:
        contract = CONTRACTS[params.contract]
        arguments: dict[str, Any] = {
            "EndpointName": params.endpoint_name,
            "ContentType": contract.content_type,
            "Accept": contract.accept,
            "Body": contract.request(job, seeds),
        }
        if params.inference_component:
            arguments["InferenceComponentName"] = params.inference_component
        try:
            response = client.invoke_endpoint(**arguments)
            body = response["Body"].read()
        except ReadTimeoutError as exc:
            raise _too_late() from exc
        except ClientError as exc:
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise BackendError("Could not reach the SageMaker endpoint.") from exc
        return contract.images(body, seeds)


def _calls(job: GenerationJob, params: SageMakerParams) -> list[Sequence[int]]:
    """The job's seeds, in groups of as many as one invocation takes."""
    per_call = min(params.images_per_call, CONTRACTS[params.contract].max_images_per_call or 16)
    return [job.seeds[i : i + per_call] for i in range(0, job.n, per_call)]


def _images(job: GenerationJob, found: Sequence[EndpointImage]) -> list[GeneratedImage]:
    images = [
        GeneratedImage(
            data=conform(
                item.data, job.width, job.height, job.output_format, job.output_compression
            ),
            output_format=job.output_format,
            seed=item.seed,
            width=job.width,
            height=job.height,
        )
        for item in found
    ]
    if not images:
        raise ContentFiltered(
            "The model returned no image (its safety checker may have removed them). "
            "Nothing was charged.",
            param="prompt",
        )
    return images


def translate(exc: ClientError) -> BackendError:
    """SageMaker runtime errors in the project's terms."""
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    message = error.get("Message", "")
    if code == "ModelNotReadyException":
        return BackendUnavailable(
            "The model is not ready yet (scaling up); retry shortly.", retry_after=10
        )
    if code in ("ThrottlingException", "ServiceUnavailable", "InternalDependencyException"):
        return BackendUnavailable("The model's endpoint is busy; retry shortly.", retry_after=2)
    if code == "InternalFailure":
        return BackendUnavailable("SageMaker failed internally; retry shortly.")
    if code == "ModelError":
        original = exc.response.get("OriginalStatusCode", "?")
        detail = exc.response.get("OriginalMessage") or message
        return BackendError(f"The model failed ({original}): {detail}")
    if code == "ValidationError":
        # Endpoint missing, payload over 6 MB and the like: this deployment's configuration.
        return BackendError(f"SageMaker refused the invocation: {message}", should_retry=False)
    return BackendError(f"SageMaker error {code}: {message}")


def _too_late() -> BackendTimeout:
    return BackendTimeout(
        "The image was not ready before the request's deadline and nothing was charged. "
        "Real-time endpoints cannot be cancelled: the model stops at SageMaker's own limit."
    )
