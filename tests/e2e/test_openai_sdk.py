"""The official OpenAI SDK against a running stack, as a user would drive it."""

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import LocalStackProcess, Stack
from tests.image_samples import picture
from tests.support import (
    FORMATS,
    ROOT,
    open_image,
    presigned_params,
    recompute_presigned_signature,
)

pytestmark = pytest.mark.e2e


def test_url_results_download_as_images_of_the_asked_size(stack: Stack) -> None:
    # When the SDK asks for two 1024x1024 images by URL
    result = stack.client().images.generate(
        model="imagegate-preview", prompt="a lighthouse at dusk", size="1024x1024", n=2
    )
    # Then each URL downloads, within its 300 s, as a 1024x1024 PNG
    assert result.data is not None
    assert len(result.data) == 2
    for image in result.data:
        assert image.url is not None
        params = presigned_params(image.url)
        assert params["X-Amz-Expires"] == "300"
        if stack.signing_keys:
            expected = recompute_presigned_signature(image.url, *stack.signing_keys)
            assert expected == params["X-Amz-Signature"]
        download = httpx.get(image.url, timeout=30)
        assert download.status_code == 200
        assert download.headers["content-type"] == "image/png"
        decoded = open_image(download.content)
        assert (decoded.size, decoded.format) == ((1024, 1024), "PNG")


@pytest.mark.parametrize(
    ("size", "output_format"), [("512x512", "webp"), ("1536x1024", "jpeg"), ("256x256", "png")]
)
def test_b64_json_results_decode(stack: Stack, size: Any, output_format: Any) -> None:
    result = stack.client().images.generate(
        prompt="a lighthouse at dusk",
        size=size,
        response_format="b64_json",
        output_format=output_format,
        extra_body={"seed": 1234, "negative_prompt": "fog"},
    )
    assert result.data is not None
    [image] = result.data
    assert image.b64_json is not None
    decoded = open_image(base64.b64decode(image.b64_json))
    width, height = (int(side) for side in size.split("x"))
    assert (decoded.size, decoded.format) == ((width, height), FORMATS[output_format])
    assert image.model_extra == {"seed": 1234}


def test_a_bad_key_is_an_authentication_error(stack: Stack) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        stack.client(api_key="ig_0123456789abcdef_" + "a" * 43).images.generate(prompt="x")
    assert caught.value.code == "invalid_api_key"


def test_a_bad_size_is_a_bad_request_naming_size(stack: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().images.generate(prompt="a lighthouse", size="1000x1000")
    assert caught.value.param == "size"
    assert caught.value.type == "invalid_request_error"


def test_an_unknown_model_is_not_found(stack: Stack) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        stack.client().images.generate(model="dall-e-9", prompt="a lighthouse")
    assert (caught.value.param, caught.value.code) == ("model", "model_not_found")


def test_models_and_request_ids(stack: Stack) -> None:
    client = stack.client()
    assert "imagegate-preview" in [model.id for model in client.models.list()]
    raw = client.images.with_raw_response.generate(prompt="a lighthouse", size="256x256")
    assert raw.headers["x-request-id"] == raw.parse().model_extra["id"]  # type: ignore[index]


def test_keys_created_from_the_cli_work_on_the_running_stack(local_stack: Stack) -> None:
    assert local_stack.state_dir is not None
    created = subprocess.run(
        [
            str(Path(sys.executable).parent / "imagegate"),
            "keys",
            "--local",
            "--state-dir",
            str(local_stack.state_dir),
            "create",
            "--name",
            "e2e",
            "--balance",
            "0.01",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    new_key = created.stdout.strip().splitlines()[-1]
    result = local_stack.client(api_key=new_key).images.generate(prompt="x", size="256x256")
    assert result.data is not None
    assert len(result.data) == 1


def test_a_restarted_stack_reuses_its_dev_key(tmp_path: Path) -> None:
    keys = []
    for _ in range(2):
        process = LocalStackProcess(tmp_path / "state")
        try:
            values = process.wait_ready()
            with openai.OpenAI(
                base_url=values["IMAGEGATE_BASE_URL"],
                api_key=values["IMAGEGATE_API_KEY"],
                max_retries=0,
            ) as client:
                assert client.images.generate(prompt="x", size="256x256").data
            keys.append(values["IMAGEGATE_API_KEY"])
        finally:
            process.stop()
    assert keys[0] == keys[1]
    assert (tmp_path / "state" / "dev-key").stat().st_mode & 0o077 == 0


def test_the_sdk_streams_partial_images_then_the_completed_image(stack: Stack) -> None:
    # When the SDK streams a gpt-image generation with two partial images
    events = list(
        stack.client().images.generate(
            model="gpt-image-1", prompt="a lighthouse at dusk", stream=True, partial_images=2
        )
    )
    # Then it iterates the two partials, in order, then one completed event
    assert [event.type for event in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert [getattr(event, "partial_image_index", None) for event in events[:2]] == [0, 1]
    completed = events[-1]
    assert completed.type == "image_generation.completed"
    final = open_image(base64.b64decode(completed.b64_json))
    assert (final.size, final.format) == ((1024, 1024), "PNG")
    assert completed.usage.input_tokens_details is not None


def test_the_sdk_streams_an_edit(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "in.png").write_bytes(picture((1024, 1024)))
    with (tmp_path / "in.png").open("rb") as image:
        events = list(
            stack.client().images.edit(
                model="gpt-image-1",
                image=[image],
                prompt="a red fox",
                stream=True,
                partial_images=1,
            )
        )
    assert [event.type for event in events] == ["image_edit.partial_image", "image_edit.completed"]


def test_the_sdk_creates_variations(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "otter.png").write_bytes(picture((256, 256)))
    with (tmp_path / "otter.png").open("rb") as image:
        result = stack.client().images.create_variation(
            image=image, model="dall-e-2", n=2, size="256x256", response_format="b64_json"
        )
    assert result.data is not None
    assert len(result.data) == 2
    for item in result.data:
        assert item.b64_json is not None
        assert open_image(base64.b64decode(item.b64_json)).size == (256, 256)
