"""SageMaker endpoints through boto3's ``sagemaker-runtime``.

Real-time invocations are split into calls of at most the contract's (or the catalog
entry's) images per call and run in parallel. Each call's read timeout is what is left of the
request's deadline, and botocore's retries are off: a retried invocation is a second GPU run
that nobody asked for. SageMaker cannot cancel a real-time invocation; the endpoint stops on
its own 60-second limit and 6 MB body.

An endpoint deployed for asynchronous inference (``"invocation": "async"`` in the catalog)
takes longer work and larger bodies through S3: each call's body is staged, queued with
``invoke_endpoint_async``, and its output (or failure) object polled for until the deadline.
A ticket per call records the queued invocation under the request id. One attempt looks for
the results at most a minute; then ``WorkPending`` tells a queued caller (a batch line, an
async job) to look again later, and that later attempt of the same request takes up the
invocation instead of queuing a second GPU run. The prefix's lifecycle rule removes what the
invocations leave in S3.
"""

import json
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from handler.backends.encoding import conform
from handler.backends.parallel import gather, worst
from handler.backends.sagemaker_contracts import CONTRACTS, ContractName, EndpointImage
from handler.core.deadline import Deadline
from handler.core.errors import (
    BackendError,
    BackendNotConfigured,
    BackendRefused,
    BackendTimeout,
    BackendUnavailable,
    ContentFiltered,
    PayloadTooLarge,
    WorkPending,
)
from handler.core.ports import GeneratedImage
from handler.core.spec import GenerationSpec

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime.client import SageMakerRuntimeClient

REAL_TIME_LIMIT_SECONDS = 60  # SageMaker ends a real-time invocation after this long
REAL_TIME_MAX_BYTES = 6 * 1024 * 1024  # and refuses a larger request body
ASYNC_SUBMIT_TIMEOUT = 10  # queuing an asynchronous invocation answers at once
ASYNC_RUN_SECONDS = 900  # an asynchronous invocation's time limit unless the catalog says
# How long a queued invocation may wait for an instance: one scaling up from zero needs
# minutes, and a retry of the request (a batch line's comes after the queue's visibility
# timeout) still collects what ran after its first attempt gave up.
ASYNC_QUEUE_SECONDS = 3600
ASYNC_LOOK_SECONDS = 60  # the longest one attempt waits for results before it is pending
ASYNC_POLL_SECONDS = (0.5, 5.0)  # first and longest pause between looks at the results


