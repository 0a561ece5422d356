"""The SageMaker adapter on a stubbed sagemaker-runtime client (no network)."""

import base64
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from PIL import Image

from handler.backends.sagemaker import SageMakerBackend, runtime_client
from handler.core.catalog import load_catalog
from handler.core.deadline import Deadline
from handler.core.errors import BackendError, BackendTimeout, BackendUnavailable, ContentFiltered
from handler.core.jobs import build_job
from handler.core.ports import GenerationJob
from handler.core.schemas import GenerationRequest
from tests.support import FORMATS, ROOT, open_image

CATALOG = load_catalog(ROOT / "infra" / "catalog.json")


def _job(**body: Any) -> GenerationJob:
    request = GenerationRequest.model_validate({"model": "sd-imagegate", "prompt": "a fox", **body})
    return build_job(CATALOG.get(request.model), request, "req_test")


def _picture(size: tuple[int, int], pil_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format=pil_format)
    return buffer.getvalue()


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


@pytest.fixture
def stub() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _backend(client: Any) -> SageMakerBackend:
    return SageMakerBackend(lambda timeout: client)


class FakeEndpoint:
    """A sagemaker-runtime stand-in that answers each expected call by its request.

    The backend invokes in parallel, so answers cannot be queued in order (as Stubber does):
    each is keyed on the whole call instead, and every expected call must come exactly once.
    """

    def __init__(self) -> None:
        self.answers: dict[str, bytes | Exception] = {}
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @staticmethod
    def _key(call: dict[str, Any]) -> str:
        return json.dumps({**call, "Body": json.loads(call["Body"])}, sort_keys=True)

    def expect(self, call: dict[str, Any], answer: bytes | Exception) -> None:
        self.answers[self._key(call)] = answer

    def invoke_endpoint(self, **call: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(call)
            answer = self.answers.pop(self._key(call))  # KeyError: a call nobody expected
        if isinstance(answer, Exception):
            raise answer
        return {"Body": _body(answer)}


def test_our_model_server_gets_batches_of_seeds() -> None:
    # Given an endpoint that takes four images a call
    endpoint = FakeEndpoint()
    job = _job(n=6, seed=10, size="1024x768", output_format="webp", negative_prompt="blur")
    for seeds in ([10, 11, 12, 13], [14, 15]):
        images = [
            {"b64": base64.b64encode(_picture((1024, 768), "WEBP")).decode(), "seed": s}
            for s in seeds
        ]
        body = {
            "prompt": "a fox",
            "negative_prompt": "blur",
            "width": 1024,
            "height": 768,
            "num_inference_steps": 25,
            "guidance_scale": 7.5,
            "seeds": seeds,
            "output_format": "webp",
            "output_compression": 100,
        }
        endpoint.expect(
            {
                "EndpointName": "imagegate-diffusers",
                "ContentType": "application/json",
                "Accept": "application/json",
                "Body": json.dumps(body).encode(),
            },
            json.dumps({"images": images}).encode(),
        )
    # When six images are asked for
    result = _backend(endpoint).generate(job, Deadline.after(25))
    # Then two calls made them, each image with its own seed, at the asked size and format
    assert (len(endpoint.calls), endpoint.answers) == (2, {})
    assert [image.seed for image in result] == list(range(10, 16))
    for image in result:
        decoded = open_image(image.data)
        assert (decoded.size, decoded.format) == ((1024, 768), "WEBP")


def test_jumpstart_images_are_converted_to_the_asked_format() -> None:
    endpoint = FakeEndpoint()
    job = _job(model="stable-diffusion-2-1-jumpstart", n=2, seed=5, output_format="png")
    for seed in (5, 6):
        generated = [base64.b64encode(_picture((512, 512), "JPEG")).decode()]
        body = {
            "prompt": "a fox",
            "width": 512,
            "height": 512,
            "num_images_per_prompt": 1,
            "seed": seed,
            "num_inference_steps": 50,
            "guidance_scale": 7.5,
        }
        endpoint.expect(
            {
                "EndpointName": "imagegate-jumpstart-sd21",
                "ContentType": "application/json",
                "Accept": "application/json;jpeg",
                "Body": json.dumps(body).encode(),
            },
            json.dumps({"generated_images": generated, "prompt": "a fox"}).encode(),
        )
    result = _backend(endpoint).generate(job, Deadline.after(25))
    assert endpoint.answers == {}
    assert [image.seed for image in result] == [5, 6]
    assert all(open_image(image.data).format == FORMATS["png"] for image in result)


def test_hugging_face_toolkit_images_have_no_seed(stub: tuple[Any, Stubber]) -> None:
    from handler.core.catalog import CatalogModel

    client, stubber = stub
    model = CatalogModel.model_validate(
        {
            **CATALOG.get("sd-imagegate").model_dump(),
            "id": "hf",
            "seed": False,
            "backend_params": {"endpoint_name": "hf-sd", "contract": "hf-diffusers"},
        }
    )
    request = GenerationRequest.model_validate({"prompt": "a fox", "size": "512x512"})
    stubber.add_response("invoke_endpoint", {"Body": _body(_picture((512, 512), "PNG"))})
    [image] = _backend(client).generate(build_job(model, request, "req"), Deadline.after(25))
    assert image.seed is None
    assert open_image(image.data).size == (512, 512)


@pytest.mark.parametrize(
    ("code", "extra", "error", "should_retry"),
    [
        (
            "ModelError",
            {"OriginalStatusCode": 500, "OriginalMessage": "CUDA OOM"},
            BackendError,
            False,
        ),
        ("ModelNotReadyException", {}, BackendUnavailable, True),
        ("ThrottlingException", {}, BackendUnavailable, True),
        ("ServiceUnavailable", {}, BackendUnavailable, True),
        ("ValidationError", {}, BackendError, False),
    ],
)
def test_runtime_errors_map_to_ours(
    stub: tuple[Any, Stubber],
    code: str,
    extra: dict[str, Any],
    error: type[BackendError],
    should_retry: bool,
) -> None:
    client, stubber = stub
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code=code,
        service_message="no",
        response_meta=None,
        modeled_fields=extra,
    )
    with pytest.raises(error) as caught:
        _backend(client).generate(_job(), Deadline.after(25))
    assert type(caught.value) is error
    assert caught.value.should_retry is should_retry
    if code == "ModelError":
        assert "CUDA OOM" in caught.value.message


