"""Bedrock models through the API, the real boto3 client signing and sending to a local
stand-in of bedrock-runtime (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``): what each family
makes, what is charged, and the status of each failure."""

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handler import container
from handler.aws.clients import s3_client
from tests.fakes.bedrock_runtime import FakeBedrock
from tests.image_samples import data_url, picture, top_half_mask
from tests.support import (
    assert_error,
    balance_of,
    catalog_kept_running,
    new_key,
    open_image,
    pixels,
    presigned_object,
)

URL = "/v1/images/generations"
GRANTED = (
    "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-ultra-v1:1,"
    "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1,"
    "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0,"
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-canvas-v1:0"
)
BEDROCK_MODELS = {"stable-image-ultra", "stable-image-core", "sd3.5-large", "nova-canvas"}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeBedrock]:
    """bedrock-runtime's stand-in, every family granted; Nova Canvas kept running past its
    end of life, as an operator with extended access would, so its adapter stays tested."""
    with FakeBedrock() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.endpoint_url)
        monkeypatch.setenv("IMAGEGATE_BEDROCK_MODEL_ARNS", GRANTED)
        monkeypatch.setenv("IMAGEGATE_CATALOG_FILE", str(catalog_kept_running(tmp_path)))
        container.reset()
        yield server


@pytest.fixture
def funded(aws: None) -> tuple[str, dict[str, str]]:
    return new_key(balance=10_000_000)


def _listed(client: TestClient, auth: dict[str, str]) -> set[str]:
    response = client.get("/v1/models", headers=auth)
    assert response.status_code == 200
    return {model["id"] for model in response.json()["data"]}


def test_granted_models_are_listed_with_their_limits(
    client: TestClient, auth: dict[str, str], fake: FakeBedrock
) -> None:
    assert _listed(client, auth) >= BEDROCK_MODELS
    nova = client.get("/v1/models/nova-canvas", headers=auth).json()
    assert (nova["max_seed"], nova["max_n"], nova["inpainting"]) == (2_147_483_646, 5, True)


