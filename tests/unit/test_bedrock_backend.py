"""The Bedrock adapter on a stubbed bedrock-runtime client (no network): the bodies each
family documents, its answers, every error, the deadline, and what the stack grants."""

import base64
import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from PIL import Image

from handler.backends.bedrock import BedrockBackend, Grants
from handler.backends.bedrock.client import runtime_client
from handler.backends.bedrock.grants import Target
from handler.backends.bedrock.stability import aspect_ratio
from handler.core.catalog import load_catalog
from handler.core.deadline import Deadline
from handler.core.errors import (
    ApiError,
    BackendError,
    BackendNotConfigured,
    BackendRefused,
    BackendTimeout,
    BackendUnavailable,
    ContentFiltered,
    InvalidRequest,
)
from handler.core.image_input import ImageSources
from handler.core.schemas import GenerationRequest
from handler.core.spec import GenerationSpec
from handler.core.spec_rules import build_spec
from handler.money.pricing import unit_price
from tests.image_samples import picture, top_half_mask
from tests.support import ROOT, open_image

CATALOG = load_catalog(ROOT / "infra" / "catalog.json")
# Before Nova Canvas's end of life (2026-09-30), so its adapter stays tested.
RUNNING = date(2026, 9, 1)
GRANTS = Grants(
    "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-ultra-v1:1,"
    "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1,"
    "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0,"
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-canvas-v1:0"
)


def _spec(model: str, sources: ImageSources | None = None, **body: Any) -> GenerationSpec:
    request = GenerationRequest.model_validate({"model": model, "prompt": "a fox", **body})
    return build_spec(
        CATALOG.get(model, today=RUNNING), request, "req_test", sources or ImageSources()
    )


