"""OpenAI's model names, their defaults and their sizes, as today's clients send them."""

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handler import container
from tests.support import assert_error, open_image

PREVIEW = "imagegate-preview"


def _generate(client: TestClient, auth: dict[str, str], **body: Any) -> Any:
    return client.post("/v1/images/generations", headers=auth, json={"prompt": "a fox", **body})


@pytest.mark.parametrize(
    ("name", "answered"),
    [
        ("gpt-image-2", "b64_json"),
        ("gpt-image-1.5", "b64_json"),
        ("gpt-image-1", "b64_json"),
        ("gpt-image-1-mini", "b64_json"),
        ("dall-e-3", "url"),
        ("dall-e-2", "url"),
        (PREVIEW, "url"),
    ],
)
def test_a_request_without_response_format_gets_its_names_default(
    client: TestClient, auth: dict[str, str], name: str, answered: str
) -> None:
    # When a client leaves response_format out, as gpt-image clients always do
    response = _generate(client, auth, model=name, size="1024x1024")
    # Then the name's OpenAI counterpart decides the form, and the model that ran is named
    assert response.status_code == 200, response.text
    body = response.json()
    [image] = body["data"]
    assert set(image) & {"url", "b64_json"} == {answered}
    assert body["model"] == PREVIEW
    if answered == "b64_json":
        assert open_image(base64.b64decode(image["b64_json"])).size == (1024, 1024)


def test_each_name_is_listed_and_answered_with_its_own_rules(
    client: TestClient, auth: dict[str, str]
) -> None:
    listed = {model["id"]: model for model in client.get("/v1/models", headers=auth).json()["data"]}
    dall_e_3 = client.get("/v1/models/dall-e-3", headers=auth).json()
    assert dall_e_3 == listed["dall-e-3"]
    assert dall_e_3["alias_of"] == PREVIEW
    assert dall_e_3["sizes"] == ["1024x1024", "1792x1024", "1024x1792"]
    assert dall_e_3["max_n"] == 1
    assert dall_e_3["default_response_format"] == "url"
    assert listed["gpt-image-1"]["sizes"] == ["1024x1024", "1536x1024", "1024x1536"]
    assert listed["gpt-image-2"]["free_sizes"]["max_pixels"] == 8_294_400
    assert "alias_of" not in listed[PREVIEW] or listed[PREVIEW]["alias_of"] is None


@pytest.mark.parametrize(
    ("name", "size"),
    [("gpt-image-1", "512x512"), ("dall-e-3", "1536x1024"), ("dall-e-2", "1792x1024")],
)
def test_a_name_takes_only_its_counterparts_sizes(
    client: TestClient, auth: dict[str, str], name: str, size: str
) -> None:
    response = _generate(client, auth, model=name, size=size)
    assert response.status_code == 400
    assert_error(response.json(), type_="invalid_request_error", param="size", code="invalid_value")
    assert name in response.json()["error"]["message"]


def test_dall_e_3_takes_n_1_only(client: TestClient, auth: dict[str, str]) -> None:
    response = _generate(client, auth, model="dall-e-3", n=2)
    assert response.status_code == 400
    assert_error(response.json(), type_="invalid_request_error", param="n", code="invalid_value")


def test_free_sizes_are_made_exactly_and_priced_by_their_band(
    client: TestClient, auth: dict[str, str]
) -> None:
    # When gpt-image-2 is asked for a size no table lists
    response = _generate(client, auth, model="gpt-image-2", size="2048x1152")
    # Then that size is made, and priced by the band that holds its 2,359,296 pixels
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["size"] == "2048x1152"
    assert open_image(base64.b64decode(body["data"][0]["b64_json"])).size == (2048, 1152)
    band = container.catalog().get(PREVIEW).prices.band(2048 * 1152)
    assert band is not None
    assert body["cost"] == band.image * 1  # steps at the model's default


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        ("1000x1000", "multiples of 16"),
        ("3856x1024", "at most 3840"),
        ("3840x1024", "aspect ratio"),
        ("512x512", "pixels"),
        ("3840x2176", "pixels"),
        ("big", "WIDTHxHEIGHT"),
    ],
)
def test_a_free_size_outside_the_rule_is_a_400_naming_size(
    client: TestClient, auth: dict[str, str], size: str, reason: str
) -> None:
    response = _generate(client, auth, model="gpt-image-2", size=size)
    assert response.status_code == 400
    assert_error(response.json(), type_="invalid_request_error", param="size", code="invalid_value")
    assert reason in response.json()["error"]["message"]


def test_dall_e_3_values_are_mapped_or_ignored_as_the_catalog_states(
    client: TestClient, auth: dict[str, str]
) -> None:
    # When LlamaIndex's request shape asks dall-e-3 for hd and vivid
    response = _generate(
        client, auth, model="dall-e-3", quality="hd", style="vivid", size="1792x1024", n=1
    )
    # Then hd runs the model's high tier (and is priced as it), style is taken and ignored
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["quality"], body["size"]) == ("high", "1792x1024")
    prices = container.catalog().get(PREVIEW).prices
    assert body["cost"] == prices.quality["high"]["1792x1024"]


def test_answers_report_what_was_made_in_openai_terms(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = _generate(client, auth, model="gpt-image-1").json()
    assert (body["quality"], body["background"]) == ("medium", "opaque")
    assert body["usage"]["output_tokens_details"] == {"text_tokens": 0, "image_tokens": 0}
    transparent = _generate(client, auth, model="gpt-image-1", background="transparent").json()
    assert transparent["background"] == "transparent"


def test_safety_identifier_and_input_fidelity_are_taken(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = _generate(
        client, auth, model="gpt-image-1", safety_identifier="user-hash-1", input_fidelity="high"
    )
    assert response.status_code == 200, response.text


def test_a_newer_openai_parameter_is_not_offered_rather_than_unknown(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = _generate(client, auth, model="gpt-image-1", complexity="high")
    assert response.status_code == 400
    assert_error(
        response.json(),
        type_="invalid_request_error",
        param="complexity",
        code="unsupported_parameter",
    )
    assert "not offered" in response.json()["error"]["message"]


def test_a_misspelt_name_is_not_found_never_a_fallback(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = _generate(client, auth, model="gpt-image-l")
    assert response.status_code == 404
    assert_error(response.json(), type_="not_found_error", param="model", code="model_not_found")
