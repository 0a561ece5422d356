"""Every answer of the OpenAI-compatible routes validates against OpenAI's published OpenAPI
document (a copy in ``tests/openai_openapi/``, JSON Schema 2020-12)."""

import base64
import copy
import json
from functools import cache
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker

from tests.image_samples import picture
from tests.integration.test_streaming import events
from tests.support import ROOT

DOCUMENT = ROOT / "tests" / "openai_openapi"
SIZE = {"type": "string", "pattern": "^[1-9][0-9]*x[1-9][0-9]*$"}


@cache
def _components() -> dict[str, Any]:
    document = json.loads((DOCUMENT / "openapi.json").read_text())
    components: dict[str, Any] = copy.deepcopy(document["components"])
    # The document's answer enums for size list gpt-image's three sizes only, while its
    # requests take dall-e's and any gpt-image-2 size: an answer says the size it made.
    for name in (
        "ImagesResponse",
        "ImageGenPartialImageEvent",
        "ImageGenCompletedEvent",
        "ImageEditPartialImageEvent",
        "ImageEditCompletedEvent",
    ):
        components["schemas"][name]["properties"]["size"] = SIZE
    return components


def valid(body: Any, schema: str) -> None:
    wrapper = {"$ref": f"#/components/schemas/{schema}", "components": _components()}
    validator = Draft202012Validator(wrapper, format_checker=FormatChecker())
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not problems, problems


def test_the_document_is_where_the_contract_says() -> None:
    assert (DOCUMENT / "openapi.json").is_file()


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-image-1"},
        {"model": "gpt-image-2", "size": "2048x1152", "background": "transparent"},
        {"model": "dall-e-3", "quality": "hd", "style": "vivid", "size": "1792x1024"},
        {"model": "dall-e-2", "n": 2, "size": "256x256", "response_format": "b64_json"},
        {"model": "imagegate-preview", "output_format": "webp", "size": "512x512"},
    ],
)
def test_generations_answer_images_responses(
    client: TestClient, auth: dict[str, str], body: dict[str, Any]
) -> None:
    response = client.post("/v1/images/generations", headers=auth, json={"prompt": "a", **body})
    assert response.status_code == 200, response.text
    valid(response.json(), "ImagesResponse")


def test_edits_and_variations_answer_images_responses(
    client: TestClient, auth: dict[str, str]
) -> None:
    image = ("a.png", picture((1024, 1024)), "image/png")
    edit = client.post(
        "/v1/images/edits",
        headers=auth,
        files=[("image[]", image), ("image[]", image)],
        data={"prompt": "a", "model": "gpt-image-1"},
    )
    assert edit.status_code == 200, edit.text
    valid(edit.json(), "ImagesResponse")
    variation = client.post(
        "/v1/images/variations",
        headers=auth,
        files=[("image", ("a.png", picture((256, 256)), "image/png"))],
        data={"model": "dall-e-2", "size": "256x256"},
    )
    assert variation.status_code == 200, variation.text
    valid(variation.json(), "ImagesResponse")


@pytest.mark.parametrize(("route", "kind"), [("generations", "ImageGen"), ("edits", "ImageEdit")])
def test_streamed_events_are_the_documents_events(
    client: TestClient, auth: dict[str, str], route: str, kind: str
) -> None:
    fields = {"prompt": "a", "model": "gpt-image-1", "stream": True, "partial_images": 2}
    if route == "edits":
        response = client.post(
            "/v1/images/edits",
            headers=auth,
            files=[("image", ("a.png", picture((1024, 1024)), "image/png"))],
            data={name: str(value).lower() for name, value in fields.items()},
        )
    else:
        response = client.post("/v1/images/generations", headers=auth, json=fields)
    assert response.status_code == 200, response.text
    sent = events(response.text)
    assert len(sent) == 3
    for name, data in sent:
        assert name == data["type"]
        valid(data, f"{kind}StreamEvent")
        base64.b64decode(data["b64_json"], validate=True)


def test_models_answer_the_documents_list_and_model(
    client: TestClient, auth: dict[str, str]
) -> None:
    listing = client.get("/v1/models", headers=auth).json()
    valid(listing, "ListModelsResponse")
    for name in ("gpt-image-1", "imagegate-preview"):
        valid(client.get(f"/v1/models/{name}", headers=auth).json(), "Model")


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/images/generations", {"prompt": "a", "size": "7x7"}),
        ("/v1/images/generations", {"prompt": "a", "model": "nope"}),
        ("/v1/images/generations", {"prompt": "a", "complexity": "high"}),
    ],
)
def test_errors_answer_the_documents_error_response(
    client: TestClient, auth: dict[str, str], route: str, body: dict[str, Any]
) -> None:
    response = client.post(route, headers=auth, json=body)
    assert response.status_code >= 400
    valid(response.json(), "ErrorResponse")
