"""Every image imagegate delivers carries a C2PA manifest that a reader trusting this
deployment's certificate validates, naming the model and saying a trained algorithm made it:
through the local API Gateway into the API function, as base64 and behind presigned URLs, in
each format; an edit, whose signed input keeps its manifest as an ingredient; an async job;
a batch line; a streamed generation's final images."""

import base64
import json
from typing import Literal

import httpx
import pytest
from openai import OpenAI

from handler import container
from handler.keys.auth import issue_key
from tests.image_samples import data_url, picture, top_half_mask
from tests.integration.conftest import Local
from tests.provenance import PROVIDER_MODEL, assert_marked, provider_signed
from tests.support import GENEROUS, new_key

PREVIEW = "imagegate-preview"


@pytest.fixture
def key(local: Local) -> str:
    return issue_key(
        container.key_store(), "provenance", GENEROUS, balance=10**9, now=0, actor="t", source="cli"
    ).plaintext


@pytest.mark.parametrize("output_format", ["png", "jpeg", "webp"])
@pytest.mark.parametrize("response_format", ["b64_json", "url"])
def test_every_generated_image_carries_our_manifest(
    origin: str,
    key: str,
    output_format: Literal["png", "jpeg", "webp"],
    response_format: Literal["url", "b64_json"],
) -> None:
    # Given a client of the deployed shape (gateway → Lambda handler → Mangum)
    with OpenAI(base_url=f"{origin}/v1", api_key=key, max_retries=0) as client:
        # When it asks for two images in a format, inline or by URL
        result = client.images.generate(
            model=PREVIEW,
            prompt="a lighthouse at dusk",
            n=2,
            size="256x256",
            output_format=output_format,
            response_format=response_format,
        )
    assert result.data is not None
    for item in result.data:
        if response_format == "b64_json":
            assert item.b64_json is not None
            data = base64.b64decode(item.b64_json)
        else:
            assert item.url is not None
            data = httpx.get(item.url).content
        # Then each carries a manifest signed with the deployment's certificate, naming the
        # model, the placement and the request
        found = assert_marked(data, PREVIEW)
        assert found.generation["placement"] == "preview"
        assert found.generation["seed"] == (item.model_extra or {})["seed"]
        assert found.generation["request_id"] == (result.model_extra or {})["id"]


def test_an_edit_keeps_its_signed_inputs_manifest_as_an_ingredient(origin: str, key: str) -> None:
    # Given an input image that its maker signed (a provider's, say)
    signed_input = provider_signed(picture((256, 256), colour=(200, 30, 30)))
    # When it is edited through the SDK's multipart form
    with OpenAI(base_url=f"{origin}/v1", api_key=key, max_retries=0) as client:
        result = client.images.edit(
            model=PREVIEW,
            image=("red.png", signed_input, "image/png"),
            mask=("mask.png", top_half_mask(256, "alpha"), "image/png"),
            prompt="a blue sky over a red field",
            size="256x256",
            response_format="b64_json",
        )
    assert result.data is not None
    assert result.data[0].b64_json is not None
    # Then the result carries our manifest, with the input's as an input to the model
    found = assert_marked(base64.b64decode(result.data[0].b64_json), PREVIEW)
    [ingredient] = found.ingredients
    assert ingredient["relationship"] == "inputTo"
    kept = found.of_ingredient(ingredient)
    assert kept["assertions"][0]["data"]["actions"][0]["softwareAgent"]["name"] == PROVIDER_MODEL


def test_an_async_jobs_images_are_signed(local: Local) -> None:
    _, headers = new_key(balance=10_000)
    queued = local.client.post(
        "/v1/images/generations",
        json={"prompt": "a lighthouse", "size": "256x256", "output_format": "webp"},
        headers={**headers, "Prefer": "respond-async"},
    )
    assert queued.status_code == 202, queued.text
    local.wait()
    job = local.client.get(f"/v1/images/jobs/{queued.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job
    [item] = job["result"]["data"]
    assert_marked(httpx.get(item["url"]).content, PREVIEW)


def test_a_batch_lines_images_are_signed(local: Local) -> None:
    # Given a batch line asking for an edit of a signed input, as a data URL
    _, headers = new_key(balance=10_000)
    signed_input = provider_signed(picture((256, 256), fmt="JPEG"))
    body = {
        "prompt": "the same, at night",
        "size": "256x256",
        "output_format": "jpeg",
        "image": data_url(signed_input, "jpeg"),
    }
    line = {"custom_id": "one", "method": "POST", "url": "/v1/images/generations", "body": body}
    created = local.client.post("/v1/batches", json={"input": [line]}, headers=headers)
    assert created.status_code == 200, created.text
    local.wait()
    lines = local.client.get(f"/v1/batches/{created.json()['id']}/output", headers=headers)
    [output] = [json.loads(text) for text in lines.text.splitlines()]
    assert output["response"]["status_code"] == 200, output
    [item] = output["response"]["body"]["data"]
    found = assert_marked(httpx.get(item["url"]).content, PREVIEW)
    [ingredient] = found.ingredients
    assert ingredient["relationship"] == "inputTo"


def test_a_streams_finished_images_are_signed(local: Local) -> None:
    _, headers = new_key(balance=10_000)
    body = {"prompt": "a fox", "size": "256x256", "stream": True, "partial_images": 1}
    with local.client.stream(
        "POST", "/v1/images/generations", json=body, headers=headers
    ) as response:
        events = [
            json.loads(line.removeprefix("data: "))
            for line in response.iter_lines()
            if line.startswith("data: ")
        ]
    [completed] = [event for event in events if event["type"].endswith(".completed")]
    assert_marked(base64.b64decode(completed["b64_json"]), PREVIEW)
    # Previews are not delivered images: they go out as the backend shows them, unsigned
    previews = [event for event in events if event["type"].endswith(".partial_image")]
    assert previews
    assert b"c2pa" not in base64.b64decode(previews[0]["b64_json"])
