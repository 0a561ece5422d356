"""Asynchronous inference: an endpoint deployed for it (``"invocation": "async"`` in the
catalog) takes longer work and larger bodies through S3.

Each call's body is staged, queued with ``invoke_endpoint_async``, and its output (or
failure) object polled for until the deadline. A ticket per call records the queued
invocation under the request id. One attempt looks for the results at most a minute; then
``WorkPending`` tells a queued caller (a batch line, an async job) to look again later, and
that later attempt of the same request takes up the invocation instead of queuing a second
GPU run. The prefix's lifecycle rule removes what the invocations leave in S3.
"""

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from handler.backends.parallel import worst
from handler.backends.sagemaker.contracts import CONTRACTS, EndpointImage, delivered
from handler.backends.sagemaker.errors import invocation_errors
from handler.backends.sagemaker.params import SageMakerParams, seed_groups
from handler.core.deadline import Deadline
from handler.core.errors import BackendError, BackendNotConfigured, WorkPending
from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec
from handler.ports.staging import AsyncStore

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime.client import SageMakerRuntimeClient

ASYNC_SUBMIT_TIMEOUT = 10  # queuing an asynchronous invocation answers at once
ASYNC_RUN_SECONDS = 900  # an asynchronous invocation's time limit unless the catalog says
# How long a queued invocation may wait for an instance: one scaling up from zero needs
# minutes, and a retry of the request (a batch line's comes after the queue's visibility
# timeout) still collects what ran after its first attempt gave up.
ASYNC_QUEUE_SECONDS = 3600
ASYNC_LOOK_SECONDS = 60  # the longest one attempt waits for results before it is pending
ASYNC_POLL_SECONDS = (0.5, 5.0)  # first and longest pause between looks at the results


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


@dataclass(frozen=True, slots=True)
class AsyncInference:
    client: Callable[[int], "SageMakerRuntimeClient"]  # by read timeout
    store: AsyncStore
    sleep: Callable[[float], None] = field(default=time.sleep)
    now: Callable[[], float] = field(default=time.time)

    def generate(
        self, spec: GenerationSpec, params: SageMakerParams, deadline: Deadline
    ) -> list[GeneratedImage]:
        """The request's images, from invocations queued now or by an earlier attempt;
        ``WorkPending`` if they are not done within the deadline or a minute."""
        store = self.store
        contract = CONTRACTS[params.contract]
        started = [
            self._ticket(store, spec, params, call, seeds)
            for call, seeds in enumerate(seed_groups(spec, params))
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
        return delivered(spec, found)

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
            if isinstance(outcome, bytes) or (outcome is None and ticket.expires_at > self.now()):
                return ticket, outcome
        contract = CONTRACTS[params.contract]
        input_location = store.put(_input_name(spec, call), contract.request(spec, seeds))
        run_seconds = params.max_seconds or ASYNC_RUN_SECONDS
        submitted = self.now()
        with invocation_errors(realtime=False):
            response = self.client(ASYNC_SUBMIT_TIMEOUT).invoke_endpoint_async(
                EndpointName=params.endpoint_name,
                ContentType=contract.content_type,
                Accept=contract.accept,
                InputLocation=input_location,
                InferenceId=f"{spec.request_id}-{call}"[-64:],
                RequestTTLSeconds=ASYNC_QUEUE_SECONDS,
                InvocationTimeoutSeconds=run_seconds,
            )
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
            self.sleep(pause)
            pause = min(pause * 2, ASYNC_POLL_SECONDS[1])


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
