"""Streamed SageMaker generations: the real boto3 client reads
``InvokeEndpointWithResponseStream``'s event stream from a local stand-in of the runtime
(``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``), and the API turns the model server's previews into
OpenAI's events, billed exactly as a buffered request."""

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from handler import container
from handler.cli.gateway import Gateway, GatewayServer, RestApi
from handler.cli.template import Template
from handler.keys.auth import issue_key
from tests.fakes.bedrock_runtime import picture
from tests.fakes.sagemaker_runtime import FakeSageMakerRuntime
from tests.integration.conftest import Local
from tests.integration.test_streaming import TWO_PREVIEWS_THEN_THE_IMAGE, events
from tests.provenance import assert_marked
from tests.support import GENEROUS, ROOT, endpoint_in_service, open_image, pixels

URL = "/v1/images/generations"
PRICE = 2500  # sd-imagegate at 512x512


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeSageMakerRuntime]:
    """The catalog gains ``sd-streaming``: ``sd-imagegate`` on an endpoint that streams."""
    catalog = json.loads((ROOT / "infra" / "catalog.json").read_text())
    entry = next(model for model in catalog["models"] if model["id"] == "sd-imagegate")
    params = {**entry["backend_params"], "endpoint_name": "imagegate-live", "streaming": True}
    catalog["models"].append({**entry, "id": "sd-streaming", "backend_params": params})
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    with FakeSageMakerRuntime() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", fake.endpoint_url)
        monkeypatch.setenv("IMAGEGATE_CATALOG_FILE", str(tmp_path / "catalog.json"))
        container.reset()
        endpoint_in_service("imagegate-live")
        endpoint_in_service(entry["backend_params"]["endpoint_name"])  # sd-imagegate's
        yield fake


def _balance(client: TestClient, auth: dict[str, str]) -> int:
    return int(client.get("/v1/usage", headers=auth).json()["balance"])


def _body(model: str = "sd-streaming", prompt: str = "a lighthouse", **more: Any) -> dict[str, Any]:
    return {"model": model, "prompt": prompt, "size": "512x512", "seed": 5, **more}


@pytest.mark.parametrize("part_size", [None, 1000, 5000], ids=["a-part-a-line", "cut", "runs"])
def test_previews_stream_as_partial_images_then_the_completed_image(
    client: TestClient,
    auth: dict[str, str],
    endpoint: FakeSageMakerRuntime,
    part_size: int | None,
) -> None:
    # Given an endpoint whose parts hold a line each, a piece of one, or pieces of several
    endpoint.part_size = part_size
    before = _balance(client, auth)
    # When the SDK's streamed generation with two partial images is sent
    response = client.post(URL, headers=auth, json=_body(stream=True, partial_images=2))
    # Then two partial images, then one completed event with the image, charged as buffered
    assert response.status_code == 200, response.text
    sent = events(response.text)
    assert [name for name, _ in sent] == TWO_PREVIEWS_THEN_THE_IMAGE
    assert [data["partial_image_index"] for _, data in sent[:2]] == [0, 1]
    for step, (_, data) in enumerate(sent[:2]):
        preview = base64.b64decode(data["b64_json"])
        assert preview == picture(f"a lighthouse at step {step}", 5, (512, 512))
    completed = sent[-1][1]
    # The previews as the endpoint sent them; the image, its picture, signed on the way
    image = base64.b64decode(completed["b64_json"])
    assert pixels(image) == pixels(picture("a lighthouse", 5, (512, 512)))
    assert_marked(image, completed["model"])
    assert (completed["seed"], completed["cost"]) == (5, PRICE)
    assert _balance(client, auth) == before - PRICE == completed["remaining_balance"]
    [invocation] = endpoint.invocations
    assert (invocation["streamed"], invocation["body"]["partial_images"]) == (True, 2)


def test_a_buffered_request_to_a_streaming_model_is_charged_the_same(
    client: TestClient, auth: dict[str, str], endpoint: FakeSageMakerRuntime
) -> None:
    before = _balance(client, auth)
    response = client.post(URL, headers=auth, json=_body(response_format="b64_json"))
    assert response.status_code == 200, response.text
    image = base64.b64decode(response.json()["data"][0]["b64_json"])
    assert pixels(image) == pixels(picture("a lighthouse", 5, (512, 512)))
    assert response.json()["cost"] == PRICE == before - _balance(client, auth)
    [invocation] = endpoint.invocations
    assert not invocation["streamed"]
    assert "partial_images" not in invocation["body"]


