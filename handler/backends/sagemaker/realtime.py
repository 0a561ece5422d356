"""Real-time inference: the request's seeds split into calls of at most the contract's (or
the catalog entry's) images, run in parallel, each call's read timeout what is left of the
deadline. SageMaker cannot cancel a real-time invocation; the endpoint stops on its own
60-second limit and 6 MB body."""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from handler.backends.parallel import gather, worst
from handler.backends.sagemaker.contracts import CONTRACTS, EndpointImage, delivered
from handler.backends.sagemaker.errors import invocation_errors
from handler.backends.sagemaker.params import SageMakerParams, seed_groups
from handler.core.errors import PayloadTooLarge
from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime.client import SageMakerRuntimeClient

REAL_TIME_MAX_BYTES = 6 * 1024 * 1024  # SageMaker refuses a larger request body


def generate(
    client: "SageMakerRuntimeClient", spec: GenerationSpec, params: SageMakerParams
) -> list[GeneratedImage]:
    """The request's images, from calls run in parallel on ``client`` (whose read timeout is
    the request's deadline); partial when some calls failed, charged as delivered."""
    contract = CONTRACTS[params.contract]
    calls = [(seeds, contract.request(spec, seeds)) for seeds in seed_groups(spec, params)]
    check_sizes(spec, [body for _, body in calls])
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        batches, errors = gather([pool.submit(_invoke, client, params, *call) for call in calls])
    found = [image for batch in batches for image in batch]
    if not found and errors:
        raise worst(errors)
    return delivered(spec, found)


def check_sizes(spec: GenerationSpec, bodies: Sequence[bytes]) -> None:
    """Every body checked before any call runs on a GPU."""
    for body in bodies:
        if len(body) > REAL_TIME_MAX_BYTES:
            raise PayloadTooLarge(
                f"The request is {len(body)} bytes as {spec.model.id}'s endpoint takes it, "
                f"over the {REAL_TIME_MAX_BYTES}-byte limit of a real-time SageMaker "
                "endpoint; send smaller input images.",
                param=spec.inputs.image_param,
            )


def arguments(params: SageMakerParams, body: bytes) -> dict[str, Any]:
    """A real-time invocation's arguments, streamed or not."""
    contract = CONTRACTS[params.contract]
    named: dict[str, Any] = {
        "EndpointName": params.endpoint_name,
        "ContentType": contract.content_type,
        "Accept": contract.accept,
        "Body": body,
    }
    if params.inference_component:
        named["InferenceComponentName"] = params.inference_component
    return named


def _invoke(
    client: "SageMakerRuntimeClient",
    params: SageMakerParams,
    seeds: Sequence[int],
    body: bytes,
) -> list[EndpointImage]:
    with invocation_errors(realtime=True):
        response = client.invoke_endpoint(**arguments(params, body))
        body = response["Body"].read()
    return CONTRACTS[params.contract].images(body, seeds)
