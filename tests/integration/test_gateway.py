"""The deployed shape, in-process: HTTP → the local API Gateway (settings from template.yaml)
→ ``handler.main.api.lambda_handler`` → Mangum → the app, on the local stack."""

import base64
import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from openai import OpenAI

from handler import container
from handler.cli.gateway import Gateway, GatewayServer, RestApi
from handler.cli.template import Template
from handler.keys.auth import issue_key
from handler.main.api import lambda_handler as api_handler
from tests.image_samples import data_url, noise, picture, top_half_mask
from tests.integration.conftest import Local
from tests.support import GENEROUS, ROOT, assert_error, open_image

RED = (200, 30, 30)


seen_events: list[dict[str, Any]] = []


def _recording_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    seen_events.append(event)
    response: dict[str, Any] = api_handler(event, context)
    return response


@contextmanager
def served(template: Template) -> Iterator[str]:
    """The API function behind a gateway built from ``template``; its base URL."""
    server = GatewayServer("127.0.0.1", 0)
    api = RestApi.from_template(template)
    server.start(Gateway(api, {"ApiFunction": _recording_handler}))
    try:
        yield f"http://127.0.0.1:{server.port}/{api.stage}/v1"
    finally:
        server.close()


@pytest.fixture
def key(local: Local) -> str:
    return issue_key(
        container.key_store(),
        "gateway",
        GENEROUS,
        balance=10**9,
        now=0,
        actor="test",
        source="cli",
    ).plaintext


@pytest.fixture
def base_url(local: Local) -> Iterator[str]:
    with served(Template.load(ROOT / "template.yaml")) as url:
        yield url


def _edit(base_url: str, key: str) -> Any:
    with OpenAI(base_url=base_url, api_key=key, max_retries=0) as client:
        return client.images.edit(
            model="imagegate-preview",
            image=("red.png", picture((256, 256), colour=RED), "image/png"),
            mask=("mask.png", top_half_mask(256, "alpha"), "image/png"),
            prompt="a blue sky over a red field",
            size="256x256",
            response_format="b64_json",
            extra_body={"strength": 1.0, "seed": 3},
        )


def test_sdk_edit_with_png_files_passes_through(base_url: str, key: str) -> None:
    result = _edit(base_url, key)
    image = open_image(base64.b64decode(result.data[0].b64_json)).convert("RGB")
    assert image.getpixel((128, 60)) != RED  # edited under the mask's transparent half
    assert image.getpixel((128, 180)) == RED


def test_the_same_edit_fails_without_binary_media_types(local: Local, key: str) -> None:
    # This is how the test above is shown to depend on the template: the very same request,
    # through a gateway built from template.yaml less its BinaryMediaTypes, reaches Lambda as
    # UTF-8 text with the PNG bytes mangled.
    template = Template(copy.deepcopy(Template.load(ROOT / "template.yaml").body))
    del template.body["Resources"]["Api"]["Properties"]["BinaryMediaTypes"]
    with served(template) as url, pytest.raises(openai.BadRequestError) as refused:
        _edit(url, key)
    assert refused.value.code == "invalid_image"


def test_a_jobs_location_joined_to_the_origin_fetches_it(base_url: str, key: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    submitted = httpx.post(
        f"{base_url}/images/generations",
        headers={**auth, "Prefer": "respond-async"},
        json={"prompt": "a lighthouse", "size": "256x256"},
    )
    assert submitted.status_code == 202, submitted.text
    location = submitted.headers["location"]
    assert location.startswith("/prod/v1/images/jobs/")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    job = httpx.get(origin + location, headers=auth)
    assert job.status_code == 200, job.text
    assert job.json()["id"] == submitted.json()["id"]


def test_a_body_over_10_mb_is_413_in_the_envelope(base_url: str, key: str) -> None:
    response = httpx.post(
        f"{base_url}/images/generations",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        content=b'{"prompt": "' + b"x" * 10_500_000 + b'"}',
    )
    assert response.status_code == 413
    assert_error(
        response.json(), type_="invalid_request_error", param=None, code="payload_too_large"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/models/"),
        ("GET", "/Models"),
        ("POST", "/images/generations/"),
        ("GET", "/images/jobs/"),
        ("GET", "/batches/"),
    ],
)
def test_near_miss_paths_get_the_envelope_not_a_redirect(
    base_url: str, key: str, method: str, path: str
) -> None:
    response = httpx.request(
        method, base_url + path, headers={"Authorization": f"Bearer {key}"}, json={}
    )
    assert response.status_code == 404, response.text
    assert_error(response.json(), type_="invalid_request_error", param=None, code="unknown_url")
    assert "/prod/v1" in response.json()["error"]["message"]


