import base64
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from handler import container, generation_container
from handler.aws.clients import s3_client
from handler.core.errors import StorageError
from tests.support import (
    FORMATS,
    assert_error,
    open_image,
    pixels,
    presigned_object,
    presigned_params,
    recompute_presigned_signature,
)

URL = "/v1/images/generations"


def _signing_keys() -> tuple[str, str]:
    """The credentials the S3 client signed with (moto substitutes its own)."""
    credentials = boto3.Session().get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key
    assert frozen.secret_key
    return frozen.access_key, frozen.secret_key


def test_url_result_is_a_private_object_behind_a_sigv4_url(
    client: TestClient, auth: dict[str, str]
) -> None:
    # Given a valid key
    # When it asks for two images by URL
    response = client.post(URL, headers=auth, json={"prompt": "a fox", "n": 2, "size": "256x256"})
    # Then both are stored, typed, grouped under the request id, and signed for 300 s
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["x-request-id"] == body["id"]
    assert [set(item) for item in body["data"]] == [{"url", "seed"}] * 2
    keys = []
    for item in body["data"]:
        params = presigned_params(item["url"])
        assert params["X-Amz-Expires"] == "300"
        assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert (
            recompute_presigned_signature(item["url"], *_signing_keys())
            == params["X-Amz-Signature"]
        )
        bucket, key = presigned_object(item["url"])
        assert bucket == "test-imagesbucket"
        obj = s3_client().get_object(Bucket=bucket, Key=key)
        assert obj["ContentType"] == "image/png"
        assert open_image(obj["Body"].read()).size == (256, 256)
        keys.append(key)
    assert keys[0].rsplit("/", 1)[0] == keys[1].rsplit("/", 1)[0]
    assert f"/{body['id']}/" in keys[0]


def test_a_tampered_url_does_not_verify(client: TestClient, auth: dict[str, str]) -> None:
    # The recomputation is a real check: another expiry or another secret gives another value.
    url = client.post(URL, headers=auth, json={"prompt": "a fox"}).json()["data"][0]["url"]
    signature = presigned_params(url)["X-Amz-Signature"]
    access_key, secret_key = _signing_keys()
    assert recompute_presigned_signature(url, access_key, secret_key) == signature
    assert recompute_presigned_signature(url, access_key, "another-secret") != signature
    tampered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")
    assert recompute_presigned_signature(tampered, access_key, secret_key) != signature