def _png(
    size: tuple[int, int], colour: tuple[int, ...] = (200, 40, 40), mode: str = "RGB"
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _answer(payload: dict[str, Any]) -> dict[str, Any]:
    data = json.dumps(payload).encode()
    return {"body": StreamingBody(io.BytesIO(data), len(data)), "contentType": "application/json"}


def _stability(seed: int, size: tuple[int, int] = (1024, 1024)) -> dict[str, Any]:
    encoded = base64.b64encode(_png(size)).decode()
    return _answer({"seeds": [seed], "finish_reasons": [None], "images": [encoded]})


def _nova(size: tuple[int, int] = (1024, 1024)) -> dict[str, Any]:
    return _answer({"images": [base64.b64encode(_png(size)).decode()]})


class Stubbed:
    """A real bedrock-runtime client under Stubber, with what the backend sent recorded."""

    def __init__(self) -> None:
        self.client = boto3.client("bedrock-runtime", region_name="us-west-2")
        self.stubber = Stubber(self.client)
        self.sent: list[dict[str, Any]] = []
        self.clients: list[tuple[str, int]] = []
        events = self.client.meta.events
        events.register("before-parameter-build.bedrock-runtime.InvokeModel", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.sent.append({"model": params["modelId"], **json.loads(params["body"])})

    def factory(self, region: str, read_timeout: int) -> Any:
        self.clients.append((region, read_timeout))
        return self.client

    def backend(self, grants: Grants = GRANTS, now: Any = None) -> BedrockBackend:
        if now is None:
            return BedrockBackend(grants, self.factory)
        return BedrockBackend(grants, self.factory, now=now)


@pytest.fixture
def bedrock() -> Iterator[Stubbed]:
    stubbed = Stubbed()
    with stubbed.stubber:
        yield stubbed
        stubbed.stubber.assert_no_pending_responses()


def test_stability_text_to_image_body_and_the_exact_size(bedrock: Stubbed) -> None:
    bedrock.stubber.add_response("invoke_model", _stability(4242, (1216, 832)))
    spec = _spec(
        "sd3.5-large", size="1536x1024", seed=7, negative_prompt="fog", output_format="webp"
    )
    [image] = bedrock.backend().generate(spec, Deadline.after(25))
    assert bedrock.sent == [
        {
            "model": "stability.sd3-5-large-v1:0",
            "prompt": "a fox",
            "seed": 7,
            "output_format": "webp",
            "negative_prompt": "fog",
            "aspect_ratio": "3:2",
        }
    ]
    opened = open_image(image.data)
    assert (opened.size, opened.format, image.seed) == ((1536, 1024), "WEBP", 4242)
    [(region, read_timeout)] = bedrock.clients
    assert region == "us-west-2"
    assert 20 <= read_timeout <= 25


def test_a_format_the_model_does_not_encode_is_asked_as_png_and_converted(
    bedrock: Stubbed,
) -> None:
    bedrock.stubber.add_response("invoke_model", _stability(1))
    [image] = bedrock.backend().generate(
        _spec("stable-image-core", output_format="webp"), Deadline.after(25)
    )
    assert bedrock.sent[0]["output_format"] == "png"
    assert open_image(image.data).format == "WEBP"


@pytest.mark.parametrize(
    ("model", "mode"), [("sd3.5-large", {"mode": "image-to-image"}), ("stable-image-ultra", {})]
)
def test_stability_image_to_image(bedrock: Stubbed, model: str, mode: dict[str, str]) -> None:
    bedrock.stubber.add_response("invoke_model", _stability(5))
    source = picture((640, 640))
    spec = _spec(model, ImageSources(images=(source,)), strength=0.4)
    bedrock.backend().generate(spec, Deadline.after(25))
    [sent] = bedrock.sent
    assert "aspect_ratio" not in sent
    # Cropped to the size's proportions first (here the default, 1024x1024): never stretched
    assert open_image(base64.b64decode(sent["image"])).size == (1024, 1024)
    assert {k: sent[k] for k in ("strength", *mode)} == {"strength": 0.4, **mode}


def test_nova_text_to_image_body(bedrock: Stubbed) -> None:
    bedrock.stubber.add_response("invoke_model", _nova((1280, 720)))
    spec = _spec(
        "nova-canvas", size="1280x720", seed=3, quality="hd", guidance_scale=8, negative_prompt="x"
    )
    [image] = bedrock.backend().generate(spec, Deadline.after(25))
    assert bedrock.sent == [
        {
            "model": "amazon.nova-canvas-v1:0",
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": "a fox", "negativeText": "x"},
            "imageGenerationConfig": {
                "numberOfImages": 1,
                "seed": 3,
                "cfgScale": 8,
                "width": 1280,
                "height": 720,
                "quality": "premium",
            },
        }
    ]
    assert (image.seed, open_image(image.data).size) == (3, (1280, 720))
    assert [region for region, _ in bedrock.clients] == ["us-east-1"]


def test_nova_variation_of_several_images_stays_as_close_as_strength_says(
    bedrock: Stubbed,
) -> None:
    bedrock.stubber.add_response("invoke_model", _nova())
    sources = ImageSources(images=(picture((512, 512), "WEBP"), picture((800, 600))))
    bedrock.backend().generate(_spec("nova-canvas", sources, strength=0.3), Deadline.after(25))
    [sent] = bedrock.sent
    assert sent["taskType"] == "IMAGE_VARIATION"
    params = sent["imageVariationParams"]
    assert params["similarityStrength"] == pytest.approx(0.7)
    for encoded in params["images"]:  # PNG (no WebP), fitted to the size asked for
        opened = open_image(base64.b64decode(encoded))
        assert (opened.format, opened.size) == ("PNG", (1024, 1024))


def test_nova_inpainting_paints_the_region_black_on_white(bedrock: Stubbed) -> None:
    bedrock.stubber.add_response("invoke_model", _nova((512, 512)))
    # OpenAI's mask: transparent where to repaint (the left half here).
    mask = Image.new("RGBA", (512, 512), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 256, 512))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    sources = ImageSources(images=(picture((512, 512)),), mask=buffer.getvalue())
    [image] = bedrock.backend().generate(
        _spec("nova-canvas", sources, size="512x512"), Deadline.after(25)
    )
    [sent] = bedrock.sent
    assert sent["taskType"] == "INPAINTING"
    assert "width" not in sent["imageGenerationConfig"]
    painted = open_image(base64.b64decode(sent["inPaintingParams"]["maskImage"])).convert("L")
    assert (painted.getpixel((10, 10)), painted.getpixel((500, 10))) == (0, 255)
    assert {value for _, value in painted.getcolors() or []} == {0, 255}
    assert open_image(image.data).size == (512, 512)


def test_inpainting_takes_one_image_refused_before_any_call(bedrock: Stubbed) -> None:
    sources = ImageSources(images=(picture((512, 512)), picture((512, 512))), mask=_png((512, 512)))
    with pytest.raises(InvalidRequest) as refused:
        bedrock.backend().generate(_spec("nova-canvas", sources), Deadline.after(25))
    assert refused.value.param == "image"
    assert bedrock.sent == []


def test_one_filtered_image_among_several_is_left_out(bedrock: Stubbed) -> None:
    filtered = _answer({"finish_reasons": ["Filter reason: output image"]})
    for answer in (_stability(1), filtered, _stability(3)):
        bedrock.stubber.add_response("invoke_model", answer)
    images = bedrock.backend().generate(_spec("stable-image-ultra", n=3), Deadline.after(25))
    assert len(images) == 2  # charged as delivered


@pytest.mark.parametrize(
    ("model", "answer"),
    [
        ("sd3.5-large", {"finish_reasons": ["Filter reason: prompt"]}),
        ("nova-canvas", {"images": [], "error": "An image was blocked by our content filters."}),
    ],
)
def test_every_image_filtered_is_a_content_policy_violation(
    bedrock: Stubbed, model: str, answer: dict[str, Any]
) -> None:
    bedrock.stubber.add_response("invoke_model", _answer(answer))
    with pytest.raises(ContentFiltered):
        bedrock.backend().generate(_spec(model), Deadline.after(25))


def test_a_prompt_refused_by_the_filters_is_a_content_policy_violation(bedrock: Stubbed) -> None:
    message = "This request has been blocked by our content filters. Our filters flagged it."
    for _ in range(2):
        bedrock.stubber.add_client_error("invoke_model", "ValidationException", message, 400)
    with pytest.raises(ContentFiltered) as refused:
        bedrock.backend().generate(_spec("nova-canvas", n=2), Deadline.after(25))
    assert refused.value.code == "content_policy_violation"


def test_an_inference_error_is_the_backends(bedrock: Stubbed) -> None:
    bedrock.stubber.add_response("invoke_model", _answer({"finish_reasons": ["Inference error"]}))
    with pytest.raises(BackendError, match="Inference error"):
        bedrock.backend().generate(_spec("sd3.5-large"), Deadline.after(25))


@pytest.mark.parametrize(
    ("code", "status", "error", "api_code", "retry_after"),
    [
        ("ThrottlingException", 429, BackendUnavailable, "backend_unavailable", 2),
        ("ServiceUnavailableException", 503, BackendUnavailable, "backend_unavailable", 5),
        ("ModelNotReadyException", 429, BackendUnavailable, "backend_unavailable", 10),
        ("ServiceQuotaExceededException", 400, BackendUnavailable, "backend_unavailable", 10),
        ("InternalServerException", 500, BackendUnavailable, "backend_unavailable", 5),
        ("AccessDeniedException", 403, BackendNotConfigured, "backend_not_configured", None),
        ("ResourceNotFoundException", 404, BackendNotConfigured, "backend_not_configured", None),
        ("ModelTimeoutException", 408, BackendTimeout, "backend_timeout", None),
        ("ModelErrorException", 424, BackendError, "backend_error", None),
    ],
)
def test_bedrock_errors(
    bedrock: Stubbed,
    code: str,
    status: int,
    error: type[ApiError],
    api_code: str,
    retry_after: int | None,
) -> None:
    bedrock.stubber.add_client_error("invoke_model", code, "said Bedrock", status)
    with pytest.raises(error) as raised:
        bedrock.backend().generate(_spec("stable-image-core"), Deadline.after(25))
    assert (raised.value.code, raised.value.retry_after) == (api_code, retry_after)


def test_access_not_granted_says_what_to_enable_and_hides_the_model(bedrock: Stubbed) -> None:
    clock = [1000.0]
    backend = bedrock.backend(now=lambda: clock[0])
    model = CATALOG.get("stable-image-ultra")
    assert backend.unserved(model) is None
    bedrock.stubber.add_client_error(
        "invoke_model",
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
        403,
    )
    with pytest.raises(BackendNotConfigured) as refused:
        backend.generate(_spec("stable-image-ultra"), Deadline.after(25))
    assert "Model access" in refused.value.message
    assert "us-west-2" in refused.value.message
    assert backend.unserved(model) is not None  # GET /v1/models stops listing it
    clock[0] += 301
    assert backend.unserved(model) is None  # and asks again later


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ("Malformed input request: #/textToImageParams/text: expected maxLength: 1024", "prompt"),
        ("Malformed input request: #/imageGenerationConfig/seed: 2147483647 is not <=", "seed"),
        ("#/textToImageParams/negativeText: expected minLength: 1", "negative_prompt"),
        ("#/inPaintingParams/maskImage: must be the same size", "mask"),
        ("Malformed input request: #/imageGenerationConfig/width: not divisible by 16", "size"),
    ],
)
def test_a_validation_error_naming_a_field_is_a_bad_request(
    bedrock: Stubbed, message: str, param: str
) -> None:
    bedrock.stubber.add_client_error("invoke_model", "ValidationException", message, 400)
    with pytest.raises(InvalidRequest) as refused:
        bedrock.backend().generate(_spec("nova-canvas"), Deadline.after(25))
    assert refused.value.param == param
    assert not isinstance(refused.value, ContentFiltered)