def test_headers_reach_the_function_as_sent(base_url: str, key: str) -> None:
    # Given a header sent twice and one spelled in mixed case (the SDK's X-Stainless-OS)
    response = httpx.get(
        f"{base_url}/models",
        headers=[
            ("Authorization", f"Bearer {key}"),
            ("X-Stainless-OS", "Linux"),
            ("X-Repeated", "one"),
            ("X-Repeated", "two"),
            ("X-Forwarded-For", "198.51.100.7"),
        ],
    )
    assert response.status_code == 200
    # Then the event kept them: the last value, every value, the spelling; the client's
    # address appended to X-Forwarded-For, as API Gateway does
    event = seen_events[-1]
    assert event["headers"]["X-Stainless-OS"] == "Linux"
    assert event["headers"]["X-Repeated"] == "two"
    assert event["multiValueHeaders"]["X-Repeated"] == ["one", "two"]
    assert event["headers"]["X-Forwarded-For"] == "198.51.100.7, 127.0.0.1"
    assert event["requestContext"]["domainName"] == "127.0.0.1"


def test_the_stage_root_reaches_the_app(base_url: str) -> None:
    for path in ("/prod", "/prod/"):
        response = httpx.get(base_url.removesuffix("/prod/v1") + path)
        # The app has no root route: its own 404, under the stage
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "Invalid URL (GET /prod/)"


def test_the_docs_point_under_the_stage(base_url: str) -> None:
    docs = httpx.get(base_url.removesuffix("/v1") + "/docs")
    assert "'/prod/openapi.json'" in docs.text
    spec = httpx.get(base_url.removesuffix("/v1") + "/openapi.json").json()
    assert spec["servers"] == [{"url": "/prod"}]


def test_an_inline_answer_over_lambdas_limit_is_the_apps_413_not_lambdas_502(
    base_url: str, key: str
) -> None:
    # An input of noise kept almost as it is: images that do not compress
    request = {
        "prompt": "a fox",
        "n": 2,
        "size": "1024x1024",
        "response_format": "b64_json",
        "image": data_url(noise((1024, 1024))),
        "strength": 0.02,
        "steps": 50,
    }
    auth = {"Authorization": f"Bearer {key}"}
    # Given images whose base64 is over Lambda's 6 MB response limit
    response = httpx.post(f"{base_url}/images/generations", headers=auth, json=request)
    # Then the app refuses them itself, saying what to do
    assert response.status_code == 413, len(response.content)
    assert_error(
        response.json(),
        type_="invalid_request_error",
        param="response_format",
        code="payload_too_large",
    )
    # (What Lambda itself does with an answer over its limit: tests/unit/test_gateway.py.)
    assert "x-amzn-ErrorType" not in response.headers


def test_a_base_url_without_v1_or_the_stage_is_told_the_right_one(base_url: str, key: str) -> None:
    # The OpenAI SDK pointed at the stage without /v1, then at the host without the stage
    without_v1 = base_url.removesuffix("/v1")
    origin = without_v1.rsplit("/", 1)[0]
    with pytest.raises(openai.NotFoundError) as missed:
        OpenAI(base_url=without_v1, api_key=key, max_retries=0).images.generate(prompt="a")
    assert missed.value.code == "unknown_url"
    assert f"base URL ends in /v1 ({base_url})" in missed.value.message
    with pytest.raises(openai.PermissionDeniedError) as outside:
        OpenAI(base_url=f"{origin}/v1", api_key=key, max_retries=0).models.list()
    assert outside.value.code == "wrong_base_url"
    assert f"the base URL is {base_url}" in outside.value.message