def test_no_image_back_is_content_filtered(stub: tuple[Any, Stubber]) -> None:
    client, stubber = stub
    stubber.add_response("invoke_endpoint", {"Body": _body(b'{"images": []}')})
    with pytest.raises(ContentFiltered):
        _backend(client).generate(_job(), Deadline.after(25))


def test_a_read_timeout_is_the_deadline(stub: tuple[Any, Stubber]) -> None:
    class Slow:
        def invoke_endpoint(self, **kwargs: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker")

    with pytest.raises(BackendTimeout):
        SageMakerBackend(lambda timeout: Slow()).generate(_job(), Deadline.after(25))  # type: ignore[arg-type,return-value]


def test_the_client_waits_only_as_long_as_the_deadline_and_never_retries() -> None:
    asked: list[int] = []

    def client(timeout: int) -> Any:
        asked.append(timeout)
        raise BackendUnavailable("stop here")

    with pytest.raises(BackendUnavailable):
        SageMakerBackend(client).generate(_job(), Deadline.after(12.7))
    assert asked == [12]
    # botocore's Config sets its options as attributes its type stubs do not declare
    config: Any = runtime_client(12).meta.config
    assert config.read_timeout == 12
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
    longest: Any = runtime_client(500).meta.config
    assert longest.read_timeout == 65  # SageMaker's 60 s, and a little


def test_too_little_time_invokes_nothing() -> None:
    def client(timeout: int) -> Any:
        raise AssertionError("no client should be needed")

    with pytest.raises(BackendTimeout):
        SageMakerBackend(client).generate(_job(), Deadline.after(0.4))


def test_asynchronous_inference_through_s3(stub: tuple[Any, Stubber]) -> None:
    # Given a job for our model server, too long for a real-time call
    client, stubber = stub
    job = _job(n=2, seed=3, size="512x512")
    backend = _backend(client)
    [request] = backend.async_requests(job)
    assert json.loads(request.body)["seeds"] == [3, 4]
    stubber.add_response(
        "invoke_endpoint_async",
        {
            "InferenceId": "inf-1",
            "OutputLocation": "s3://async/out/inf-1.out",
            "FailureLocation": "s3://async/failures/inf-1.out",
        },
        {
            "EndpointName": "imagegate-diffusers",
            "ContentType": "application/json",
            "Accept": "application/json",
            "InputLocation": "s3://async/in/req.json",
            "InvocationTimeoutSeconds": 3600,
        },
    )
    # When it is submitted with its body in S3
    invocation = backend.submit_async(job, "s3://async/in/req.json")
    assert (invocation.inference_id, invocation.output_location) == (
        "inf-1",
        "s3://async/out/inf-1.out",
    )
    # Then the output SageMaker writes becomes the images
    output = json.dumps(
        {
            "images": [
                {"b64": base64.b64encode(_picture((512, 512), "PNG")).decode(), "seed": s}
                for s in (3, 4)
            ]
        }
    ).encode()
    images = backend.async_images(job, request, output)
    assert [image.seed for image in images] == [3, 4]


def test_asynchronous_submission_errors_are_translated(stub: tuple[Any, Stubber]) -> None:
    client, stubber = stub
    stubber.add_client_error(
        "invoke_endpoint_async",
        service_error_code="ValidationError",
        service_message="Endpoint imagegate-diffusers not found",
    )
    with pytest.raises(BackendError, match="not found"):
        _backend(client).submit_async(_job(), "s3://async/in/x.json")


def _server_call(seeds: list[int]) -> dict[str, Any]:
    body = {
        "prompt": "a fox",
        "negative_prompt": None,
        "width": 768,
        "height": 768,
        "num_inference_steps": 25,
        "guidance_scale": 7.5,
        "seeds": seeds,
        "output_format": "png",
        "output_compression": 100,
    }
    return {
        "EndpointName": "imagegate-diffusers",
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": json.dumps(body).encode(),
    }


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "InvokeEndpoint")