def test_a_validation_error_naming_nothing_is_a_bad_gateway(bedrock: Stubbed) -> None:
    bedrock.stubber.add_client_error("invoke_model", "ValidationException", "Unknown cause", 400)
    with pytest.raises(BackendRefused):
        bedrock.backend().generate(_spec("nova-canvas"), Deadline.after(25))


def test_a_model_only_served_through_a_profile_says_so(bedrock: Stubbed) -> None:
    message = "Invocation of model ID x with on-demand throughput isn\u2019t supported."
    bedrock.stubber.add_client_error("invoke_model", "ValidationException", message, 400)
    with pytest.raises(BackendNotConfigured, match="inference profile"):
        bedrock.backend().generate(_spec("stable-image-core"), Deadline.after(25))


def test_past_the_deadline_nothing_is_invoked(bedrock: Stubbed) -> None:
    with pytest.raises(BackendTimeout):
        bedrock.backend().generate(_spec("stable-image-core"), Deadline.after(0.5))
    assert bedrock.sent == []


def test_a_read_past_the_deadline_is_a_timeout() -> None:
    class Slow:
        def invoke_model(self, **_: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="https://bedrock-runtime")

    backend = BedrockBackend(GRANTS, lambda region, seconds: cast(Any, Slow()))
    with pytest.raises(BackendTimeout):
        backend.generate(_spec("stable-image-core"), Deadline.after(25))


