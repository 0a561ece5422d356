"""Bedrock's model families through the local stack and the OpenAI SDK, bedrock-runtime
played by the fake (the real boto3 client signs and sends to it)."""

import base64

import httpx
import openai
import pytest

from tests.e2e.conftest import Stack
from tests.image_samples import picture, top_half_mask
from tests.support import open_image, pixels

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("stable-image-ultra", "1024x1024"),
        ("sd3.5-large", "1536x1024"),
    ],
)
def test_each_family_by_url_and_inline_with_seeds_that_reproduce(
    local_stack: Stack, model: str, size: str
) -> None:
    client = local_stack.client()
    listed = {item.id for item in client.models.list()}
    assert {"stable-image-ultra", "stable-image-core", "sd3.5-large"} <= listed
    width, height = (int(side) for side in size.split("x"))
    by_url = client.images.generate(model=model, prompt="a lighthouse", size=size, n=2)
    assert by_url.data is not None
    assert len(by_url.data) == 2
    seeds = [(item.model_extra or {})["seed"] for item in by_url.data]
    fetched = [httpx.get(str(item.url), timeout=30).content for item in by_url.data]
    assert all(open_image(data).size == (width, height) for data in fetched)
    again = client.images.generate(
        model=model,
        prompt="a lighthouse",
        size=size,
        response_format="b64_json",
        extra_body={"seed": seeds[1]},
    )
    assert again.data is not None
    assert again.data[0].b64_json is not None
    # The same picture; each file's manifest names its own request
    assert pixels(base64.b64decode(again.data[0].b64_json)) == pixels(fetched[1])


def test_stability_image_to_image_by_sdk_edit(local_stack: Stack) -> None:
    result = local_stack.client().images.edit(
        model="stable-image-ultra",
        image=("in.png", picture((640, 640)), "image/png"),
        prompt="as a watercolour",
        response_format="b64_json",
        extra_body={"strength": 0.6},
    )
    assert result.data is not None
    assert result.data[0].b64_json is not None
    assert local_stack.bedrock is not None
    sent = local_stack.bedrock.bodies("stability.stable-image-ultra-v1:1")[-1]
    assert (sent["strength"], "aspect_ratio" in sent) == (0.6, False)


def test_nova_canvas_is_past_its_end_of_life_and_names_its_successor(local_stack: Stack) -> None:
    # Granted (BEDROCK_GRANTS) but past the date the default catalog gives it: a client
    # that still asks for it learns where to go, and is charged nothing.
    client = local_stack.client()
    assert "nova-canvas" not in {item.id for item in client.models.list()}
    with pytest.raises(openai.APIStatusError) as generating:
        client.images.generate(model="nova-canvas", prompt="a red door")
    with pytest.raises(openai.APIStatusError) as editing:
        client.images.edit(
            model="nova-canvas",
            image=("in.png", picture((512, 512)), "image/png"),
            mask=("mask.png", top_half_mask(512, "alpha"), "image/png"),
            prompt="a red door",
        )
    for refused in (generating.value, editing.value):
        assert (refused.status_code, refused.code) == (410, "model_shut_down")
        assert "2026-09-30" in refused.message
        assert "stable-image-ultra" in refused.message
    assert local_stack.bedrock is not None
    assert local_stack.bedrock.bodies("amazon.nova-canvas-v1:0") == []


def test_a_filtered_prompt_is_a_bad_request(local_stack: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        local_stack.client().images.generate(model="sd3.5-large", prompt="[filter]")
    assert caught.value.code == "content_policy_violation"


def test_throttled_is_a_503_with_retry_after(local_stack: Stack) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        local_stack.client().images.generate(model="stable-image-core", prompt="[throttle]")
    assert caught.value.status_code == 503
    assert caught.value.response.headers["retry-after"] == "2"