def test_a_failed_call_leaves_the_others_images() -> None:
    # Given six images in two calls, the second throttled
    endpoint = FakeEndpoint()
    picture = base64.b64encode(_picture((768, 768), "PNG")).decode()
    images = [{"b64": picture, "seed": seed} for seed in (1, 2, 3, 4)]
    endpoint.expect(_server_call([1, 2, 3, 4]), json.dumps({"images": images}).encode())
    endpoint.expect(_server_call([5, 6]), _client_error("ThrottlingException"))
    # When they are asked for
    result = _backend(endpoint).generate(_job(n=6, seed=1), Deadline.after(25))
    # Then the four made are delivered (and charged as four)
    assert [image.seed for image in result] == [1, 2, 3, 4]


def test_with_nothing_delivered_the_error_that_forbids_a_retry_is_reported() -> None:
    endpoint = FakeEndpoint()
    endpoint.expect(_server_call([1, 2, 3, 4]), _client_error("ThrottlingException"))
    endpoint.expect(_server_call([5, 6]), _client_error("ModelError"))
    with pytest.raises(BackendError) as caught:
        _backend(endpoint).generate(_job(n=6, seed=1), Deadline.after(25))
    assert caught.value.should_retry is False  # the model ran for one of the calls


def test_our_contract_carries_the_input_image_and_a_white_means_repaint_mask() -> None:
    from handler.backends.sagemaker_contracts import ImagegateContract
    from handler.core.image_input import from_request
    from tests.image_samples import data_url, picture

    image = picture((768, 768))
    transparent_edit = picture((768, 768), mode="RGBA", colour=(0, 0, 0, 0))  # edit it all
    request = GenerationRequest.model_validate(
        {
            "model": "sd-imagegate",
            "prompt": "x",
            "image": data_url(image),
            "mask": data_url(transparent_edit),
            "strength": 0.4,
        }
    )
    job = build_job(CATALOG.get("sd-imagegate"), request, "req", from_request(request))
    sent = json.loads(ImagegateContract().request(job, job.seeds))
    assert base64.b64decode(sent["image"]) == image
    assert sent["strength"] == 0.4
    mask = open_image(base64.b64decode(sent["mask"]))
    assert (mask.mode, mask.getextrema()) == ("L", (255, 255))
