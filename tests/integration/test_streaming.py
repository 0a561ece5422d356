"""``stream: true``: OpenAI's server-sent events, billed exactly as a buffered request."""

import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from handler import container
from handler.backends.preview import PreviewBackend
from handler.cli.gateway import Gateway, GatewayServer, RestApi
from handler.cli.template import Template
from handler.core.errors import BackendError
from handler.core.inference import PartialImage
from handler.keys.auth import issue_key
from tests.image_samples import picture
from tests.integration.conftest import Local
from tests.support import GENEROUS, ROOT, assert_error, open_image

TWO_PREVIEWS_THEN_THE_IMAGE = [
    "image_generation.partial_image",
    "image_generation.partial_image",
    "image_generation.completed",
]


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Server-sent events as (event, data) pairs."""
    parsed = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((fields["event"], json.loads(fields["data"])))
    return parsed


def _balance(client: TestClient, auth: dict[str, str]) -> int:
    return int(client.get("/v1/usage", headers=auth).json()["balance"])


def test_a_stream_sends_its_partials_then_one_completed_event(
    client: TestClient, auth: dict[str, str]
) -> None:
    before = _balance(client, auth)
    # When the SDK's images.generate(stream=True, partial_images=2) body is sent
    response = client.post(
        "/v1/images/generations",
        headers=auth,
        json={"prompt": "a fox", "model": "gpt-image-1", "stream": True, "partial_images": 2},
    )
    # Then two partial images come, in order, then one completed event with the image
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    sent = events(response.text)
    assert [name for name, _ in sent] == TWO_PREVIEWS_THEN_THE_IMAGE
    assert [data["partial_image_index"] for _, data in sent[:2]] == [0, 1]
    completed = sent[-1][1]
    assert (completed["size"], completed["quality"], completed["background"]) == (
        "1024x1024",
        "medium",
        "opaque",
    )
    final = open_image(base64.b64decode(completed["b64_json"]))
    assert (final.size, final.format) == ((1024, 1024), "PNG")
    # And it is charged what the buffered request is
    price = container.catalog().get("imagegate-preview").prices.image["1024x1024"]
    assert completed["cost"] == price
    assert _balance(client, auth) == before - price
    assert completed["remaining_balance"] == before - price


def test_a_backend_without_partials_sends_one_completed_event(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post(
        "/v1/images/generations",
        headers=auth,
        json={"prompt": "a fox", "model": "gpt-image-1", "stream": True},
    )
    assert [name for name, _ in events(response.text)] == ["image_generation.completed"]


def test_an_edit_streams_image_edit_events(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/images/edits",
        headers=auth,
        files=[("image[]", ("a.png", picture((1024, 1024)), "image/png"))],
        data={"prompt": "a fox", "model": "gpt-image-1", "stream": "true", "partial_images": "1"},
    )
    assert response.status_code == 200, response.text
    assert [name for name, _ in events(response.text)] == [
        "image_edit.partial_image",
        "image_edit.completed",
    ]


def test_a_refusal_before_the_stream_is_an_ordinary_error(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post(
        "/v1/images/generations",
        headers=auth,
        json={"prompt": "a fox", "model": "gpt-image-1", "stream": True, "size": "3x3"},
    )
    assert response.status_code == 400
    assert_error(response.json(), type_="invalid_request_error", param="size", code="invalid_value")


def test_dall_e_names_do_not_stream(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/images/generations",
        headers=auth,
        json={"prompt": "a fox", "model": "dall-e-3", "stream": True},
    )
    assert response.status_code == 400
    assert_error(
        response.json(), type_="invalid_request_error", param="stream", code="invalid_value"
    )


def test_partial_images_without_stream_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/images/generations",
        headers=auth,
        json={"prompt": "a fox", "model": "gpt-image-1", "partial_images": 2},
    )
    assert response.status_code == 400
    assert_error(
        response.json(), type_="invalid_request_error", param="partial_images", code="invalid_value"
    )


def test_through_the_gateway_the_first_partial_arrives_before_the_last_is_made(
    local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deployed shape: the local API Gateway, the streamed route's web app behind the
    Lambda Web Adapter's stand-in, a real HTTP server, a real client."""
    # Given a backend that holds its second partial until the test lets it go
    made: list[int] = []
    go_on = threading.Event()
    drawn = PreviewBackend.stream

    def held(self: PreviewBackend, spec: Any, deadline: Any) -> Iterator[Any]:
        for progress in drawn(self, spec, deadline):
            if isinstance(progress, PartialImage):
                made.append(progress.partial_index)
                if progress.partial_index == 1:
                    assert go_on.wait(30)
            yield progress

    monkeypatch.setattr(PreviewBackend, "stream", held)
    key = issue_key(
        container.key_store(), "stream", GENEROUS, balance=10**9, now=0, actor="t", source="cli"
    ).plaintext
    server = GatewayServer("127.0.0.1", 0)
    api = RestApi.from_template(Template.load(ROOT / "template.yaml"))
    server.start(Gateway(api))
    try:
        url = f"http://127.0.0.1:{server.port}/{api.stage}/v1/images/generations"
        body = {"prompt": "a fox", "model": "gpt-image-1", "stream": True, "partial_images": 3}
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.stream("POST", url, json=body, headers=auth, timeout=60) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            # When the first event has arrived
            first = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
            # Then it is partial image 0, and the backend has not made partial 2 yet
            assert (first["type"], first["partial_image_index"]) == (
                "image_generation.partial_image",
                0,
            )
            assert 2 not in made
            go_on.set()
            rest = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
        # And the rest follows, the completed event last
        assert [event["type"] for event in rest] == [
            "image_generation.partial_image",
            "image_generation.partial_image",
            "image_generation.completed",
        ]
    finally:
        go_on.set()
        server.close()


def test_a_failure_mid_stream_is_an_error_event_and_is_refunded(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a backend that fails after its first partial image
    drawn = PreviewBackend.stream

    def failing(self: PreviewBackend, spec: Any, deadline: Any) -> Iterator[Any]:
        for progress in drawn(self, spec, deadline):
            yield progress
            raise BackendError("the GPU fell over")

    monkeypatch.setattr(PreviewBackend, "stream", failing)
    before = _balance(client, auth)
    # When a stream is asked for
    response = client.post(
        "/v1/images/generations",
        headers=auth,
        json={"prompt": "a fox", "model": "gpt-image-1", "stream": True, "partial_images": 2},
    )
    # Then the partial came, then OpenAI's error event (which the SDKs raise), and no charge
    assert response.status_code == 200
    sent = events(response.text)
    assert [name for name, _ in sent] == ["image_generation.partial_image", "error"]
    error = sent[-1][1]["error"]
    assert (error["type"], error["code"]) == ("server_error", "backend_error")
    assert set(error) == {"message", "type", "param", "code"}
    assert _balance(client, auth) == before