def test_url_lifetime_is_configurable(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEGATE_URL_TTL_SECONDS", "60")
    container.reset()
    url = client.post(URL, headers=auth, json={"prompt": "a fox"}).json()["data"][0]["url"]
    assert presigned_params(url)["X-Amz-Expires"] == "60"


@pytest.mark.parametrize("output_format", ["png", "jpeg", "webp"])
def test_b64_json_decodes_to_the_asked_size_and_format(
    client: TestClient, auth: dict[str, str], output_format: str
) -> None:
    response = client.post(
        URL,
        headers=auth,
        json={
            "prompt": "a fox",
            "size": "1536x1024",
            "response_format": "b64_json",
            "output_format": output_format,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["size"], body["output_format"]) == ("1536x1024", output_format)
    image = open_image(base64.b64decode(body["data"][0]["b64_json"]))
    assert (image.size, image.format) == ((1536, 1024), FORMATS[output_format])
    assert body["usage"]["images"] == 1


def test_a_seed_reproduces_the_images(client: TestClient, auth: dict[str, str]) -> None:
    request = {
        "prompt": "a fox",
        "n": 3,
        "seed": 10,
        "size": "256x256",
        "response_format": "b64_json",
    }
    first = client.post(URL, headers=auth, json=request).json()
    again = client.post(URL, headers=auth, json=request).json()
    assert [d["seed"] for d in first["data"]] == [10, 11, 12]
    # The same pictures: each file's manifest names its own request, so the bytes differ
    assert [(d["seed"], pixels(base64.b64decode(d["b64_json"]))) for d in first["data"]] == [
        (d["seed"], pixels(base64.b64decode(d["b64_json"]))) for d in again["data"]
    ]
    assert first["id"] != again["id"]


def test_defaults_follow_openai(client: TestClient, auth: dict[str, str]) -> None:
    body = client.post(URL, headers=auth, json={"prompt": "a fox"}).json()
    assert (body["model"], body["size"], body["output_format"]) == (
        "imagegate-preview",
        "1024x1024",
        "png",
    )
    assert "url" in body["data"][0]


def test_inline_result_over_the_lambda_limit_is_a_413(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a response limit well under what two 1024x1024 PNGs take as base64
    request = {"prompt": "a fox", "n": 2, "size": "1024x1024", "response_format": "b64_json"}
    inline = client.post(URL, headers=auth, json=request)
    assert inline.is_success
    monkeypatch.setenv("IMAGEGATE_MAX_RESPONSE_BYTES", str(len(inline.content) // 2))
    container.reset()
    # When they are asked for inline
    response = client.post(URL, headers=auth, json=request)
    # Then the answer is a clear 413, and the same request by URL still works
    assert response.status_code == 413
    assert_error(
        response.json(),
        type_="invalid_request_error",
        param="response_format",
        code="payload_too_large",
    )
    assert "response_format 'url'" in response.json()["error"]["message"]
    assert client.post(URL, headers=auth, json={**request, "response_format": "url"}).is_success


BAD_BODIES: list[tuple[Any, int, str, str | None, str | None]] = [
    ('{"prompt": "a fox", "n": 2', 400, "invalid_request_error", None, "invalid_json"),
    ("[1, 2]", 400, "invalid_request_error", None, "invalid_body"),
    ('{"prompt": "a fox", "n": "2"}', 400, "invalid_request_error", "n", "invalid_type"),
    ('{"prompt": ["a fox"]}', 400, "invalid_request_error", "prompt", "invalid_type"),
    ('{"n": 1}', 400, "invalid_request_error", "prompt", "missing_required_parameter"),
    (
        '{"prompt": "a fox", "model": "dall-e-9"}',
        404,
        "not_found_error",
        "model",
        "model_not_found",
    ),
    (
        '{"prompt": "a fox", "size": "1000x1000"}',
        400,
        "invalid_request_error",
        "size",
        "invalid_value",
    ),
    ('{"prompt": "a fox", "size": "big"}', 400, "invalid_request_error", "size", "invalid_value"),
    ('{"prompt": "a fox", "n": 0}', 400, "invalid_request_error", "n", "invalid_value"),
    ('{"prompt": "a fox", "n": 11}', 400, "invalid_request_error", "n", "invalid_value"),
    ('{"prompt": ""}', 400, "invalid_request_error", "prompt", "invalid_value"),
    ('{"prompt": "' + "x" * 32001 + '"}', 400, "invalid_request_error", "prompt", "invalid_value"),
    (
        '{"prompt": "a fox", "colour": "red"}',
        400,
        "invalid_request_error",
        "colour",
        "unknown_parameter",
    ),
]


@pytest.mark.parametrize(("body", "status", "type_", "param", "code"), BAD_BODIES)
def test_bad_input_gets_an_openai_error(
    client: TestClient,
    auth: dict[str, str],
    body: str,
    status: int,
    type_: str,
    param: str | None,
    code: str | None,
) -> None:
    response = client.post(URL, headers={**auth, "Content-Type": "application/json"}, content=body)
    assert response.status_code == status
    assert_error(response.json(), type_=type_, param=param, code=code)
    assert response.headers["x-request-id"].startswith("req_")


def test_form_encoded_body_is_refused_with_a_hint(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(URL, headers=auth, data={"prompt": "a fox"})
    assert response.status_code == 400
    assert "application/json" in response.json()["error"]["message"]


def test_unknown_route_and_method_use_the_envelope(
    client: TestClient, auth: dict[str, str]
) -> None:
    missing = client.get("/v1/engines", headers=auth)
    assert missing.status_code == 404
    assert_error(missing.json(), type_="invalid_request_error", param=None, code="unknown_url")
    wrong = client.get(URL, headers=auth)
    assert wrong.status_code == 405
    assert_error(wrong.json(), type_="invalid_request_error", param=None, code="method_not_allowed")


class _ExplodingService:
    def generate(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("boom: internal detail")


def test_unexpected_errors_are_a_500_envelope_with_a_request_id(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generation_container, "generation_service", _ExplodingService)
    response = client.post(URL, headers=auth, json={"prompt": "a fox"})
    assert response.status_code == 500
    assert_error(response.json(), type_="server_error", param=None, code=None)
    assert "boom" not in response.text
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["x-should-retry"] == "false"


def test_a_storage_failure_after_generation_says_do_not_retry(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an image store that fails once the images exist
    def failing_put(*args: object, **kwargs: object) -> None:
        raise StorageError("S3 is down")

    monkeypatch.setattr(container.image_store(), "put_images", failing_put)
    # When a URL result is asked for
    response = client.post(URL, headers=auth, json={"prompt": "a fox"})
    # Then the client is told the error and not to retry blindly (the GPU work is done)
    assert response.status_code == 500
    assert response.headers["x-should-retry"] == "false"
    assert_error(response.json(), type_="server_error", param=None, code="storage_error")


def test_a_url_that_cannot_be_signed_says_do_not_retry(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given credentials that vanish after the images are stored (an expired session, say)
    from botocore.exceptions import NoCredentialsError

    def no_credentials(*args: object, **kwargs: object) -> str:
        raise NoCredentialsError

    monkeypatch.setattr(s3_client(), "generate_presigned_url", no_credentials)
    # When a URL result is asked for
    response = client.post(URL, headers=auth, json={"prompt": "a fox"})
    # Then it is a clean storage error the SDK will not retry
    assert response.status_code == 500
    assert response.headers["x-should-retry"] == "false"
    assert_error(response.json(), type_="server_error", param=None, code="storage_error")


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "x-request-id" in response.headers
