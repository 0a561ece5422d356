"""Real-time inference streamed (``"streaming": true``): each call through
``InvokeEndpointWithResponseStream``, whose payload parts carry our model server's lines, a
preview of an image at chosen denoising steps each, then the answer a buffered call gets.

The calls of a request run in parallel, as ``realtime`` runs them. Previews are passed on as
they arrive, whichever call made them; the images once every call is done, as ``realtime``
returns them: partial when some calls failed, the worst error when all did. A failure
mid-stream (an exception event, a broken connection, a line off the contract) is the error
the buffered call would have raised, so the request is refunded just the same.
"""

import queue
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from threading import Event
from typing import TYPE_CHECKING

from handler.backends.encoding import conform
from handler.backends.parallel import gather, worst
from handler.backends.sagemaker.contracts import EndpointImage, ImagegateContract, delivered
from handler.backends.sagemaker.errors import invocation_errors, too_late
from handler.backends.sagemaker.params import SageMakerParams, seed_groups
from handler.backends.sagemaker.realtime import arguments, check_sizes
from handler.core.deadline import Deadline
from handler.core.errors import BackendError
from handler.core.inference import GeneratedImage, PartialImage
from handler.core.spec import GenerationSpec

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime.client import SageMakerRuntimeClient

CONTRACT = ImagegateContract()  # the one contract that streams (SageMakerParams checks)
Report = Callable[[PartialImage | None], None]  # None: a call is over


def stream(
    client: "SageMakerRuntimeClient",
    spec: GenerationSpec,
    params: SageMakerParams,
    deadline: Deadline,
) -> Iterator[PartialImage | list[GeneratedImage]]:
    """The request's previews as they arrive, then its images."""
    groups = seed_groups(spec, params)
    bodies = [CONTRACT.request(spec, seeds, partial_images=spec.partial_images) for seeds in groups]
    check_sizes(spec, bodies)
    offsets = [sum(len(seeds) for seeds in groups[:call]) for call in range(len(groups))]
    arrived: queue.SimpleQueue[PartialImage | None] = queue.SimpleQueue()
    stop = Event()  # the stream's reader went away: stop reading the endpoint
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        futures = [
            pool.submit(_call, client, spec, params, call, deadline, arrived.put, stop.is_set)
            for call in zip(groups, bodies, offsets, strict=True)
        ]
        try:
            for _ in futures:
                while (partial := arrived.get()) is not None:
                    yield partial
        finally:
            stop.set()
    batches, errors = gather(futures)
    found = [image for batch in batches for image in batch]
    if not found and errors:
        raise worst(errors)
    yield delivered(spec, found)


def _call(
    client: "SageMakerRuntimeClient",
    spec: GenerationSpec,
    params: SageMakerParams,
    call: tuple[Sequence[int], bytes, int],
    deadline: Deadline,
    report: Report,
    stopped: Callable[[], bool],
) -> list[EndpointImage]:
    """One streamed invocation: its previews reported (as the request's images, counted from
    ``offset``), its images returned."""
    seeds, body, offset = call
    answer: list[EndpointImage] | None = None
    try:
        with invocation_errors(realtime=True):
            events = client.invoke_endpoint_with_response_stream(**arguments(params, body))
            parts = events["Body"]
            try:
                for line in lines(part.get("PayloadPart", {}).get("Bytes", b"") for part in parts):
                    if stopped():
                        return []
                    if answer is not None:
                        raise BackendError("The endpoint sent more after its answer.")
                    got = CONTRACT.streamed(line, seeds, spec.partial_images)
                    if isinstance(got, list):
                        answer = got
                        continue
                    data = conform(
                        got.data,
                        spec.width,
                        spec.height,
                        spec.output_format,
                        spec.output_compression,
                    )
                    report(PartialImage(data, offset + got.index, got.partial_index))
                    if deadline.remaining() <= 0:
                        raise too_late()
            finally:
                parts.close()
    finally:
        report(None)
    if answer is None:
        raise BackendError("The endpoint's stream ended before its answer.")
    return answer


def lines(parts: Iterable[bytes]) -> Iterator[bytes]:
    """The non-empty lines of a stream, however it was cut into parts: a line may span
    parts, a part may hold several lines, the last line may have no newline."""
    pieces: list[bytes] = []
    for part in parts:
        *ended, rest = part.split(b"\n")
        for end in ended:
            line = b"".join([*pieces, end])
            pieces = []
            if line.strip():
                yield line
        pieces.append(rest)
    last = b"".join(pieces)
    if last.strip():
        yield last