class SageMakerParams(BaseModel):
    """A catalog entry's ``backend_params`` for SageMaker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint_name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    contract: ContractName
    images_per_call: int = Field(default=1, ge=1, le=16)
    inference_component: str | None = None
    # How the endpoint was deployed: real-time answers within 60 s and 6 MB; an asynchronous
    # endpoint takes its requests through S3 and runs each for up to ``max_seconds``.
    invocation: Literal["realtime", "async"] = "realtime"
    max_seconds: int | None = Field(default=None, ge=1, le=3600)

    @model_validator(mode="after")
    def _async_options(self) -> Self:
        if self.invocation == "realtime" and self.max_seconds is not None:
            raise ValueError("max_seconds is for asynchronous endpoints only")
        if self.invocation == "async" and self.inference_component is not None:
            raise ValueError("asynchronous endpoints take no inference_component")
        return self


class AsyncStore(Protocol):
    """Where asynchronous invocations' bodies, tickets and results live (an S3 prefix whose
    objects expire on their own)."""

    def put(self, name: str, body: bytes) -> str:
        """Store ``body`` under ``name`` (relative to the store's prefix); its s3:// URI."""
        ...

    def location(self, name: str) -> str:
        """The s3:// URI ``name`` has (or would have) in the store."""
        ...

    def read(self, location: str) -> bytes | None:
        """The object at an s3:// URI; None while it does not exist."""
        ...


@dataclass(frozen=True, slots=True)
class Ticket:
    """One queued asynchronous invocation: where its result will be, and for which seeds."""

    inference_id: str
    output_location: str
    failure_location: str
    seeds: tuple[int, ...]
    expires_at: float  # unix seconds: past this, SageMaker has given up on it

    def dump(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def load(cls, data: bytes) -> "Ticket | None":
        """The ticket written by ``dump``; None for anything else (it is then replaced)."""
        try:
            fields = json.loads(data)
            return cls(**{**fields, "seeds": tuple(fields["seeds"])})
        except (ValueError, TypeError, KeyError):
            return None


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


class SageMakerBackend:
    def __init__(
        self,
        client: Callable[[int], "SageMakerRuntimeClient"] = runtime_client,
        store: Callable[[], AsyncStore] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ):
        self._client = client
        self._store = store
        self._sleep = sleep
        self._now = now

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        params = SageMakerParams.model_validate(spec.model.backend_params)
        seconds = math.floor(deadline.remaining())
        if seconds < 1:
            raise _too_late()
        if params.invocation == "async":
            return self._generate_async(spec, params, deadline)
        contract = CONTRACTS[params.contract]
        calls = [(seeds, contract.request(spec, seeds)) for seeds in _calls(spec, params)]
        for _, body in calls:  # every body checked before any call runs on a GPU
            if len(body) > REAL_TIME_MAX_BYTES:
                raise PayloadTooLarge(
                    f"The request is {len(body)} bytes as {spec.model.id}'s endpoint takes it, "
                    f"over the {REAL_TIME_MAX_BYTES}-byte limit of a real-time SageMaker "
                    "endpoint; send smaller input images.",
                    param=spec.inputs.image_param,
                )
        client = self._client(seconds)
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            batches, errors = gather(
                [pool.submit(self._invoke, client, params, *call) for call in calls]
            )
        found = [image for batch in batches for image in batch]
        if not found and errors:
            raise worst(errors)
        return _images(spec, found)  # partial when some calls failed: charged as delivered

    # -- asynchronous inference: requests and results through S3 -----------------------------

    def _generate_async(
        self, spec: GenerationSpec, params: SageMakerParams, deadline: Deadline
    ) -> list[GeneratedImage]:
        if self._store is None:
            raise BackendNotConfigured(
                "This deployment has no S3 location for asynchronous SageMaker inference."
            )
        store = self._store()
        contract = CONTRACTS[params.contract]
        started = [
            self._ticket(store, spec, params, call, seeds)
            for call, seeds in enumerate(_calls(spec, params))
        ]
        tickets = [ticket for ticket, _ in started]
        outputs = self._wait(store, started, deadline)
        found: list[EndpointImage] = []
        errors: list[BackendError] = []
        for ticket, output in zip(tickets, outputs, strict=True):
            if isinstance(output, BackendError):
                errors.append(output)
            else:
                try:
                    found += contract.images(output, ticket.seeds)
                except BackendError as exc:
                    errors.append(exc)
        if not found and errors:
            raise worst(errors)
        return _images(spec, found)

    def _ticket(
        self,
        store: AsyncStore,
        spec: GenerationSpec,
        params: SageMakerParams,
        call: int,
        seeds: Sequence[int],
    ) -> tuple[Ticket, bytes | None]:
        """The invocation an earlier attempt of this request queued, if SageMaker finished
        it (with its output) or may still; else a new one."""
        name = _ticket_name(spec, call)
        earlier = store.read(store.location(name))
        ticket = Ticket.load(earlier) if earlier is not None else None
        if ticket is not None:
            outcome = _outcome(store, ticket)
            # Its output, or its work still under way; a failure is tried afresh.
            if isinstance(outcome, bytes) or (outcome is None and ticket.expires_at > self._now()):
                return ticket, outcome
        contract = CONTRACTS[params.contract]
        input_location = store.put(_input_name(spec, call), contract.request(spec, seeds))
        run_seconds = params.max_seconds or ASYNC_RUN_SECONDS
        submitted = self._now()
        try:
            response = self._client(ASYNC_SUBMIT_TIMEOUT).invoke_endpoint_async(
                EndpointName=params.endpoint_name,
                ContentType=contract.content_type,
                Accept=contract.accept,
                InputLocation=input_location,
                InferenceId=f"{spec.request_id}-{call}"[-64:],
                RequestTTLSeconds=ASYNC_QUEUE_SECONDS,
                InvocationTimeoutSeconds=run_seconds,
            )
        except ClientError as exc:
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise BackendError("Could not reach the SageMaker endpoint.") from exc
        if not response.get("FailureLocation"):
            # A failed invocation would never be seen: every attempt would wait it out.
            raise BackendNotConfigured(
                f"The endpoint {params.endpoint_name} has no S3FailurePath in its asynchronous "
                "configuration; deploy it with one."
            )
        ticket = Ticket(
            response["InferenceId"],
            response["OutputLocation"],
            response["FailureLocation"],
            tuple(seeds),
            submitted + ASYNC_QUEUE_SECONDS + run_seconds,
        )
        store.put(name, ticket.dump())
        return ticket, None

    def _wait(
        self,
        store: AsyncStore,
        started: Sequence[tuple[Ticket, bytes | None]],
        deadline: Deadline,
    ) -> list[bytes | BackendError]:
        """Each ticket's output (or failure), unless already known, looked for until the
        deadline or a minute."""
        look = Deadline(
            min(deadline.expires_at, deadline.clock() + ASYNC_LOOK_SECONDS), deadline.clock
        )
        tickets = [ticket for ticket, _ in started]
        outcomes: dict[int, bytes | BackendError] = {
            index: output for index, (_, output) in enumerate(started) if output is not None
        }
        pause = ASYNC_POLL_SECONDS[0]
        while True:
            for index, ticket in enumerate(tickets):
                if index not in outcomes:
                    outcome = _outcome(store, ticket)
                    if outcome is not None:
                        outcomes[index] = outcome
            if len(outcomes) == len(tickets):
                return [outcomes[index] for index in range(len(tickets))]
            if look.remaining() <= pause:
                raise WorkPending(
                    "The image was not ready before the deadline and nothing was charged. "
                    "Work this long belongs in an asynchronous job (Prefer: respond-async), "
                    "which collects what the endpoint goes on to finish."
                )
            self._sleep(pause)
            pause = min(pause * 2, ASYNC_POLL_SECONDS[1])

    def _invoke(
        self,
        client: "SageMakerRuntimeClient",
        params: SageMakerParams,
        seeds: Sequence[int],
        body: bytes,
    ) -> list[EndpointImage]:
        contract = CONTRACTS[params.contract]
        arguments: dict[str, Any] = {
            "EndpointName": params.endpoint_name,
            "ContentType": contract.content_type,
            "Accept": contract.accept,
            "Body": body,
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


def _calls(spec: GenerationSpec, params: SageMakerParams) -> list[Sequence[int]]:
    """The request's seeds, in groups of as many as one invocation takes."""
    per_call = min(params.images_per_call, CONTRACTS[params.contract].max_images_per_call or 16)
    return [spec.seeds[i : i + per_call] for i in range(0, spec.n, per_call)]


def _ticket_name(spec: GenerationSpec, call: int) -> str:
    return f"tickets/{spec.request_id}/{call}.json"


def _input_name(spec: GenerationSpec, call: int) -> str:
    return f"input/{spec.request_id}/{call}.json"


def _outcome(store: AsyncStore, ticket: Ticket) -> bytes | BackendError | None:
    """What SageMaker wrote for an invocation: its output, its failure, or nothing yet."""
    output = store.read(ticket.output_location)
    if output is not None:
        return output
    failure = store.read(ticket.failure_location)
    if failure is None:
        return None
    detail = failure.decode("utf-8", "replace").strip()[:500]
    return BackendError(f"The model failed: {detail}")


def _images(spec: GenerationSpec, found: Sequence[EndpointImage]) -> list[GeneratedImage]:
    images = [
        GeneratedImage(
            data=conform(
                item.data, spec.width, spec.height, spec.output_format, spec.output_compression
            ),
            output_format=spec.output_format,
            seed=item.seed,
            width=spec.width,
            height=spec.height,
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
        return BackendRefused(f"SageMaker refused the invocation: {message}")
    return BackendError(f"SageMaker error {code}: {message}")


def _too_late() -> BackendTimeout:
    return BackendTimeout(
        "The image was not ready before the request's deadline and nothing was charged. "
        "Real-time endpoints cannot be cancelled: the model stops at SageMaker's own limit."
    )
