"""Replicate models through the API: statuses, headers and envelopes of each outcome."""

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from handler import container
from tests.fakes.replicate_api import FakeReplicate
from tests.support import assert_error, open_image

URL = "/v1/images/generations"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeReplicate]:
    with FakeReplicate() as server:
        monkeypatch.setenv("IMAGEGATE_REPLICATE_API_TOKEN", server.token)
        monkeypatch.setenv("IMAGEGATE_REPLICATE_BASE_URL", server.base_url)
        container.reset()
        yield server


def test_flux_by_url(client: TestClient, auth: dict[str, str], fake: FakeReplicate) -> None:
    body = {
        "model": "flux-schnell",
        "prompt": "a fox",
        "n": 2,
        "size": "1536x1024",
        "response_format": "b64_json",
        "output_format": "jpeg",
    }
    response = client.post(URL, headers=auth, json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["model"], result["usage"]["images"]) == ("flux-schnell", 2)
    for item in result["data"]:
        image = open_image(base64.b64decode(item["b64_json"]))
        assert (image.size, image.format) == ((1536, 1024), "JPEG")


def test_past_the_deadline_is_a_504_that_says_do_not_retry(
    client: TestClient, auth: dict[str, str], fake: FakeReplicate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an API timeout that leaves the backend 4 s
    monkeypatch.setenv("IMAGEGATE_API_TIMEOUT_MS", "7000")
    container.reset()
    # When the model does not finish in time
    body = {"model": "flux-schnell", "prompt": "a fox [slow]", "n": 2}
    response = client.post(URL, headers=auth, json=body)
    # Then: 504, no retry, and both predictions were cancelled
    assert response.status_code == 504
    assert response.headers["x-should-retry"] == "false"
    assert_error(response.json(), type_="server_error", param=None, code="backend_timeout")
    assert fake.predictions
    assert sorted(fake.cancellations) == sorted(fake.predictions)
    assert fake.running() == []


def test_throttling_is_a_503_with_retry_after(
    client: TestClient, auth: dict[str, str], fake: FakeReplicate
) -> None:
    response = client.post(
        URL, headers=auth, json={"model": "flux-schnell", "prompt": "[throttle]"}
    )
    assert response.status_code == 503
    assert (response.headers["retry-after"], response.headers["x-should-retry"]) == ("7", "true")
    assert_error(response.json(), type_="server_error", param=None, code="backend_unavailable")


def test_a_failed_prediction_is_a_502(
    client: TestClient, auth: dict[str, str], fake: FakeReplicate
) -> None:
    response = client.post(URL, headers=auth, json={"model": "flux-schnell", "prompt": "[fail]"})
    assert response.status_code == 502
    assert response.headers["x-should-retry"] == "false"
    assert "out of memory" in response.json()["error"]["message"]


def test_everything_filtered_is_a_400_content_policy_violation(
    client: TestClient, auth: dict[str, str], fake: FakeReplicate
) -> None:
    response = client.post(URL, headers=auth, json={"model": "flux-schnell", "prompt": "[nsfw]"})
    assert response.status_code == 400
    assert_error(
        response.json(),
        type_="invalid_request_error",
        param="prompt",
        code="content_policy_violation",
    )


def test_partial_delivery_returns_what_was_made(
    client: TestClient, auth: dict[str, str], fake: FakeReplicate
) -> None:
    body = {"model": "flux-schnell", "prompt": "[nsfw-odd]", "n": 4, "seed": 2}
    result = client.post(URL, headers=auth, json=body).json()
    assert [item["seed"] for item in result["data"]] == [2, 4]
    assert result["usage"]["images"] == 2


def test_without_a_token_replicate_models_say_so(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(URL, headers=auth, json={"model": "flux-schnell", "prompt": "a fox"})
    assert response.status_code == 503
    assert response.headers["x-should-retry"] == "false"
    assert_error(response.json(), type_="server_error", param=None, code="backend_not_configured")
    # and the preview model is unaffected
    assert client.post(URL, headers=auth, json={"prompt": "a fox"}).status_code == 200
