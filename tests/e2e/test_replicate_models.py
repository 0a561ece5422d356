"""flux-schnell through the local stack and the OpenAI SDK, Replicate played by the fake."""

import base64
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import Stack
from tests.support import FORMATS, open_image

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("size", "output_format", "n"),
    [("1024x1024", "webp", 1), ("1536x1024", "png", 3), ("512x512", "jpeg", 8)],
)
def test_flux_schnell_sizes_formats_and_counts(
    local_stack: Stack, size: Any, output_format: Any, n: int
) -> None:
    result = local_stack.client().images.generate(
        model="flux-schnell",
        prompt="a lighthouse at dusk",
        size=size,
        n=n,
        output_format=output_format,
        response_format="b64_json",
    )
    assert result.data is not None
    assert len(result.data) == n
    width, height = (int(side) for side in size.split("x"))
    for image in result.data:
        assert image.b64_json is not None
        decoded = open_image(base64.b64decode(image.b64_json))
        assert (decoded.size, decoded.format) == ((width, height), FORMATS[output_format])


def test_flux_schnell_by_url(local_stack: Stack) -> None:
    result = local_stack.client().images.generate(
        model="flux-schnell", prompt="a lighthouse", size="1024x1024", n=2
    )
    assert result.data is not None
    for image in result.data:
        assert image.url is not None
        assert open_image(httpx.get(image.url, timeout=30).content).size == (1024, 1024)


def test_a_filtered_prompt_is_a_bad_request(local_stack: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        local_stack.client().images.generate(model="flux-schnell", prompt="[nsfw]")
    assert caught.value.code == "content_policy_violation"
    assert local_stack.replicate is not None
    assert local_stack.replicate.running() == []