def test_the_client_never_retries_and_reads_for_the_deadline() -> None:
    client = runtime_client("us-west-2", 17)
    config: Any = client.meta.config
    assert (config.retries["total_max_attempts"], config.read_timeout) == (1, 17)
    assert client.meta.region_name == "us-west-2"


def test_grants_serve_granted_models_where_their_arn_says() -> None:
    grants = Grants(
        "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0, "
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.stability.sd3-5-large-v1:0,"
        "arn:aws:bedrock:*::foundation-model/amazon.nova-canvas-v1:0,"
        "not-an-arn,"
    )
    # The inference profile is preferred, called in its own region.
    assert grants.target("stability.sd3-5-large-v1:0") == Target(
        "us.stability.sd3-5-large-v1:0", "us-east-1"
    )
    assert grants.target("amazon.nova-canvas-v1:0") is None  # a destination, not a place
    assert Grants("").target("stability.sd3-5-large-v1:0") is None


def test_a_model_the_stack_does_not_grant_is_not_served(bedrock: Stubbed) -> None:
    backend = bedrock.backend(Grants("arn:aws:bedrock:us-west-2::foundation-model/other"))
    assert backend.unserved(CATALOG.get("stable-image-core")) is not None
    with pytest.raises(BackendNotConfigured, match="BedrockModelArns"):
        backend.generate(_spec("stable-image-core"), Deadline.after(25))