def test_several_calls_stream_their_previews_under_the_requests_image_numbers(
    client: TestClient, auth: dict[str, str], endpoint: FakeSageMakerRuntime
) -> None:
    # Four images a call: six images are two streamed calls, run together
    response = client.post(URL, headers=auth, json=_body(n=6, stream=True, partial_images=1))
    sent = events(response.text)
    partials = sorted(data["image_index"] for name, data in sent if name.endswith("partial_image"))
    assert partials == [0, 1, 2, 3, 4, 5]
    completed = [data for name, data in sent if name.endswith("completed")]
    assert [data["seed"] for data in completed] == [5, 6, 7, 8, 9, 10]
    assert completed[-1]["cost"] == 6 * PRICE
    assert sorted(len(i["body"]["seeds"]) for i in endpoint.invocations) == [2, 4]


@pytest.mark.parametrize(
    ("marker", "partials"),
    [("[stream-error]", 1), ("[stream-failure]", 1), ("[bad-line]", 1), ("[model-error]", 0)],
)
def test_a_failure_mid_stream_is_an_error_event_and_nothing_is_charged(
    client: TestClient,
    auth: dict[str, str],
    endpoint: FakeSageMakerRuntime,
    marker: str,
    partials: int,
) -> None:
    before = _balance(client, auth)
    # When the endpoint fails after its first preview (or before anything)
    response = client.post(
        URL, headers=auth, json=_body(prompt=f"a fox {marker}", stream=True, partial_images=2)
    )
    # Then what came before is sent, then OpenAI's error event, and nothing is charged
    sent = events(response.text)
    assert [name for name, _ in sent] == ["image_generation.partial_image"] * partials + ["error"]
    error = sent[-1][1]["error"]
    assert (error["type"], error["code"]) == ("server_error", "backend_error")
    assert _balance(client, auth) == before


def test_a_model_that_does_not_stream_sends_one_completed_event(
    client: TestClient, auth: dict[str, str], endpoint: FakeSageMakerRuntime
) -> None:
    # sd-imagegate's entry has no "streaming": its endpoint is invoked as it always was
    response = client.post(
        URL, headers=auth, json=_body(model="sd-imagegate", stream=True, partial_images=2)
    )
    assert [name for name, _ in events(response.text)] == ["image_generation.completed"]
    [invocation] = endpoint.invocations
    assert (invocation["endpoint"], invocation["streamed"]) == ("imagegate-diffusers", False)
    assert "partial_images" not in invocation["body"]


def test_through_the_gateway_the_sdk_reads_a_preview_before_the_next_is_made(
    local: Local, endpoint: FakeSageMakerRuntime
) -> None:
    """The deployed shape: the local API Gateway, the streamed route's web app, boto3 reading
    the endpoint's event stream, the OpenAI SDK reading the server-sent events."""
    # Given an endpoint that holds the rest of its stream after its first preview
    endpoint.hold = threading.Event()
    key = issue_key(
        container.key_store(), "sm", GENEROUS, balance=10**9, now=0, actor="t", source="cli"
    ).plaintext
    server = GatewayServer("127.0.0.1", 0)
    api = RestApi.from_template(Template.load(ROOT / "template.yaml"))
    server.start(Gateway(api))
    try:
        sdk = openai.OpenAI(
            base_url=f"http://127.0.0.1:{server.port}/{api.stage}/v1", api_key=key, max_retries=0
        )
        stream = iter(
            sdk.images.generate(
                model="sd-streaming",
                prompt="a lighthouse",
                size="512x512",
                stream=True,
                partial_images=2,
            )
        )
        # When the first event has arrived, the endpoint still holding the second preview
        first = next(stream)
        assert (first.type, getattr(first, "partial_image_index", None)) == (
            "image_generation.partial_image",
            0,
        )
        endpoint.hold.set()
        # Then the rest follows, the completed event last
        rest = list(stream)
    finally:
        endpoint.hold.set()
        server.close()
    assert [event.type for event in rest] == [
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    completed = rest[-1]
    assert completed.type == "image_generation.completed"
    assert open_image(base64.b64decode(completed.b64_json)).size == (512, 512)
