"""The SageMaker adapter on a stubbed sagemaker-runtime client (no network)."""

import base64
import io
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from PIL import Image
from pydantic import ValidationError

from handler.backends.sagemaker import SageMakerBackend, SageMakerParams
from handler.backends.sagemaker.client import runtime_client
from handler.backends.sagemaker.realtime import REAL_TIME_MAX_BYTES
from handler.core.catalog import load_catalog
from handler.core.deadline import Deadline
from handler.core.errors import (
    BackendError,
    BackendRefused,
    BackendTimeout,
    BackendUnavailable,
    ContentFiltered,
    PayloadTooLarge,
    WorkPending,
)
from handler.core.schemas import GenerationRequest
from handler.core.spec import GenerationSpec
from handler.core.spec_rules import build_spec
from tests.support import FORMATS, ROOT, open_image, with_placement

CATALOG = load_catalog(ROOT / "infra" / "catalog.json")


def _job(**body: Any) -> GenerationSpec:
    request = GenerationRequest.model_validate({"model": "sd-imagegate", "prompt": "a fox", **body})
    return build_spec(CATALOG.get(request.model), request, "req_test")


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

    client, stubber = stub
    hf = {"endpoint_name": "hf-sd", "contract": "hf-diffusers"}
    model = with_placement(CATALOG.get("sd-imagegate"), hf, id="hf", seed=False)
    request = GenerationRequest.model_validate({"prompt": "a fox", "size": "512x512"})
    stubber.add_response("invoke_endpoint", {"Body": _body(_picture((512, 512), "PNG"))})
    [image] = _backend(client).generate(build_spec(model, request, "req"), Deadline.after(25))
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
        ("ValidationError", {}, BackendRefused, False),
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