@pytest.mark.parametrize(
    ("size", "ratio"),
    [("1024x1024", "1:1"), ("1792x1024", "16:9"), ("1024x1536", "2:3"), ("640x1536", "9:21")],
)
def test_stability_aspect_ratio_is_the_nearest(size: str, ratio: str) -> None:
    width, height = (int(side) for side in size.split("x"))
    assert aspect_ratio(width, height) == ratio


def test_bedrock_models_seeds_stay_in_their_range() -> None:
    spec = _spec("nova-canvas", n=3, seed=2_147_483_645)
    assert spec.seeds == (2_147_483_645, 2_147_483_646, 0)
    with pytest.raises(InvalidRequest) as refused:
        _spec("nova-canvas", seed=2_147_483_647)
    assert refused.value.param == "seed"
    assert all(seed <= 2_147_483_646 for seed in _spec("nova-canvas", n=5).seeds)


@pytest.mark.parametrize(
    "payload",
    [
        {"finish_reasons": [None], "images": [None], "seeds": [1]},
        {"finish_reasons": [None], "images": ["not base64!"], "seeds": [1]},
        {"finish_reasons": [None], "images": [base64.b64encode(b"x").decode()], "seeds": ["?"]},
        ["not", "an", "object"],
    ],
)
def test_an_odd_answer_is_the_backends_error_not_a_crash(bedrock: Stubbed, payload: Any) -> None:
    bedrock.stubber.add_response("invoke_model", _answer(payload))
    with pytest.raises(BackendError):
        bedrock.backend().generate(_spec("sd3.5-large"), Deadline.after(25))


def test_a_filter_reason_sent_alone_is_still_a_filter(bedrock: Stubbed) -> None:
    bedrock.stubber.add_response(
        "invoke_model", _answer({"finish_reasons": "Filter reason: prompt"})
    )
    with pytest.raises(ContentFiltered):
        bedrock.backend().generate(_spec("sd3.5-large"), Deadline.after(25))


def test_one_model_timeout_among_several_loses_that_image_only(bedrock: Stubbed) -> None:
    bedrock.stubber.add_response("invoke_model", _stability(1))
    bedrock.stubber.add_client_error("invoke_model", "ModelTimeoutException", "slow", 408)
    bedrock.stubber.add_response("invoke_model", _stability(3))
    assert len(bedrock.backend().generate(_spec("stable-image-core", n=3), Deadline.after(25))) == 2


def test_every_image_timed_out_by_the_model_is_a_timeout(bedrock: Stubbed) -> None:
    for _ in range(2):
        bedrock.stubber.add_client_error("invoke_model", "ModelTimeoutException", "slow", 408)
    with pytest.raises(BackendTimeout):
        bedrock.backend().generate(_spec("stable-image-core", n=2), Deadline.after(25))


def test_nova_is_billed_and_priced_by_quality_whatever_the_task(bedrock: Stubbed) -> None:
    bedrock.stubber.add_response("invoke_model", _nova((512, 512)))
    sources = ImageSources(images=(picture((512, 512)),), mask=top_half_mask(512))
    spec = _spec("nova-canvas", sources, size="512x512", quality="hd")
    bedrock.backend().generate(spec, Deadline.after(25))
    assert bedrock.sent[0]["imageGenerationConfig"]["quality"] == "premium"
    assert (
        unit_price(spec)
        == CATALOG.get("nova-canvas", today=RUNNING).prices.quality["hd"]["512x512"]
    )
    assert unit_price(_spec("nova-canvas", sources, size="512x512")) == 40_000
