"""The Replicate adapter against a local fake of Replicate's API."""

from collections.abc import Iterator
from typing import Any

import pytest

from handler.backends.replicate import ReplicateBackend, flux_geometry
from handler.core.catalog import load_catalog
from handler.core.deadline import Deadline
from handler.core.errors import BackendError, BackendTimeout, BackendUnavailable, ContentFiltered
from handler.core.schemas import GenerationRequest
from handler.core.spec import GenerationSpec
from handler.core.spec_rules import build_spec
from tests.fakes.replicate_api import FakeReplicate
from tests.support import FORMATS, ROOT, open_image

CATALOG = load_catalog(ROOT / "infra" / "catalog.json")


@pytest.fixture
def fake() -> Iterator[FakeReplicate]:
    with FakeReplicate() as server:
        yield server


@pytest.fixture
def backend(fake: FakeReplicate) -> ReplicateBackend:
    return ReplicateBackend(lambda: fake.token, fake.base_url, poll_interval=0.02)


def _job(**body: Any) -> GenerationSpec:
    request = GenerationRequest.model_validate({"model": "flux-schnell", "prompt": "a fox", **body})
    return build_spec(CATALOG.get(request.model), request, "req_test")


def _creates(fake: FakeReplicate) -> list[dict[str, Any]]:
    return [
        r
        for r in fake.requests
        if r["method"] == "POST" and "cancel" not in r["path"] and r["path"] != "/v1/files"
    ]


@pytest.mark.parametrize(
    ("size", "output_format", "native"),
    [("1024x1024", "webp", True), ("1536x1024", "png", False), ("512x512", "jpeg", True)],
)
def test_flux_images_come_back_at_the_exact_size_and_format(
    fake: FakeReplicate, backend: ReplicateBackend, size: str, output_format: str, native: bool
) -> None:
    # Given a flux-schnell request for two images
    job = _job(size=size, output_format=output_format, n=2, seed=40)
    # When the backend runs it
    images = backend.generate(job, Deadline.after(20))
    # Then both are exactly what was asked, each with its own seed
    width, height = job.width, job.height
    for image, seed in zip(images, (40, 41), strict=True):
        decoded = open_image(image.data)
        assert (decoded.size, decoded.format) == ((width, height), FORMATS[output_format])
        assert image.seed == seed
    # And each was one prediction, in flux's own terms, waiting no longer than the deadline
    creates = _creates(fake)
    assert [c["path"] for c in creates] == [
        "/v1/models/black-forest-labs/flux-schnell/predictions"
    ] * 2
    ratio, megapixels = flux_geometry(width, height)
    for create in creates:
        given = create["json"]["input"]
        assert (given["aspect_ratio"], given["megapixels"], given["num_outputs"]) == (
            ratio,
            megapixels,
            1,
        )
        assert given["output_format"] == {"jpeg": "jpg"}.get(output_format, output_format)
        assert 1 <= int(create["prefer"].removeprefix("wait=")) <= 20
    assert sorted(c["json"]["input"]["seed"] for c in creates) == [40, 41]
    # And the model's own output was resized only where its grid lacks the size
    for prediction in fake.predictions.values():
        [returned] = prediction.files.values()
        assert (open_image(returned).size == (width, height)) is native


def test_eight_images_are_eight_parallel_predictions(
    fake: FakeReplicate, backend: ReplicateBackend
) -> None:
    images = backend.generate(_job(n=8, seed=1), Deadline.after(20))
    assert [image.seed for image in images] == list(range(1, 9))
    assert len(_creates(fake)) == 8
    assert fake.running() == []


def test_a_versioned_model_gets_its_own_inputs(
    fake: FakeReplicate, backend: ReplicateBackend
) -> None:
    job = _job(model="sdxl", size="1216x832", negative_prompt="blur", guidance_scale=6.5, steps=20)
    [image] = backend.generate(job, Deadline.after(20))
    assert open_image(image.data).size == (1216, 832)
    [create] = _creates(fake)
    assert create["path"] == "/v1/predictions"
    assert create["json"]["version"] == (
        "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"
    )
    given = create["json"]["input"]
    assert (given["width"], given["height"], given["negative_prompt"]) == (1216, 832, "blur")
    assert (given["guidance_scale"], given["num_inference_steps"]) == (6.5, 20)


def test_an_unfinished_prediction_is_polled_to_the_end(
    fake: FakeReplicate, backend: ReplicateBackend
) -> None:
    [image] = backend.generate(_job(prompt="a fox [starting]"), Deadline.after(20))
    assert image.width == 1024
    [prediction] = fake.predictions.values()
    assert prediction.polls == 2
    assert fake.running() == []


def test_past_the_deadline_every_prediction_is_cancelled(
    fake: FakeReplicate, backend: ReplicateBackend
) -> None:
    # Given predictions that never finish
    with pytest.raises(BackendTimeout) as caught:
        backend.generate(_job(prompt="a fox [slow]", n=3), Deadline.after(4))
    # Then the caller hears 504-worthy news, told not to retry...
    assert caught.value.should_retry is False
    # ...and every prediction that was started is cancelled: none is left running
    assert fake.predictions
    assert sorted(fake.cancellations) == sorted(fake.predictions)
    assert fake.running() == []


def test_too_little_time_starts_nothing(fake: FakeReplicate, backend: ReplicateBackend) -> None:
    with pytest.raises(BackendTimeout):
        backend.generate(_job(), Deadline.after(0.5))
    assert fake.requests == []


