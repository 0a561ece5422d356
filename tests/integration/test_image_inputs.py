"""Image input through the API: OpenAI's multipart edits and nano-gpt's JSON data URLs."""

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handler import container
from handler.backends.preview import PreviewBackend
from tests.image_samples import data_url, noise, picture, png_header_only, top_half_mask
from tests.support import assert_error, open_image

RED = (200, 30, 30)


def _b64_image(response: Any, index: int = 0) -> Any:
    assert response.status_code == 200, response.text
    return open_image(base64.b64decode(response.json()["data"][index]["b64_json"]))


def test_multipart_edit_with_a_mask_repaints_only_the_masked_half(
    client: TestClient, auth: dict[str, str]
) -> None:
    # Given a red picture and a mask over its top half
    files = [
        ("image", ("red.png", picture((256, 256), colour=RED), "image/png")),
        ("mask", ("mask.png", top_half_mask(256), "image/png")),
    ]
    form = {
        "prompt": "a blue sky",
        "size": "256x256",
        "n": "2",
        "seed": "5",
        "response_format": "b64_json",
        "strength": "1",
    }
    # When it is edited, as the OpenAI SDK sends it
    response = client.post("/v1/images/edits", headers=auth, files=files, data=form)
    # Then the top half is the new picture and the bottom half is still the input
    image = _b64_image(response).convert("RGB")
    assert image.size == (256, 256)
    assert image.getpixel((128, 60)) != RED
    assert image.getpixel((128, 180)) == RED
    assert [item["seed"] for item in response.json()["data"]] == [5, 6]


def test_several_images_as_image_brackets(client: TestClient, auth: dict[str, str]) -> None:
    files = [("image[]", (f"{i}.png", picture((64, 64)), "image/png")) for i in range(3)]
    response = client.post(
        "/v1/images/edits", headers=auth, files=files, data={"prompt": "collage", "size": "256x256"}
    )
    assert response.status_code == 200, response.text


def test_nano_gpt_style_json_with_data_urls(client: TestClient, auth: dict[str, str]) -> None:
    body = {
        "prompt": "a blue sky",
        "size": "256x256",
        "response_format": "b64_json",
        "imageDataUrl": data_url(picture((256, 256), colour=RED)),
        "strength": 0.25,
    }
    image = _b64_image(client.post("/v1/images/generations", headers=auth, json=body))
    # a quarter of the way from the input: the red still dominates, whatever was drawn
    red, green, blue = image.convert("RGB").getpixel((128, 60))
    assert red > 140
    assert green < 100
    assert blue < 100


@pytest.mark.parametrize(
    ("strength", "steps", "status"),
    [(0.0, 4, 400), (0.2, 4, 400), (0.25, 4, 200), (0.1, 20, 200)],
)
def test_a_strength_must_leave_a_denoising_step(
    client: TestClient, auth: dict[str, str], strength: float, steps: int, status: int
) -> None:
    body = {
        "prompt": "x",
        "size": "256x256",
        "imageDataUrl": data_url(picture()),
        "strength": strength,
        "steps": steps,
    }
    response = client.post("/v1/images/generations", headers=auth, json=body)
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["param"] == "strength"


def test_edits_also_take_json(client: TestClient, auth: dict[str, str]) -> None:
    body = {"prompt": "x", "size": "256x256", "image": [data_url(picture())] * 2}
    assert client.post("/v1/images/edits", headers=auth, json=body).status_code == 200


def test_edits_need_an_image(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/v1/images/edits", headers=auth, data={"prompt": "x"})
    assert response.status_code == 400
    assert_error(
        response.json(),
        type_="invalid_request_error",
        param="image",
        code="missing_required_parameter",
    )


def test_a_model_without_image_input_says_so(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEGATE_REPLICATE_API_TOKEN", "r8_test")  # flux-schnell is served
    container.reset()
    body = {"model": "flux-schnell", "prompt": "x", "imageDataUrl": data_url(picture())}
    response = client.post("/v1/images/generations", headers=auth, json=body)
    assert response.status_code == 400
    assert_error(
        response.json(), type_="invalid_request_error", param="imageDataUrl", code="invalid_value"
    )


CORPUS: list[tuple[str, dict[str, Any], str]] = [
    ("truncated base64", {"image": data_url(picture())[:-7]}, "image"),
    (
        "wrong data-URL prefix",
        {"imageDataUrl": "data:application/pdf;base64,JVBERi0="},
        "imageDataUrl",
    ),
    ("PNG header on a text file", {"image": data_url(b"\x89PNG\r\n\x1a\nhello, world")}, "image"),
    ("20000x20000", {"image": data_url(png_header_only(20000, 20000))}, "image"),
    ("5 MB image", {"image": data_url(noise((1300, 1300)))}, "image"),
    (
        "mask of another size",
        {"image": data_url(picture((64, 64))), "mask": data_url(picture((65, 64)))},
        "mask",
    ),
    ("17 images", {"imageDataUrls": [data_url(picture((8, 8)))] * 17}, "imageDataUrls"),
]


@pytest.mark.parametrize(
    ("body", "param"), [(b, p) for _, b, p in CORPUS], ids=[name for name, _, _ in CORPUS]
)
def test_bad_inputs_are_refused_before_any_work(
    client: TestClient,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    body: dict[str, Any],
    param: str,
) -> None:
    def must_not_run(*args: object) -> None:
        raise AssertionError("the backend ran for a bad request")

    monkeypatch.setattr(PreviewBackend, "generate", must_not_run)
    response = client.post("/v1/images/generations", headers=auth, json={"prompt": "x", **body})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_multipart_bad_file_names_its_field(client: TestClient, auth: dict[str, str]) -> None:
    files = [("image", ("a.png", b"GIF89a not what it says", "image/png"))]
    response = client.post("/v1/images/edits", headers=auth, files=files, data={"prompt": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "image"


def test_multipart_number_fields_are_checked(client: TestClient, auth: dict[str, str]) -> None:
    files = [("image", ("a.png", picture(), "image/png"))]
    response = client.post(
        "/v1/images/edits", headers=auth, files=files, data={"prompt": "x", "n": "two"}
    )
    assert response.status_code == 400
    assert_error(response.json(), type_="invalid_request_error", param="n", code="invalid_type")


def test_forms_take_files_not_data_urls(client: TestClient, auth: dict[str, str]) -> None:
    files = [("image", ("a.png", picture(), "image/png"))]
    response = client.post(
        "/v1/images/edits",
        headers=auth,
        files=files,
        data={"prompt": "x", "maskDataUrl": data_url(picture((9, 9)))},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "maskDataUrl"


def test_the_second_of_several_files_is_named(client: TestClient, auth: dict[str, str]) -> None:
    files = [
        ("image[]", ("a.png", picture(), "image/png")),
        ("image[]", ("b.png", b"not an image", "image/png")),
    ]
    response = client.post("/v1/images/edits", headers=auth, files=files, data={"prompt": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "image[1]"


def test_an_oversized_upload_is_refused_by_its_size(
    client: TestClient, auth: dict[str, str]
) -> None:
    files = [("image", ("big.png", b"\x00" * (4 * 1024 * 1024 + 1), "image/png"))]
    response = client.post("/v1/images/edits", headers=auth, files=files, data={"prompt": "x"})
    assert response.status_code == 400
    assert (response.json()["error"]["param"], response.json()["error"]["code"]) == (
        "image",
        "image_too_large",
    )


def test_deeply_nested_json_is_a_400(client: TestClient, auth: dict[str, str]) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/v1/images/edits", headers={**auth, "Content-Type": "application/json"}, content=body
    )
    assert response.status_code == 400
