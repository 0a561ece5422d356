"""``POST /v1/images/variations``: OpenAI's ``create_variation`` form, billed as a generation."""

import base64
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from handler import container
from tests.image_samples import picture
from tests.support import ROOT, assert_error, open_image

URL = "/v1/images/variations"


def _image(size: int = 256) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("image", ("otter.png", picture((size, size)), "image/png"))]


def test_the_sdks_form_gets_variations_billed_as_generations(
    client: TestClient, auth: dict[str, str]
) -> None:
    # When the SDK's create_variation(image=..., n=2, size="256x256", model="dall-e-2") is sent
    response = client.post(
        URL, headers=auth, files=_image(), data={"model": "dall-e-2", "n": "2", "size": "256x256"}
    )
    # Then two images come by URL (dall-e-2's default), each priced as an image-input generation
    assert response.status_code == 200, response.text
    body = response.json()
    assert [set(image) & {"url", "b64_json"} for image in body["data"]] == [{"url"}, {"url"}]
    assert body["model"] == "imagegate-preview"
    prices = container.catalog().get("imagegate-preview").prices
    assert prices.edit is not None
    assert body["cost"] == 2 * prices.edit["256x256"]


def test_b64_json_variations_decode_at_the_size_asked(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post(
        URL, headers=auth, files=_image(), data={"size": "512x512", "response_format": "b64_json"}
    )
    assert response.status_code == 200, response.text
    [image] = response.json()["data"]
    assert open_image(base64.b64decode(image["b64_json"])).size == (512, 512)


def test_a_model_that_cannot_vary_an_image_is_a_400_naming_model(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a served model that makes images from text only
    catalog = json.loads((ROOT / "infra" / "catalog.json").read_text())
    preview = catalog["models"][0]
    text_only = {
        **preview,
        "id": "text-only",
        "aliases": [],
        "max_input_images": 0,
        "inpainting": False,
    }
    text_only["prices"] = {k: v for k, v in preview["prices"].items() if k != "edit"}
    text_only["prices"]["bands"] = [
        {k: v for k, v in band.items() if k != "edit"} for band in preview["prices"]["bands"]
    ]
    catalog["models"].append(text_only)
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    monkeypatch.setenv("IMAGEGATE_CATALOG_FILE", str(tmp_path / "catalog.json"))
    container.reset()
    # When a variation of an image is asked of it
    response = client.post(URL, headers=auth, files=_image(), data={"model": "text-only"})
    # Then the model is at fault, not the route
    assert response.status_code == 400
    assert_error(
        response.json(), type_="invalid_request_error", param="model", code="invalid_value"
    )
    assert "text-only" in response.json()["error"]["message"]


def test_a_variation_without_its_image_or_with_a_prompt_is_refused(
    client: TestClient, auth: dict[str, str]
) -> None:
    missing = client.post(URL, headers=auth, files={"n": (None, "1")})
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "image"
    prompted = client.post(URL, headers=auth, files=_image(), data={"prompt": "a fox"})
    assert prompted.status_code == 400
    assert_error(
        prompted.json(), type_="invalid_request_error", param="prompt", code="unknown_parameter"
    )