class MemoryStore:
    """An ``AsyncStore`` in a dict, keyed by s3:// URI."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def location(self, name: str) -> str:
        return f"s3://staging/sagemaker-async/{name}"

    def put(self, name: str, body: bytes) -> str:
        self.objects[self.location(name)] = body
        return self.location(name)

    def read(self, location: str) -> bytes | None:
        return self.objects.get(location)


class AsyncEndpoint:
    """An asynchronous endpoint: it queues invocations and, when ``finish`` is called (from
    the backend's sleep, as if time passed), writes each one's output to the store."""

    def __init__(self, store: MemoryStore, *, fail: str | None = None) -> None:
        self.store = store
        self.fail = fail
        self.calls: list[dict[str, Any]] = []
        self.queued: list[tuple[str, dict[str, Any]]] = []
        self.inputs: list[bytes] = []  # the bodies it read

    def invoke_endpoint_async(self, **call: Any) -> dict[str, Any]:
        self.calls.append(call)
        number = len(self.calls)
        self.queued.append((f"s3://staging/sagemaker-async/output/{number}.out", call))
        return {
            "InferenceId": call["InferenceId"],
            "OutputLocation": f"s3://staging/sagemaker-async/output/{number}.out",
            "FailureLocation": f"s3://staging/sagemaker-async/failure/{number}.out",
        }

    def finish(self) -> None:
        for output, call in self.queued:
            if self.fail:
                failure = output.replace("/output/", "/failure/")
                self.store.objects[failure] = self.fail.encode()
                continue
            self.inputs.append(self.store.objects[call["InputLocation"]])
            request = json.loads(self.inputs[-1])
            size = (request["width"], request["height"])
            images = [
                {"b64": base64.b64encode(_picture(size, "PNG")).decode(), "seed": seed}
                for seed in request["seeds"]
            ]
            self.store.objects[output] = json.dumps({"images": images}).encode()
        self.queued = []


ASYNC_PARAMS = {
    "endpoint_name": "imagegate-diffusers-async",
    "contract": "imagegate",
    "images_per_call": 2,
    "invocation": "async",
    "max_seconds": 1800,
}


def _async_job(request_id: str = "req_async", **body: Any) -> GenerationSpec:

    model = with_placement(CATALOG.get("sd-imagegate"), ASYNC_PARAMS)
    request = GenerationRequest.model_validate({"prompt": "a fox", "size": "512x512", **body})
    return build_spec(model, request, request_id)


class Clock:
    """Monotonic and wall time that pass only when the backend sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []
        self.on_sleep: Callable[[], None] = lambda: None

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.on_sleep()

    def deadline(self, seconds: float) -> Deadline:
        return Deadline(self.now + seconds, lambda: self.now)


def _async_backend(endpoint: AsyncEndpoint, clock: Clock) -> SageMakerBackend:
    return SageMakerBackend(
        lambda timeout: endpoint,  # type: ignore[arg-type,return-value]
        lambda: endpoint.store,
        sleep=clock.sleep,
        now=lambda: clock.now,
    )


def test_an_asynchronous_endpoint_takes_its_work_through_s3() -> None:
    # Given an asynchronous endpoint that finishes after a few seconds
    store, clock = MemoryStore(), Clock()
    endpoint = AsyncEndpoint(store)

    def finish_after_three_seconds() -> None:
        if clock.now >= 1_800_000_003:
            endpoint.finish()

    clock.on_sleep = finish_after_three_seconds
    # When three images are asked for, two a call, with four minutes to go
    images = _async_backend(endpoint, clock).generate(_async_job(n=3, seed=7), clock.deadline(240))
    # Then each call's body went through S3 and was queued, to wait up to an hour for an
    # instance and run up to the catalog's max_seconds
    assert [call["InputLocation"] for call in endpoint.calls] == [
        "s3://staging/sagemaker-async/input/req_async/0.json",
        "s3://staging/sagemaker-async/input/req_async/1.json",
    ]
    first = endpoint.calls[0]
    assert (first["EndpointName"], first["ContentType"], first["Accept"]) == (
        "imagegate-diffusers-async",
        "application/json",
        "application/json",
    )
    assert (first["RequestTTLSeconds"], first["InvocationTimeoutSeconds"]) == (3600, 1800)
    assert [call["InferenceId"] for call in endpoint.calls] == ["req_async-0", "req_async-1"]
    # and the images are the endpoint's output, each with its seed
    assert [image.seed for image in images] == [7, 8, 9]
    assert all(open_image(image.data).size == (512, 512) for image in images)
    # polled with growing pauses
    assert clock.slept == [0.5, 1.0, 2.0]


def test_a_failed_asynchronous_invocation_is_the_model_failing() -> None:
    store, clock = MemoryStore(), Clock()
    endpoint = AsyncEndpoint(store, fail="CUDA out of memory")
    clock.on_sleep = endpoint.finish
    backend = _async_backend(endpoint, clock)
    with pytest.raises(BackendError, match="CUDA out of memory") as caught:
        backend.generate(_async_job(), clock.deadline(60))
    assert type(caught.value) is BackendError
    # and a retry of the same request queues the work again
    endpoint.fail = None
    [image] = backend.generate(_async_job(seed=3), clock.deadline(60))
    assert (len(endpoint.calls), image.seed) == (2, 3)


def test_a_retry_collects_the_invocation_its_earlier_attempt_left_running() -> None:
    # Given an attempt whose deadline passed while its invocation ran
    store, clock = MemoryStore(), Clock()
    endpoint = AsyncEndpoint(store)
    backend = _async_backend(endpoint, clock)
    with pytest.raises(WorkPending, match="Prefer: respond-async"):
        backend.generate(_async_job(seed=40), clock.deadline(20))
    assert len(endpoint.calls) == 1
    # When the same request runs again (new random seeds) after the endpoint finished
    endpoint.finish()
    [image] = backend.generate(_async_job(), clock.deadline(20))
    # Then no second GPU run was queued: the image is the first attempt's
    assert len(endpoint.calls) == 1
    assert image.seed == 40


def test_one_attempt_looks_for_a_minute_however_long_its_deadline() -> None:
    # A worker's line must not hold the worker for minutes: it is pending, and looks again
    store, clock = MemoryStore(), Clock()
    endpoint = AsyncEndpoint(store)
    with pytest.raises(WorkPending):
        _async_backend(endpoint, clock).generate(_async_job(), clock.deadline(280))
    assert 55 <= sum(clock.slept) <= 60


def test_an_endpoint_without_a_failure_path_is_refused() -> None:
    class NoFailurePath(AsyncEndpoint):
        def invoke_endpoint_async(self, **call: Any) -> dict[str, Any]:
            answer = super().invoke_endpoint_async(**call)
            del answer["FailureLocation"]
            return answer

    store, clock = MemoryStore(), Clock()
    with pytest.raises(BackendError, match="S3FailurePath") as caught:
        _async_backend(NoFailurePath(store), clock).generate(_async_job(), clock.deadline(60))
    assert caught.value.code == "backend_not_configured"


def test_an_expired_invocation_is_queued_again() -> None:
    store, clock = MemoryStore(), Clock()
    endpoint = AsyncEndpoint(store)
    backend = _async_backend(endpoint, clock)
    with pytest.raises(BackendTimeout):
        backend.generate(_async_job(), clock.deadline(20))
    # SageMaker dropped it: queued past its TTL and its run time, with no output written
    endpoint.queued = []
    clock.now += 3600 + 1800
    clock.on_sleep = endpoint.finish
    [image] = backend.generate(_async_job(seed=5), clock.deadline(20))
    assert (len(endpoint.calls), image.seed) == (2, 5)


def test_asynchronous_endpoints_need_an_s3_location() -> None:
    backend = SageMakerBackend(lambda timeout: pytest.fail("no client"))
    with pytest.raises(BackendUnavailable, match="no S3 location") as caught:
        backend.generate(_async_job(), Deadline.after(20))
    assert caught.value.should_retry is False


def test_asynchronous_submission_errors_are_translated() -> None:
    class Missing:
        def invoke_endpoint_async(self, **call: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ValidationError", "Message": "Endpoint x not found"}},
                "InvokeEndpointAsync",
            )

    store = MemoryStore()
    backend = SageMakerBackend(lambda timeout: Missing(), lambda: store)  # type: ignore[arg-type,return-value]
    with pytest.raises(BackendError, match="not found") as caught:
        backend.generate(_async_job(), Deadline.after(20))
    assert caught.value.should_retry is False


def _large_input_job(backend_params: dict[str, Any]) -> GenerationSpec:
    """A job whose endpoint body is over 6 MB: a model that works at 2048x2048, and a
    picture of noise as its input (PNG cannot shrink it)."""
    from handler.core.image_input import ImageInputs, InputImage

    prices = {"image": {"2048x2048": 9000}, "edit": {"2048x2048": 9000}}
    model = with_placement(
        CATALOG.get("sd-imagegate"),
        backend_params,
        sizes=["2048x2048"],
        default_size="2048x2048",
        prices=prices,
    )
    side = 2048
    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG", compress_level=1)
    picture = InputImage(buffer.getvalue(), "png", side, side, has_alpha=False)
    request = GenerationRequest.model_validate({"prompt": "a fox", "seed": 1})
    return replace(
        build_spec(model, request, "req_big"),
        inputs=ImageInputs((picture,), image_param="imageDataUrl"),
        strength=0.5,
    )


def test_a_body_too_large_for_a_real_time_endpoint_is_refused_before_invoking() -> None:
    job = _large_input_job(CATALOG.get("sd-imagegate").backend_params)
    endpoint = FakeEndpoint()  # expects nothing: any call fails the test
    with pytest.raises(PayloadTooLarge) as caught:
        _backend(endpoint).generate(job, Deadline.after(25))
    # refused as the client's, naming the parameter it came in, and nothing was invoked
    assert caught.value.param == "imageDataUrl"
    assert endpoint.calls == []


def test_an_asynchronous_endpoint_takes_a_body_too_large_for_real_time() -> None:
    store, clock = MemoryStore(), Clock()
    endpoint = AsyncEndpoint(store)
    clock.on_sleep = endpoint.finish
    job = _large_input_job(ASYNC_PARAMS)
    [image] = _async_backend(endpoint, clock).generate(job, clock.deadline(60))
    [staged] = endpoint.inputs
    body = json.loads(staged)
    assert len(staged) > REAL_TIME_MAX_BYTES
    assert open_image(base64.b64decode(body["image"])).size == (2048, 2048)
    assert (body["strength"], image.seed) == (0.5, 1)


@pytest.mark.parametrize(
    "params",
    [
        {"endpoint_name": "e", "contract": "imagegate", "max_seconds": 600},
        {
            "endpoint_name": "e",
            "contract": "imagegate",
            "invocation": "async",
            "inference_component": "c",
        },
        {"endpoint_name": "e", "contract": "imagegate", "invocation": "async", "max_seconds": 7200},
    ],
)
def test_asynchronous_options_only_where_they_apply(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SageMakerParams.model_validate(params)


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
    from handler.backends.sagemaker.contracts import ImagegateContract
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
    job = build_spec(CATALOG.get("sd-imagegate"), request, "req", from_request(request))
    sent = json.loads(ImagegateContract().request(job, job.seeds))
    assert base64.b64decode(sent["image"]) == image
    assert sent["strength"] == 0.4
    mask = open_image(base64.b64decode(sent["mask"]))
    assert (mask.mode, mask.getextrema()) == ("L", (255, 255))
