"""Image input through the OpenAI SDK (images.edit) and nano-gpt-style JSON, on a stack."""

import base64
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.image_samples import data_url, picture, top_half_mask
from tests.support import open_image

pytestmark = pytest.mark.e2e
RED = (200, 30, 30)


def test_sdk_edit_with_a_mask(stack: Stack) -> None:
    result = stack.client().images.edit(
        model="imagegate-preview",  # the pixel checks below are the preview's behaviour
        image=("red.png", picture((256, 256), colour=RED), "image/png"),
        mask=("mask.png", top_half_mask(256, "alpha"), "image/png"),
        prompt="a blue sky over a red field",
        size="256x256",
        response_format="b64_json",
        extra_body={"strength": 1.0, "seed": 3},
    )
    assert result.data is not None
    assert result.data[0].b64_json is not None
    image = open_image(base64.b64decode(result.data[0].b64_json)).convert("RGB")
    assert image.size == (256, 256)
    assert image.getpixel((128, 60)) != RED  # edited under the transparent half
    assert image.getpixel((128, 180)) == RED  # kept under the opaque half


def test_nano_gpt_style_json(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.base_url}/images/generations",
        headers={"Authorization": f"Bearer {stack.api_key}"},
        json={
            "prompt": "the same, in blue",
            "size": "256x256",
            "response_format": "b64_json",
            "imageDataUrl": data_url(picture((256, 256), colour=RED)),
            "strength": 0.5,
        },
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1


def test_sdk_edit_reaches_sdxl_on_replicate(local_stack: Stack) -> None:
    # Given the local stack's Replicate played by the fake
    assert local_stack.replicate is not None
    sent = picture((1024, 1024), colour=RED)
    # When the SDK edits with SDXL
    result = local_stack.client().images.edit(
        model="sdxl",
        image=("red.png", sent, "image/png"),
        prompt="a lighthouse",
        size="1024x1024",
        response_format="b64_json",
    )
    # Then the image came back, and the very bytes sent reached the model's input
    assert result.data is not None
    assert result.data[0].b64_json is not None
    assert open_image(base64.b64decode(result.data[0].b64_json)).size == (1024, 1024)
    creates = [
        r for r in local_stack.replicate.requests if r["path"] == "/v1/predictions" and r["json"]
    ]
    given = creates[-1]["json"]["input"]
    assert base64.b64decode(given["image"].split(",", 1)[1]) == sent
    assert given["prompt_strength"] == 0.8


def test_an_async_edit_with_files_through_the_stack(stack: Stack) -> None:
    # Given an edit sent as the SDK sends it (multipart), asked to run asynchronously
    auth = {"Authorization": f"Bearer {stack.api_key}"}
    queued = httpx.post(
        f"{stack.base_url}/images/edits",
        headers={**auth, "Prefer": "respond-async"},
        files=[
            ("image", ("red.png", picture((256, 256), colour=RED), "image/png")),
            ("mask", ("mask.png", top_half_mask(256, "alpha"), "image/png")),
        ],
        data={"prompt": "a blue sky", "size": "256x256", "strength": "1", "seed": "3"},
        timeout=60,
    )
    assert queued.status_code == 202, queued.text
    assert "x-ratelimit-remaining-requests" in queued.headers
    # When its Location is polled from the base URL's origin
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(stack.base_url))
    job = queued.json()
    for _ in range(600):
        job = httpx.get(origin + queued.headers["location"], headers=auth, timeout=30).json()
        if job["status"] != "in_progress":
            break
        time.sleep(0.1)
    # Then the job ran the edit the files asked for
    assert job["status"] == "succeeded", job
    image = open_image(httpx.get(job["result"]["data"][0]["url"], timeout=30).content)
    assert image.convert("RGB").getpixel((128, 180)) == RED