def test_models_the_stack_does_not_grant_are_not_listed(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEGATE_BEDROCK_MODEL_ARNS", "")
    container.reset()
    assert not _listed(client, auth) & BEDROCK_MODELS
    response = client.post(URL, headers=auth, json={"model": "sd3.5-large", "prompt": "a fox"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "backend_not_configured"
    assert "BedrockModelArns" in error["message"]


@pytest.mark.parametrize(
    ("model", "size", "response_format"),
    [
        ("stable-image-ultra", "1024x1024", "url"),
        ("stable-image-core", "1792x1024", "b64_json"),
        ("sd3.5-large", "1024x1536", "b64_json"),
        ("nova-canvas", "1280x720", "url"),
    ],
)
def test_each_family_makes_the_size_asked_and_seeds_that_reproduce(
    client: TestClient,
    fake: FakeBedrock,
    funded: tuple[str, dict[str, str]],
    model: str,
    size: str,
    response_format: str,
) -> None:
    key_id, auth = funded
    before = balance_of(key_id)
    body = {"model": model, "prompt": "a lighthouse", "size": size, "n": 3}
    first = client.post(URL, headers=auth, json={**body, "response_format": response_format})
    assert first.status_code == 200, first.text
    result = first.json()
    assert len(result["data"]) == 3
    assert before - balance_of(key_id) == result["cost"]
    pictures = [_image(client, item) for item in result["data"]]
    width, height = (int(side) for side in size.split("x"))
    assert all(open_image(data).size == (width, height) for data in pictures)
    # Any one image again, alone, from the seed the response reported for it
    again = client.post(
        URL,
        headers=auth,
        json={**body, "n": 1, "seed": result["data"][1]["seed"], "response_format": "b64_json"},
    )
    assert pixels(_image(client, again.json()["data"][0])) == pixels(pictures[1])


def _image(client: TestClient, item: dict[str, Any]) -> bytes:
    if "b64_json" in item:
        return base64.b64decode(item["b64_json"])
    bucket, key = presigned_object(item["url"])
    return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()


def test_stability_image_to_image_through_the_edits_route(
    client: TestClient, auth: dict[str, str], fake: FakeBedrock
) -> None:
    files = {"image": ("in.png", picture((640, 640), "PNG"), "image/png")}
    data = {"model": "sd3.5-large", "prompt": "as a watercolour", "strength": "0.5"}
    response = client.post("/v1/images/edits", headers=auth, files=files, data=data)
    assert response.status_code == 200, response.text
    [sent] = fake.bodies("stability.sd3-5-large-v1:0")
    assert (sent["mode"], sent["strength"]) == ("image-to-image", 0.5)


def test_nova_inpainting_and_variations(
    client: TestClient, auth: dict[str, str], fake: FakeBedrock
) -> None:
    image = picture((512, 512), "PNG")
    inpaint = {
        "model": "nova-canvas",
        "prompt": "a red door",
        "size": "512x512",
        "image": data_url(image),
        "mask": data_url(top_half_mask(512)),
        "response_format": "b64_json",
    }
    response = client.post(URL, headers=auth, json=inpaint)
    assert response.status_code == 200, response.text
    variation = {**inpaint, "image": [data_url(image), data_url(picture((600, 400)))]}
    del variation["mask"]
    response = client.post(URL, headers=auth, json=variation)
    assert response.status_code == 200, response.text
    tasks = [body["taskType"] for body in fake.bodies("amazon.nova-canvas-v1:0")]
    assert tasks == ["INPAINTING", "IMAGE_VARIATION"]


def test_a_filtered_image_among_several_is_not_charged(
    client: TestClient, fake: FakeBedrock, funded: tuple[str, dict[str, str]]
) -> None:
    key_id, auth = funded
    before = balance_of(key_id)
    body = {"model": "stable-image-core", "prompt": "a fox [filter-odd]", "n": 4, "seed": 10}
    response = client.post(URL, headers=auth, json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert [item["seed"] for item in result["data"]] == [10, 12]
    assert before - balance_of(key_id) == result["cost"] == 2 * 40_000


@pytest.mark.parametrize("model", ["sd3.5-large", "nova-canvas"])
def test_every_image_filtered_is_a_400_and_free(
    client: TestClient, fake: FakeBedrock, funded: tuple[str, dict[str, str]], model: str
) -> None:
    key_id, auth = funded
    before = balance_of(key_id)
    response = client.post(URL, headers=auth, json={"model": model, "prompt": "[filter]", "n": 2})
    assert response.status_code == 400
    assert_error(
        response.json(),
        type_="invalid_request_error",
        param="prompt",
        code="content_policy_violation",
    )
    assert balance_of(key_id) == before


@pytest.mark.parametrize(
    ("marker", "status", "code", "retry_after"),
    [
        ("[throttle]", 503, "backend_unavailable", "2"),
        ("[not-ready]", 503, "backend_unavailable", "10"),
        ("[unavailable]", 503, "backend_unavailable", "5"),
        ("[model-timeout]", 504, "backend_timeout", None),
        ("[model-error]", 502, "backend_error", None),
        ("[gone]", 503, "backend_not_configured", None),
    ],
)
def test_bedrock_failures_answer_their_status_and_charge_nothing(
    client: TestClient,
    fake: FakeBedrock,
    funded: tuple[str, dict[str, str]],
    marker: str,
    status: int,
    code: str,
    retry_after: str | None,
) -> None:
    key_id, auth = funded
    before = balance_of(key_id)
    response = client.post(URL, headers=auth, json={"model": "sd3.5-large", "prompt": marker})
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.headers.get("retry-after") == retry_after
    assert balance_of(key_id) == before


def test_without_model_access_the_answer_says_what_to_enable_and_the_model_is_unlisted(
    client: TestClient, auth: dict[str, str], fake: FakeBedrock
) -> None:
    response = client.post(URL, headers=auth, json={"model": "nova-canvas", "prompt": "[denied]"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "backend_not_configured"
    assert "Model access" in error["message"]
    assert "us-east-1" in error["message"]
    assert "nova-canvas" not in _listed(client, auth)


def test_a_parameter_bedrock_refuses_is_a_400_naming_it(
    client: TestClient, auth: dict[str, str], fake: FakeBedrock
) -> None:
    # A limit Bedrock holds and the catalog does not know: Bedrock names the field.
    body = {"model": "sd3.5-large", "prompt": "[refuse-field]", "negative_prompt": "a" * 12}
    response = client.post(URL, headers=auth, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "negative_prompt"


def test_past_the_deadline_is_a_504_and_free(
    client: TestClient,
    fake: FakeBedrock,
    funded: tuple[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGEGATE_API_TIMEOUT_MS", "6000")  # the backend gets 3 s
    container.reset()
    key_id, auth = funded
    before = balance_of(key_id)
    response = client.post(URL, headers=auth, json={"model": "sd3.5-large", "prompt": "[slow]"})
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "backend_timeout"
    assert balance_of(key_id) == before


def test_the_default_catalog_retires_nova_canvas_on_its_end_of_life(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Granted, but Bedrock ended it on 2026-09-30: not listed, and a request is a 410 that
    # names the date and the successor, with nothing charged and nothing sent to Bedrock.
    with FakeBedrock() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.endpoint_url)
        monkeypatch.setenv("IMAGEGATE_BEDROCK_MODEL_ARNS", GRANTED)
        container.reset()
        key_id, funded_auth = new_key(balance=10_000_000)
        assert "nova-canvas" not in _listed(client, funded_auth)
        response = client.post(
            URL, headers=funded_auth, json={"model": "nova-canvas", "prompt": "a"}
        )
        assert response.status_code == 410
        assert_error(
            response.json(), type_="invalid_request_error", param="model", code="model_shut_down"
        )
        message = response.json()["error"]["message"]
        assert "2026-09-30" in message
        assert "'stable-image-ultra'" in message
        assert client.get("/v1/models/nova-canvas", headers=funded_auth).status_code == 410
        assert balance_of(key_id) == 10_000_000
        assert server.bodies() == []


def test_the_end_user_is_kept_here_and_never_sent_to_bedrock(
    client: TestClient, fake: FakeBedrock, funded: tuple[str, dict[str, str]]
) -> None:
    _, auth = funded
    body = {"model": "sd3.5-large", "prompt": "a fox", "safety_identifier": "hashed-42"}
    assert client.post(URL, headers=auth, json={**body, "user": "user-17"}).status_code == 200
    [sent] = fake.bodies("stability.sd3-5-large-v1:0")
    assert "hashed-42" not in str(sent)
    assert "user-17" not in str(sent)
    [row] = client.get("/v1/usage/requests", headers=auth).json()["data"]
    assert row["user"] == "hashed-42"