@pytest.mark.parametrize(
    ("marker", "error", "should_retry"),
    [
        ("[fail]", BackendError, False),
        ("[canceled]", BackendError, False),
        ("[gone]", BackendError, False),
        ("[throttle]", BackendUnavailable, True),
        ("[outage]", BackendUnavailable, True),
    ],
)
def test_failures_map_to_our_errors(
    fake: FakeReplicate,
    backend: ReplicateBackend,
    marker: str,
    error: type[Exception],
    should_retry: bool,
) -> None:
    with pytest.raises(error) as caught:
        backend.generate(_job(prompt=f"a fox {marker}"), Deadline.after(20))
    assert type(caught.value) is error
    assert caught.value.should_retry is should_retry  # type: ignore[attr-defined]
    assert fake.running() == []


def test_throttling_says_when_to_retry(fake: FakeReplicate, backend: ReplicateBackend) -> None:
    with pytest.raises(BackendUnavailable) as caught:
        backend.generate(_job(prompt="a fox [throttle]"), Deadline.after(20))
    assert caught.value.retry_after == 7  # Replicate's Retry-After header


def test_safety_filtered_images_are_left_out(
    fake: FakeReplicate, backend: ReplicateBackend
) -> None:
    # Seeds 2..5: the fake's checker removes the odd ones
    images = backend.generate(_job(prompt="a fox [nsfw-odd]", n=4, seed=2), Deadline.after(20))
    assert [image.seed for image in images] == [2, 4]


@pytest.mark.parametrize("marker", ["[nsfw]", "[nsfw-empty]"])
def test_all_images_filtered_is_a_content_policy_error(
    fake: FakeReplicate, backend: ReplicateBackend, marker: str
) -> None:
    with pytest.raises(ContentFiltered) as caught:
        backend.generate(_job(prompt=f"a fox {marker}", n=2), Deadline.after(20))
    assert (caught.value.code, caught.value.param) == ("content_policy_violation", "prompt")


def test_a_refused_token_is_a_backend_error(fake: FakeReplicate) -> None:
    backend = ReplicateBackend(lambda: "r8_wrong", fake.base_url, poll_interval=0.02)
    with pytest.raises(BackendError, match="refused this deployment's API token"):
        backend.generate(_job(), Deadline.after(20))


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1024, 1024), ("1:1", "1")),
        ((512, 512), ("1:1", "0.25")),
        ((1536, 1024), ("3:2", "1")),
        ((1280, 720), ("16:9", "1")),
        ((1792, 1024), ("16:9", "1")),  # 7:4 is not offered: the nearest ratio
    ],
)
def test_flux_geometry(size: tuple[int, int], expected: tuple[str, str]) -> None:
    assert flux_geometry(*size) == expected


def test_throttled_polls_are_retried_by_us_within_the_deadline(
    fake: FakeReplicate, backend: ReplicateBackend
) -> None:
    # Given a prediction whose every poll is answered 429 (the replicate client alone would
    # retry each poll itself, ten times, then fail with "lost track")
    with pytest.raises(BackendTimeout):
        backend.generate(_job(prompt="a fox [busy-poll]"), Deadline.after(4))
    # Then we kept polling until the deadline, and cancelled the prediction
    polls = [r for r in fake.requests if r["method"] == "GET"]
    assert len(polls) >= 2
    assert sorted(fake.cancellations) == sorted(fake.predictions)


def test_a_failed_cancel_is_tried_again(fake: FakeReplicate, backend: ReplicateBackend) -> None:
    with pytest.raises(BackendTimeout):
        backend.generate(_job(prompt="a fox [stubborn]"), Deadline.after(4))
    [prediction_id] = fake.predictions
    assert fake.cancel_attempts == [prediction_id, prediction_id]
    assert fake.running() == []


def _edit_job(image: bytes, mask: bytes | None = None, **body: Any) -> GenerationSpec:
    from handler.core.image_input import from_request
    from tests.image_samples import data_url

    fields: dict[str, Any] = {"model": "sdxl", "prompt": "a fox", "imageDataUrl": data_url(image)}
    if mask is not None:
        fields["maskDataUrl"] = data_url(mask)
    request = GenerationRequest.model_validate({**fields, **body})
    return build_spec(CATALOG.get("sdxl"), request, "req_test", from_request(request))


def test_input_image_and_mask_reach_sdxl_inline(
    fake: FakeReplicate, backend: ReplicateBackend
) -> None:
    import base64
    import io

    from PIL import Image, ImageDraw

    from tests.image_samples import picture

    # Given an image and an OpenAI-style mask: its transparent top half is to be edited
    image = picture((1024, 1024))
    openai_mask = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    ImageDraw.Draw(openai_mask).rectangle((0, 0, 1023, 511), fill=(0, 0, 0, 0))
    buffer = io.BytesIO()
    openai_mask.save(buffer, format="PNG")
    # When SDXL edits it
    backend.generate(_edit_job(image, buffer.getvalue(), strength=0.6), Deadline.after(20))
    # Then the image arrives as sent, and the mask in SDXL's terms: white is what to repaint
    [create] = _creates(fake)
    given = create["json"]["input"]
    assert base64.b64decode(given["image"].split(",", 1)[1]) == image
    sdxl_mask = open_image(base64.b64decode(given["mask"].split(",", 1)[1]))
    assert (sdxl_mask.getpixel((512, 100)), sdxl_mask.getpixel((512, 900))) == (255, 0)
    assert given["prompt_strength"] == 0.6


def test_a_large_input_is_uploaded_once(fake: FakeReplicate, backend: ReplicateBackend) -> None:
    from tests.image_samples import noise

    image = noise((700, 700))  # about 1.5 MB: too big to send inline
    backend.generate(_edit_job(image, n=2), Deadline.after(20))
    [(file_id, uploaded)] = fake.uploads.items()
    assert uploaded == image
    for create in _creates(fake):
        assert create["json"]["input"]["image"].endswith(f"/v1/files/{file_id}/download")
